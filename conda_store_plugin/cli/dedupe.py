"""``conda store dedupe``: hardlink identical files across builds."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_store_option, human_bytes

HELP = ("Hardlink identical files (same content and mode) across builds where they are "
        "copies; safe while environments are in use.")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``dedupe``."""
    parser.add_argument("--dry-run", action="store_true",
                        help="Count what would be linked; change nothing.")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``dedupe`` and render its result."""
    from .. import api

    result = api.dedupe(store=args.store, dry_run=args.dry_run)
    if args.json:
        print_json(result.to_dict())
        return 0
    verb = "Would link" if result.dry_run else "Linked"
    sys.stdout.write(f"{verb} {result.linked_files} file(s) of {result.scanned_files} "
                     f"scanned; {human_bytes(result.bytes_saved)} "
                     f"{'would be ' if result.dry_run else ''}saved"
                     + (f"; {result.skipped} skipped (changed or in use)"
                        if result.skipped else "") + ".\n")
    return 0
