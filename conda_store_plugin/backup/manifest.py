"""The backup manifest (format version 1): models, schema, validation.

``schemas/conda-store-backup-1.schema.json`` is generated from ``SCHEMA``; a test
fails when the committed file and the code disagree. ``validate_dict`` is the schema
plus the cross-references a schema cannot say: every environment and package names a
listed member (of the same size and sha256, for packages), every member is named by
exactly one of them, and no path appears twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import BackupFormatError

FORMAT = "conda-store-backup"
VERSION = 1
MANIFEST_NAME = "manifest.json"
#: A manifest larger than this is refused before it is parsed.
MAX_MANIFEST_SIZE = 256 * 1024 * 1024
#: A transfer file (one environment) larger than this is refused.
MAX_ENVIRONMENT_SIZE = 1024 * 1024 * 1024

_NAME = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}"
_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_FN = "[A-Za-z0-9_][^/\\\\]*\\.(conda|tar\\.bz2)"
ENV_MEMBER_PATTERN = f"^environments/{_NAME}/{_NAME}\\.json$"
PACKAGE_MEMBER_PATTERN = f"^packages/[0-9a-f]{{64}}/{_FN}$"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://conda-store-plugin.dev/schemas/conda-store-backup-1.schema.json",
    "title": "conda-store backup manifest, format version 1",
    "description": "manifest.json, the first member of a `conda store backup` archive "
                   "(a zstd-compressed tar). It lists every other member with its size "
                   "and sha256. Later versions only add optional fields within version 1.",
    "type": "object",
    "required": ["format", "version", "created_at", "tool_version", "with_packages",
                 "environments", "packages", "members"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "version": {"type": "integer", "minimum": 1},
        "created_at": {"type": "string", "format": "date-time"},
        "tool_version": {"type": "string"},
        "source": {
            "description": "where the backup was made (informational)",
            "type": "object",
            "properties": {"store": {"type": "string"}, "host": {"type": "string"}},
        },
        "namespaces": {"description": "the namespaces backed up; null: all",
                       "type": ["array", "null"], "items": {"type": "string"}},
        "with_packages": {"type": "boolean"},
        "environments": {"type": "array", "items": {"$ref": "#/$defs/environment"}},
        "skipped": {"description": "builds left out because they were still being built",
                    "type": "array", "items": {"$ref": "#/$defs/skipped"}},
        "packages": {"type": "array", "items": {"$ref": "#/$defs/package"}},
        "members": {"type": "array", "items": {"$ref": "#/$defs/member"}},
    },
    "$defs": {
        "environment": {
            "type": "object",
            "required": ["namespace", "name", "member", "current_build", "builds"],
            "additionalProperties": False,
            "properties": {
                "namespace": {"type": "string", "pattern": f"^{_NAME}$"},
                "name": {"type": "string", "pattern": f"^{_NAME}$"},
                "member": {"type": "string", "pattern": ENV_MEMBER_PATTERN},
                "current_build": {"type": ["integer", "null"], "minimum": 1},
                "builds": {"type": "integer", "minimum": 0},
            },
        },
        "skipped": {
            "type": "object",
            "required": ["environment", "build", "status"],
            "additionalProperties": False,
            "properties": {"environment": {"type": "string"},
                           "build": {"type": "integer", "minimum": 1},
                           "status": {"type": "string"}},
        },
        "package": {
            "type": "object",
            "required": ["member", "fn", "url", "sha256", "size"],
            "additionalProperties": False,
            "properties": {
                "member": {"type": "string", "pattern": PACKAGE_MEMBER_PATTERN},
                "fn": {"type": "string", "pattern": f"^{_FN}$"},
                "url": {"type": "string", "minLength": 1},
                "sha256": _HEX64,
                "size": {"type": "integer", "minimum": 0},
            },
        },
        "member": {
            "type": "object",
            "required": ["path", "size", "sha256"],
            "additionalProperties": False,
            "properties": {
                "path": {"type": "string",
                         "pattern": f"({ENV_MEMBER_PATTERN})|({PACKAGE_MEMBER_PATTERN})"},
                "size": {"type": "integer", "minimum": 0},
                "sha256": _HEX64,
            },
        },
    },
}


def schema_json() -> str:
    """The schema as committed in ``schemas/``."""
    return json.dumps(SCHEMA, indent=2) + "\n"


def schema_filename() -> str:
    """``conda-store-backup-1.schema.json``."""
    return f"{FORMAT}-{VERSION}.schema.json"


def env_member(namespace: str, name: str) -> str:
    """``environments/<ns>/<name>.json``."""
    return f"environments/{namespace}/{name}.json"


def package_member(sha256: str, fn: str) -> str:
    """``packages/<sha256>/<fn>``."""
    return f"packages/{sha256}/{fn}"


# --- models -------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupMember:
    """One archive member with its size and sha256."""

    path: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BackupMember:
        """Inverse of ``to_dict``."""
        return cls(data["path"], data["size"], data["sha256"])


@dataclass(frozen=True)
class BackupEnvironment:
    """One environment in the backup."""

    namespace: str
    name: str
    member: str
    current_build: int | None
    builds: int

    @property
    def key(self) -> str:
        """``NAMESPACE/NAME``."""
        return f"{self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"namespace": self.namespace, "name": self.name, "member": self.member,
                "current_build": self.current_build, "builds": self.builds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BackupEnvironment:
        """Inverse of ``to_dict``."""
        return cls(data["namespace"], data["name"], data["member"],
                   data["current_build"], data["builds"])


@dataclass(frozen=True)
class BackupPackage:
    """One package archive in the backup: the locked file (URL, sha256, size)."""

    member: str
    fn: str
    url: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"member": self.member, "fn": self.fn, "url": self.url,
                "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BackupPackage:
        """Inverse of ``to_dict``."""
        return cls(data["member"], data["fn"], data["url"], data["sha256"], data["size"])


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``."""

    created_at: str
    tool_version: str
    with_packages: bool
    environments: tuple[BackupEnvironment, ...]
    packages: tuple[BackupPackage, ...]
    members: tuple[BackupMember, ...]
    namespaces: tuple[str, ...] | None = None
    skipped: tuple[Mapping[str, Any], ...] = ()
    source: Mapping[str, str] = field(default_factory=dict)
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"format": FORMAT, "version": self.version,
                               "created_at": self.created_at,
                               "tool_version": self.tool_version}
        if self.source:
            out["source"] = dict(self.source)
        out.update({
            "namespaces": list(self.namespaces) if self.namespaces is not None else None,
            "with_packages": self.with_packages,
            "environments": [e.to_dict() for e in self.environments],
            "skipped": [dict(s) for s in self.skipped],
            "packages": [p.to_dict() for p in self.packages],
            "members": [m.to_dict() for m in self.members],
        })
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Inverse of ``to_dict``; call ``validate_dict`` first on untrusted data."""
        namespaces = data.get("namespaces")
        return cls(
            created_at=data["created_at"], tool_version=data["tool_version"],
            with_packages=data["with_packages"],
            environments=tuple(BackupEnvironment.from_dict(e) for e in data["environments"]),
            packages=tuple(BackupPackage.from_dict(p) for p in data["packages"]),
            members=tuple(BackupMember.from_dict(m) for m in data["members"]),
            namespaces=tuple(namespaces) if namespaces is not None else None,
            skipped=tuple(dict(s) for s in data.get("skipped", ())),
            source=dict(data.get("source", {})), version=data["version"])

    def to_json(self) -> bytes:
        """Serialised bytes (UTF-8, two-space indent, final newline)."""
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n").encode()


def validate_dict(data: Any, *, path: str | Path) -> None:
    """Check a manifest: the schema, then the cross-references (see the module doc).

    Raises:
        BackupFormatError: naming the first problem.
    """
    from ..schema_check import schema_problem

    if isinstance(data, Mapping) and data.get("format") == FORMAT \
            and isinstance(data.get("version"), int) and data["version"] > VERSION:
        raise BackupFormatError(path, f"backup format {data['version']} is newer than "
                                      f"this conda-store-plugin understands ({VERSION})",
                                hint="Upgrade conda-store-plugin to restore it.")
    problem = schema_problem(SCHEMA, data)
    if problem:
        raise BackupFormatError(path, f"not a valid backup manifest {problem}")
    members = {}
    for m in data["members"]:
        if m["path"] in members:
            raise BackupFormatError(path, f"manifest lists member {m['path']!r} twice")
        members[m["path"]] = m
    named: set[str] = set()

    def claim(member: str, what: str) -> dict:
        if member not in members:
            raise BackupFormatError(path, f"{what} names member {member!r}, which the "
                                          "manifest does not list")
        if member in named:
            raise BackupFormatError(path, f"member {member!r} is named twice")
        named.add(member)
        return members[member]

    for env in data["environments"]:
        key = f"{env['namespace']}/{env['name']}"
        if env["member"] != env_member(env["namespace"], env["name"]):
            raise BackupFormatError(path, f"environment {key} is stored as "
                                          f"{env['member']!r}")
        claim(env["member"], f"environment {key}")
    for pkg in data["packages"]:
        if pkg["member"] != package_member(pkg["sha256"], pkg["fn"]):
            raise BackupFormatError(path, f"package {pkg['fn']} is stored as "
                                          f"{pkg['member']!r}")
        m = claim(pkg["member"], f"package {pkg['fn']}")
        if (m["size"], m["sha256"]) != (pkg["size"], pkg["sha256"]):
            raise BackupFormatError(path, f"package {pkg['fn']}: its member's size or "
                                          "sha256 differs from the package's")
    unnamed = sorted(set(members) - named)
    if unnamed:
        raise BackupFormatError(path, f"manifest lists members nothing refers to: "
                                      f"{', '.join(unnamed[:5])}")


def loads(data: bytes, *, path: str | Path) -> Manifest:
    """Parse and validate manifest bytes."""
    try:
        parsed = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupFormatError(path, f"{MANIFEST_NAME} is not valid JSON: {exc}") from None
    validate_dict(parsed, path=path)
    return Manifest.from_dict(parsed)
