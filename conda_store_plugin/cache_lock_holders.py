"""Who holds a package cache's locks, so a waiter can name them.

Holders of the whole-cache lock register themselves in ``locks/holders/`` (one JSON
record per process: pid, host, mode, command, since, start time). Records of dead
same-host processes are removed when read; another host's are trusted. Entry locks
have no registry: their holders come from ``/proc/locks`` (Linux).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from .cache_lock_paths import HOLDERS_DIR, entry_lock_file, locks_dir, locks_path
from .cache_lock_processes import ancestor_pids, flock_holders, pid_alive, process_start


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
    folder = locks_path(pkgs_dir) / HOLDERS_DIR
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


def register_holder(pkgs_dir: Path, mode: str, command: str) -> Path:
    """Write this process's registry record; the caller removes it on release."""
    folder = locks_dir(pkgs_dir) / HOLDERS_DIR
    folder.mkdir(exist_ok=True)
    path = folder / f"{socket.gethostname()}.{os.getpid()}.json"
    record = {"pid": os.getpid(), "host": socket.gethostname(), "mode": mode,
              "command": command, "since": time.time(), "start": process_start(os.getpid())}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)
    return path


def ancestor_holder(pkgs_dir: Path) -> Holder | None:
    """The holder that started this process (a nested ``conda`` call), if any."""
    ancestors = ancestor_pids()
    if not ancestors:
        return None
    host = socket.gethostname()
    for holder in holders(pkgs_dir):
        if holder.host == host and holder.pid in ancestors:
            return holder
    return None


def entry_holders(pkgs_dir: Path, dist_name: str) -> tuple[Holder, ...]:
    """Who holds an entry lock, from ``/proc/locks`` (Linux; empty elsewhere)."""
    pids = flock_holders(entry_lock_file(locks_path(pkgs_dir), dist_name))
    host = socket.gethostname()
    return tuple(Holder(pid, host, "exclusive") for pid in pids if pid != os.getpid())
