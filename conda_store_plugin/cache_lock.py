"""Inter-process locks on a package cache (``pkgs_dir``), with ``filelock``.

This module is the one import point; each job lives in a ``cache_lock_*`` module:

* ``cache_lock_pkgs_dir``: :func:`pkgs_dir_lock`, a reader/writer lock on the whole
  cache (installs hold it shared, deleting entries exclusive), and :func:`cache_lock`,
  the same lock as a context manager (what ``install.py`` uses);
* ``cache_lock_entries``: :func:`entry_lock` / :func:`try_entry` / :func:`entry_held` /
  :func:`hold_entry`, one exclusive lock per cache entry (``name-version-build``);
* ``cache_lock_holds``: this process's holds, counted per thread (:class:`CacheHold`,
  :func:`held_here`, :func:`release_all`);
* ``cache_lock_rwfile``: the ``filelock`` file behind the cache lock, and the soft
  lock timings (``SOFT_HEARTBEAT_S``, ``SOFT_STALE_S``: change them there);
* ``cache_lock_kind``: the cache's recorded lock kind, ``sqlite`` or ``soft``;
* ``cache_lock_filesystem``: network filesystem detection, which picks ``soft``;
* ``cache_lock_holders``: who holds the locks (registry records, ``/proc/locks``);
* ``cache_lock_processes``: pid liveness, start times, ancestors, ``flock`` holders;
* ``cache_lock_wait``: reporting a wait (:class:`LockWait`, ``on_wait`` callbacks);
* ``cache_lock_paths``: where the lock files live.

The two levels are always taken in this order, never the other way round: the whole
cache first, then an entry; a holder of an entry lock never waits for another lock.
Nothing here imports conda.
"""

from __future__ import annotations

from .cache_lock_entries import entry_held, entry_lock, hold_entry, try_entry
from .cache_lock_filesystem import NETWORK_FILESYSTEMS, detect_kind, filesystem_type
from .cache_lock_holders import Holder, entry_holders, holder_alive, holders
from .cache_lock_holds import CacheHold, held_here, release_all
from .cache_lock_kind import KINDS, forget_kind, lock_kind, recorded_kind, set_recorded_kind
from .cache_lock_paths import PRIVATE_DIR, locks_dir
from .cache_lock_pkgs_dir import cache_lock, pkgs_dir_lock
from .cache_lock_processes import ancestor_pids, flock_holders, pid_alive, process_start
from .cache_lock_rwfile import SOFT_HEARTBEAT_S, SOFT_STALE_S
from .cache_lock_wait import NOTICE_REPEAT_S, LockWait, WaitCallback
from .exceptions import CacheLockError, CacheLockTimeoutError

__all__ = [
    "CacheHold", "CacheLockError", "CacheLockTimeoutError", "Holder", "KINDS", "LockWait",
    "NETWORK_FILESYSTEMS", "NOTICE_REPEAT_S", "PRIVATE_DIR", "SOFT_HEARTBEAT_S",
    "SOFT_STALE_S", "WaitCallback", "ancestor_pids", "cache_lock", "detect_kind",
    "entry_held", "entry_holders", "entry_lock", "filesystem_type", "flock_holders",
    "forget_kind", "held_here", "hold_entry", "holder_alive", "holders", "lock_kind",
    "locks_dir", "pid_alive", "pkgs_dir_lock", "process_start", "recorded_kind",
    "release_all", "set_recorded_kind", "try_entry",
]
