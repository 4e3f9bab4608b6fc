"""The file behind the whole-cache reader/writer lock: open it and acquire it once.

* ``sqlite`` (``filelock.ReadWriteLock``, ``locks/cache.rwlock``) on local disks: the
  kernel drops the locks of a process that dies (even ``kill -9``), so a dead holder
  is recovered at once;
* ``soft`` (``filelock.SoftReadWriteLock``, ``locks/cache.softlock``) on network
  filesystems: a dead holder is evicted once its heartbeat is older than
  :data:`SOFT_STALE_S`.

Counting holds within a process is ``cache_lock_holds``'s job; deciding when to take
the lock is ``cache_lock_pkgs_dir``'s.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cache_lock_paths import SOFT_FILE, SQLITE_FILE, locks_dir
from .cache_lock_wait import LockWait
from .exceptions import CacheLockError, CacheLockTimeoutError

#: Soft locks: seconds between heartbeats, and age after which a holder counts as dead.
#: Read at each acquire, so tests may shorten them on this module.
SOFT_HEARTBEAT_S = 5.0
SOFT_STALE_S = 20.0


def _new_rw(pkgs_dir: Path, kind: str) -> Any:
    folder = locks_dir(pkgs_dir)
    if kind == "soft":
        from filelock import SoftReadWriteLock

        return SoftReadWriteLock(folder / SOFT_FILE, is_singleton=False,
                                 heartbeat_interval=SOFT_HEARTBEAT_S,
                                 stale_threshold=SOFT_STALE_S)
    from filelock import ReadWriteLock

    return ReadWriteLock(folder / SQLITE_FILE, is_singleton=False)


def acquire_rw(pkgs_dir: Path, kind: str, exclusive: bool, deadline: float | None,
               timeout: float, describe: Callable[[float], LockWait]) -> Any:
    """One blocking acquire (so a waiting writer keeps its place ahead of new readers)."""
    from filelock import Timeout

    start = time.monotonic()
    for _attempt in range(5):
        lock = _new_rw(pkgs_dir, kind)
        remaining = -1.0 if deadline is None else max(deadline - time.monotonic(), 0.0)
        try:
            if exclusive:
                lock.acquire_write(timeout=remaining)
            else:
                lock.acquire_read(timeout=remaining)
            return lock
        except Timeout:
            close_quietly(lock)
            raise CacheLockTimeoutError(
                str(pkgs_dir), timeout, [h.describe() for h in describe(0).holders],
                exclusive=exclusive) from None
        except OSError as exc:
            close_quietly(lock)
            # ``conda clean --force-pkgs-dirs`` deleted the lock database under us:
            # acquiring the unlinked file would exclude nobody, so start over.
            if "unlinked or replaced" not in str(exc):
                raise CacheLockError(f"cannot lock the package cache {pkgs_dir}: {exc}",
                                     hint="Check that the folder is writable.") from exc
        except BaseException:
            close_quietly(lock)
            raise
    raise CacheLockError(  # pragma: no cover - the cache kept being deleted
        f"cannot lock the package cache {pkgs_dir}: its lock file keeps being replaced "
        f"(tried for {time.monotonic() - start:.0f} s)",
        hint="Is another program deleting the package cache in a loop?")


def close_quietly(lock: Any) -> None:
    """Close a ``filelock`` lock, ignoring errors (releasing must not fail a command)."""
    with contextlib.suppress(Exception):
        lock.close()
