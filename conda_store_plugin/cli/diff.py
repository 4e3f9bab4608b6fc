"""``conda store diff ENV A B``: packages added, removed and changed between two builds."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_env_argument, add_store_option

HELP = "Show the packages added, removed and changed between two builds."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``diff``."""
    add_env_argument(parser, build=False)
    parser.add_argument("a", metavar="A", help="Build number to compare from.")
    parser.add_argument("b", metavar="B", help="Build number to compare to.")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``diff`` and render its result."""
    from .. import api

    result = api.diff(environment=args.environment, a=args.a, b=args.b, store=args.store)
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    out.write(f"{result.environment}: build {result.a} -> {result.b} ({result.platform})\n")
    if not result.changes:
        out.write("  same packages\n")
    for c in result.changes:
        if c.kind == "added":
            out.write(f"  + {c.name} {c.new}\n")
        elif c.kind == "removed":
            out.write(f"  - {c.name} {c.old}\n")
        else:
            out.write(f"  ~ {c.name} {c.old} -> {c.new}\n")
    return 0
