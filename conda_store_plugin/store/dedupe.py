"""Hardlink identical files across build prefixes, where they are separate copies.

Which files: regular files of completed builds' prefixes, non-empty, outside
``conda-meta/`` (per-environment records that conda rewrites; they hold the prefix
path, so they rarely match anyway). Symlinks and folders are left alone.

Identical means: same device, size, full mode (type and permission bits), owner and
group, then the same sha256 of the content. Files whose mode differs are never merged,
so an executable never loses (or gains) its ``x`` bit.

How it is safe while environments are in use: each copy is replaced by linking the
kept file to a temp name in the same folder, then ``os.replace`` over the copy. The
rename is atomic: a process opening the path gets the old file or the new one, both
with the same bytes; a process that already has the old file open keeps it. Just
before replacing, both files are stat-ed again; if either changed since it was hashed
(size, mtime, ctime, inode), that file is skipped.

Which copy is kept: the one with the most links (usually the package cache's), so the
others' space is freed. ``bytes_saved`` counts only inodes whose every link was
replaced: their blocks are really released.

One thing to know: hardlinked files are one file. Editing one in place (instead of
replacing it) changes it in every build that shares it. conda itself hardlinks
environments to its package cache the same way; store builds are not meant to be
edited.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SKIPPED_DIRS = frozenset({"conda-meta"})
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DedupeReport:
    """What ``dedupe`` did (or, with ``dry_run``, would do)."""

    scanned_files: int
    candidate_files: int
    linked_files: int
    bytes_saved: int
    skipped: int
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"scanned_files": self.scanned_files,
                "candidate_files": self.candidate_files,
                "linked_files": self.linked_files, "bytes_saved": self.bytes_saved,
                "skipped": self.skipped, "dry_run": self.dry_run}


@dataclass
class _Inode:
    st: os.stat_result
    paths: list[str]


def dedupe(prefixes: Iterable[Path], *, dry_run: bool = False) -> DedupeReport:
    """Hardlink identical files across ``prefixes``."""
    inodes: dict[tuple[int, int], _Inode] = {}
    scanned = 0
    for prefix in prefixes:
        for path, st in _files(Path(prefix)):
            scanned += 1
            key = (st.st_dev, st.st_ino)
            if key in inodes:
                inodes[key].paths.append(path)
            else:
                inodes[key] = _Inode(st, [path])

    by_shape: dict[tuple, list[_Inode]] = defaultdict(list)
    for inode in inodes.values():
        st = inode.st
        by_shape[(st.st_dev, st.st_size, st.st_mode, st.st_uid, st.st_gid)].append(inode)

    candidates = linked = saved = skipped = 0
    for group in by_shape.values():
        if len(group) < 2:
            continue
        by_digest: dict[str, list[_Inode]] = defaultdict(list)
        for inode in group:
            digest = _sha256(inode.paths[0])
            if digest is not None:
                by_digest[digest].append(inode)
        for same in by_digest.values():
            if len(same) < 2:
                continue
            same.sort(key=lambda i: (-i.st.st_nlink, i.paths[0]))
            keep, copies = same[0], same[1:]
            for copy in copies:
                candidates += len(copy.paths)
                done = 0
                for path in copy.paths:
                    if dry_run or _replace_with_link(keep, copy, path):
                        done += 1
                    else:
                        skipped += 1
                linked += done
                if done == len(copy.paths) == copy.st.st_nlink:
                    saved += copy.st.st_blocks * 512
    return DedupeReport(scanned, candidates, linked, saved, skipped, dry_run)


def _files(prefix: Path) -> Iterable[tuple[str, os.stat_result]]:
    stack = [os.fspath(prefix)]
    top = True
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            top = False
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if not (top and entry.name in SKIPPED_DIRS):
                    stack.append(entry.path)
            elif stat.S_ISREG(st.st_mode) and st.st_size > 0:
                yield entry.path, st
        top = False


def _sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _replace_with_link(keep: _Inode, copy: _Inode, path: str) -> bool:
    source = keep.paths[0]
    # ctime of the kept file moves when we add links to it: compare all but ctime.
    try:
        now = os.lstat(source)
    except OSError:
        return False
    if (now.st_ino, now.st_size, now.st_mtime_ns, now.st_mode) != \
            (keep.st.st_ino, keep.st.st_size, keep.st.st_mtime_ns, keep.st.st_mode):
        return False
    if not _unchanged_but_links(path, copy.st):
        return False
    tmp = os.path.join(os.path.dirname(path),
                       f".{os.path.basename(path)}.dedupe-{uuid.uuid4().hex[:12]}")
    try:
        os.link(source, tmp)
    except OSError:
        return False
    try:
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True


def _unchanged_but_links(path: str, st: os.stat_result) -> bool:
    # Replacing one path of a multi-path copy changes the copy's ctime (link count):
    # check content-relevant fields only.
    try:
        now = os.lstat(path)
    except OSError:
        return False
    return (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns, now.st_mode) == \
        (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_mode)
