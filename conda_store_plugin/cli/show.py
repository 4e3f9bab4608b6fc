"""``conda store show ENV[@BUILD]``: one build in detail."""

from __future__ import annotations

import argparse
import sys

from .render import add_json_flag, print_json
from .storeopts import add_env_argument, add_store_option, human_bytes, short_time

HELP = "Show one build (default: the current one): status, spec, packages, size."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``show``."""
    add_env_argument(parser)
    add_store_option(parser)
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``show`` and render its result."""
    from .. import api

    result = api.show(environment=args.environment, store=args.store)
    if args.json:
        print_json(result.to_dict())
        return 0
    b = result.build
    r = b.record
    out = sys.stdout
    out.write(f"{r.env_key}@{r.number}{'  (current)' if b.current else ''}\n")
    status = b.status + (" (interrupted)" if b.observed.interrupted else "")
    fields = [
        ("status", status), ("error", b.observed.error), ("platform", r.platform),
        ("prefix", r.prefix), ("created", short_time(r.created_at)),
        ("finished", short_time(r.finished_at)),
        ("archived", short_time(r.archived_at) if r.archived_at else None),
        ("last used", short_time(b.used.last_used_at) + f" ({b.used.how})" if b.used else None),
        ("size", f"{human_bytes(r.size.apparent)} apparent, {human_bytes(r.size.disk)} "
                 "on disk" if r.size else None),
        ("built by", f"{r.builder.user}@{r.builder.host} (pid {r.builder.pid}), "
                     f"conda-store-plugin {r.tool_version}"),
        ("lockfile", result.paths["lockfile"]
         + (" (reused from beside the spec)" if r.lockfile_reused else "")),
        ("log", result.paths["log"]),
    ]
    for key, value in fields:
        if value:
            out.write(f"  {key + ':':<11}{value}\n")
    if result.lock_problem:
        out.write(f"  lockfile problem: {result.lock_problem}\n")
    if result.packages:
        out.write(f"packages ({len(result.packages)}):\n")
        for p in result.packages:
            out.write(f"  {p['name']} {p['version']} {p['build']}\n")
    if result.spec_text:
        out.write("spec:\n" + "".join(f"  {line}\n"
                                      for line in result.spec_text.splitlines()))
    return 0
