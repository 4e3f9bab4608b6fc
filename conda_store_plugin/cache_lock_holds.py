"""This process's holds on package-cache locks, counted per thread.

One ``filelock`` lock per cache and process: a second shared request (e.g. ``conda
store install`` inside a ``conda`` command that already holds the cache) joins the
first instead of queueing behind a waiting writer, and the lock is released when the
process's last hold goes (or at exit). Requests that would wait for the process itself
are refused with ``CacheLockError``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache_lock_rwfile import close_quietly
from .exceptions import CacheLockError, CacheLockTimeoutError


@dataclass
class _Held:
    lock: Any
    exclusive: bool
    kind: str
    record: Path | None
    threads: dict[int, int] = field(default_factory=dict)  # thread id -> holds


_held: dict[str, _Held] = {}
_held_lock = threading.RLock()
_held_changed = threading.Condition(_held_lock)
_atexit_registered = False


@dataclass
class CacheHold:
    """A hold on a cache's lock; release it once (idempotent), or use ``with``."""

    pkgs_dir: Path
    exclusive: bool
    kind: str
    covered_by: int | None = None  # an ancestor process's hold covers ours
    _key: str | None = field(default=None, repr=False)
    _thread: int = field(default=0, repr=False)
    _released: bool = field(default=False, repr=False)

    def release(self) -> None:
        """Give the hold back; the lock is freed when this process's last hold goes."""
        if self._released:
            return
        self._released = True
        if self._key is not None:
            _drop(self._key, self._thread)

    def __enter__(self) -> CacheHold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def join_in_process(pkgs_dir: Path, key: str, me: int, exclusive: bool,
                    deadline: float | None, timeout: float) -> CacheHold | None:
    """Share this process's hold if compatible; wait while another thread's conflicts.

    Returns the joined hold, or None when this process holds nothing (take the lock).
    """
    with _held_changed:
        while True:
            held = _held.get(key)
            if held is None:
                return None
            mine = me in held.threads
            if not exclusive and (not held.exclusive or mine):
                break  # readers share; the exclusive holder may re-enter as reader
            if exclusive and held.exclusive and mine:
                break  # re-entered by its thread
            if mine:  # shared -> exclusive in one thread: it would wait for itself
                raise CacheLockError(
                    f"this process already uses the package cache {pkgs_dir} and cannot "
                    "also lock it exclusively",
                    hint="Run the command that deletes cache entries on its own.")
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise CacheLockTimeoutError(str(pkgs_dir), timeout,
                                            [f"pid {os.getpid()} (this process)"],
                                            exclusive=exclusive)
            _held_changed.wait(remaining)
        held.threads[me] = held.threads.get(me, 0) + 1
        return CacheHold(pkgs_dir, exclusive, held.kind, _key=key, _thread=me)


def adopt(key: str, lock: Any, exclusive: bool, kind: str, record: Path | None,
          thread: int) -> bool:
    """Make a freshly acquired lock this process's hold; False if another thread won."""
    with _held_lock:
        if key in _held:  # another thread of ours got it meanwhile: use that one
            return False
        _held[key] = _Held(lock, exclusive, kind, record, {thread: 1})
        _ensure_atexit()
    return True


def _drop(key: str, thread: int) -> None:
    with _held_changed:
        held = _held.get(key)
        if held is None:
            return
        left = held.threads.get(thread, 0) - 1
        if left > 0:
            held.threads[thread] = left
            return
        held.threads.pop(thread, None)
        if held.threads:
            return
        del _held[key]
        _let_go(held)
        _held_changed.notify_all()


def release_all() -> None:
    """Release every cache lock this process holds (at exit, or after a failed command)."""
    with _held_changed:
        for key, held in list(_held.items()):
            del _held[key]
            _let_go(held)
        _held_changed.notify_all()


def _let_go(held: _Held) -> None:
    # The registry record goes first: a waiter must not name a holder that has left.
    if held.record is not None:
        held.record.unlink(missing_ok=True)
    close_quietly(held.lock)


def held_here(pkgs_dir: Path) -> str | None:
    """``shared``/``exclusive`` if this process holds the cache's lock, else None."""
    with _held_lock:
        held = _held.get(os.path.realpath(pkgs_dir))
    if held is None:
        return None
    return "exclusive" if held.exclusive else "shared"


def _ensure_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        import atexit

        atexit.register(release_all)
        _atexit_registered = True
