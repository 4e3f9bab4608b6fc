"""A package cache (``pkgs_dir``) that conda and py-rattler both reuse as it is.

One entry per package, named after its file name ``<dist>.conda`` / ``<dist>.tar.bz2``:

``<pkgs>/<fn>``
    the archive, sha256-verified, when there is one: conda keeps it, backups seed it
    and then an entry can be re-extracted without a download. Installs do not keep it
    (``fetch.fill_cache(keep_archives=False)``): they stream each download into its
    extraction, like an entry after ``conda clean --tarballs``.
``<pkgs>/<dist>/``
    the extracted package, with ``info/repodata_record.json`` (conda's format: the
    ``info/index.json`` fields overlaid with the repodata fields and ``url``, ``channel``,
    ``fn``, ``md5``, ``sha256``, ``size``), written last inside a temp folder that is then
    renamed into place: an entry with that file is complete.
``<pkgs>/urls.txt``
    one line with the URL (conda's record of where entries came from).
``<pkgs>/<dist>.lock``
    py-rattler's entry metadata: a big-endian u64 revision then the 32-byte sha256.

Why each piece (conda 26.7.1, py-rattler 0.26):

* conda (``core/package_cache_data.py``, ``ProgressiveFetchExtract.make_actions_for_record``)
  links from an entry without download or extraction when it finds an extracted dir
  (``PackageCacheRecord.is_extracted``: ``<dist>/info/index.json``) whose record matches
  the package (channel canonical name, subdir, name, version, build, build number) *and*
  has a ``url``, and whose ``size``/``md5`` match. The record comes from
  ``info/repodata_record.json`` (``_make_single_record``); without it conda falls back to
  ``index.json`` + ``urls.txt`` + the archive's md5, and without those it has no url and
  downloads the package again.
* py-rattler (``rattler_cache`` ``validate_package_common``) reuses ``<dist>/`` when its
  ``<dist>.lock`` records no sha256 or the wanted one, after checking only that
  ``info/index.json`` and ``info/paths.json`` are readable (``ValidationMode::Skip``).
  It ignores archives, ``urls.txt`` and ``repodata_record.json``, and the entries it makes
  itself have none of them: conda re-downloads those.

Temp files and locks live in ``<pkgs>/.conda-store/``, which neither tool reads.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .exceptions import ChecksumMismatchError, InstallError
from .lockfile import LockedPackage

ARCHIVE_SUFFIXES = (".conda", ".tar.bz2")
_REVISION = struct.Struct(">Q")


class EntryState(enum.Enum):
    """What a cache holds for one package."""

    VALID = "valid"  # extracted, with a matching repodata_record.json: use as is
    ADOPTABLE = "adoptable"  # made by py-rattler: sha256 recorded, no conda record, no archive
    ARCHIVE = "archive"  # only the archive (of the right size): verify and extract
    MISSING = "missing"  # must be downloaded


def strip_archive_suffix(fn: str) -> str:
    """``foo-1.0-h0.conda`` -> ``foo-1.0-h0`` (conda's ``strip_pkg_extension``)."""
    for suffix in ARCHIVE_SUFFIXES:
        if fn.endswith(suffix):
            return fn[: -len(suffix)]
    return fn


@dataclass(frozen=True)
class CacheEntry:
    """Where one locked package lives in one package cache."""

    pkgs_dir: Path
    package: LockedPackage

    @property
    def dist(self) -> str:
        """Folder name, from the file name as conda derives it."""
        return strip_archive_suffix(self.package.fn)

    @property
    def archive(self) -> Path:
        """``<pkgs>/<fn>``."""
        return self.pkgs_dir / self.package.fn

    @property
    def extracted_dir(self) -> Path:
        """``<pkgs>/<dist>``."""
        return self.pkgs_dir / self.dist

    @property
    def record_path(self) -> Path:
        """``<pkgs>/<dist>/info/repodata_record.json``."""
        return self.extracted_dir / "info" / "repodata_record.json"

    @property
    def rattler_metadata(self) -> Path:
        """``<pkgs>/<dist>.lock``: py-rattler's revision + sha256 file."""
        return self.pkgs_dir / f"{self.dist}.lock"


def temp_dir(pkgs_dir: Path) -> Path:
    """``<pkgs>/.conda-store/tmp``: same filesystem as the cache, so renames are atomic."""
    from .cache_entries import staging_root

    return staging_root(pkgs_dir)


# -- reading ------------------------------------------------------------------------


def entry_state(entry: CacheEntry, *, check_files: bool = True) -> EntryState:
    """Classify an entry without locking, hashing or writing anything.

    See :func:`entry_state_and_record`.
    """
    return entry_state_and_record(entry, check_files=check_files)[0]


def entry_state_and_record(entry: CacheEntry, *, check_files: bool = True
                           ) -> tuple[EntryState, dict[str, Any] | None]:
    """The entry's state, and its conda record when it is ``VALID`` (read anyway).

    With ``check_files`` every path listed in ``info/paths.json`` must exist, so an
    entry that lost files (or was extracted halfway by another tool) is redone; without
    it, the entry's metadata must be there and whole (a truncated ``paths.json`` would
    make py-rattler download the package again itself, past our checks and locks).
    """
    pkg = entry.package
    # Plain strings, not Path objects: this runs for every package of a warm install.
    folder = os.path.join(entry.pkgs_dir, entry.dist)
    rattler_sha = _rattler_sha256(folder + ".lock")
    if rattler_sha is not None and rattler_sha != pkg.sha256:
        complete = False  # py-rattler replaced the folder with another artifact
    else:
        complete = _is_complete(folder, check_files=check_files)
    if complete:
        record = _read_json(os.path.join(folder, "info", "repodata_record.json"))
        if isinstance(record, dict) and _record_matches(record, pkg):
            return EntryState.VALID, record
        if record is None and rattler_sha == pkg.sha256 and not entry.archive.exists():
            # py-rattler's layout; with an archive, re-extract
            return EntryState.ADOPTABLE, None
    try:
        size = entry.archive.stat().st_size
        if size == pkg.size or (not pkg.size and size):  # 0: unknown; the sha256 decides
            return EntryState.ARCHIVE, None
    except OSError:
        pass
    return EntryState.MISSING, None


def _record_matches(record: Mapping[str, Any], pkg: LockedPackage) -> bool:
    if not record.get("url"):
        return False  # conda would not reuse it either
    if record.get("sha256"):
        return record["sha256"] == pkg.sha256
    return record.get("md5") == pkg.md5 and (
        not pkg.size or record.get("size") in (None, pkg.size))


def _is_complete(folder: str, *, check_files: bool) -> bool:
    info = os.path.join(folder, "info")
    if not os.path.isfile(os.path.join(info, "index.json")):
        return False
    paths_json = os.path.join(info, "paths.json")
    if not check_files:
        try:
            with open(paths_json, "rb") as f:
                head = f.read(64).lstrip()[:1]
                f.seek(max(os.fstat(f.fileno()).st_size - 64, 0))
                tail = f.read().rstrip()
        except FileNotFoundError:
            return os.path.isfile(os.path.join(info, "files"))
        except OSError:
            return False
        return head == b"{" and tail.endswith(b"}")  # whole, not truncated
    paths = _read_json(paths_json)
    if paths is None and os.path.exists(paths_json):
        return False  # damaged
    if paths is None:
        files = os.path.join(info, "files")
        if not os.path.isfile(files):
            return False
        with open(files, encoding="utf-8") as f:
            listed = [line for line in f.read().splitlines() if line]
    else:
        listed = [p.get("_path", "") for p in paths.get("paths", ())]
    base, lstat = folder + os.sep, os.lstat  # tight loop: ~6,000 files a warm env
    try:
        for rel in listed:
            lstat(base + rel)
    except OSError:
        return False
    return True


def _read_json(path: str | Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_rattler_sha256(entry: CacheEntry) -> str | None:
    """The sha256 py-rattler recorded for the entry, if any."""
    return _rattler_sha256(os.fspath(entry.rattler_metadata))


def _rattler_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) < _REVISION.size + 32:
        return None
    return data[_REVISION.size:_REVISION.size + 32].hex()


# -- writing (callers hold the entry lock) ------------------------------------------


def repodata_record(pkg: LockedPackage, index_json: Mapping[str, Any],
                    archive_size: int | None = None) -> dict[str, Any]:
    """``info/repodata_record.json`` as conda writes it.

    That is index.json overlaid with the repodata fields (the lock has them, repodata
    patches included) and where the file came from. ``archive_size`` stands in for a
    size the lock does not know (0).
    """
    record: dict[str, Any] = {
        "name": pkg.name,
        "version": pkg.version,
        "build": pkg.build,
        "build_number": pkg.build_number,
        "channel": conda_channel(pkg),
        "subdir": pkg.subdir,
        "fn": pkg.fn,
        "md5": pkg.md5,
        "url": pkg.url,
        "sha256": pkg.sha256,
    }
    for key, value in index_json.items():
        record.setdefault(key, value)
    record["depends"] = list(pkg.depends)
    record["constrains"] = list(pkg.constrains)
    if pkg.license is not None:
        record["license"] = pkg.license
    if pkg.timestamp is not None:
        record["timestamp"] = pkg.timestamp
    if pkg.track_features:
        record["track_features"] = " ".join(pkg.track_features)
    if pkg.features:
        record["features"] = pkg.features
    record["size"] = pkg.size or archive_size or 0
    return record


def conda_channel(pkg: LockedPackage) -> str:
    """The ``channel`` value conda writes: the URL of the package's subdir."""
    return pkg.url.rsplit("/", 1)[0]


def extract_archive(entry: CacheEntry, source: Path | None = None, *,
                    record_url: bool = True) -> None:
    """Extract the archive into ``<pkgs>/<dist>/`` and complete the entry.

    ``source`` is a fresh download (in ``temp_dir``), else the cached ``<pkgs>/<fn>`` is
    extracted. The archive is extracted into a temp folder while py-rattler computes
    its sha256, which must be the locked one; the conda record is written into the
    folder, and only then are the download moved to ``<pkgs>/<fn>`` and the folder
    renamed into place, replacing whatever stale folder was there. A download that is
    not the locked file never enters the cache. ``record_url=False`` leaves the
    ``urls.txt`` line to the caller (``cache_entries.append_urls``, once for many).

    Raises:
        ChecksumMismatchError: the archive is not the locked one (a cached one is deleted).
        InstallError: the archive cannot be extracted.
    """
    from rattler.package_streaming import extract

    pkg = entry.package
    archive = source if source is not None else entry.archive
    from .cache_entries import new_staging

    # Named <dist>.<pid>.<random>: `conda doctor`/`clean` then recognise the leftovers
    # of a killed install at once (see cache_entries.leftovers).
    staging = new_staging(entry.pkgs_dir, entry.dist)
    try:
        try:
            sha256, _md5 = extract(archive, staging)
        except (OSError, RuntimeError, ValueError) as exc:
            actual = file_sha256(archive)
            archive.unlink(missing_ok=True)
            if actual != pkg.sha256:  # not the locked file (e.g. damaged in the cache)
                raise ChecksumMismatchError(pkg.dist_name, pkg.url, pkg.sha256,
                                            actual) from exc
            raise InstallError(
                f"cannot extract {pkg.fn} ({pkg.url}): {exc}",
                hint="The archive is damaged; run the command again to download it "
                     "afresh, or re-lock if the channel serves a broken file.") from exc
        if sha256.hex() != pkg.sha256:
            archive.unlink(missing_ok=True)
        complete_extracted(entry, staging, sha256.hex(), archive=source,
                           record_url=record_url)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def complete_extracted(entry: CacheEntry, staging: Path, sha256: str, *,
                       archive: Path | None = None, record_url: bool = True) -> None:
    """Make ``staging`` (an extracted download whose sha256 is ``sha256``) the entry.

    The sha256 must be the locked one. The conda record is written into the folder,
    then ``archive`` (the downloaded file, if kept) is moved to ``<pkgs>/<fn>`` and the
    folder renamed into place, replacing whatever stale folder was there.

    Raises:
        ChecksumMismatchError: ``sha256`` is not the locked one; nothing is moved.
        InstallError: the package has no valid ``info/index.json``.
    """
    pkg = entry.package
    if sha256 != pkg.sha256:
        raise ChecksumMismatchError(pkg.dist_name, pkg.url, pkg.sha256, sha256)
    index = _read_json(staging / "info" / "index.json")
    if not isinstance(index, dict):
        raise InstallError(f"{pkg.fn} ({pkg.url}) has no valid info/index.json",
                           hint="The package is broken: re-lock against a working "
                                "build, or report it to the channel.")
    size = archive.stat().st_size if archive is not None else None
    _write_json(staging / "info" / "repodata_record.json",
                repodata_record(pkg, index, archive_size=size))
    if archive is not None:
        store_archive(entry, archive)
    _replace_dir(staging, entry.extracted_dir)
    write_rattler_metadata(entry)
    if record_url:
        add_url(entry.pkgs_dir, pkg.url)


def adopt(entry: CacheEntry, *, record_url: bool = True) -> None:
    """Make a py-rattler-made entry (verified sha256, no conda record) conda-readable."""
    index = _read_json(entry.extracted_dir / "info" / "index.json") or {}
    _write_json(entry.record_path, repodata_record(entry.package, index), atomic=True)
    if record_url:
        add_url(entry.pkgs_dir, entry.package.url)


def store_archive(entry: CacheEntry, downloaded: Path) -> None:
    """Move a verified download to ``<pkgs>/<fn>``."""
    os.replace(downloaded, entry.archive)


def write_rattler_metadata(entry: CacheEntry) -> None:
    """Write ``<dist>.lock`` (next revision + sha256) so py-rattler trusts the entry."""
    path = os.path.join(entry.pkgs_dir, f"{entry.dist}.lock")  # strings: once per package
    revision = 0
    with contextlib.suppress(OSError, struct.error), open(path, "rb") as f:
        revision = _REVISION.unpack_from(f.read())[0]
    data = _REVISION.pack(revision + 1) + bytes.fromhex(entry.package.sha256)
    tmp = os.path.join(entry.pkgs_dir, f".{entry.dist}.lock.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def add_url(pkgs_dir: Path, url: str) -> None:
    """Add ``url`` to ``<pkgs>/urls.txt`` once, under the lock conda-side writers take too."""
    from .cache_entries import append_url

    append_url(pkgs_dir, url)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file ("" when it cannot be read)."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def _write_json(path: Path, data: Any, *, atomic: bool = False) -> None:
    from .json_lines import dumps_top_level

    text = dumps_top_level(data)
    if not atomic:
        path.write_text(text, encoding="utf-8")
        return
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _replace_dir(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``; a stale ``target`` is moved aside, then deleted."""
    try:
        os.rename(source, target)
        return
    except OSError:
        if not target.exists():
            raise
    trash = Path(tempfile.mkdtemp(prefix=f"{target.name}-old-", dir=source.parent))
    os.rename(target, trash / "old")
    os.rename(source, target)
    shutil.rmtree(trash, ignore_errors=True)
