"""``conda store restore FILE``: recreate a store (or merge into one) from a backup."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_store_option

HELP = ("Restore a `conda store backup` file: every environment with its history, its "
        "current build installed and checked against its lockfile.")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``restore``."""
    parser.add_argument("source", metavar="FILE", help="The .tar.zst `conda store backup` "
                                                       "wrote.")
    parser.add_argument("--on-conflict", choices=("fail", "skip", "replace"), default="fail",
                        help="For environments already in the store: refuse the restore "
                             "(fail, the default), keep the store's (skip), or replace "
                             "them with the backup's (replace).")
    parser.add_argument("--dry-run", action="store_true",
                        help="Verify the backup and show the plan; write nothing.")
    parser.add_argument("--envs-dir", metavar="DIR",
                        help="Where new environments' links go (default: conda's envs dir).")
    parser.add_argument("--offline", action="store_true",
                        help="Install from the package cache (seeded from the backup) only.")
    parser.add_argument("--pkgs-dir", metavar="DIR",
                        help="Package cache (default: conda's first writable pkgs_dirs).")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``restore`` and render its result."""
    from .. import api

    result = api.restore(source=args.source, on_conflict=args.on_conflict,
                         dry_run=args.dry_run, store=args.store, envs_dir=args.envs_dir,
                         pkgs_dir=args.pkgs_dir, offline=args.offline)
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    if result.dry_run:
        out.write(f"{result.source} is intact (backup of {result.backup['created_at']}). "
                  f"Restoring into {result.store} would:\n")
        for p in result.plan:
            why = f" ({p.reason})" if p.reason else ""
            out.write(f"  {p.action:9} {p.environment} ({p.builds} builds, current "
                      f"{p.current_build}){why}\n")
        return 0
    for o in result.imported:
        state = (f"current build {o.current_build} installed, {o.recreated.packages} "
                 "packages checked" if o.recreated is not None else
                 f"current build {o.current_build} archived ({o.not_recreated})"
                 if o.current_build else "no current build")
        out.write(f"{'Replaced' if o.replaced else 'Restored'} {o.environment}: "
                  f"{o.builds} build(s), {state}\n")
    for p in result.plan:
        if p.action == "skip":
            out.write(f"Skipped {p.environment} (already in the store)\n")
    out.write(f"Restored {len(result.imported)} environment(s) into {result.store} in "
              f"{result.seconds:.1f} s ({result.packages_seeded} package archives from the "
              f"backup).\n")
    return 0
