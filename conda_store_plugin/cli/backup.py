"""``conda store backup -o FILE``: the whole store's metadata (and packages) in one file."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_store_option, human_bytes

HELP = ("Back up every environment of the store (history, specs, lockfiles, logs; with "
        "--with-packages also the package archives of the current builds) to one "
        ".tar.zst file, for `conda store restore`.")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``backup``."""
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="File to write (default: ./conda-store-backup-<UTC time>"
                             ".tar.zst); it appears only once complete.")
    parser.add_argument("--with-packages", action="store_true",
                        help="Include the package archives every current build needs, so "
                             "a restore needs no network.")
    parser.add_argument("--namespace", dest="namespaces", action="append", default=[],
                        metavar="NS", help="Back up only this namespace (repeatable).")
    parser.add_argument("--offline", action="store_true",
                        help="Take package archives from the package cache only.")
    parser.add_argument("--pkgs-dir", metavar="DIR",
                        help="Package cache to take archives from (default: conda's first "
                             "writable pkgs_dirs).")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``backup`` and render its result."""
    from .. import api

    result = api.backup(output=args.output, with_packages=args.with_packages,
                        namespaces=args.namespaces, store=args.store,
                        pkgs_dir=args.pkgs_dir, offline=args.offline)
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    packages = (f", {result.packages} packages ({human_bytes(result.package_bytes)})"
                if result.with_packages else "")
    out.write(f"Backed up {len(result.environments)} environment(s), {result.builds} "
              f"build(s){packages} to {result.output} ({human_bytes(result.bytes)}, "
              f"{result.seconds:.1f} s)\n")
    for s in result.skipped:
        out.write(f"  left out {s.environment}@{s.number}: still {s.status}\n")
    return 0
