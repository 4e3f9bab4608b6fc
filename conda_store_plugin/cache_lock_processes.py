"""Facts about processes on this machine, for telling live lock holders from dead ones.

Pids are checked for existence (safely on Windows), told apart from a reused pid by
their start time, and found as holders of a file lock in ``/proc/locks`` (Linux).
"""

from __future__ import annotations

import os
from pathlib import Path


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
