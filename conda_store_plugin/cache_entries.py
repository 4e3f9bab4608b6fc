"""Package cache entries as files on disk: complete or not, staged, published, leftovers.

An *entry* of a package cache is ``<pkgs>/<dist>/`` (the extracted package) and/or the
archive ``<pkgs>/<dist>.conda`` / ``.tar.bz2``. Writers that follow this module never
let anyone see a half-made entry:

* an archive is downloaded or copied under ``<pkgs>/.conda-store/tmp/`` and renamed
  into place once complete;
* a package is extracted into a staging folder there, gets its
  ``info/repodata_record.json``, and only then is renamed to ``<pkgs>/<dist>``
  (:func:`replace_dir` moves a stale folder aside first, so the swap is two renames).

The staging folder is on the cache's own filesystem, so the renames are atomic, and it
is a hidden folder conda and py-rattler never read. Staging folders are named
``<dist>.<pid>.<random>`` so leftovers of a killed process can be told from work in
progress (:func:`leftovers`).

:func:`scan` lists what is wrong in a cache (for ``conda doctor``); nothing here
imports conda.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .cache_lock import PRIVATE_DIR, flock_holders, pid_alive

ARCHIVE_SUFFIXES = (".conda", ".tar.bz2")
PARTIAL_SUFFIX = ".partial"  # conda's in-progress downloads (base/constants.py)

#: A staging folder whose name we cannot parse counts as a leftover after this long.
UNKNOWN_LEFTOVER_AGE_S = 3600.0


def staging_root(pkgs_dir: Path) -> Path:
    """``<pkgs>/.conda-store/tmp``, created on demand."""
    path = Path(pkgs_dir) / PRIVATE_DIR / "tmp"
    if not os.path.isdir(path):  # a stat, not a failing mkdir, for every package
        path.mkdir(parents=True, exist_ok=True)
    return path


def new_staging(pkgs_dir: Path, dist: str) -> Path:
    """A fresh, empty staging folder for work on ``dist`` (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix=f"{dist}.{os.getpid()}.", dir=staging_root(pkgs_dir)))


def new_partial(pkgs_dir: Path, fn: str) -> tuple[int, Path]:
    """A fresh, empty download file for archive ``fn``: (open fd, path).

    Named ``<dist>.<pid>.<random>.partial<ext>``: the extension stays last (py-rattler's
    extraction picks the format by it), and the pid makes a killed process's download
    a leftover at once (:func:`leftovers`). The caller closes the fd and removes the
    file unless it renames it away.
    """
    ext = next((s for s in ARCHIVE_SUFFIXES if fn.endswith(s)), "")
    fd, name = tempfile.mkstemp(prefix=f"{fn[:len(fn) - len(ext)]}.{os.getpid()}.",
                                suffix=f".partial{ext}", dir=staging_root(pkgs_dir))
    return fd, Path(name)


def listed_paths(folder: Path) -> list[str] | None:
    """The package's files from ``info/paths.json`` (else ``info/files``); None if neither."""
    info = Path(folder) / "info"
    try:
        with open(info / "paths.json", encoding="utf-8") as f:
            return [p["_path"] for p in json.load(f).get("paths", ())]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    try:
        text = (info / "files").read_text(encoding="utf-8")
    except OSError:
        return None
    return [line for line in text.splitlines() if line]


def missing_files(folder: Path) -> list[str] | None:
    """Files the package lists that are absent; None when it lists nothing readable."""
    listed = listed_paths(folder)
    if listed is None:
        return None
    return [rel for rel in listed if not os.path.lexists(os.path.join(folder, rel))]


def is_complete(folder: Path) -> bool:
    """Extracted completely: ``info/index.json`` and every listed file are there."""
    if not (Path(folder) / "info" / "index.json").is_file():
        return False
    missing = missing_files(folder)
    return missing is not None and not missing


def replace_dir(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``; a stale ``target`` is moved aside, then deleted.

    Readers see the old folder or the new one (or, for an instant between the two
    renames, none: the entry looks missing, never half-made).
    """
    source, target = Path(source), Path(target)
    try:
        os.rename(source, target)
        return
    except OSError:
        if not (target.exists() or target.is_symlink()):
            raise
    trash = Path(tempfile.mkdtemp(prefix=f"{target.name}.{os.getpid()}.old-",
                                  dir=source.parent))
    os.rename(target, trash / "old")
    os.rename(source, target)
    shutil.rmtree(trash, ignore_errors=True)


def publish_file(source: Path, target: Path) -> None:
    """Atomically put a finished file (download, copy) at ``target``."""
    os.replace(source, target)


def remove_path(path: Path) -> None:
    """Delete a file or folder; a folder is first renamed away so it vanishes at once."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        if path.parent.name == "tmp" and path.parent.parent.name == PRIVATE_DIR:
            shutil.rmtree(path, ignore_errors=True)  # already out of conda's sight
            return
        try:
            trash = Path(tempfile.mkdtemp(prefix=f"{path.name}.{os.getpid()}.del-",
                                          dir=staging_root(path.parent)))
            os.rename(path, trash / "x")
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
        else:
            shutil.rmtree(trash, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# -- health ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something wrong in a package cache.

    ``kind`` is ``half-extracted`` (an extracted folder missing ``info/index.json`` or
    files its ``paths.json`` lists), ``no-record`` (an extracted folder with neither
    ``info/repodata_record.json`` nor its archive: conda would write a wrong record),
    ``truncated-archive`` (an archive whose size differs from its record),
    ``leftover-temp`` (a staging folder of a process that is gone) or ``stale-partial``
    (a ``.partial`` download nobody is writing).
    """

    kind: str
    path: Path
    detail: str = ""

    def describe(self) -> str:
        """One line for a report."""
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")


def scan(pkgs_dir: Path, *, idle: bool = False) -> list[Problem]:
    """Everything wrong in one package cache.

    ``idle`` means no process uses the cache (the caller holds its lock exclusively):
    then every staging folder and ``.partial`` file is a leftover, not only those of
    processes known to be gone.
    """
    pkgs_dir = Path(pkgs_dir)
    problems: list[Problem] = []
    try:
        names = sorted(os.listdir(pkgs_dir))
    except OSError:
        return problems
    present = set(names)
    for name in names:
        path = pkgs_dir / name
        if name.endswith(PARTIAL_SUFFIX):
            if idle or not flock_holders(path):
                problems.append(Problem("stale-partial", path))
            continue
        if name.startswith(".") or not (path / "info").is_dir() or path.is_symlink():
            continue
        problems.extend(_entry_problems(path, present))
    problems.extend(leftovers(pkgs_dir, idle=idle))
    return problems


def _entry_problems(folder: Path, present: set[str]) -> list[Problem]:
    if not (folder / "info" / "index.json").is_file():
        return [Problem("half-extracted", folder, "no info/index.json")]
    missing = missing_files(folder)
    if missing is None:
        return [Problem("half-extracted", folder, "no info/paths.json or info/files")]
    if missing:
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        return [Problem("half-extracted", folder, f"{len(missing)} files missing: {shown}")]
    archives = [folder.name + s for s in ARCHIVE_SUFFIXES if folder.name + s in present]
    try:
        with open(folder / "info" / "repodata_record.json", encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        if not archives:
            return [Problem("no-record", folder,
                            "no readable info/repodata_record.json and no archive")]
        return []
    problems = []
    fn = record.get("fn") if isinstance(record, dict) else None
    size = record.get("size") if isinstance(record, dict) else None
    if fn in archives and isinstance(size, int):
        archive = folder.parent / fn
        with contextlib.suppress(OSError):
            actual = archive.stat().st_size
            if actual != size:
                problems.append(Problem("truncated-archive", archive,
                                        f"{actual} bytes, its record says {size}"))
    return problems


def leftovers(pkgs_dir: Path, *, idle: bool = False) -> list[Problem]:
    """Staging folders (and files) of processes that are gone."""
    root = Path(pkgs_dir) / PRIVATE_DIR / "tmp"
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    out = []
    now = time.time()
    for path in entries:
        pid = _staging_pid(path.name)
        if idle:
            stale = True
        elif pid is not None:
            stale = not pid_alive(pid)
        else:
            with contextlib.suppress(OSError):
                stale = now - path.lstat().st_mtime > UNKNOWN_LEFTOVER_AGE_S
                if stale:
                    out.append(Problem("leftover-temp", path))
            continue
        if stale:
            out.append(Problem("leftover-temp", path))
    return out


def clear_leftovers(pkgs_dir: Path, *, dist: str | None = None, idle: bool = False) -> int:
    """Remove leftover staging folders (of ``dist`` only, if given); return how many.

    Call with ``dist`` while holding that entry's lock, or with ``idle`` while holding
    the cache's lock exclusively: nobody else can be working in those folders then.
    """
    removed = 0
    for problem in leftovers(pkgs_dir, idle=idle):
        name = problem.path.name
        if dist is not None and not (name.startswith(dist + ".")
                                     and _staging_pid(name) is not None):
            continue
        remove_path(problem.path)
        removed += 1
    return removed


def _staging_pid(name: str) -> int | None:
    # "<dist>.<pid>.<random>", or a download "<dist>.<pid>.<random>.partial<ext>"
    # (dist names may contain dots: take the last two fields)
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(".partial" + suffix):
            name = name[:-len(".partial" + suffix)]
    parts = name.rsplit(".", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1])
    return None


def fix(problems: Iterable[Problem]) -> list[Problem]:
    """Remove what each problem names; return those removed (caller holds the lock)."""
    removed = []
    for problem in problems:
        with contextlib.suppress(OSError):
            remove_path(problem.path)
            removed.append(problem)
    return removed


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file ("" when it cannot be read)."""
    import hashlib

    digest = hashlib.new(algorithm)
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def append_url(pkgs_dir: Path, url: str) -> None:
    """Add ``url`` to ``<pkgs>/urls.txt`` unless it is there, under a lock of its own."""
    append_urls(pkgs_dir, [url])


def append_urls(pkgs_dir: Path, urls: Iterable[str]) -> None:
    """Add the ``urls`` not yet in ``<pkgs>/urls.txt``, in order, under one lock.

    One call for a whole install: a lock, a read and a write per package made
    filling a 300-package cache quadratic in Python time.
    """
    from filelock import FileLock

    from .cache_lock import locks_dir

    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return
    path = Path(pkgs_dir) / "urls.txt"
    with FileLock(locks_dir(pkgs_dir) / "urls.txt.lock", thread_local=False):
        try:
            with open(path, encoding="utf-8") as f:
                present = {line.strip() for line in f}
        except FileNotFoundError:
            present = set()
        new = [url for url in wanted if url not in present]
        if new:
            newline = "\r\n" if os.name == "nt" else "\n"
            with open(path, "a", encoding="utf-8") as f:
                f.write("".join(url + newline for url in new))
