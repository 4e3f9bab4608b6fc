"""Export one environment of the store as a transfer document (``transfer``).

The environment is read under its lock, so no build is numbered, switched, archived or
deleted while it is read: the document is one consistent state. Builds still queued or
building (their builder alive) are left out and reported as skipped; a build whose
builder died is exported ``failed`` (as every reader reports it). Only finished builds
travel, so a transfer file or backup never holds a half-made build.

Nothing is written to the store.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import records
from .builds import lock_env, observe, read_env
from .layout import EnvRef, StoreLayout
from .records import ACTIVE_STATUSES, BuildRecord
from .usage import read_use


@dataclass(frozen=True)
class SkippedBuild:
    """A build left out of an export because it was still being built."""

    environment: str
    number: int
    status: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"environment": self.environment, "build": self.number,
                "status": self.status}


@dataclass(frozen=True)
class ExportOutcome:
    """What ``export_environment`` wrote."""

    environment: str
    output: Path
    builds: int
    current_build: int | None
    skipped: tuple[SkippedBuild, ...]
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"environment": self.environment, "output": str(self.output),
                "builds": self.builds, "current_build": self.current_build,
                "skipped": [s.to_dict() for s in self.skipped], "bytes": self.bytes}


def snapshot(layout: StoreLayout, ref: EnvRef) -> tuple[Any, tuple[SkippedBuild, ...]]:
    """The environment as a ``transfer.TransferDocument``, and the builds left out."""
    from .. import __version__
    from ..transfer import TransferDocument

    with lock_env(layout, ref):
        env = read_env(layout, ref)
        builds = []
        skipped = []
        for number in layout.build_numbers(ref):
            try:
                record = records.read("build", layout.build_file(ref, number))
            except FileNotFoundError:
                continue
            observed = observe(layout, ref, record)
            if observed.status in ACTIVE_STATUSES:
                skipped.append(SkippedBuild(ref.key, number, observed.status))
                continue
            builds.append(_build(layout, ref, record, observed))
    document = TransferDocument(
        namespace=ref.namespace, name=ref.name, created_at=env.created_at,
        updated_at=env.updated_at, current_build=env.current_build,
        builds=tuple(builds), exported_at=records.format_time(records.now_utc()),
        tool_version=__version__,
        source={"store": str(layout.root), "host": socket.gethostname()})
    return document, tuple(skipped)


def _build(layout: StoreLayout, ref: EnvRef, record: BuildRecord, observed: Any) -> Any:
    from ..credentials import redact
    from ..transfer import TransferBuild, scrub

    deleted = record.status == "deleted"
    used = None if deleted else read_use(layout, ref, record.number)
    spec = None if deleted else _read_text(layout.spec_file(ref, record.number))
    log = None if deleted else _read_text(layout.log_file(ref, record.number))
    lock = None if deleted else _read_lock(layout, ref, record)
    return TransferBuild(
        number=record.number, status=observed.status, platform=record.platform,
        created_at=record.created_at, builder=record.builder.to_dict(),
        tool_version=record.tool_version,
        spec=redact(spec) if spec is not None else None,
        lockfile=scrub(lock) if lock is not None else None,
        log=redact(log) if log is not None else None,
        started_at=record.started_at, finished_at=record.finished_at,
        archived_at=record.archived_at, deleted_at=record.deleted_at,
        recreated_at=record.recreated_at,
        spec_source=redact(record.spec_source) if record.spec_source else None,
        lockfile_reused=record.lockfile_reused, input_hash=record.input_hash,
        package_count=record.package_count,
        error=redact(observed.error) if observed.error else None,
        last_used=used,
    )


def _read_text(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _read_lock(layout: StoreLayout, ref: EnvRef, record: BuildRecord) -> Any:
    """The build's lockfile as validated data; None when it has none (failed early)."""
    import json

    from .. import lockfile as lockfile_io
    from ..exceptions import CorruptBuildLockfileError, LockfileError

    path = layout.lock_file(ref, record.number)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if record.status in ("completed", "archived"):
            raise CorruptBuildLockfileError(ref.key, record.number, path, "it is missing",
                                            operation="export") from None
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptBuildLockfileError(ref.key, record.number, path, str(exc),
                                        operation="export") from exc
    try:
        data = json.loads(text)
        lockfile_io.validate_dict(data, path=path)
    except (ValueError, LockfileError) as exc:
        problem = exc.message if isinstance(exc, LockfileError) else f"not JSON: {exc}"
        raise CorruptBuildLockfileError(ref.key, record.number, path, problem,
                                        operation="export") from exc
    return data


def export(layout: StoreLayout, ref: EnvRef, output: Path) -> ExportOutcome:
    """Write the environment's transfer file to ``output`` (atomically)."""
    from ..transfer import write

    document, skipped = snapshot(layout, ref)
    write(document, output)
    return ExportOutcome(ref.key, output, len(document.builds), document.current_build,
                         skipped, output.stat().st_size)
