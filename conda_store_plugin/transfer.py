"""The environment transfer file (format version 1): one environment and its whole history.

``conda store export ENV -o FILE`` writes it, ``conda store import FILE`` reads it, and a
backup holds one per environment (``backup``). One JSON document::

    {
      "format": "conda-store-transfer", "version": 1,
      "exported_at": "2025-01-31T12:00:00Z", "tool_version": "0.1.0",
      "source": {"store": "/home/me/.conda/store", "host": "laptop"},
      "environment": {"namespace": "me", "name": "demo", "created_at": ...,
                      "updated_at": ..., "current_build": 3},
      "builds": [
        {"number": 1, "status": "archived", "platform": "linux-64",
         "created_at": ..., "started_at": ..., "finished_at": ..., "archived_at": ...,
         "deleted_at": null, "recreated_at": null, "builder": {"user", "host", "pid"},
         "tool_version": ..., "spec_source": ..., "lockfile_reused": false,
         "input_hash": ..., "package_count": 7, "error": null,
         "last_used": {"at": ..., "how": "build"},
         "spec": "<the environment.yml text>",
         "lockfile": {<a conda-store lockfile, schemas/conda-store-lock-1.schema.json>},
         "log": "<the build.log text>"},
        ...
      ]
    }

Statuses are the finished ones only: ``completed``, ``failed``, ``archived``, ``deleted``
(a build still queued or building is never exported; one whose builder died is exported
``failed``). Machine-specific facts stay behind: prefixes, the envs-dir link, sizes.
Tokens never travel: specs and logs are redacted and lockfiles hold no credentials
(``credentials.redact`` runs over every string on export and again on import).

``schemas/conda-store-transfer-1.schema.json`` is generated from ``SCHEMA``; a test
fails when the committed file and the code disagree. ``validate_dict`` is the schema
plus the rules a schema cannot say (build numbers unique, the current build is one of
them and was completed or archived, each lockfile valid and locked for its platform).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .exceptions import TransferFileError
from .store.records import UsageRecord

FORMAT = "conda-store-transfer"
VERSION = 1
#: Build statuses a transfer file may hold (never queued/building).
STATUSES = ("completed", "failed", "archived", "deleted")
#: Statuses whose build must carry a lockfile (they can be recreated from it).
NEEDS_LOCKFILE = ("completed", "archived")

_TS = {"type": ["string", "null"], "format": "date-time"}
_STR_OR_NULL = {"type": ["string", "null"]}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://conda-store-plugin.dev/schemas/conda-store-transfer-1.schema.json",
    "title": "conda-store environment transfer file, format version 1",
    "description": "One environment of a conda-store-plugin store with every build's "
                   "spec, lockfile, status, timestamps and log, and which build is "
                   "current. Written by `conda store export`, read by `conda store "
                   "import`; later versions only add optional fields within version 1.",
    "type": "object",
    "required": ["format", "version", "exported_at", "tool_version", "environment",
                 "builds"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "version": {"type": "integer", "minimum": 1},
        "exported_at": {"type": "string", "format": "date-time"},
        "tool_version": {"type": "string"},
        "source": {
            "description": "where it was exported from (informational)",
            "type": "object",
            "properties": {"store": {"type": "string"}, "host": {"type": "string"}},
        },
        "environment": {
            "type": "object",
            "required": ["namespace", "name", "created_at", "current_build"],
            "additionalProperties": False,
            "properties": {
                "namespace": {"type": "string", "minLength": 1},
                "name": {"type": "string", "minLength": 1},
                "created_at": _TS,
                "updated_at": _TS,
                "current_build": {"type": ["integer", "null"], "minimum": 1},
            },
        },
        "builds": {"type": "array", "items": {"$ref": "#/$defs/build"}},
    },
    "$defs": {
        "build": {
            "type": "object",
            "required": ["number", "status", "platform", "created_at", "builder",
                         "tool_version", "spec", "lockfile", "log"],
            "additionalProperties": False,
            "properties": {
                "number": {"type": "integer", "minimum": 1},
                "status": {"enum": list(STATUSES)},
                "platform": {"type": "string", "minLength": 1},
                "created_at": _TS,
                "started_at": _TS,
                "finished_at": _TS,
                "archived_at": _TS,
                "deleted_at": _TS,
                "recreated_at": _TS,
                "builder": {
                    "type": "object",
                    "required": ["user", "host", "pid"],
                    "properties": {"user": {"type": "string"}, "host": {"type": "string"},
                                   "pid": {"type": "integer"}},
                },
                "tool_version": {"type": "string"},
                "spec_source": _STR_OR_NULL,
                "lockfile_reused": {"type": "boolean"},
                "input_hash": _STR_OR_NULL,
                "package_count": {"type": ["integer", "null"], "minimum": 0},
                "error": _STR_OR_NULL,
                "last_used": {
                    "type": ["object", "null"],
                    "required": ["at", "how"],
                    "properties": {"at": {"type": "string", "format": "date-time"},
                                   "how": {"type": "string"}},
                },
                "spec": {"description": "the environment.yml text", **_STR_OR_NULL},
                "lockfile": {"description": "a conda-store lockfile "
                                            "(conda-store-lock-1.schema.json)",
                             "type": ["object", "null"]},
                "log": {"description": "the build.log text", **_STR_OR_NULL},
            },
        },
    },
}


def schema_json() -> str:
    """The schema as committed in ``schemas/``."""
    return json.dumps(SCHEMA, indent=2) + "\n"


def schema_filename() -> str:
    """``conda-store-transfer-1.schema.json``."""
    return f"{FORMAT}-{VERSION}.schema.json"


# --- models -------------------------------------------------------------------------


def last_used_to_dict(used: UsageRecord | None) -> dict[str, str] | None:
    """A build's ``last_used`` as this format writes it: ``{"at", "how"}``, or None.

    The store's ``used.json`` (``UsageRecord``) holds the same two facts under its own
    versioned names (``last_used_at``, ``how``); only the serialised form differs here.
    """
    return None if used is None else {"at": used.last_used_at, "how": used.how}


def last_used_from_dict(data: Mapping[str, Any] | None) -> UsageRecord | None:
    """Inverse of ``last_used_to_dict``; None stays None."""
    return None if data is None else UsageRecord(last_used_at=data["at"], how=data["how"])


@dataclass(frozen=True)
class TransferBuild:
    """One build: its record's portable fields, spec, lockfile (as data) and log."""

    number: int
    status: str
    platform: str
    created_at: str | None
    builder: Mapping[str, Any]
    tool_version: str
    spec: str | None
    lockfile: Mapping[str, Any] | None
    log: str | None
    started_at: str | None = None
    finished_at: str | None = None
    archived_at: str | None = None
    deleted_at: str | None = None
    recreated_at: str | None = None
    spec_source: str | None = None
    lockfile_reused: bool = False
    input_hash: str | None = None
    package_count: int | None = None
    error: str | None = None
    last_used: UsageRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "number": self.number, "status": self.status, "platform": self.platform,
            "created_at": self.created_at, "started_at": self.started_at,
            "finished_at": self.finished_at, "archived_at": self.archived_at,
            "deleted_at": self.deleted_at, "recreated_at": self.recreated_at,
            "builder": dict(self.builder), "tool_version": self.tool_version,
            "spec_source": self.spec_source, "lockfile_reused": self.lockfile_reused,
            "input_hash": self.input_hash, "package_count": self.package_count,
            "error": self.error,
            "last_used": last_used_to_dict(self.last_used),
            "spec": self.spec, "lockfile": self.lockfile, "log": self.log,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransferBuild:
        """Inverse of ``to_dict``."""
        return cls(
            number=data["number"], status=data["status"], platform=data["platform"],
            created_at=data["created_at"], builder=dict(data["builder"]),
            tool_version=data["tool_version"], spec=data["spec"],
            lockfile=data["lockfile"], log=data["log"],
            started_at=data.get("started_at"), finished_at=data.get("finished_at"),
            archived_at=data.get("archived_at"), deleted_at=data.get("deleted_at"),
            recreated_at=data.get("recreated_at"), spec_source=data.get("spec_source"),
            lockfile_reused=bool(data.get("lockfile_reused", False)),
            input_hash=data.get("input_hash"), package_count=data.get("package_count"),
            error=data.get("error"), last_used=last_used_from_dict(data.get("last_used")),
        )

    def locked_packages(self) -> tuple[Any, ...]:
        """The lockfile's conda packages for the build's platform (``LockedPackage``)."""
        if self.lockfile is None:
            return ()
        from .lockfile import PlatformLock

        platform = self.lockfile.get("platforms", {}).get(self.platform)
        return PlatformLock.from_dict(platform).packages if platform else ()


@dataclass(frozen=True)
class TransferDocument:
    """A whole transfer file: one environment and its builds, ascending by number."""

    namespace: str
    name: str
    created_at: str | None
    current_build: int | None
    builds: tuple[TransferBuild, ...]
    exported_at: str
    tool_version: str
    updated_at: str | None = None
    source: Mapping[str, str] = field(default_factory=dict)
    version: int = VERSION

    @property
    def key(self) -> str:
        """``NAMESPACE/NAME``."""
        return f"{self.namespace}/{self.name}"

    @property
    def current(self) -> TransferBuild | None:
        """The current build, if any."""
        return next((b for b in self.builds if b.number == self.current_build), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {
            "format": FORMAT, "version": self.version, "exported_at": self.exported_at,
            "tool_version": self.tool_version,
        }
        if self.source:
            out["source"] = dict(self.source)
        out["environment"] = {
            "namespace": self.namespace, "name": self.name, "created_at": self.created_at,
            "updated_at": self.updated_at, "current_build": self.current_build}
        out["builds"] = [b.to_dict() for b in self.builds]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransferDocument:
        """Inverse of ``to_dict``; call ``validate_dict`` first on untrusted data."""
        env = data["environment"]
        return cls(
            namespace=env["namespace"], name=env["name"], created_at=env["created_at"],
            updated_at=env.get("updated_at"), current_build=env["current_build"],
            builds=tuple(sorted((TransferBuild.from_dict(b) for b in data["builds"]),
                                key=lambda b: b.number)),
            exported_at=data["exported_at"], tool_version=data["tool_version"],
            source=dict(data.get("source", {})), version=data["version"],
        )

    def to_json(self) -> str:
        """Serialised text: two-space indent, final newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


# --- validate, read, write ----------------------------------------------------------


def validate_dict(data: Any, *, path: str | Path | None = None) -> None:
    """Check ``data``: the schema, then the rules in the module doc.

    Raises:
        TransferFileError: naming the first problem (and ``path``).
    """
    from . import lockfile as lockfile_io
    from .exceptions import InvalidStoreNameError, LockfileError
    from .schema_check import schema_problem
    from .store.layout import check_name

    where = path if path is not None else "transfer file"
    if isinstance(data, Mapping) and data.get("format") == FORMAT \
            and isinstance(data.get("version"), int) and data["version"] > VERSION:
        raise TransferFileError(where, f"transfer format {data['version']} is newer than "
                                       f"this conda-store-plugin understands ({VERSION})",
                                hint="Upgrade conda-store-plugin to import it.")
    problem = schema_problem(SCHEMA, data)
    if problem:
        raise TransferFileError(where, f"not a conda-store transfer file {problem}")
    env = data["environment"]
    try:
        check_name("namespace", env["namespace"])
        check_name("environment name", env["name"])
    except InvalidStoreNameError as exc:
        raise TransferFileError(where, exc.message) from None
    numbers = [b["number"] for b in data["builds"]]
    if len(set(numbers)) != len(numbers):
        raise TransferFileError(where, "a build number appears more than once")
    current = env["current_build"]
    if current is not None:
        build = next((b for b in data["builds"] if b["number"] == current), None)
        if build is None:
            raise TransferFileError(where, f"the current build {current} is not among "
                                           "its builds")
        if build["status"] not in NEEDS_LOCKFILE:
            raise TransferFileError(where, f"the current build {current} is "
                                           f"{build['status']}")
    for build in data["builds"]:
        lock = build["lockfile"]
        if lock is None:
            if build["status"] in NEEDS_LOCKFILE:
                raise TransferFileError(where, f"build {build['number']} is "
                                               f"{build['status']} but has no lockfile")
            continue
        try:
            lockfile_io.validate_dict(lock, path=f"{where} (build {build['number']})")
        except LockfileError as exc:
            raise TransferFileError(where, f"build {build['number']}: {exc.message}") \
                from None
        if build["status"] in NEEDS_LOCKFILE and build["platform"] not in lock["platforms"]:
            raise TransferFileError(where, f"build {build['number']}'s lockfile has no "
                                           f"packages for its platform {build['platform']}")


def loads(text: str | bytes, *, path: str | Path | None = None) -> TransferDocument:
    """Parse and validate transfer-file text; credentials are removed from every string."""
    where = path if path is not None else "transfer file"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransferFileError(where, f"not valid JSON (line {exc.lineno}, column "
                                       f"{exc.colno}): {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise TransferFileError(where, f"not UTF-8 text: {exc}") from None
    validate_dict(data, path=where)
    return TransferDocument.from_dict(scrub(data))


def read(path: str | Path) -> TransferDocument:
    """Read and validate a transfer file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TransferFileError(path, "no such file",
                                hint="Give the file `conda store export` wrote.") from None
    except OSError as exc:
        raise TransferFileError(path, f"cannot read: {exc}") from None
    return loads(data, path=path)


def write(document: TransferDocument, path: str | Path) -> Path:
    """Validate, then write atomically (a failure leaves any previous file as it was)."""
    data = document.to_dict()
    validate_dict(data, path=path)
    return atomic_write_text(Path(path), document.to_json())


def scrub(data: Any) -> Any:
    """``data`` with credentials removed from every string in it (``credentials.redact``)."""
    from .credentials import redact

    if isinstance(data, str):
        return redact(data) if "://" in data else data
    if isinstance(data, Mapping):
        return {k: scrub(v) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub(v) for v in data]
    return data
