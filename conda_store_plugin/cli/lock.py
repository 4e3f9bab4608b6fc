"""``conda store lock``: environment.yml to a multi-platform lockfile."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json

HELP = "Lock an environment.yml for one or more platforms."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lock``."""
    parser.add_argument("spec", nargs="?", metavar="ENVIRONMENT_YML",
                        help="The spec to lock (default: ./environment.yml).")
    parser.add_argument("-o", "--lockfile", metavar="PATH",
                        help="Lockfile to write (default: conda-store.lock.json "
                             "beside the spec).")
    parser.add_argument("--platform", dest="platforms", action="append", default=[],
                        metavar="PLATFORM",
                        help="Lock for this platform; repeat for several (default: the "
                             "spec's `platforms:`, else this machine's).")
    cuda = parser.add_mutually_exclusive_group()
    cuda.add_argument("--cuda", metavar="VERSION",
                      help="Lock for machines with this CUDA driver (adds __cuda=VERSION).")
    cuda.add_argument("--no-cuda", action="store_true", help="Lock without __cuda.")
    parser.add_argument("--virtual-package", dest="virtual_packages", action="append",
                        default=[], metavar="__NAME=VERSION[=BUILD]",
                        help="Override a default virtual package, e.g. __glibc=2.17.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="Write nothing; exit 0 if the lockfile matches the spec, "
                           "non-zero naming what changed otherwise.")
    mode.add_argument("--update", nargs="+", default=[], metavar="PKG",
                      help="Re-solve these packages, keeping the others at their locked "
                           "versions where possible.")
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``lock`` and render its result."""
    from .. import api

    result = api.lock(
        spec_path=args.spec,
        lockfile_path=args.lockfile,
        platforms=args.platforms,
        cuda=args.cuda,
        no_cuda=args.no_cuda,
        virtual_packages=args.virtual_packages,
        check=args.check,
        update=args.update,
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    if args.check:
        out.write(f"{result.lockfile_path} is up to date.\n")
        return 0
    counts = ", ".join(f"{p}: {len(pl.packages)}"
                       for p, pl in sorted(result.lockfile.platforms.items()))
    out.write(f"Locked {result.lockfile_path} ({counts} packages)\n")
    for change in result.changes:
        if change.kind == "added":
            out.write(f"  {change.platform}  + {change.name} {change.new}\n")
        elif change.kind == "removed":
            out.write(f"  {change.platform}  - {change.name} {change.old}\n")
        else:
            out.write(f"  {change.platform}  ~ {change.name} {change.old} -> {change.new}\n")
    return 0
