"""``conda store backup``: one ``.tar.zst`` with every environment's history (and packages).

1. Each environment is read under its own lock (``store.exporter.snapshot``): a
   consistent state of it, finished builds only; builds still queued or building are
   left out and listed in the manifest as ``skipped``. A backup never holds a half-made
   build.
2. With ``with_packages``, the archives of every package the current builds have
   installed are located (or fetched) and verified (``packages.locked_archives``).
3. The manifest (sizes and sha256 of every other member) is written first, then the
   transfer files, then the packages, through a zstd stream into a temp file renamed
   over the output at the end (``zstd_stream``). A package archive whose bytes change
   while it is copied fails the backup (the temp file is removed).

Nothing in the store changes. Tokens never get in: transfer files are redacted, lockfile
URLs carry no credentials.
"""

from __future__ import annotations

import contextlib
import hashlib
import tarfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..store.layout import EnvRef, StoreLayout
from .manifest import (
    MANIFEST_NAME,
    BackupEnvironment,
    BackupMember,
    BackupPackage,
    Manifest,
    env_member,
    package_member,
)


@dataclass(frozen=True)
class BackupOutcome:
    """What ``backup`` wrote."""

    output: Path
    bytes: int
    environments: tuple[str, ...]
    builds: int
    packages: int
    package_bytes: int
    skipped: tuple[Any, ...]  # store.exporter.SkippedBuild
    with_packages: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"output": str(self.output), "bytes": self.bytes,
                "environments": list(self.environments), "builds": self.builds,
                "packages": self.packages, "package_bytes": self.package_bytes,
                "with_packages": self.with_packages,
                "skipped": [s.to_dict() for s in self.skipped],
                "seconds": round(self.seconds, 3)}


def environments(layout: StoreLayout, namespaces: Sequence[str] | None) -> list[EnvRef]:
    """The environments to back up: all, or those of ``namespaces`` (each must have some)."""
    from ..exceptions import CondaStoreError

    if not namespaces:
        return layout.environments()
    refs: list[EnvRef] = []
    for namespace in dict.fromkeys(namespaces):
        found = layout.environments(namespace)
        if not found:
            known = ", ".join(layout.namespaces()) or "none"
            raise CondaStoreError(f"the store {layout.root} has no environments in the "
                                  f"namespace {namespace!r}; nothing was written",
                                  hint=f"Known namespaces: {known}.")
        refs.extend(found)
    return refs


def create_backup(layout: StoreLayout, output: Path, *,
                  namespaces: Sequence[str] | None = None, with_packages: bool = False,
                  pkgs_dir: Path | None = None, offline: bool = False,
                  progress: Callable[[Any], None] | None = None) -> BackupOutcome:
    """Write a backup of the store (or of ``namespaces``) to ``output``; see the module doc."""
    import socket

    from .. import __version__
    from ..store import records
    from ..store.exporter import snapshot
    from .packages import locked_archives

    start = time.perf_counter()
    documents = []
    skipped: list[Any] = []
    for ref in environments(layout, namespaces):
        document, left_out = snapshot(layout, ref)
        documents.append(document)
        skipped.extend(left_out)
    blobs = [(d, d.to_json().encode()) for d in documents]
    locked = _current_packages(documents) if with_packages else {}
    if locked and pkgs_dir is None:
        from ..conda_dirs import default_pkgs_dir

        pkgs_dir = default_pkgs_dir()
    created_at = records.format_time(records.now_utc())
    archives = (locked_archives(Path(pkgs_dir), locked.values(), offline=offline,
                                progress=progress) if locked else contextlib.nullcontext({}))
    with archives as paths:
        packages = [BackupPackage(package_member(p.sha256, p.fn), p.fn, p.url, p.sha256,
                                  p.size) for p in locked.values()]
        members = [BackupMember(env_member(d.namespace, d.name), len(blob),
                                hashlib.sha256(blob).hexdigest()) for d, blob in blobs]
        members += [BackupMember(p.member, p.size, p.sha256) for p in packages]
        manifest = Manifest(
            created_at=created_at, tool_version=__version__, with_packages=with_packages,
            environments=tuple(BackupEnvironment(d.namespace, d.name,
                                                 env_member(d.namespace, d.name),
                                                 d.current_build, len(d.builds))
                               for d in documents),
            packages=tuple(packages), members=tuple(members),
            namespaces=tuple(namespaces) if namespaces else None,
            skipped=tuple(s.to_dict() for s in skipped),
            source={"store": str(layout.root), "host": socket.gethostname()})
        _write(output, manifest, blobs, packages, paths, locked,
               mtime=int(records.parse_time(created_at).timestamp()))
    return BackupOutcome(
        output=output, bytes=output.stat().st_size,
        environments=tuple(d.key for d in documents),
        builds=sum(len(d.builds) for d in documents), packages=len(packages),
        package_bytes=sum(p.size for p in packages), skipped=tuple(skipped),
        with_packages=with_packages, seconds=time.perf_counter() - start)


def _current_packages(documents: Iterable[Any]) -> dict[str, Any]:
    """``sha256 -> LockedPackage`` of what every current (completed) build installed."""
    out: dict[str, Any] = {}
    for document in documents:
        current = document.current
        if current is None or current.status != "completed":
            continue
        for pkg in current.locked_packages():
            out.setdefault(pkg.sha256, pkg)
    return out


def _write(output: Path, manifest: Manifest, blobs: list, packages: list[BackupPackage],
           paths: dict[str, Path], locked: dict[str, Any], *, mtime: int) -> None:
    from ..exceptions import ChecksumMismatchError
    from .zstd_stream import zstd_output

    with zstd_output(output) as out, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, MANIFEST_NAME, manifest.to_json(), mtime)
        for document, blob in blobs:
            _add(tar, env_member(document.namespace, document.name), blob, mtime)
        for pkg in packages:
            with open(paths[pkg.sha256], "rb") as f:
                reader = _HashingReader(f)
                tar.addfile(_info(pkg.member, pkg.size, mtime), reader)
            if reader.sha256.hexdigest() != pkg.sha256:
                raise ChecksumMismatchError(locked[pkg.sha256].dist_name, pkg.url,
                                            pkg.sha256, reader.sha256.hexdigest())


def _info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    import io

    tar.addfile(_info(name, len(data), mtime), io.BytesIO(data))


class _HashingReader:
    """A file reader that hashes what ``tarfile`` reads from it."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.sha256.update(data)
        return data
