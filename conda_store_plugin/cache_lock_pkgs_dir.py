"""The whole-cache reader/writer lock: :func:`pkgs_dir_lock` and :func:`cache_lock`.

Commands that install hold it *shared* for as long as they run; commands that delete
entries (``conda clean``, the ``conda doctor`` fixer) hold it *exclusive*. A waiting
writer keeps new readers out, so ``clean`` is not starved. Take it before any entry
lock, never after.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .cache_lock_holders import ancestor_holder, holders, register_holder
from .cache_lock_holds import CacheHold, adopt, join_in_process
from .cache_lock_kind import forget_kind, lock_kind, recorded_kind
from .cache_lock_paths import SQLITE_FILE, locks_dir
from .cache_lock_rwfile import acquire_rw, close_quietly
from .cache_lock_wait import LockWait, WaitCallback, WaitNotifier
from .exceptions import CacheLockError, CacheLockTimeoutError


def pkgs_dir_lock(pkgs_dir: Path, *, exclusive: bool, timeout: float = -1,
                  kind: str = "auto", on_wait: WaitCallback | None = None,
                  command: str = "", notice_after_s: float = 0.5) -> CacheHold:
    """Take the reader/writer lock of a package cache and return the (acquired) hold.

    Args:
        pkgs_dir: The package cache (created if needed).
        exclusive: Writer (deletes entries) or reader (installs from the cache).
        timeout: Seconds to wait at most; negative waits forever, 0 not at all.
        kind: ``auto``, ``sqlite`` or ``soft``; only used if the cache has no kind yet.
        on_wait: Called (from a helper thread) after ``notice_after_s`` seconds of
            waiting and every ``NOTICE_REPEAT_S`` after, with a :class:`LockWait`.
        command: What this process is, for other processes' wait messages.
        notice_after_s: Seconds of waiting before the first ``on_wait`` call.

    Holds are counted per process: a second shared request (e.g. ``conda store
    install`` inside a ``conda`` command that already holds it) reuses the first; so
    does a shared request of a process whose ancestor holds the lock (a nested ``conda``
    call), which would otherwise deadlock behind a queued writer.

    Raises:
        CacheLockTimeoutError: not acquired within ``timeout``.
        CacheLockError: exclusive requested while this process (or the one that started
            it) holds it shared: waiting would never end.
    """
    pkgs_dir = Path(pkgs_dir)
    key = os.path.realpath(pkgs_dir)
    me = threading.get_ident()
    deadline = None if timeout < 0 else time.monotonic() + timeout
    joined = join_in_process(pkgs_dir, key, me, exclusive, deadline, timeout)
    if joined is not None:
        return joined
    kind = lock_kind(pkgs_dir, kind)
    covering = ancestor_holder(pkgs_dir)
    if covering is not None:
        if exclusive:  # it waits for us, we would wait for it
            raise CacheLockError(
                f"cannot lock the package cache {pkgs_dir} exclusively: the process that "
                f"started this one uses it ({covering.describe()})",
                hint="Run the command that deletes cache entries after that one ends.")
        return CacheHold(pkgs_dir, exclusive, kind, covered_by=covering.pid)

    def describe(waited: float) -> LockWait:
        return LockWait(pkgs_dir, exclusive, waited, tuple(holders(pkgs_dir)))

    with WaitNotifier(on_wait, describe, notice_after_s):
        while True:
            lock = acquire_rw(pkgs_dir, kind, exclusive, deadline, timeout, describe)
            now_recorded = recorded_kind(pkgs_dir)
            if now_recorded in (None, kind):
                break
            # ``conda doctor --fix`` switched the cache's kind while we waited.
            close_quietly(lock)
            forget_kind(pkgs_dir)
            kind = lock_kind(pkgs_dir, kind)
    record = None
    try:
        record = register_holder(pkgs_dir, "exclusive" if exclusive else "shared", command)
    except OSError:
        pass  # the lock holds without its registry record; waiters just cannot name us
    if not adopt(key, lock, exclusive, kind, record, me):
        close_quietly(lock)
        return pkgs_dir_lock(pkgs_dir, exclusive=exclusive, timeout=timeout, kind=kind,
                             on_wait=on_wait, command=command, notice_after_s=notice_after_s)
    return CacheHold(pkgs_dir, exclusive, kind, _key=key, _thread=me)


@contextlib.contextmanager
def cache_lock(pkgs_dir: Path, *, shared: bool = True,
               timeout: float = -1) -> Iterator[None]:
    """Hold the whole-cache lock: shared (installs) or exclusive (deleting entries).

    Raises ``filelock.Timeout`` when ``timeout`` runs out (this function's original
    contract); :func:`pkgs_dir_lock` raises the more helpful ``CacheLockTimeoutError``.
    """
    try:
        hold = pkgs_dir_lock(pkgs_dir, exclusive=not shared, timeout=timeout,
                             command=" ".join(os.path.basename(a) if i == 0 else a
                                              for i, a in enumerate(sys.argv))[:200])
    except CacheLockTimeoutError as exc:
        from filelock import Timeout

        raise Timeout(str(locks_dir(pkgs_dir) / SQLITE_FILE)) from exc
    with hold:
        yield
