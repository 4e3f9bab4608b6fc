"""Per-entry locks: one exclusive lock per cache entry (``name-version-build``).

Whoever holds it may download, extract or replace that entry; everyone else waits and
then finds it done, so processes sharing a cache fetch each package once while
different packages proceed in parallel. A holder never waits for another lock while
it holds one. The lock is a ``filelock.FileLock`` (``SoftFileLock`` when the cache's
kind is ``soft``; a same-host dead holder is evicted as soon as its pid is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .cache_lock_holders import entry_holders
from .cache_lock_kind import lock_kind
from .cache_lock_paths import entry_lock_file, locks_dir
from .cache_lock_wait import LockWait, WaitCallback, WaitNotifier
from .exceptions import CacheLockTimeoutError

if TYPE_CHECKING:
    from filelock import FileLock


def entry_lock(pkgs_dir: Path, dist_name: str, *, kind: str | None = None) -> FileLock:
    """The (not yet acquired) lock of one cache entry; use it as a context manager.

    It is not thread-local, so it may be released by another thread than the one
    that acquired it (asyncio code acquires in the loop and may finish elsewhere).
    ``kind`` defaults to the cache's recorded kind.
    """
    kind = kind or lock_kind(pkgs_dir)
    path = entry_lock_file(locks_dir(pkgs_dir), dist_name)
    if kind == "soft":
        from filelock import SoftFileLock

        return SoftFileLock(path, thread_local=False)  # type: ignore[return-value]
    from filelock import FileLock

    return FileLock(path, thread_local=False)


def try_entry(pkgs_dir: Path, dist_name: str, *, kind: str | None = None) -> FileLock | None:
    """The entry's lock if it could be taken right now, else None (someone works on it)."""
    from filelock import Timeout

    lock = entry_lock(pkgs_dir, dist_name, kind=kind)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return lock


@contextlib.contextmanager
def entry_held(pkgs_dir: Path, dist_name: str, *, timeout: float = -1,
               on_wait: WaitCallback | None = None, notice_after_s: float = 3.0,
               kind: str | None = None) -> Iterator[None]:
    """Hold an entry lock (blocking), reporting long waits and honouring ``timeout``."""
    from filelock import Timeout

    lock = entry_lock(pkgs_dir, dist_name, kind=kind)
    start = time.monotonic()

    def describe(waited: float) -> LockWait:
        return LockWait(Path(pkgs_dir), True, waited, entry_holders(pkgs_dir, dist_name),
                        entry=dist_name)

    with WaitNotifier(on_wait, describe, notice_after_s):
        try:
            lock.acquire(timeout=timeout if timeout >= 0 else -1)
        except Timeout:
            raise CacheLockTimeoutError(
                f"{dist_name} in {pkgs_dir}", timeout,
                [h.describe() for h in describe(time.monotonic() - start).holders],
                exclusive=True) from None
    try:
        yield
    finally:
        lock.release()


@contextlib.asynccontextmanager
async def hold_entry(pkgs_dir: Path, dist_name: str,
                     poll_interval: float = 0.02) -> AsyncIterator[None]:
    """Hold an entry lock inside asyncio code without blocking a thread while waiting.

    Waiting in a thread would be a deadlock risk: two processes could each fill
    their thread pool with waiters for entries the other holds, leaving no thread
    to finish the entries they hold themselves. Each *attempt* (open the lock file,
    try the lock: a few filesystem calls, slow on some disks) runs in a worker thread,
    so it does not stall the event loop that drives every download.
    """
    from filelock import Timeout

    lock = await asyncio.to_thread(entry_lock, pkgs_dir, dist_name)  # resolves its path
    while True:
        attempt = asyncio.ensure_future(asyncio.to_thread(lock.acquire, timeout=0))
        try:
            await asyncio.shield(attempt)
            break
        except Timeout:
            await asyncio.sleep(poll_interval)
        except asyncio.CancelledError:
            # The thread may still take the lock: give it back once it has.
            attempt.add_done_callback(
                lambda done: None if done.cancelled() or done.exception() else lock.release())
            raise
    try:
        yield
    finally:
        lock.release()
