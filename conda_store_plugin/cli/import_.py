"""``conda store import FILE``: bring an exported environment in, history and all."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_store_option

HELP = ("Import an environment exported with `conda store export`: its builds and "
        "history, its current build recreated on disk from its lockfile.")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``import``."""
    parser.add_argument("source", metavar="FILE", help="The file `conda store export` wrote.")
    parser.add_argument("--namespace", help="Namespace (default: the file's).")
    parser.add_argument("-n", "--name", help="Environment name (default: the file's).")
    parser.add_argument("--force", action="store_true",
                        help="Replace an environment of that name, with all its builds.")
    parser.add_argument("--envs-dir", metavar="DIR",
                        help="Where the environment's link for `conda activate NAME` goes, "
                             "for a new environment (default: conda's envs dir).")
    parser.add_argument("--offline", action="store_true",
                        help="Install from the package cache only.")
    parser.add_argument("--pkgs-dir", metavar="DIR",
                        help="Package cache (default: conda's first writable pkgs_dirs).")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``import`` and render its result."""
    from .. import api

    result = api.import_environment(source=args.source, namespace=args.namespace,
                                    name=args.name, force=args.force, store=args.store,
                                    envs_dir=args.envs_dir, offline=args.offline,
                                    pkgs_dir=args.pkgs_dir)
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    verb = "Replaced" if result.replaced else "Imported"
    out.write(f"{verb} {result.environment}: {result.builds} build(s)\n")
    if result.recreated is not None:
        out.write(f"  current build {result.current_build} recreated: "
                  f"{result.recreated.packages} packages, checked against its lockfile\n")
        out.write(f"  activate with: conda activate {result.link}\n")
    elif result.current_build is not None:
        out.write(f"  current build {result.current_build} stays archived "
                  f"({result.not_recreated})\n")
    return 0
