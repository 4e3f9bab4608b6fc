"""``conda store recreate ENV@BUILD``: re-install an archived build from its lockfile."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_env_argument, add_store_option

HELP = ("Re-install an archived build from its lockfile, at its original location, with "
        "the same packages (URLs and hashes).")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``recreate``."""
    add_env_argument(parser)
    parser.add_argument("--offline", action="store_true",
                        help="Use the package cache only.")
    parser.add_argument("--pkgs-dir", metavar="DIR",
                        help="Package cache (default: conda's first writable pkgs_dirs).")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``recreate`` and render its result."""
    from .. import api

    result = api.recreate(environment=args.environment, offline=args.offline,
                          pkgs_dir=args.pkgs_dir, store=args.store)
    if args.json:
        print_json(result.to_dict())
        return 0
    r = result.record
    sys.stdout.write(f"Recreated {r.env_key}@{r.number}: {result.packages} packages at "
                     f"{r.prefix}{' (current)' if result.current else ''}\n")
    return 0
