"""The two locks of the store, both OS file locks (released by the kernel on ``kill -9``).

* The **environment lock** (``<env>/.env.lock``) serialises the short metadata steps
  of one environment: numbering a new build, switching the current build, archiving,
  deleting. Installing runs outside it, so two builds of one environment proceed in
  parallel into their own prefixes; builds of different environments never meet.
* The **builder lock** (``builds/<N>/.builder.lock``) is held by the process that
  builds or recreates build N for as long as it works on it. A reader that finds a
  build marked queued/building whose builder lock is free knows its builder died.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _file_lock(path: Path, timeout: float) -> Any:
    from filelock import FileLock

    return FileLock(str(path), timeout=timeout)


@contextmanager
def env_lock(path: Path, *, timeout: float = -1) -> Iterator[None]:
    """Hold the environment lock at ``path`` (created with its folder if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _file_lock(path, timeout)
    with lock:
        yield


class BuilderLock:
    """The builder lock of one build: ``acquire()`` once, ``release()`` when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = _file_lock(path, 0)

    def acquire(self) -> None:
        """Take the lock now; raises ``filelock.Timeout`` if another process holds it."""
        self._lock.acquire(timeout=0)

    def release(self) -> None:
        """Let go (idempotent)."""
        if self._lock.is_locked:
            self._lock.release(force=True)


def builder_alive(path: Path) -> bool | None:
    """Whether some process holds the builder lock at ``path`` right now.

    Probes without waiting; a missing lock file means nobody holds it (nothing is
    created). None when it cannot tell (e.g. a store we may not write to).
    """
    from filelock import Timeout

    if not path.exists():
        return False
    lock = _file_lock(path, 0)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:  # e.g. a read-only store: the caller falls back to the pid
        return None
    lock.release(force=True)
    return False
