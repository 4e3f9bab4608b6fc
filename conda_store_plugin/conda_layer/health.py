"""``conda doctor`` check of the package caches (``conda_health_checks``).

Reports, for every writable package cache: half-extracted entries (no
``info/index.json``, or files of ``info/paths.json`` missing), extracted folders conda
would mis-record (no ``repodata_record.json`` and no archive), archives whose size
differs from their record, leftover staging folders of processes that are gone,
``.partial`` downloads nobody writes, and a lock kind that does not suit the
filesystem. The fix removes the broken items while holding the cache's lock
exclusively (conda downloads or extracts them again when next needed).

The environment store has no health function of its own yet; only the caches are
checked.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable
from pathlib import Path

NAME = "package-cache-entries"
SUMMARY = "Check package caches for half-extracted entries and leftovers of killed processes"
FIX = "Remove broken cache entries and leftovers (they are fetched again when needed)"


def _caches() -> list[str]:
    from .cache_locks import pkgs_dirs_to_lock

    return pkgs_dirs_to_lock(exclusive=True)


def _idle(pkgs_dir: str) -> bool:
    """No other process uses the cache right now."""
    import os

    from ..cache_lock import held_here, holders, pkgs_dir_lock
    from ..exceptions import CacheLockError

    if held_here(Path(pkgs_dir)) is not None:  # our own command's hold: ask the registry
        return not [h for h in holders(Path(pkgs_dir)) if h.pid != os.getpid()]
    try:
        pkgs_dir_lock(Path(pkgs_dir), exclusive=True, timeout=0).release()
    except CacheLockError:
        return False
    return True


def _kind_warning(pkgs_dir: str) -> str | None:
    from ..cache_lock import NETWORK_FILESYSTEMS, filesystem_type, recorded_kind

    kind = recorded_kind(Path(pkgs_dir))
    fs = filesystem_type(Path(pkgs_dir))
    if kind == "sqlite" and fs in NETWORK_FILESYSTEMS:
        return (f"{pkgs_dir} is on {fs} but its locks are SQLite locks, which network "
                "filesystems may not honour (fix: switch it to soft locks)")
    return None


def check(prefix: str, verbose: bool) -> None:
    """Health check action: report the problems of every writable package cache."""
    from conda.base.constants import OK_MARK, X_MARK

    from ..cache_entries import scan

    found = False
    for pkgs_dir in _caches():
        idle = _idle(pkgs_dir)
        problems = scan(Path(pkgs_dir), idle=idle)
        warning = _kind_warning(pkgs_dir)
        if not problems and not warning:
            continue
        found = True
        print(f"{X_MARK} Package cache {pkgs_dir}: {len(problems)} problem(s)"
              + ("" if idle else " (in use by another process; in-progress work skipped)")
              + ":")
        shown = problems if verbose else problems[:10]
        for problem in shown:
            print(f"  {problem.describe()}")
        if len(problems) > len(shown):
            print(f"  ... {len(problems) - len(shown)} more (use --verbose)")
        if warning:
            print(f"  {warning}")
        print()
    if not found:
        print(f"{OK_MARK} Package caches have no half-extracted entries or leftovers.\n")


def fixer(prefix: str, args: Namespace, confirm: Callable[[str], object]) -> int:
    """Remove broken entries and leftovers under the exclusive cache lock."""
    from ..cache_entries import fix, scan
    from ..cache_lock import (
        NETWORK_FILESYSTEMS,
        filesystem_type,
        pkgs_dir_lock,
        set_recorded_kind,
    )
    from ..exceptions import CondaStoreError
    from .cache_locks import holds_suspended, lock_settings, report_wait
    from .errors import to_conda_error

    settings = lock_settings()
    caches = _caches()
    pending = {d: scan(Path(d)) for d in caches}
    if not any(pending.values()) and not any(_kind_warning(d) for d in caches):
        print("No broken package cache entries found.")
        return 0
    for problems in pending.values():
        for problem in problems:
            print(f"  {problem.describe()}")
    confirm("Remove these (and any other leftovers found once the caches are idle)?")
    removed = 0
    try:
        with holds_suspended():  # ``conda doctor`` holds the caches shared, for other fixers
            for pkgs_dir in caches:
                with pkgs_dir_lock(Path(pkgs_dir), exclusive=True, timeout=settings.timeout,
                                   kind=settings.kind, on_wait=report_wait,
                                   command="conda doctor --fix"):
                    removed += len(fix(scan(Path(pkgs_dir), idle=True)))
                    if _kind_warning(pkgs_dir) and \
                            filesystem_type(Path(pkgs_dir)) in NETWORK_FILESYSTEMS:
                        set_recorded_kind(Path(pkgs_dir), "soft")
                        print(f"Switched {pkgs_dir} to soft locks.")
    except CondaStoreError as exc:
        raise to_conda_error(exc) from exc
    print(f"Removed {removed} item(s).")
    return 0
