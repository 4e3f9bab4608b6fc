"""Write files so that a reader sees the old content or the new, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_open(path: Path, *, mode: int = 0o644, durable: bool = True) -> Iterator[IO[bytes]]:
    """A binary file that appears at ``path`` only when the ``with`` block succeeds.

    It is a temp file beside ``path`` (same filesystem, so the final rename is atomic),
    fsync'd, then renamed over ``path``. On any failure the temp file is removed and
    ``path`` is untouched. ``durable=False`` skips the two fsyncs: readers still never
    see half a file, but a power cut may lose the write (what conda accepts for
    ``conda-meta`` records; hundreds of fsyncs would double the time of an install).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o644,
                       durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, mode=mode, durable=durable) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: Path, text: str, *, mode: int = 0o644,
                      durable: bool = True) -> Path:
    """``atomic_write_bytes`` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode, durable=durable)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable across a power cut; not possible on Windows.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
