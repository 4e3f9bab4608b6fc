"""``conda store convert``: a lockfile from one format to another."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json

HELP = "Convert a lockfile between conda-store, conda-lock, pixi.lock, explicit and env formats."

#: Kept in step with ``formats.EXPORT_FORMATS`` / ``IMPORT_FORMATS`` (a test checks);
#: spelled out so building the parser imports nothing.
TO_FORMATS = ("conda-store", "explicit", "conda-lock", "env")
FROM_FORMATS = ("conda-store", "conda-lock", "pixi")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``convert``."""
    parser.add_argument("source", metavar="SOURCE",
                        help="The lockfile to convert: conda-store.lock.json, conda-lock.yml "
                             "(v1) or pixi.lock (v6, v7).")
    parser.add_argument("-o", "--output", metavar="PATH",
                        help="File to write (default: the target format's usual name beside "
                             "SOURCE). explicit and env hold one platform per file: with "
                             "several platforms, one <stem>.<platform><suffix> file each.")
    parser.add_argument("--to", default="conda-store", choices=TO_FORMATS,
                        help="Target format (default: conda-store).")
    parser.add_argument("--from", dest="from_format", choices=FROM_FORMATS,
                        help="Source format (default: detected from the file).")
    parser.add_argument("--platform", metavar="PLATFORM",
                        help="Convert this platform only (default: every locked platform).")
    parser.add_argument("--environment", "-e", metavar="NAME",
                        help="The pixi.lock environment to convert (default: default).")
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``convert`` and render its result."""
    from .. import api

    result = api.convert(
        source=args.source,
        output=args.output,
        to=args.to,
        from_format=args.from_format,
        platform=args.platform,
        environment=args.environment,
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    what = result.source_format
    if result.environment:
        what += f", environment {result.environment}"
    out.write(f"Converted {result.source} ({what}) to {result.target_format}:\n")
    for converted in result.files:
        where = f" [{converted.platform}]" if converted.platform else ""
        out.write(f"  {converted.path}{where}: {converted.packages} packages\n")
    for note in result.notes:
        out.write(f"note: {note}\n")
    return 0
