"""``conda store list``: the store's environments and their current builds."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_store_option, human_bytes, short_time, table

HELP = "List the environments of the store, with their current build."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``list``."""
    parser.add_argument("--namespace", help="Only this namespace.")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``list`` and render its result."""
    from .. import api

    result = api.list_environments(store=args.store, namespace=args.namespace)
    if args.json:
        print_json(result.to_dict())
        return 0
    if not result.environments:
        sys.stdout.write(f"No environments in {result.store_dir}.\n")
        return 0
    rows = []
    for e in result.environments:
        c = e.current
        rows.append([e.key, str(e.env.current_build or "-"), c.status if c else "-",
                     str(sum(e.counts.values())),
                     human_bytes(c.record.size.apparent) if c and c.record.size else "-",
                     short_time(e.last_used_at)])
    sys.stdout.write(table(rows, ["ENVIRONMENT", "CURRENT", "STATUS", "BUILDS", "SIZE",
                                  "LAST USED"]))
    return 0
