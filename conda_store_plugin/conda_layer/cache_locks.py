"""Make conda's own commands safe to run at the same time on shared package caches.

What is locked where (and why it covers each path)
--------------------------------------------------
1. **The cache lock, for the whole command** (``conda_pre_commands``). ``create``,
   ``install``, ``update``, ``remove``, ``env create`` (conda runs it as ``create``),
   ``env update``, ``rename`` and ``doctor`` (its fixers reinstall; ours suspends the
   hold to lock exclusively) take every writable package cache's reader/writer lock
   *shared* before they read anything; ``clean`` takes it *exclusive*. It is released by
   ``conda_post_commands`` or, when a command fails (conda then skips post-commands),
   at process exit: an ``atexit`` handler, and the kernel anyway (the SQLite lock dies
   with its process). So ``clean`` waits until no install runs and installs wait while
   ``clean`` runs: an entry a plan relies on ("X is cached") cannot vanish between the
   plan and the link, and ``clean`` never deletes a ``.partial`` download or a freshly
   extracted folder of a running install. Caches are locked in path order, so two
   commands locking several caches cannot deadlock.
2. **One lock per cache entry, around its download and extraction**
   (``fetch_guard``). conda fetches and extracts every package of every transaction in
   one place, ``ProgressiveFetchExtract.execute`` (the solver path, ``--file
   explicit.txt``, local archives, ``--clone``, ``--revision``, lockfile specifiers such
   as ours): the guard wraps that method. It makes each package a complete cache entry
   first, under the entry's lock, writing only into ``<pkgs>/.conda-store/tmp`` and
   renaming into place; then it lets conda re-plan, which finds everything done.
   Different packages proceed in parallel, within and across processes; a package
   another process is working on is skipped for now and picked up once that process
   is done, so it is downloaded once.
3. **conda's own extraction**, which still happens when conda finds an archive with
   no (or a broken) folder while scanning a cache, goes through our package extractor
   (``extractor``): entry lock, extract into staging, rename into place, skip if
   another process completed it meanwhile.

Why not other hooks: ``conda_post_solves`` runs before the confirmation prompt and not
for explicit or lockfile installs; transaction actions run after fetch/extract.
``conda store`` verbs take the same cache and entry locks themselves (``install.py``,
``fetch.py``).

With ``plugins: {cache_locks: false}`` every hook here does nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Commands (conda's module names minus ``main_``) that install from the caches
#: (``doctor``: its fixers reinstall packages).
SHARED_COMMANDS = frozenset({"create", "install", "update", "remove", "env_update",
                             "rename", "doctor"})
#: Commands that delete cache entries.
EXCLUSIVE_COMMANDS = frozenset({"clean"})

_holds: list[Any] = []


@dataclass(frozen=True)
class LockSettings:
    """The ``cache_locks``, ``cache_lock_timeout`` and ``cache_lock_kind`` settings."""

    enabled: bool = True
    timeout: float = 600.0
    kind: str = "auto"


def lock_settings() -> LockSettings:
    """Our settings as conda read them from .condarc and ``CONDA_PLUGINS_*``."""
    from conda.base.context import context

    from ..cache_lock import KINDS

    plugins = context.plugins
    enabled = getattr(plugins, "cache_locks", True)
    timeout = getattr(plugins, "cache_lock_timeout", 600.0)
    kind = str(getattr(plugins, "cache_lock_kind", "auto") or "auto").strip().lower()
    if isinstance(enabled, str):
        enabled = enabled.strip().lower() not in ("false", "no", "0", "off")
    if kind not in KINDS:
        from conda.exceptions import CondaValueError

        raise CondaValueError(f"plugins.cache_lock_kind is {kind!r}; use one of: "
                              + ", ".join(KINDS))
    return LockSettings(bool(enabled), float(timeout), kind)


def report_wait(wait: Any) -> None:
    """Tell the user (stderr) whom we are waiting for."""
    print(f"{wait.message()} ...", file=sys.stderr, flush=True)


def command_line() -> str:
    """``conda create -n x ...`` for other processes' wait messages (shortened)."""
    args = " ".join(sys.argv[1:])
    return ("conda " + args)[:160]


def pkgs_dirs_to_lock(*, exclusive: bool) -> list[str]:
    """The writable package caches (plus, for installs, the one conda will create)."""
    from conda.core.package_cache_data import PackageCacheData
    from conda.exceptions import NoWritablePkgsDirError

    dirs = [pc.pkgs_dir for pc in PackageCacheData.writable_caches()
            if os.path.isdir(pc.pkgs_dir)]
    if not exclusive:
        try:
            dirs.append(PackageCacheData.first_writable().pkgs_dir)
        except NoWritablePkgsDirError:
            pass  # conda reports that itself when it needs a cache
    unique: dict[str, str] = {}
    for path in dirs:
        unique.setdefault(os.path.realpath(path), path)
    return [unique[key] for key in sorted(unique)]


def pre_command(command: str) -> None:
    """``conda_pre_commands`` action: lock the caches for the whole command."""
    release_holds()  # an earlier command of this process failed before its post-command
    settings = lock_settings()
    if not settings.enabled:
        return
    exclusive = command in EXCLUSIVE_COMMANDS
    _take_holds(settings, exclusive=exclusive)
    if not exclusive:
        from .fetch_guard import install

        install()


def _take_holds(settings: LockSettings, *, exclusive: bool) -> None:
    from ..cache_lock import pkgs_dir_lock
    from ..exceptions import CondaStoreError
    from .errors import to_conda_error

    try:
        for pkgs_dir in pkgs_dirs_to_lock(exclusive=exclusive):
            _holds.append(pkgs_dir_lock(Path(pkgs_dir), exclusive=exclusive,
                                        timeout=settings.timeout, kind=settings.kind,
                                        on_wait=report_wait, command=command_line()))
    except CondaStoreError as exc:
        release_holds()
        raise to_conda_error(exc) from exc


@contextlib.contextmanager
def holds_suspended() -> Iterator[None]:
    """Give this command's shared holds back for a while (so it can lock exclusively)."""
    shared = bool(_holds) and not any(h.exclusive for h in _holds)
    if not shared:
        yield
        return
    release_holds()
    try:
        yield
    finally:
        _take_holds(lock_settings(), exclusive=False)


def post_command(command: str) -> None:
    """``conda_post_commands`` action: give the caches back.

    After ``clean`` (still holding the caches exclusively, so nobody works in them) it
    also removes our staging folders that killed processes left behind.
    """
    from conda.base.context import context

    try:
        if command in EXCLUSIVE_COMMANDS and not context.dry_run:
            from ..cache_entries import clear_leftovers

            for hold in _holds:
                if hold.exclusive and hold.covered_by is None:
                    clear_leftovers(hold.pkgs_dir, idle=True)
    finally:
        release_holds()


def release_holds() -> None:
    """Release the holds of this process's current command (idempotent)."""
    while _holds:
        _holds.pop().release()


def enabled_quietly() -> bool:
    """``cache_locks`` without raising (for hooks conda calls very often)."""
    try:
        return lock_settings().enabled
    except Exception:  # noqa: BLE001 - a bad setting is reported by the commands
        return True
