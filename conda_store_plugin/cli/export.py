"""``conda store export ENV -o FILE``: one environment and its history as a transfer file."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_env_argument, add_store_option, human_bytes

HELP = ("Write an environment with every finished build (spec, lockfile, status, times, "
        "log) and which build is current to one JSON file, for `conda store import`.")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``export``."""
    add_env_argument(parser, build=False)
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="File to write (default: ./NAME.conda-store.json).")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``export`` and render its result."""
    from .. import api

    result = api.export_environment(environment=args.environment, output=args.output,
                                    store=args.store)
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    current = f", current build {result.current_build}" if result.current_build else ""
    out.write(f"Exported {result.environment}: {result.builds} build(s){current} to "
              f"{result.output} ({human_bytes(result.bytes)})\n")
    for s in result.skipped:
        out.write(f"  left out {s.environment}@{s.number}: still {s.status}\n")
    return 0
