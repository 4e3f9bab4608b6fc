"""Read a whole backup once and check everything, writing nothing.

The first member must be ``manifest.json`` (schema-valid, cross-references consistent).
Every following member passes ``safe_tar`` (no absolute or ``..`` paths, no links,
devices or FIFOs) and must be listed in the manifest with the size its header gives
(a larger one is refused before its bytes are read) and the sha256 its bytes have.
Every listed member must be there, and the zstd stream must end where the file ends:
a tampered, truncated or padded backup is refused here, before a restore writes
anything. The transfer files are kept (parsed and validated); package bytes are only
hashed (``restore`` reads them again, and hashes them again, to seed the cache).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import (
    ArchiveIntegrityError,
    BackupFormatError,
    TransferFileError,
    UnsafeArchiveMemberError,
)
from .manifest import MANIFEST_NAME, MAX_ENVIRONMENT_SIZE, MAX_MANIFEST_SIZE, Manifest, loads


@dataclass(frozen=True)
class VerifiedBackup:
    """A backup that passed every check: its manifest and transfer documents."""

    path: Path
    manifest: Manifest
    documents: dict[str, Any]  # "NS/NAME" -> transfer.TransferDocument
    size: int


@contextmanager
def open_members(path: Path) -> Iterator[tuple[Any, Any]]:
    """``(reader, members)``: a ``SafeTarReader`` over the backup and its member iterator.

    The caller reads each member it wants before taking the next; on leaving the
    block normally the end of the stream is checked (``ZstdReader.finish``).
    """
    from ..safe_tar import SafeTarReader
    from .zstd_stream import zstd_input

    with zstd_input(path) as raw:
        reader = SafeTarReader(io.BufferedReader(raw, 1 << 16), source=path,
                               allow_dirs=False)
        yield reader, iter(reader)
        raw.finish()


def read_manifest(path: Path, reader: Any, members: Iterator[Any]) -> Manifest:
    """Read and check the first member, ``manifest.json``."""
    first = next(members, None)
    if first is None or first.name != MANIFEST_NAME:
        raise BackupFormatError(path, f"the first member is "
                                      f"{first.name if first else 'missing'!r}, not "
                                      f"{MANIFEST_NAME}")
    if first.size > MAX_MANIFEST_SIZE:
        raise UnsafeArchiveMemberError(path, first.name, f"oversized: {first.size} bytes, "
                                                         f"at most {MAX_MANIFEST_SIZE}")
    data, _ = reader.read_bytes(first)
    return loads(data, path=path)


def verify(path: str | Path, *,
           on_member: Callable[[Any, Any], None] | None = None) -> VerifiedBackup:
    """Check the whole backup at ``path``; see the module doc.

    Raises:
        BackupFormatError: not a backup, or a manifest or transfer file that is invalid.
        ArchiveIntegrityError: a member changed, missing, unlisted, of another size, or
            the stream is truncated or damaged.
        UnsafeArchiveMemberError: a member that is not a plain file with a safe name, or
            larger than the manifest says.
    """
    from .. import transfer

    path = Path(path)
    documents: dict[str, Any] = {}
    with open_members(path) as (reader, members):
        manifest = read_manifest(path, reader, members)
        expected = {m.path: m for m in manifest.members}
        envs = {e.member: e for e in manifest.environments}
        seen: set[str] = set()
        for member in members:
            listed = expected.get(member.name)
            if listed is None:
                raise ArchiveIntegrityError(path, f"member {member.name!r} is not listed in "
                                                  "the manifest")
            if member.size > listed.size:
                raise UnsafeArchiveMemberError(path, member.name,
                                               f"oversized: {member.size} bytes, the "
                                               f"manifest says {listed.size}")
            if member.size != listed.size:
                raise ArchiveIntegrityError(path, f"member {member.name!r} is {member.size} "
                                                  f"bytes, the manifest says {listed.size}")
            env = envs.get(member.name)
            if env is not None:
                if member.size > MAX_ENVIRONMENT_SIZE:
                    raise UnsafeArchiveMemberError(path, member.name, "oversized transfer "
                                                                      "file")
                data, sha256 = reader.read_bytes(member)
            else:
                data, sha256 = None, reader.read(member)
            if sha256 != listed.sha256:
                raise ArchiveIntegrityError(
                    path, f"member {member.name!r} has sha256 {sha256}, the manifest says "
                          f"{listed.sha256}: it was changed after the backup was made")
            seen.add(member.name)
            if env is not None:
                documents[env.key] = _document(path, member.name, data, env, transfer)
            if on_member is not None:
                on_member(member, listed)
        missing = sorted(set(expected) - seen)
        if missing:
            raise ArchiveIntegrityError(
                path, f"truncated or incomplete: {len(missing)} member(s) the manifest "
                      f"lists are missing ({', '.join(missing[:3])}"
                      f"{' ...' if len(missing) > 3 else ''})")
    return VerifiedBackup(path, manifest, documents, path.stat().st_size)


def _document(path: Path, name: str, data: bytes, env: Any, transfer: Any) -> Any:
    try:
        document = transfer.loads(data, path=f"{path}:{name}")
    except TransferFileError as exc:
        raise BackupFormatError(path, f"{name}: {exc.problem}") from None
    if (document.namespace, document.name, document.current_build) != \
            (env.namespace, env.name, env.current_build):
        raise BackupFormatError(path, f"{name} holds {document.key} (current build "
                                      f"{document.current_build}), the manifest says "
                                      f"{env.key} ({env.current_build})")
    return document
