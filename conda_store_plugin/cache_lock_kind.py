"""The lock kind a package cache is locked with (``sqlite`` or ``soft``), recorded in it.

Processes that disagree on the kind would not exclude each other, so the kind belongs
to the cache: the first process that locks it records its choice (``auto`` detecting
network filesystems, see ``cache_lock_filesystem``) in
``<pkgs_dir>/.conda-store/locks/KIND``, and that record wins over every later request.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .cache_lock_filesystem import detect_kind
from .cache_lock_paths import KIND_FILE, locks_dir, locks_path

#: Lock kinds accepted by ``pkgs_dir_lock`` (``auto``: detect).
KINDS = ("auto", "sqlite", "soft")

# Each cache's kind, once known: read the record once per process, not per lock.
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
        text = (locks_path(pkgs_dir) / KIND_FILE).read_text().strip()
    except OSError:
        return None
    return text if text in ("sqlite", "soft") else None


def _record_kind(pkgs_dir: Path, kind: str) -> str:
    """Record ``kind`` unless another process was first; return the recorded kind."""
    folder = locks_dir(pkgs_dir)
    target = folder / KIND_FILE
    tmp = folder / f".{KIND_FILE}.{os.getpid()}.{threading.get_ident()}"
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
    tmp = folder / f".{KIND_FILE}.{os.getpid()}"
    tmp.write_text(kind + "\n")
    os.replace(tmp, folder / KIND_FILE)
    forget_kind(pkgs_dir)
