"""Inter-process locks on a package cache (``pkgs_dir``), with ``filelock``.

Two levels, always taken in this order (never the other way round):

* :func:`pkgs_dir_lock`: a reader/writer lock on the whole cache. Commands that install
  hold it *shared* for as long as they run; commands that delete entries (``conda
  clean``, the ``conda doctor`` fixer) hold it *exclusive*. A waiting writer keeps new
  readers out, so ``clean`` is not starved. :func:`cache_lock` is the same lock as a
  context manager (what ``install.py`` uses).
* :func:`entry_lock` / :func:`hold_entry` / :func:`entry_held`: one exclusive lock per
  cache entry (``name-version-build``). Whoever holds it may download, extract or
  replace that entry; everyone else waits and then finds it done, so processes sharing
  a cache fetch each package once while different packages proceed in parallel. A
  holder never waits for another lock while it holds one.

Lock kinds:

* ``sqlite`` (``filelock.ReadWriteLock``) on local disks: the kernel drops the locks of
  a process that dies (even ``kill -9``), so a dead holder is recovered at once;
* ``soft`` (``filelock.SoftReadWriteLock`` / ``SoftFileLock``) on network filesystems,
  where SQLite locking is unreliable: a dead holder is evicted once its heartbeat is
  older than :data:`SOFT_STALE_S` (same-host entry locks: as soon as its pid is gone).

Processes that disagree on the kind would not exclude each other, so the kind belongs
to the cache: the first process that locks it records its choice (the ``kind`` argument,
``auto`` detecting network filesystems from ``/proc/self/mounts``) in
``<pkgs_dir>/.conda-store/locks/KIND``, and that record wins over every later request.

Holders of the cache lock register themselves in ``locks/holders/`` (pid, host,
command), so a waiter can say whom it waits for and a ``conda`` started by a holder
(a nested call in a post-link script) does not deadlock against a queued writer.

Lock files live in ``<pkgs_dir>/.conda-store/locks/``. conda only looks at top-level
entries of a package cache that hold ``info/index.json`` or end in ``.conda`` /
``.tar.bz2``, and py-rattler only at ``<dist>/`` and ``<dist>.lock``, so this hidden
folder is invisible to both. (py-rattler's own ``<dist>.lock`` files are metadata, not
locks, and must never be opened by ``filelock``, which may truncate or delete them.)
Nothing here imports conda.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import CacheLockError, CacheLockTimeoutError

if TYPE_CHECKING:
    from filelock import FileLock

#: Our private folder inside a package cache.
PRIVATE_DIR = ".conda-store"

#: Lock kinds accepted by :func:`pkgs_dir_lock` (``auto``: detect).
KINDS = ("auto", "sqlite", "soft")

#: Filesystem types (``/proc/self/mounts``) on which the soft kind is chosen.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smbfs", "smb3", "fuse.sshfs", "sshfs", "lustre", "gpfs",
    "afs", "9p", "ceph", "fuse.ceph", "glusterfs", "fuse.glusterfs", "beegfs",
    "fuse.s3fs", "davfs", "fuse.rclone", "ncpfs", "panfs", "pvfs2", "orangefs",
})

#: Soft locks: seconds between heartbeats, and age after which a holder counts as dead.
SOFT_HEARTBEAT_S = 5.0
SOFT_STALE_S = 20.0

#: Seconds between two reports of the same wait.
NOTICE_REPEAT_S = 30.0

_SQLITE_FILE = "cache.rwlock"
_SOFT_FILE = "cache.softlock"
_KIND_FILE = "KIND"


def locks_dir(pkgs_dir: Path) -> Path:
    """``<pkgs_dir>/.conda-store/locks``, created on demand."""
    path = Path(pkgs_dir) / PRIVATE_DIR / "locks"
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- lock kind ------------------------------------------------------------------------


def filesystem_type(path: Path, *, mounts: str | Path = "/proc/self/mounts") -> str | None:
    """Type of the filesystem ``path`` lives on, from ``/proc/self/mounts`` (Linux only)."""
    try:
        with open(mounts, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    target = os.path.realpath(_existing_ancestor(Path(path)))
    best, best_type = "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = _unescape_mount(fields[1])
        if (target == mount or target.startswith(mount.rstrip("/") + "/")) \
                and len(mount) >= len(best):
            best, best_type = mount, fields[2]
    return best_type


def _unescape_mount(text: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    for escaped, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(escaped, char)
    return text


def _existing_ancestor(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def detect_kind(path: Path) -> str:
    """``soft`` when ``path`` is on a network filesystem, else ``sqlite``."""
    return "soft" if filesystem_type(path) in NETWORK_FILESYSTEMS else "sqlite"


_kinds: dict[str, str] = {}
_kinds_lock = threading.Lock()


def lock_kind(pkgs_dir: Path, requested: str = "auto") -> str:
    """The lock kind of a cache: the recorded one, else ``requested`` (recorded now).

    ``requested`` ``auto`` means :func:`detect_kind`. Once recorded, the kind never
    changes by itself: every process must use the same one.
    """
    if requested not in KINDS:
        raise ValueError(f"unknown cache lock kind {requested!r} (one of {', '.join(KINDS)})")
    key = os.path.realpath(pkgs_dir)
    with _kinds_lock:
        if key in _kinds:
            return _kinds[key]
        recorded = recorded_kind(pkgs_dir)
        if recorded is None:
            wanted = detect_kind(Path(pkgs_dir)) if requested == "auto" else requested
            recorded = _record_kind(pkgs_dir, wanted)
        _kinds[key] = recorded
        return recorded


def recorded_kind(pkgs_dir: Path) -> str | None:
    """The kind recorded in the cache, or None before any lock was taken there."""
    try:
        text = (Path(pkgs_dir) / PRIVATE_DIR / "locks" / _KIND_FILE).read_text().strip()
    except OSError:
        return None
    return text if text in ("sqlite", "soft") else None


def _record_kind(pkgs_dir: Path, kind: str) -> str:
    """Record ``kind`` unless another process was first; return the recorded kind."""
    folder = locks_dir(pkgs_dir)
    target = folder / _KIND_FILE
    tmp = folder / f".{_KIND_FILE}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(kind + "\n")
    try:
        os.link(tmp, target)  # atomic "create with content unless it exists"
    except FileExistsError:
        pass
    except OSError:  # no hard links here: last writer wins, which is still one value
        if not target.exists():
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return recorded_kind(pkgs_dir) or kind


def forget_kind(pkgs_dir: Path) -> None:
    """Drop this process's memory of the cache's kind (after the record changed)."""
    with _kinds_lock:
        _kinds.pop(os.path.realpath(pkgs_dir), None)


def set_recorded_kind(pkgs_dir: Path, kind: str) -> None:
    """Change the recorded kind. Only safe while holding the cache lock exclusively."""
    if kind not in ("sqlite", "soft"):
        raise ValueError(f"cannot record lock kind {kind!r}")
    folder = locks_dir(pkgs_dir)
    tmp = folder / f".{_KIND_FILE}.{os.getpid()}"
    tmp.write_text(kind + "\n")
    os.replace(tmp, folder / _KIND_FILE)
    forget_kind(pkgs_dir)


# -- holders --------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """A process that holds (or held) the cache lock, from its registry record."""

    pid: int
    host: str
    mode: str  # "shared" or "exclusive"
    command: str = ""
    since: float = 0.0
    start: int | None = None  # process start time (Linux clock ticks), against pid reuse

    def describe(self) -> str:
        """``pid 123: conda create ...`` (with the host when it is another machine)."""
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        what = f": {self.command}" if self.command else ""
        return f"pid {self.pid}{where}{what}"


def holders(pkgs_dir: Path) -> list[Holder]:
    """Live holders of the cache lock; records of dead same-host processes are removed."""
    folder = Path(pkgs_dir) / PRIVATE_DIR / "locks" / "holders"
    try:
        files = list(folder.iterdir())
    except OSError:
        return []
    live = []
    for path in files:
        try:
            data = json.loads(path.read_text())
            holder = Holder(int(data["pid"]), str(data["host"]), str(data["mode"]),
                            str(data.get("command", "")), float(data.get("since", 0)),
                            data.get("start"))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written, or not ours
        if holder_alive(holder):
            live.append(holder)
        else:
            path.unlink(missing_ok=True)
    return sorted(live, key=lambda h: h.since)


def holder_alive(holder: Holder) -> bool:
    """Whether the holder's process still runs (another host's: assumed alive)."""
    if holder.host != socket.gethostname():
        return True
    if not pid_alive(holder.pid):
        return False
    return holder.start is None or process_start(holder.pid) in (None, holder.start)


def pid_alive(pid: int) -> bool:
    """Whether a process of that pid exists on this machine."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would *terminate* the process on Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # pragma: no cover - e.g. Windows without the process
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def process_start(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (Linux), to tell pid reuse."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def ancestor_pids() -> list[int]:
    """Our parent, grandparent, ... (Linux: the whole chain; elsewhere: the parent)."""
    chain = []
    pid = os.getppid()
    for _ in range(64):
        if pid <= 1 or pid in chain:
            break
        chain.append(pid)
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return chain


def _register(pkgs_dir: Path, mode: str, command: str) -> Path:
    folder = locks_dir(pkgs_dir) / "holders"
    folder.mkdir(exist_ok=True)
    path = folder / f"{socket.gethostname()}.{os.getpid()}.json"
    record = {"pid": os.getpid(), "host": socket.gethostname(), "mode": mode,
              "command": command, "since": time.time(), "start": process_start(os.getpid())}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)
    return path


# -- waiting --------------------------------------------------------------------------


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


class _Notifier:
    """Calls ``on_wait`` after ``first_s`` seconds of waiting, then every ``repeat_s``."""

    def __init__(self, on_wait: WaitCallback | None, describe: Callable[[float], LockWait],
                 first_s: float, repeat_s: float = NOTICE_REPEAT_S) -> None:
        self.on_wait, self.describe = on_wait, describe
        self.first_s, self.repeat_s = first_s, repeat_s
        self.start = time.monotonic()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Notifier:
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


# -- the cache lock -------------------------------------------------------------------


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
            waiting and every :data:`NOTICE_REPEAT_S` after, with a :class:`LockWait`.
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
    joined = _join_in_process(pkgs_dir, key, me, exclusive, deadline, timeout)
    if joined is not None:
        return joined
    kind = lock_kind(pkgs_dir, kind)
    covering = _ancestor_holder(pkgs_dir)
    if covering is not None:
        if exclusive:  # it waits for us, we would wait for it
            raise CacheLockError(
                f"cannot lock the package cache {pkgs_dir} exclusively: the process that "
                f"started this one uses it ({covering.describe()})",
                hint="Run the command that deletes cache entries after that one ends.")
        return CacheHold(pkgs_dir, exclusive, kind, covered_by=covering.pid)

    def describe(waited: float) -> LockWait:
        return LockWait(pkgs_dir, exclusive, waited, tuple(holders(pkgs_dir)))

    with _Notifier(on_wait, describe, notice_after_s):
        while True:
            lock = _acquire_rw(pkgs_dir, kind, exclusive, deadline, timeout, describe)
            now_recorded = recorded_kind(pkgs_dir)
            if now_recorded in (None, kind):
                break
            # ``conda doctor --fix`` switched the cache's kind while we waited.
            _close_quietly(lock)
            forget_kind(pkgs_dir)
            kind = lock_kind(pkgs_dir, kind)
    record = None
    try:
        record = _register(pkgs_dir, "exclusive" if exclusive else "shared", command)
    except OSError:
        pass  # the lock holds without its registry record; waiters just cannot name us
    with _held_lock:
        raced = key in _held  # another thread of ours got it meanwhile: use that one
        if not raced:
            _held[key] = _Held(lock, exclusive, kind, record, {me: 1})
            _ensure_atexit()
    if raced:
        _close_quietly(lock)
        return pkgs_dir_lock(pkgs_dir, exclusive=exclusive, timeout=timeout, kind=kind,
                             on_wait=on_wait, command=command, notice_after_s=notice_after_s)
    return CacheHold(pkgs_dir, exclusive, kind, _key=key, _thread=me)


def _join_in_process(pkgs_dir: Path, key: str, me: int, exclusive: bool,
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


def _ancestor_holder(pkgs_dir: Path) -> Holder | None:
    ancestors = ancestor_pids()
    if not ancestors:
        return None
    host = socket.gethostname()
    for holder in holders(pkgs_dir):
        if holder.host == host and holder.pid in ancestors:
            return holder
    return None


def _new_rw(pkgs_dir: Path, kind: str) -> Any:
    folder = locks_dir(pkgs_dir)
    if kind == "soft":
        from filelock import SoftReadWriteLock

        return SoftReadWriteLock(folder / _SOFT_FILE, is_singleton=False,
                                 heartbeat_interval=SOFT_HEARTBEAT_S,
                                 stale_threshold=SOFT_STALE_S)
    from filelock import ReadWriteLock

    return ReadWriteLock(folder / _SQLITE_FILE, is_singleton=False)


def _acquire_rw(pkgs_dir: Path, kind: str, exclusive: bool, deadline: float | None,
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
            _close_quietly(lock)
            raise CacheLockTimeoutError(
                str(pkgs_dir), timeout, [h.describe() for h in describe(0).holders],
                exclusive=exclusive) from None
        except OSError as exc:
            _close_quietly(lock)
            # ``conda clean --force-pkgs-dirs`` deleted the lock database under us:
            # acquiring the unlinked file would exclude nobody, so start over.
            if "unlinked or replaced" not in str(exc):
                raise CacheLockError(f"cannot lock the package cache {pkgs_dir}: {exc}",
                                     hint="Check that the folder is writable.") from exc
        except BaseException:
            _close_quietly(lock)
            raise
    raise CacheLockError(  # pragma: no cover - the cache kept being deleted
        f"cannot lock the package cache {pkgs_dir}: its lock file keeps being replaced "
        f"(tried for {time.monotonic() - start:.0f} s)",
        hint="Is another program deleting the package cache in a loop?")


def _close_quietly(lock: Any) -> None:
    with contextlib.suppress(Exception):
        lock.close()


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
        if held.record is not None:
            held.record.unlink(missing_ok=True)
        _close_quietly(held.lock)
        _held_changed.notify_all()


def release_all() -> None:
    """Release every cache lock this process holds (at exit, or after a failed command)."""
    with _held_changed:
        for key, held in list(_held.items()):
            del _held[key]
            if held.record is not None:
                held.record.unlink(missing_ok=True)
            _close_quietly(held.lock)
        _held_changed.notify_all()


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

        raise Timeout(str(locks_dir(pkgs_dir) / _SQLITE_FILE)) from exc
    with hold:
        yield


# -- entry locks ----------------------------------------------------------------------


def entry_lock(pkgs_dir: Path, dist_name: str, *, kind: str | None = None) -> FileLock:
    """The (not yet acquired) lock of one cache entry; use it as a context manager.

    It is not thread-local, so it may be released by another thread than the one
    that acquired it (asyncio code acquires in the loop and may finish elsewhere).
    ``kind`` defaults to the cache's recorded kind.
    """
    kind = kind or lock_kind(pkgs_dir)
    path = locks_dir(pkgs_dir) / f"{dist_name}.lock"
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

    with _Notifier(on_wait, describe, notice_after_s):
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


def entry_holders(pkgs_dir: Path, dist_name: str) -> tuple[Holder, ...]:
    """Who holds an entry lock, from ``/proc/locks`` (Linux; empty elsewhere)."""
    path = Path(pkgs_dir) / PRIVATE_DIR / "locks" / f"{dist_name}.lock"
    pids = flock_holders(path)
    host = socket.gethostname()
    return tuple(Holder(pid, host, "exclusive") for pid in pids if pid != os.getpid())


def flock_holders(path: Path) -> list[int]:
    """Pids holding a lock on the file ``path`` according to ``/proc/locks``."""
    try:
        st = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids = []
    for line in lines:
        fields = line.split()
        if "->" in fields:  # a blocked waiter, not a holder
            continue
        for i, value in enumerate(fields):
            if value == device and i > 0 and fields[i - 1].isdigit():
                pids.append(int(fields[i - 1]))
    return sorted(set(pids))


@contextlib.asynccontextmanager
async def hold_entry(pkgs_dir: Path, dist_name: str,
                     poll_interval: float = 0.02) -> AsyncIterator[None]:
    """Hold an entry lock inside asyncio code without blocking a thread while waiting.

    Waiting in a thread would be a deadlock risk: two processes could each fill
    their thread pool with waiters for entries the other holds, leaving no thread
    to finish the entries they hold themselves.
    """
    from filelock import Timeout

    lock = entry_lock(pkgs_dir, dist_name)
    while True:
        try:
            lock.acquire(timeout=0)
            break
        except Timeout:
            await asyncio.sleep(poll_interval)
    try:
        yield
    finally:
        lock.release()
