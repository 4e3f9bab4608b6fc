"""``conda store install``: a lockfile into an environment, exactly, without solving."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from .render import add_json_flag, print_json

HELP = "Install the locked packages into an environment (no solve, hashes verified)."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``install``."""
    parser.add_argument("lockfile", nargs="?", metavar="LOCKFILE",
                        help="The lockfile (default: ./conda-store.lock.json).")
    target = parser.add_argument_group("Target Environment Specification")
    which = target.add_mutually_exclusive_group()
    which.add_argument("-n", "--name", metavar="ENVIRONMENT",
                       help="Name of the environment (under conda's envs directory).")
    which.add_argument("-p", "--prefix", metavar="PATH",
                       help="Full path to the environment.")
    parser.add_argument("--platform", metavar="PLATFORM",
                        help="Which of the lockfile's platforms to install "
                             "(default: this machine's).")
    parser.add_argument("--offline", action="store_true",
                        help="Use the package cache only; fail naming missing packages.")
    parser.add_argument("--pkgs-dir", metavar="PATH",
                        help="Package cache to use (default: conda's first writable "
                             "pkgs_dirs entry).")
    add_json_flag(parser)


def execute(args: argparse.Namespace) -> int:
    """Run ``install`` and render its result."""
    from .. import api

    display = None if args.json or not sys.stderr.isatty() else _Progress(sys.stderr)
    try:
        result = api.install(
            lockfile_path=args.lockfile,
            prefix=args.prefix,
            name=args.name,
            platform=args.platform,
            offline=args.offline,
            pkgs_dir=args.pkgs_dir,
            progress=display,
        )
    finally:
        if display is not None:
            display.close()
    if args.json:
        print_json(result.to_dict())
        return 0
    out = sys.stdout
    if result.noop:
        out.write(f"{result.prefix} already matches {result.lockfile_path} "
                  f"({result.unchanged} packages, {result.platform}): nothing to do.\n")
        return 0
    verb = "Created" if result.created else "Updated"
    out.write(f"{verb} {result.prefix} from {result.lockfile_path} ({result.platform}): "
              f"{len(result.added)} added, {len(result.removed)} removed, "
              f"{result.unchanged} unchanged.\n")
    for dist in result.removed:
        out.write(f"  - {dist}\n")
    for dist in result.added:
        out.write(f"  + {dist}\n")
    if result.pkgs_dir is not None and (result.added or result.downloaded):
        out.write(f"Package cache {result.pkgs_dir}: {len(result.downloaded)} downloaded "
                  f"({_size(result.downloaded_bytes)}), {len(result.reused)} reused.\n")
    return 0


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class _Progress:
    """One self-rewriting status line on a terminal, at most ten updates a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.ready = 0
        self.done_bytes = 0
        self.total_bytes = 0
        self.last = 0.0
        self.width = 0

    def __call__(self, event: Any) -> None:
        kind = event.kind
        if kind == "fetch":
            self.total, self.total_bytes = event.total, event.total_bytes
        elif kind == "cached":
            self.ready += 1
            self.total_bytes = max(self.total_bytes - event.total_bytes, 0)
        elif kind == "extracted":
            self.ready += 1
        elif kind == "bytes":
            self.done_bytes, self.total_bytes = event.done_bytes, event.total_bytes
        elif kind == "link":
            self._show(f"Linking {event.total} package change(s)...", force=True)
            return
        elif kind == "linked":
            self._show("Linked.", force=True)
            return
        text = f"Fetching packages: {self.ready}/{self.total} ready"
        if self.total_bytes:
            text += f", {_size(self.done_bytes)} of {_size(self.total_bytes)} downloaded"
        self._show(text, force=kind == "fetch" or self.ready == self.total)

    def _show(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        pad = max(self.width - len(text), 0)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self.width = len(text)

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
