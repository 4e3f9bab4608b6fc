"""Reporting a wait for a cache lock: what is waited for, and when to say so.

The lock functions take an ``on_wait`` callback and call it with a :class:`LockWait`
(plain data) from a helper thread; the caller decides how to show it. Core code never
prints.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cache_lock_holders import Holder

#: Seconds between two reports of the same wait.
NOTICE_REPEAT_S = 30.0


@dataclass(frozen=True)
class LockWait:
    """A wait for a lock, as reported to an ``on_wait`` callback (plain data)."""

    pkgs_dir: Path
    exclusive: bool
    waited_s: float
    holders: tuple[Holder, ...] = ()
    entry: str | None = None  # a cache entry's lock instead of the whole cache's

    def message(self) -> str:
        """``waiting for another conda process using PKGS_DIR (pid N: ...)``."""
        who = "; ".join(h.describe() for h in self.holders) or "pid unknown"
        if self.entry:
            return (f"waiting for another conda process working on {self.entry} in "
                    f"{self.pkgs_dir} ({who})")
        return f"waiting for another conda process using {self.pkgs_dir} ({who})"


WaitCallback = Callable[[LockWait], None]


class WaitNotifier:
    """Calls ``on_wait`` after ``first_s`` seconds of waiting, then every ``repeat_s``."""

    def __init__(self, on_wait: WaitCallback | None, describe: Callable[[float], LockWait],
                 first_s: float, repeat_s: float = NOTICE_REPEAT_S) -> None:
        self.on_wait, self.describe = on_wait, describe
        self.first_s, self.repeat_s = first_s, repeat_s
        self.start = time.monotonic()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> WaitNotifier:
        if self.on_wait is not None:
            self.thread = threading.Thread(target=self._run, name="cache-lock-notice",
                                           daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join()

    def _run(self) -> None:
        delay = self.first_s
        while not self.done.wait(delay):
            with contextlib.suppress(Exception):  # a report must never break the wait
                self.on_wait(self.describe(time.monotonic() - self.start))  # type: ignore[misc]
            delay = self.repeat_s
