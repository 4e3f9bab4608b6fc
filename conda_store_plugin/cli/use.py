"""``conda store use ENV BUILD``: make another build current (roll back or forward)."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_env_argument, add_store_option

HELP = "Make a build the current one of its environment (roll back or forward)."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``use``."""
    add_env_argument(parser, build=False)
    parser.add_argument("build", metavar="BUILD", help="Build number.")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``use`` and render its result."""
    from .. import api

    result = api.use(environment=args.environment, build=args.build, store=args.store)
    if args.json:
        print_json(result.to_dict())
        return 0
    sys.stdout.write(f"{result.environment}: current build {result.current} "
                     f"(was {result.previous or 'none'})\n")
    return 0
