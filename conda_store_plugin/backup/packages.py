"""Package archives: taken from a package cache for a backup, seeded into one on restore.

Backing up (:func:`locked_archives`): each locked package is ``<pkgs>/<fn>`` when that
file has the locked size and sha256. Missing ones are fetched into the cache by the
install code (``fetch.fill_cache``: same downloads, hashes, credentials and locks as an
install; with ``offline`` it names what is missing instead). A cache whose entry is
extracted but whose archive was removed (``conda clean --tarballs``, or an entry made by
py-rattler) has no archive to copy: those are fetched into a scratch cache, deleted
when the backup is written.

Restoring (:class:`CacheSeeder`): each archive is streamed to a temp file in the
cache's private folder, its sha256 checked, and renamed to ``<pkgs>/<fn>`` under the
entry's lock, unless the cache already has a valid entry (or that very archive). The
install that follows finds the archive (``pkgs_cache.EntryState.ARCHIVE``), extracts
it after checking its sha256 again, and downloads nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..lockfile import LockedPackage
from ..pkgs_cache import (
    CacheEntry,
    EntryState,
    entry_state,
    file_sha256,
    strip_archive_suffix,
    temp_dir,
)


def _matches(path: Path, pkg: LockedPackage) -> bool:
    try:
        if path.stat().st_size != pkg.size:
            return False
    except OSError:
        return False
    return file_sha256(path) == pkg.sha256


@contextlib.contextmanager
def locked_archives(pkgs_dir: Path, packages: Iterable[LockedPackage], *,
                    offline: bool = False,
                    progress: Callable[[Any], None] | None = None
                    ) -> Iterator[dict[str, Path]]:
    """``sha256 -> archive path`` for every package, each verified; see the module doc.

    Raises:
        PackagesNotCachedError: ``offline`` and some archives are not in the cache.
        PackageDownloadError, ChecksumMismatchError: fetching failed.
    """
    pkgs_dir = Path(pkgs_dir)
    wanted = {p.sha256: p for p in packages}
    found = {sha: pkgs_dir / p.fn for sha, p in wanted.items()
             if _matches(pkgs_dir / p.fn, p)}
    missing = [p for sha, p in wanted.items() if sha not in found]
    scratch: Path | None = None
    try:
        if missing:
            _fill(pkgs_dir, missing, offline, progress)
            found.update({p.sha256: pkgs_dir / p.fn for p in missing
                          if _matches(pkgs_dir / p.fn, p)})
            missing = [p for p in missing if p.sha256 not in found]
        if missing:  # extracted entries without their archive: fetch the archives apart
            scratch = Path(tempfile.mkdtemp(prefix="backup-", dir=temp_dir(pkgs_dir)))
            _fill(scratch, missing, offline, progress)
            found.update({p.sha256: scratch / p.fn for p in missing
                          if _matches(scratch / p.fn, p)})
        yield found
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _fill(pkgs_dir: Path, packages: list[LockedPackage], offline: bool,
          progress: Callable[[Any], None] | None) -> None:
    from ..cache_lock import cache_lock
    from ..engine import run as run_engine
    from ..fetch import fill_cache

    pkgs_dir.mkdir(parents=True, exist_ok=True)
    with cache_lock(pkgs_dir, shared=True):
        run_engine(lambda: fill_cache(pkgs_dir, packages, offline=offline,
                                      progress=progress))


class CacheSeeder:
    """Put package archives from a backup into a package cache (see the module doc).

    Use as a context manager: it holds the whole-cache lock shared, as installs do.
    """

    def __init__(self, pkgs_dir: Path, locked: Mapping[str, LockedPackage], *,
                 source: str | Path) -> None:
        self.pkgs_dir = Path(pkgs_dir)
        self.source = source  # the backup, for error messages
        self.locked = locked  # sha256 -> the locked package, for the entry's state
        self.seeded: list[str] = []
        self.present: list[str] = []
        self._hold: Any = None

    def __enter__(self) -> CacheSeeder:
        from ..cache_lock import cache_lock

        self.pkgs_dir.mkdir(parents=True, exist_ok=True)
        self._hold = cache_lock(self.pkgs_dir, shared=True)
        self._hold.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hold.__exit__(*exc)

    def needed(self, fn: str, sha256: str) -> bool:
        """Whether the cache lacks a usable entry for this archive."""
        pkg = self.locked.get(sha256)
        if pkg is None:
            return True
        entry = CacheEntry(self.pkgs_dir, pkg)
        state = entry_state(entry)
        if state in (EntryState.VALID, EntryState.ADOPTABLE) or (
                state is EntryState.ARCHIVE and file_sha256(entry.archive) == sha256):
            self.present.append(fn)
            return False
        return True

    def seed(self, fn: str, sha256: str, size: int,
             stream: Callable[[Callable[[bytes], Any]], str]) -> None:
        """Write one archive: ``stream(sink)`` sends its bytes and returns their sha256.

        Raises:
            ArchiveIntegrityError: the bytes are not the ones the manifest names.
        """
        from ..cache_entries import new_partial
        from ..cache_lock import entry_held
        from ..exceptions import ArchiveIntegrityError

        fd, partial = new_partial(self.pkgs_dir, fn)
        try:
            with os.fdopen(fd, "wb") as f:
                actual = stream(f.write)
                written = f.tell()
            if actual != sha256 or written != size:
                raise ArchiveIntegrityError(
                    self.source, f"package {fn} has sha256 {actual} ({written} bytes), the "
                                 f"manifest says {sha256} ({size} bytes)")
            with entry_held(self.pkgs_dir, strip_archive_suffix(fn)):
                os.replace(partial, self.pkgs_dir / fn)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self.seeded.append(fn)
