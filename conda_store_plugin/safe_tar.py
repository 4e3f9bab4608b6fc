r"""Read tar streams without trusting them; never write outside the destination.

Every member is checked before any byte of it is used.

:class:`SafeTarReader` walks a tar *stream* (``tarfile`` mode ``r|``: one pass, no
seeking, constant memory) and refuses, with ``UnsafeArchiveMemberError``:

* absolute names (``/etc/passwd``, ``C:...``, ``\\server``), backslashes, NUL bytes;
* path traversal: any ``..`` component, and names that are not normalised
  (``a//b``, ``a/./b``); a leading ``./`` is accepted and dropped;
* hard links, device files (character, block), FIFOs, sparse and unknown member types;
* symbolic links, unless allowed, and then only when the target stays inside
  (relative, no escape through ``..``);
* members larger than ``max_member_size``, and a name seen twice.

A damaged or truncated tar becomes ``ArchiveIntegrityError``. The reader never
extracts: callers stream each member's bytes where they decide (``read``), hashing
them on the way. :func:`safe_extract` is the generic extractor on top: everything
goes into a hidden staging folder beside the destination, which is renamed into
place only when the whole archive passed; on any error the staging folder is removed
and the destination is exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .exceptions import ArchiveIntegrityError, UnsafeArchiveMemberError

_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Member:
    """A checked member: normalised name, kind (``file``/``dir``/``symlink``), size."""

    name: str
    kind: str
    size: int
    mode: int
    linkname: str | None = None
    info: Any = None  # the tarfile.TarInfo


def check_name(name: str, *, source: str | Path = "archive") -> str:
    """The member name, normalised (leading ``./`` dropped), or ``UnsafeArchiveMemberError``."""

    def refuse(reason: str) -> UnsafeArchiveMemberError:
        return UnsafeArchiveMemberError(source, name, reason)

    if not name or "\x00" in name:
        raise refuse("empty name or NUL byte in the name")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise refuse("absolute path")
    if "\\" in name:
        raise refuse("backslash in the path")
    text = name
    while text.startswith("./"):
        text = text[2:]
    text = text.rstrip("/")
    parts = text.split("/")
    if ".." in parts:
        raise refuse("path traversal ('..')")
    if not text or any(part in ("", ".") for part in parts):
        raise refuse("not a normalised relative path")
    return text


class SafeTarReader:
    """Iterate the members of a tar stream, each checked (see the module doc).

    Use ``for member in reader`` and, for a file member, ``reader.read(member, sink)``
    before moving on (a stream cannot go back).
    """

    def __init__(self, stream: IO[bytes], *, source: str | Path = "archive",
                 max_member_size: int | None = None, allow_dirs: bool = True,
                 allow_symlinks: bool = False) -> None:
        self.source = str(source)
        self.max_member_size = max_member_size
        self.allow_dirs = allow_dirs
        self.allow_symlinks = allow_symlinks
        self._seen: set[str] = set()
        try:
            self._tar = tarfile.open(fileobj=stream, mode="r|",  # noqa: SIM115
                                     bufsize=_CHUNK)
        except (tarfile.TarError, EOFError) as exc:
            raise ArchiveIntegrityError(self.source, f"not a readable tar stream: {exc}") \
                from None

    def __iter__(self) -> Iterator[Member]:
        while True:
            try:
                info = self._tar.next()
            except (tarfile.TarError, EOFError) as exc:
                raise ArchiveIntegrityError(self.source, f"damaged or truncated tar: "
                                                         f"{exc}") from None
            if info is None:
                return
            yield self.check(info)

    def check(self, info: tarfile.TarInfo) -> Member:
        """The checked form of one header; ``UnsafeArchiveMemberError`` if refused."""
        name = check_name(info.name, source=self.source)

        def refuse(reason: str) -> UnsafeArchiveMemberError:
            return UnsafeArchiveMemberError(self.source, info.name, reason)

        if name in self._seen:
            raise refuse("the name appears twice")
        self._seen.add(name)
        if info.ischr() or info.isblk():
            raise refuse("device file")
        if info.isfifo():
            raise refuse("FIFO (named pipe)")
        if info.islnk():
            raise refuse(f"hard link (to {info.linkname!r})")
        if info.issparse():
            raise refuse("sparse file")
        if info.issym():
            if not self.allow_symlinks:
                raise refuse(f"symbolic link (to {info.linkname!r})")
            target = info.linkname
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            if not target or target.startswith(("/", "\\")) or _DRIVE.match(target) \
                    or joined == ".." or joined.startswith("../"):
                raise refuse(f"symbolic link pointing outside (to {target!r})")
            return Member(name, "symlink", 0, info.mode, target, info)
        if info.isdir():
            if not self.allow_dirs:
                raise refuse("folder members are not expected here")
            return Member(name, "dir", 0, info.mode, None, info)
        if not info.isreg():
            raise refuse(f"unsupported member type {info.type!r}")
        if self.max_member_size is not None and info.size > self.max_member_size:
            raise refuse(f"oversized: {info.size} bytes, at most {self.max_member_size} "
                         "allowed")
        return Member(name, "file", info.size, info.mode, None, info)

    def read(self, member: Member, sink: Callable[[bytes], Any] | None = None) -> str:
        """Stream a file member's bytes to ``sink``; return their sha256 (hex).

        Raises:
            ArchiveIntegrityError: the data ends before the size its header gives.
        """
        digest = hashlib.sha256()
        remaining = member.size
        try:
            handle = self._tar.extractfile(member.info)
            while remaining:
                chunk = handle.read(min(_CHUNK, remaining)) if handle else b""
                if not chunk:
                    raise ArchiveIntegrityError(
                        self.source, f"truncated: member {member.name!r} ends "
                                     f"{remaining} bytes early")
                digest.update(chunk)
                if sink is not None:
                    sink(chunk)
                remaining -= len(chunk)
        except (tarfile.TarError, EOFError) as exc:
            raise ArchiveIntegrityError(self.source, f"damaged or truncated tar in "
                                                     f"{member.name!r}: {exc}") from None
        return digest.hexdigest()

    def read_bytes(self, member: Member) -> tuple[bytes, str]:
        """A (small) file member's bytes and their sha256."""
        parts: list[bytes] = []
        sha256 = self.read(member, parts.append)
        return b"".join(parts), sha256

    def close(self) -> None:
        """Let go of the tar stream (not of the underlying file object)."""
        self._tar.close()


def safe_extract(stream: IO[bytes], dest: str | Path, *, source: str | Path = "archive",
                 max_member_size: int | None = None, max_total_size: int | None = None,
                 allow_symlinks: bool = False) -> list[str]:
    """Extract a tar stream into ``dest`` (which must not exist, or be empty).

    All or nothing: members go into a staging folder beside ``dest`` and it becomes
    ``dest`` only once every member passed. Files get mode 0644 or 0755 (no setuid,
    no owners from the archive). Returns the extracted names.

    Raises:
        UnsafeArchiveMemberError, ArchiveIntegrityError: nothing was written.
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ArchiveIntegrityError(source, f"the destination {dest} is not empty; "
                                            "extract into a new folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extract-", dir=dest.parent))
    names = []
    total = 0
    try:
        reader = SafeTarReader(stream, source=source, max_member_size=max_member_size,
                               allow_symlinks=allow_symlinks)
        root = os.path.realpath(staging)
        for member in reader:
            target = staging / member.name
            _check_parent(target, root, member, source)
            if member.kind == "dir":
                target.mkdir(parents=True, exist_ok=True)
            elif member.kind == "symlink":
                os.symlink(member.linkname, target)
            else:
                total += member.size
                if max_total_size is not None and total > max_total_size:
                    raise UnsafeArchiveMemberError(
                        source, member.name, f"the archive unpacks to more than "
                                             f"{max_total_size} bytes")
                _write_member(reader, member, target)
            names.append(member.name)
        reader.close()
        if dest.exists():
            dest.rmdir()  # empty: checked above
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return names


def _check_parent(target: Path, root: str, member: Member, source: str | Path) -> None:
    """Refuse a member whose folder resolves (through an extracted symlink) outside."""
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    real = os.path.realpath(parent)
    if real != root and not real.startswith(root + os.sep):
        raise UnsafeArchiveMemberError(source, member.name,
                                       "its folder is a symbolic link pointing outside")
    if os.path.lexists(target) and member.kind != "dir":
        raise UnsafeArchiveMemberError(source, member.name, "the name appears twice")


def _write_member(reader: SafeTarReader, member: Member, target: Path) -> None:
    mode = 0o755 if member.mode & 0o111 else 0o644
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 mode)
    with os.fdopen(fd, "wb") as f:
        reader.read(member, f.write)
