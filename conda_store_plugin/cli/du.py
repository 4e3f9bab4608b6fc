"""``conda store du``: space used per namespace, environment and build, and the cache."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_store_option, human_bytes, table

HELP = ("Show apparent size, size on disk and hardlink-shared bytes per namespace, "
        "environment and build, and of the package cache.")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``du``."""
    parser.add_argument("--pkgs-dir", metavar="DIR",
                        help="Package cache to include (default: conda's).")
    parser.add_argument("--no-cache", action="store_true",
                        help="Leave the package cache out.")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``du`` and render its result."""
    from .. import api

    result = api.du(store=args.store, pkgs_dir=args.pkgs_dir,
                    include_cache=not args.no_cache)
    if args.json:
        print_json(result.to_dict())
        return 0

    def cells(u) -> list[str]:
        return [human_bytes(u.apparent), human_bytes(u.disk), human_bytes(u.shared)]

    rows = []
    for ns in result.namespaces:
        rows.append([ns.name + "/", "", *cells(ns.usage)])
        for env in ns.environments:
            rows.append(["  " + env.key.split("/", 1)[1], "", *cells(env.usage)])
            for b in env.builds:
                rows.append([f"    @{b.number}" + (" *" if b.current else ""), b.status,
                             *cells(b.usage)])
    rows.append(["store total", "", *cells(result.store)])
    if result.cache is not None:
        rows.append([f"package cache ({result.pkgs_dir})", "", *cells(result.cache)])
    sys.stdout.write(table(rows, ["", "STATUS", "APPARENT", "ON DISK", "SHARED"]))
    if result.cache is not None:
        sys.stdout.write(f"Package cache files hardlinked into builds: "
                         f"{human_bytes(result.cache_shared_with_store)}\n")
    return 0
