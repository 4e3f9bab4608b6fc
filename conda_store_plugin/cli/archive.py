"""``conda store archive``: remove builds' files, keeping spec, lockfile, log and records."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_env_argument, add_store_option, human_bytes

HELP = ("Archive a build, or builds chosen by policy: keep its spec, lockfile, log and "
        "record; remove its files.")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``archive``."""
    add_env_argument(parser, optional=True)
    parser.add_argument("--older-than", metavar="AGE",
                        help="Builds that finished more than AGE ago (e.g. 90d, 12h, 2w).")
    parser.add_argument("--keep-last", metavar="N", type=int,
                        help="Keep the N newest completed builds of each environment.")
    parser.add_argument("--unused-for", metavar="AGE",
                        help="Builds not used for AGE: not made current, activated or run "
                             "(`conda activate`/`conda run`) since.")
    parser.add_argument("--dry-run", action="store_true",
                        help="List what would be archived and the space it would free.")
    parser.add_argument("--force", action="store_true",
                        help="Also archive current builds.")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``archive`` and render its result."""
    from .. import api

    result = api.archive(environment=args.environment, older_than=args.older_than,
                         keep_last=args.keep_last, unused_for=args.unused_for,
                         force=args.force, dry_run=args.dry_run, store=args.store)
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    verb = "Would archive" if result.dry_run else "Archived"
    for o in result.archived:
        why = f"  ({'; '.join(o.reasons)})" if o.reasons else ""
        out.write(f"{verb} {o.environment}@{o.number}: {human_bytes(o.bytes_freed)}{why}\n")
    out.write(f"{verb} {len(result.archived)} build(s); "
              f"{'would free' if result.dry_run else 'freed'} "
              f"{human_bytes(result.bytes_freed)} on disk "
              f"({human_bytes(result.apparent_bytes)} apparent).\n")
    return 0
