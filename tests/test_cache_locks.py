"""Package cache locks and entries, across real processes; no conda needed.

Each "other process" is a real ``python`` that takes a lock with
``conda_store_plugin.cache_lock``, says ``ready`` on stdout, and holds the lock until it
reads a line on stdin (or is killed).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from conda_store_plugin import cache_entries, cache_lock_rwfile
from conda_store_plugin import cache_lock as cl
from conda_store_plugin.cache_lock import (
    LockWait,
    cache_lock,
    entry_held,
    holders,
    lock_kind,
    pkgs_dir_lock,
    try_entry,
)
from conda_store_plugin.exceptions import CacheLockError, CacheLockTimeoutError

ROOT = Path(__file__).resolve().parents[1]

_HOLDER = textwrap.dedent("""
    import subprocess, sys
    from pathlib import Path
    from conda_store_plugin import cache_lock as cl, cache_lock_rwfile
    pkgs, what, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    cache_lock_rwfile.SOFT_HEARTBEAT_S, cache_lock_rwfile.SOFT_STALE_S = 0.2, 1.0
    kind = sys.argv[4] if len(sys.argv) > 4 else "auto"
    if what == "cache":
        try:
            hold = cl.pkgs_dir_lock(pkgs, exclusive=mode == "exclusive", timeout=30,
                                    kind=kind, command="conda test-holder")
        except cl.CacheLockError as exc:
            print("error", type(exc).__name__, flush=True)
            sys.exit(1)
        print("ready", hold.covered_by, flush=True)
    else:
        lock = cl.entry_lock(pkgs, what)
        lock.acquire()
        print("ready", flush=True)
    while True:
        line = sys.stdin.readline().split()
        if not line:
            break
        if line[0] == "rmtree":
            import shutil
            shutil.rmtree(pkgs)
        elif line[0] == "child":  # a conda started by this one (e.g. a post-link script)
            child = subprocess.run([sys.executable, sys.argv[0], str(pkgs), "cache", line[1]],
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=60)
            print("child", child.stdout.strip(), flush=True)
""")


class Other:
    """Another process holding a lock."""

    def __init__(self, script: Path, pkgs: Path, what: str = "cache", mode: str = "shared",
                 kind: str = "auto", wait_ready: bool = True) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(pkgs), what, mode, kind],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.covered_by: str | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        if wait_ready:
            self.ready()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def line(self, timeout: float = 30) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no line from the other process") from None

    def ready(self, timeout: float = 30) -> None:
        line = self.line(timeout)
        assert line.startswith("ready"), line
        parts = line.split()
        self.covered_by = parts[1] if len(parts) > 1 else None

    def is_ready(self, timeout: float) -> bool:
        try:
            self.ready(timeout)
        except TimeoutError:
            return False
        return True

    def send(self, line: str = "") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def release(self) -> None:
        if self.proc.poll() is None:
            self.send()
        self.proc.wait(30)

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture
def pkgs(tmp_path: Path) -> Path:
    path = tmp_path / "pkgs"
    path.mkdir()
    return path


@pytest.fixture
def others(tmp_path: Path):
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER)
    started: list[Other] = []

    def start(*args, **kwargs) -> Other:
        started.append(Other(script, *args, **kwargs))
        return started[-1]

    yield start
    for other in started:
        if other.proc.poll() is None:
            other.proc.kill()
        other.proc.wait(30)
        for stream in (other.proc.stdin, other.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


# -- reader/writer semantics across processes ------------------------------------------


def test_shared_holders_do_not_block_each_other(pkgs, others):
    other = others(pkgs, mode="shared")
    start = time.monotonic()
    with pkgs_dir_lock(pkgs, exclusive=False, timeout=5) as hold:
        assert hold.covered_by is None
        assert cl.held_here(pkgs) == "shared"
    assert time.monotonic() - start < 3
    assert cl.held_here(pkgs) is None
    other.release()


def test_exclusive_waits_for_readers_and_times_out_naming_them(pkgs, others):
    other = others(pkgs, mode="shared")
    with pytest.raises(CacheLockTimeoutError) as info:
        pkgs_dir_lock(pkgs, exclusive=True, timeout=0.5)
    message = str(info.value)
    assert "timed out after 0.5 s" in message
    assert f"pid {other.pid}: conda test-holder" in message
    assert "cache_lock_timeout" in message  # what to do next
    other.release()
    pkgs_dir_lock(pkgs, exclusive=True, timeout=5).release()


def test_readers_wait_for_an_exclusive_holder(pkgs, others):
    writer = others(pkgs, mode="exclusive")
    with pytest.raises(CacheLockTimeoutError):
        pkgs_dir_lock(pkgs, exclusive=False, timeout=0.5)
    writer.release()
    pkgs_dir_lock(pkgs, exclusive=False, timeout=5).release()


def test_a_waiting_writer_keeps_new_readers_out(pkgs, others):
    reader = others(pkgs, mode="shared")
    writer = others(pkgs, mode="exclusive", wait_ready=False)
    assert not writer.is_ready(1.0)  # queued behind the reader
    newcomer = others(pkgs, mode="shared", wait_ready=False)
    assert not newcomer.is_ready(1.0)  # queued behind the writer: clean is not starved
    reader.release()
    writer.ready()
    assert not newcomer.is_ready(0.5)
    writer.release()
    newcomer.ready()
    newcomer.release()


def test_dead_holder_is_recovered_at_once(pkgs, others):
    writer = others(pkgs, mode="exclusive")
    assert [h.pid for h in holders(pkgs)] == [writer.pid]
    writer.kill9()
    start = time.monotonic()
    pkgs_dir_lock(pkgs, exclusive=False, timeout=10).release()
    assert time.monotonic() - start < 3
    assert holders(pkgs) == []  # the dead process's record was pruned


def test_wait_message_names_the_holder(pkgs, others):
    writer = others(pkgs, mode="exclusive")
    seen: list[LockWait] = []
    timer = threading.Timer(1.5, writer.release)
    timer.start()
    try:
        with pkgs_dir_lock(pkgs, exclusive=False, timeout=20, on_wait=seen.append,
                           notice_after_s=0.2):
            pass
    finally:
        timer.cancel()
    assert seen, "on_wait was not called"
    message = seen[0].message()
    assert message.startswith(f"waiting for another conda process using {pkgs} (pid ")
    assert f"pid {writer.pid}: conda test-holder" in message


def test_no_wait_message_when_the_lock_is_free(pkgs):
    seen: list[LockWait] = []
    with pkgs_dir_lock(pkgs, exclusive=True, timeout=5, on_wait=seen.append,
                       notice_after_s=0.2):
        time.sleep(0.4)
    assert seen == []


def test_timeout_zero_fails_at_once(pkgs, others):
    other = others(pkgs, mode="exclusive")
    start = time.monotonic()
    with pytest.raises(CacheLockTimeoutError):
        pkgs_dir_lock(pkgs, exclusive=False, timeout=0)
    assert time.monotonic() - start < 2
    other.release()


def test_holds_are_counted_per_process(pkgs, others):
    first = pkgs_dir_lock(pkgs, exclusive=False, timeout=5)
    with cache_lock(pkgs, shared=True):  # what install.py does inside a conda command
        assert cl.held_here(pkgs) == "shared"
    assert cl.held_here(pkgs) == "shared"
    with pytest.raises(CacheLockError, match="cannot also lock it exclusively"):
        pkgs_dir_lock(pkgs, exclusive=True, timeout=0)
    first.release()
    first.release()  # idempotent
    assert cl.held_here(pkgs) is None
    other = others(pkgs, mode="exclusive")  # really free again
    other.release()


def test_a_child_of_a_holder_is_not_queued_behind_a_writer(pkgs, others):
    holder = others(pkgs, mode="shared")
    writer = others(pkgs, mode="exclusive", wait_ready=False)
    assert not writer.is_ready(0.5)
    # A conda started by the holder would wait for the queued writer, which waits for
    # the holder: it is covered by its parent's hold instead.
    holder.send("child shared")
    assert holder.line(30).split() == ["child", "ready", str(holder.pid)]
    # ... and refused at once if it wants the cache exclusively.
    holder.send("child exclusive")
    assert holder.line(30).split() == ["child", "error", "CacheLockError"]
    assert not writer.is_ready(0.2)
    holder.release()
    writer.ready()
    writer.release()


def test_lock_file_deleted_by_the_holder_is_recreated(pkgs, others):
    """``conda clean --force-pkgs-dirs`` deletes the cache, lock database included."""
    cleaner = others(pkgs, mode="exclusive")
    waiter = others(pkgs, mode="shared", wait_ready=False)
    assert not waiter.is_ready(0.5)
    cleaner.send("rmtree")
    time.sleep(0.3)
    cleaner.release()
    waiter.ready()
    # The waiter holds the *new* database: a writer must still be kept out.
    with pytest.raises(CacheLockTimeoutError):
        pkgs_dir_lock(pkgs, exclusive=True, timeout=0.5)
    waiter.release()


# -- lock kinds --------------------------------------------------------------------------


def test_kind_is_recorded_by_the_first_locker_and_wins(tmp_path):
    pkgs = tmp_path / "p"
    assert lock_kind(pkgs, "soft") == "soft"
    cl.forget_kind(pkgs)
    assert lock_kind(pkgs, "sqlite") == "soft"  # a later wish does not split the lockers
    assert (pkgs / ".conda-store" / "locks" / "KIND").read_text().strip() == "soft"
    with pytest.raises(ValueError, match="unknown cache lock kind"):
        lock_kind(tmp_path / "q", "nfs")


def test_network_filesystems_get_soft_locks(tmp_path):
    mounts = tmp_path / "mounts"
    share = tmp_path / "my share"
    share.mkdir()
    escaped = str(share).replace(" ", "\\040")
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nserver:/export {escaped} nfs4 rw,relatime 0 0\n")
    assert cl.filesystem_type(share / "pkgs", mounts=mounts) == "nfs4"
    assert cl.filesystem_type(tmp_path / "local", mounts=mounts) == "ext4"
    assert "nfs4" in cl.NETWORK_FILESYSTEMS and "lustre" in \
        cl.NETWORK_FILESYSTEMS


def test_soft_locks_exclude_and_recover_a_dead_holder(pkgs, others, monkeypatch):
    monkeypatch.setattr(cache_lock_rwfile, "SOFT_HEARTBEAT_S", 0.2)
    monkeypatch.setattr(cache_lock_rwfile, "SOFT_STALE_S", 1.0)
    writer = others(pkgs, mode="exclusive", kind="soft")
    assert cl.recorded_kind(pkgs) == "soft"
    with pytest.raises(CacheLockTimeoutError):
        pkgs_dir_lock(pkgs, exclusive=False, timeout=0.3)
    writer.kill9()
    start = time.monotonic()
    pkgs_dir_lock(pkgs, exclusive=False, timeout=15).release()
    assert time.monotonic() - start < 10  # after the (shortened) stale threshold


# -- entry locks ---------------------------------------------------------------------------


def test_entry_lock_is_exclusive_and_names_its_holder(pkgs, others):
    other = others(pkgs, what="foo-1.0-0")
    assert try_entry(pkgs, "foo-1.0-0") is None
    bar = try_entry(pkgs, "bar-1.0-0")  # other entries proceed in parallel
    assert bar is not None
    bar.release()
    with pytest.raises(CacheLockTimeoutError) as info:
        with entry_held(pkgs, "foo-1.0-0", timeout=0.3):
            pass
    if sys.platform.startswith("linux"):
        assert f"pid {other.pid}" in str(info.value)
    other.kill9()  # dead holder: the kernel frees the lock
    with entry_held(pkgs, "foo-1.0-0", timeout=5):
        pass


# -- cache entries -------------------------------------------------------------------------


def _make_entry(pkgs: Path, dist: str, files: dict[str, bytes], *, record: bool = True,
                archive: bool = False) -> Path:
    folder = pkgs / dist
    (folder / "info").mkdir(parents=True)
    (folder / "info" / "index.json").write_text(json.dumps({"name": dist}))
    (folder / "info" / "paths.json").write_text(json.dumps(
        {"paths": [{"_path": p} for p in files], "paths_version": 1}))
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    if archive:
        (pkgs / f"{dist}.conda").write_bytes(b"x" * 10)
    if record:
        (folder / "info" / "repodata_record.json").write_text(json.dumps(
            {"fn": f"{dist}.conda", "size": 10, "url": f"https://x/{dist}.conda"}))
    return folder


def test_scan_finds_every_kind_of_damage_and_fix_removes_it(pkgs):
    good = _make_entry(pkgs, "good-1-0", {"a/b.txt": b"1"}, archive=True)
    half = _make_entry(pkgs, "half-1-0", {"a.txt": b"1", "b/c.txt": b"2"})
    (half / "b" / "c.txt").unlink()
    noindex = _make_entry(pkgs, "noindex-1-0", {})
    (noindex / "info" / "index.json").unlink()
    norecord = _make_entry(pkgs, "norecord-1-0", {"x": b"1"}, record=False)
    trunc = _make_entry(pkgs, "trunc-1-0", {"x": b"1"}, archive=True)
    (pkgs / "trunc-1-0.conda").write_bytes(b"x" * 4)
    partial = pkgs / "dl-1-0.conda.partial"
    partial.write_bytes(b"abc")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    leftover = cache_entries.staging_root(pkgs) / f"good-1-0.{dead}.abcd"
    leftover.mkdir()
    download = cache_entries.staging_root(pkgs) / f"dl2-1-0.{dead}.x1y2.partial.conda"
    download.write_bytes(b"abc")  # a killed process's download: stale at once
    ours = cache_entries.new_staging(pkgs, "busy-1-0")  # a live process's work

    found = {(p.kind, p.path.name) for p in cache_entries.scan(pkgs)}
    assert found == {
        ("half-extracted", "half-1-0"), ("half-extracted", "noindex-1-0"),
        ("no-record", "norecord-1-0"), ("truncated-archive", "trunc-1-0.conda"),
        ("stale-partial", "dl-1-0.conda.partial"), ("leftover-temp", leftover.name),
        ("leftover-temp", download.name)}
    assert cache_entries.is_complete(good) and not cache_entries.is_complete(half)
    assert ("leftover-temp", ours.name) in {
        (p.kind, p.path.name) for p in cache_entries.scan(pkgs, idle=True)}

    removed = cache_entries.fix(cache_entries.scan(pkgs))
    assert len(removed) == 7
    assert good.is_dir() and ours.is_dir() and (pkgs / "good-1-0.conda").is_file()
    for gone in (half, noindex, norecord, pkgs / "trunc-1-0.conda", partial, leftover,
                 download):
        assert not gone.exists()
    assert trunc.is_dir()  # the folder itself is fine; only its bad archive went
    assert cache_entries.scan(pkgs) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/locks")
def test_a_partial_download_being_written_is_not_stale(pkgs):
    import fcntl

    partial = pkgs / "dl-1-0.conda.partial"
    with open(partial, "wb") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)  # what conda's download does while it writes
        assert cache_entries.scan(pkgs) == []
    assert [p.kind for p in cache_entries.scan(pkgs)] == ["stale-partial"]


def test_replace_dir_swaps_in_a_complete_folder(pkgs):
    target = _make_entry(pkgs, "x-1-0", {"old.txt": b"old"})
    staging = cache_entries.new_staging(pkgs, "x-1-0")
    (staging / "pkg" / "info").mkdir(parents=True)
    (staging / "pkg" / "new.txt").write_text("new")
    cache_entries.replace_dir(staging / "pkg", target)
    assert (target / "new.txt").read_text() == "new"
    assert not (target / "old.txt").exists()
    shutil.rmtree(staging)
    assert list(cache_entries.staging_root(pkgs).iterdir()) == []
