"""The store's JSON records: models, schemas (format version 1), read and atomic write.

Four records, each a small frozen dataclass with ``from_dict``/``to_dict`` and a JSON
schema committed as ``schemas/conda-store-<kind>-1.schema.json`` (a test fails when
the committed files and ``SCHEMAS`` disagree):

* ``StoreRecord`` (``store.json``): the store format version;
* ``EnvironmentRecord`` (``env.json``): current build and the envs-dir link;
* ``BuildRecord`` (``build.json``): one numbered build;
* ``UsageRecord`` (``used.json``): when the build was last used, and how.

Every write goes through ``atomic_write_text``: a reader (or a process killed
mid-write) sees the old record or the new one, never half of one. A record whose
``version`` is newer than ours is refused with ``StoreVersionError``.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..exceptions import StoreRecordError, StoreVersionError

VERSION = 1
STATUSES = ("queued", "building", "completed", "failed", "archived", "deleted")
#: Statuses of a build whose builder may still be running.
ACTIVE_STATUSES = ("queued", "building")

_ID = "https://conda-store-plugin.dev/schemas/conda-store-{kind}-1.schema.json"
_TS = {"type": ["string", "null"], "format": "date-time"}
_NNI = {"type": ["integer", "null"], "minimum": 0}
_STR_OR_NULL = {"type": ["string", "null"]}


def _schema(kind: str, title: str, required: list[str], props: dict[str, Any]) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _ID.format(kind=kind),
        "title": title,
        "description": "Written by conda-store-plugin; later versions only add optional "
                       "fields within version 1.",
        "type": "object",
        "required": ["format", "version", *required],
        "properties": {
            "format": {"const": f"conda-store-{kind}"},
            "version": {"type": "integer", "minimum": 1},
            **props,
        },
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "store": _schema("store", "conda-store store.json, format version 1",
                     ["created_at", "tool_version"], {
                         "created_at": _TS,
                         "tool_version": {"type": "string"},
                     }),
    "environment": _schema(
        "environment", "conda-store env.json, format version 1",
        ["namespace", "name", "created_at", "current_build", "link"], {
            "namespace": {"type": "string"},
            "name": {"type": "string"},
            "created_at": _TS,
            "updated_at": _TS,
            "current_build": {"type": ["integer", "null"], "minimum": 1},
            "link": {"description": "envs-dir symlink pointing at the current build's "
                                    "prefix", **_STR_OR_NULL},
        }),
    "build": _schema(
        "build", "conda-store build.json, format version 1",
        ["namespace", "environment", "number", "status", "platform", "prefix",
         "created_at", "builder", "tool_version"], {
            "namespace": {"type": "string"},
            "environment": {"type": "string"},
            "number": {"type": "integer", "minimum": 1},
            "status": {"enum": list(STATUSES)},
            "platform": {"type": "string"},
            "prefix": {"type": "string", "description": "absolute path of the prefix"},
            "created_at": _TS,
            "started_at": _TS,
            "finished_at": _TS,
            "archived_at": _TS,
            "deleted_at": _TS,
            "recreated_at": _TS,
            "spec_source": {"description": "the environment.yml it was built from",
                            **_STR_OR_NULL},
            "lockfile_reused": {"type": "boolean"},
            "input_hash": _STR_OR_NULL,
            "package_count": _NNI,
            "size": {
                "type": ["object", "null"],
                "description": "prefix size when completed: apparent bytes and bytes "
                               "on disk (hardlinked files counted once)",
                "required": ["apparent", "disk"],
                "properties": {"apparent": {"type": "integer", "minimum": 0},
                               "disk": {"type": "integer", "minimum": 0}},
            },
            "bytes_freed": _NNI,
            "builder": {
                "type": "object",
                "required": ["user", "host", "pid"],
                "properties": {"user": {"type": "string"}, "host": {"type": "string"},
                               "pid": {"type": "integer"}},
            },
            "tool_version": {"type": "string"},
            "error": _STR_OR_NULL,
        }),
    "usage": _schema("usage", "conda-store used.json, format version 1",
                     ["last_used_at", "how"], {
                         "last_used_at": _TS,
                         "how": {"type": "string",
                                 "description": "activate, run, build, use or recreate"},
                     }),
}


def schema_json(kind: str) -> str:
    """The schema of one record kind as committed in ``schemas/``."""
    return json.dumps(SCHEMAS[kind], indent=2) + "\n"


def schema_filename(kind: str) -> str:
    """``conda-store-<kind>-1.schema.json``."""
    return f"conda-store-{kind}-{VERSION}.schema.json"


# --- time ---------------------------------------------------------------------------


def now_utc() -> datetime.datetime:
    """The current time, UTC, whole seconds."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def format_time(when: datetime.datetime) -> str:
    """``2025-01-31T12:00:00Z``."""
    return when.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat() \
        .replace("+00:00", "Z")


def parse_time(text: str | None) -> datetime.datetime | None:
    """Inverse of ``format_time``; None stays None."""
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- models -------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreRecord:
    """``store.json``."""

    created_at: str
    tool_version: str
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"format": "conda-store-store", "version": self.version,
                "created_at": self.created_at, "tool_version": self.tool_version}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoreRecord:
        """Inverse of ``to_dict``."""
        return cls(created_at=data["created_at"], tool_version=data["tool_version"],
                   version=data["version"])


@dataclass(frozen=True)
class EnvironmentRecord:
    """``env.json``: one environment."""

    namespace: str
    name: str
    created_at: str
    current_build: int | None = None
    link: str | None = None
    updated_at: str | None = None
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"format": "conda-store-environment", "version": self.version,
                "namespace": self.namespace, "name": self.name,
                "created_at": self.created_at, "updated_at": self.updated_at,
                "current_build": self.current_build, "link": self.link}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvironmentRecord:
        """Inverse of ``to_dict``."""
        return cls(namespace=data["namespace"], name=data["name"],
                   created_at=data["created_at"], current_build=data["current_build"],
                   link=data["link"], updated_at=data.get("updated_at"),
                   version=data["version"])


@dataclass(frozen=True)
class Builder:
    """Who built a build: user, host and process id."""

    user: str
    host: str
    pid: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"user": self.user, "host": self.host, "pid": self.pid}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Builder:
        """Inverse of ``to_dict``."""
        return cls(user=data["user"], host=data["host"], pid=data["pid"])

    @classmethod
    def this_process(cls) -> Builder:
        """The current user, host and pid."""
        import os
        import socket

        from .location import default_namespace

        return cls(user=default_namespace(), host=socket.gethostname(), pid=os.getpid())


@dataclass(frozen=True)
class Size:
    """Apparent bytes and bytes on disk of a prefix."""

    apparent: int
    disk: int

    def to_dict(self) -> dict[str, int]:
        """JSON form."""
        return {"apparent": self.apparent, "disk": self.disk}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Size | None:
        """Inverse of ``to_dict``; None stays None."""
        return None if data is None else cls(data["apparent"], data["disk"])


@dataclass(frozen=True)
class BuildRecord:
    """``build.json``: one numbered build of an environment."""

    namespace: str
    environment: str
    number: int
    status: str
    platform: str
    prefix: str
    created_at: str
    builder: Builder
    tool_version: str
    started_at: str | None = None
    finished_at: str | None = None
    archived_at: str | None = None
    deleted_at: str | None = None
    recreated_at: str | None = None
    spec_source: str | None = None
    lockfile_reused: bool = False
    input_hash: str | None = None
    package_count: int | None = None
    size: Size | None = None
    bytes_freed: int | None = None
    error: str | None = None
    version: int = VERSION

    @property
    def env_key(self) -> str:
        """``NAMESPACE/NAME``."""
        return f"{self.namespace}/{self.environment}"

    def with_(self, **changes: Any) -> BuildRecord:
        """A copy with fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "format": "conda-store-build", "version": self.version,
            "namespace": self.namespace, "environment": self.environment,
            "number": self.number, "status": self.status, "platform": self.platform,
            "prefix": self.prefix, "created_at": self.created_at,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "archived_at": self.archived_at, "deleted_at": self.deleted_at,
            "recreated_at": self.recreated_at, "spec_source": self.spec_source,
            "lockfile_reused": self.lockfile_reused, "input_hash": self.input_hash,
            "package_count": self.package_count,
            "size": self.size.to_dict() if self.size else None,
            "bytes_freed": self.bytes_freed, "builder": self.builder.to_dict(),
            "tool_version": self.tool_version, "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuildRecord:
        """Inverse of ``to_dict``."""
        return cls(
            namespace=data["namespace"], environment=data["environment"],
            number=data["number"], status=data["status"], platform=data["platform"],
            prefix=data["prefix"], created_at=data["created_at"],
            builder=Builder.from_dict(data["builder"]), tool_version=data["tool_version"],
            started_at=data.get("started_at"), finished_at=data.get("finished_at"),
            archived_at=data.get("archived_at"), deleted_at=data.get("deleted_at"),
            recreated_at=data.get("recreated_at"), spec_source=data.get("spec_source"),
            lockfile_reused=bool(data.get("lockfile_reused", False)),
            input_hash=data.get("input_hash"), package_count=data.get("package_count"),
            size=Size.from_dict(data.get("size")), bytes_freed=data.get("bytes_freed"),
            error=data.get("error"), version=data["version"],
        )


@dataclass(frozen=True)
class UsageRecord:
    """``used.json``: the last time a build was used, and by what.

    The transfer file carries the same record as ``last_used: {at, how}``; its own
    serialisers (``transfer.last_used_to_dict``) keep that format apart from this one.
    """

    last_used_at: str
    how: str
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"format": "conda-store-usage", "version": self.version,
                "last_used_at": self.last_used_at, "how": self.how}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageRecord:
        """Inverse of ``to_dict``."""
        return cls(last_used_at=data["last_used_at"], how=data["how"],
                   version=data["version"])


_MODELS = {"store": StoreRecord, "environment": EnvironmentRecord, "build": BuildRecord,
           "usage": UsageRecord}


# --- read / write -------------------------------------------------------------------


def validate(kind: str, data: Any, *, path: str | Path | None = None) -> None:
    """Check ``data`` against the schema of ``kind``; newer versions are refused."""
    from ..schema_check import schema_problem

    where = path if path is not None else f"{kind} record"
    if _is_newer(data):
        raise StoreVersionError(where, str(data["version"]), str(VERSION))
    problem = schema_problem(SCHEMAS[kind], data)
    if problem:
        raise StoreRecordError(where, f"not a valid {kind} record {problem}")


def read(kind: str, path: str | os.PathLike[str]) -> Any:
    """Read, validate and parse one record; ``FileNotFoundError`` passes through."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreRecordError(path, f"cannot read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreRecordError(path, f"not valid JSON (line {exc.lineno}): {exc.msg}") \
            from exc
    if not conforms(kind, data) or _is_newer(data):
        validate(kind, data, path=path)  # raises, naming the problem
    return _MODELS[kind].from_dict(data)


def _is_newer(data: Any) -> bool:
    version = data.get("version") if isinstance(data, Mapping) else None
    return isinstance(version, int) and version > VERSION


def conforms(kind: str, data: Any) -> bool:
    """Fast yes/no check of ``data`` against ``SCHEMAS[kind]`` (``schema_check``).

    Reading 1,000 build records with ``jsonschema`` costs ~0.4 s; this costs a few ms.
    ``jsonschema`` still runs on anything that fails, to name the problem.
    """
    from ..schema_check import fast_check

    return fast_check(SCHEMAS[kind])(data)


def write(kind: str, record: Any, path: Path) -> Path:
    """Validate and write one record atomically."""
    data = record.to_dict()
    if not conforms(kind, data) or _is_newer(data):
        validate(kind, data, path=path)
    return atomic_write_text(Path(path), json.dumps(data, indent=2) + "\n")
