"""``conda store build``: lock and install a spec as a new numbered build of an environment."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_store_option, human_bytes

HELP = "Build an environment.yml into a new numbered build; on success it becomes current."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``build``."""
    parser.add_argument("spec", nargs="?", metavar="ENVIRONMENT_YML",
                        help="The spec (default: ./environment.yml). A fresh "
                             "conda-store.lock.json beside it is reused.")
    parser.add_argument("-n", "--name", help="Environment name (default: the spec's name:).")
    parser.add_argument("--namespace", help="Namespace (default: your user name).")
    parser.add_argument("--envs-dir", metavar="DIR",
                        help="Where the environment's link for `conda activate NAME` goes, "
                             "for a new environment (default: conda's envs dir).")
    parser.add_argument("--platform", help="Platform (default: this machine's).")
    parser.add_argument("--offline", action="store_true",
                        help="Install from the package cache only.")
    parser.add_argument("--pkgs-dir", metavar="DIR",
                        help="Package cache (default: conda's first writable pkgs_dirs).")
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``build`` and render its result."""
    from .. import api

    result = api.build(spec_path=args.spec, name=args.name, namespace=args.namespace,
                       store=args.store, envs_dir=args.envs_dir, platform=args.platform,
                       offline=args.offline, pkgs_dir=args.pkgs_dir)
    if args.json:
        print_json(result.to_dict())
        return 0
    r = result.record
    size = human_bytes(r.size.apparent) if r.size else "-"
    out = sys.stdout
    out.write(f"Built {r.env_key}@{r.number}: {r.package_count} packages, {size}"
              f"{' (reused lockfile)' if r.lockfile_reused else ''}\n")
    if result.became_current:
        out.write(f"  current build: {r.number}"
                  + (f" (was {result.previous_current})" if result.previous_current else "")
                  + "\n")
        if result.link:
            out.write(f"  activate with: conda activate {result.link}\n")
    else:
        out.write(f"  build {result.previous_current} stays current (it is newer)\n")
    return 0
