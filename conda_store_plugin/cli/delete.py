"""``conda store delete ENV[@BUILD]``: remove a build (or all), keeping only its record."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_env_argument, add_store_option, human_bytes

HELP = "Delete a build (or every build of an environment); only the record is kept."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``delete``."""
    add_env_argument(parser)
    parser.add_argument("--force", action="store_true",
                        help="Also delete the current build (the environment then has no "
                             "current build and its link is removed).")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``delete`` and render its result."""
    from .. import api

    result = api.delete(environment=args.environment, force=args.force, store=args.store)
    if args.json:
        print_json(result.to_dict())
        return 0
    for o in result.deleted:
        sys.stdout.write(f"Deleted {o.environment}@{o.number}"
                         f"{' (was current)' if o.was_current else ''}: "
                         f"{human_bytes(o.bytes_freed)} freed\n")
    if not result.deleted:
        sys.stdout.write("Nothing to delete.\n")
    return 0
