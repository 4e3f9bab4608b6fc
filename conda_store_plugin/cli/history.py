"""``conda store history ENV``: every build of an environment."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_env_argument, add_store_option, human_bytes, short_time, table

HELP = "Show every build of an environment."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``history``."""
    add_env_argument(parser, build=False)
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``history`` and render its result."""
    from .. import api

    result = api.history(environment=args.environment, store=args.store)
    if args.json:
        print_json(result.to_dict())
        return 0
    rows = []
    for b in result.builds:
        r = b.record
        status = b.status + (" (interrupted)" if b.observed.interrupted else "")
        rows.append([("* " if b.current else "  ") + str(r.number), status,
                     short_time(r.created_at), str(r.package_count or "-"),
                     human_bytes(r.size.apparent) if r.size else "-",
                     short_time(b.used.last_used_at if b.used else None),
                     (b.observed.error or "")[:60]])
    sys.stdout.write(f"{result.env.namespace}/{result.env.name}"
                     f" (current: {result.env.current_build or 'none'})\n")
    sys.stdout.write(table(rows, ["  BUILD", "STATUS", "CREATED", "PACKAGES", "SIZE",
                                  "LAST USED", "ERROR"]))
    return 0
