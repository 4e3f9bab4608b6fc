"""The conda-store lockfile (format version 1): models, JSON schema, read and write.

One file holds every platform of an environment. For each platform it has the
virtual packages assumed and every package with what an installer needs
without repodata: URL, hashes, size, depends. ``schemas/conda-store-lock-1.schema.json``
is generated from ``SCHEMA`` below; a test fails when the two disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .exceptions import LockfileError
from .platforms import VirtualPackage
from .spec import HASH_VERSION, EnvironmentSpec

FORMAT = "conda-store-lock"
MAJOR = 1
MINOR = 2  # 1.1 added per-platform `pypi` packages; 1.2 channel_priority "flexible"
VERSION = f"{MAJOR}.{MINOR}"
DEFAULT_FILENAME = "conda-store.lock.json"

_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_HEX32 = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://conda-store-plugin.dev/schemas/conda-store-lock-1.schema.json",
    "title": "conda-store lockfile, format version 1",
    "description": "One lockfile for every platform of a conda environment, written by "
                   "conda-store-plugin. Minor versions only add optional fields.",
    "type": "object",
    "required": ["format", "version", "metadata", "spec", "channels", "platforms"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "version": {"type": "string", "pattern": f"^{MAJOR}\\.[0-9]+$"},
        "metadata": {
            "type": "object",
            "required": ["tool", "tool_version", "created_at", "input_hash"],
            "properties": {
                "tool": {"type": "string"},
                "tool_version": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "input_hash": {
                    "type": "object",
                    "required": ["algorithm", "hash_version", "value"],
                    "additionalProperties": False,
                    "properties": {
                        "algorithm": {"const": "sha256"},
                        "hash_version": {"type": "integer", "minimum": 1},
                        "value": _HEX64,
                    },
                },
            },
        },
        "spec": {
            "description": "The source environment.yml, normalised.",
            "type": "object",
            "required": ["channels", "dependencies"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": ["string", "null"]},
                "channels": _STRINGS,
                "dependencies": _STRINGS,
                "pip": _STRINGS,
                "platforms": _STRINGS,
                "variables": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "channels": {
            "description": "Channels in priority order (strict priority).",
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "url"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "url": {"type": "string"}},
            },
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"channel_priority": {"enum": ["strict", "flexible", "disabled"]}},
        },
        "platforms": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"$ref": "#/$defs/platform"},
        },
    },
    "$defs": {
        "virtual_package": {
            "type": "object",
            "required": ["name", "version", "build"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": "^__"},
                "version": {"type": "string"},
                "build": {"type": "string"},
            },
        },
        "platform": {
            "type": "object",
            "required": ["virtual_packages", "packages"],
            "additionalProperties": False,
            "properties": {
                "virtual_packages": {"type": "array",
                                     "items": {"$ref": "#/$defs/virtual_package"}},
                "packages": {"type": "array", "items": {"$ref": "#/$defs/package"}},
                "pypi": {"type": "array", "items": {"$ref": "#/$defs/pypi_package"},
                         "description": "PyPI packages, installed after the conda ones "
                                        "(format 1.1)."},
            },
        },
        "pypi_package": {
            "type": "object",
            "required": ["name", "version", "url", "sha256", "index_url"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1,
                         "description": "normalised (PEP 503) project name"},
                "version": {"type": "string", "minLength": 1},
                "url": {"type": "string", "minLength": 1,
                        "description": "the exact file (wheel or sdist)"},
                "sha256": _HEX64,
                "index_url": {"type": "string"},
                "requires_python": {"type": "string"},
                "requested": {"type": "boolean",
                              "description": "named in the spec's pip section"},
            },
        },
        "package": {
            "type": "object",
            "required": ["name", "version", "build", "build_number", "subdir", "url",
                         "channel", "fn", "sha256", "md5", "size", "depends", "constrains"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "version": {"type": "string", "minLength": 1},
                "build": {"type": "string"},
                "build_number": {"type": "integer", "minimum": 0},
                "subdir": {"type": "string"},
                "url": {"type": "string", "minLength": 1},
                "channel": {"type": "string"},
                "fn": {"type": "string", "pattern": "\\.(conda|tar\\.bz2)$"},
                "sha256": _HEX64,
                "md5": _HEX32,
                "size": {"type": "integer", "minimum": 0},
                "depends": _STRINGS,
                "constrains": _STRINGS,
                "noarch": {"enum": ["python", "generic"]},
                "timestamp": {"type": "integer", "minimum": 0,
                              "description": "milliseconds since the epoch"},
                "license": {"type": "string"},
                "track_features": _STRINGS,
                "features": {"type": "string"},
                "python_site_packages_path": {"type": "string"},
            },
        },
    },
}


@dataclass(frozen=True)
class LockedPackage:
    """One conda package, with all an installer needs and no repodata."""

    name: str
    version: str
    build: str
    build_number: int
    subdir: str
    url: str
    channel: str
    fn: str
    sha256: str
    md5: str
    size: int
    depends: tuple[str, ...] = ()
    constrains: tuple[str, ...] = ()
    noarch: str | None = None
    timestamp: int | None = None
    license: str | None = None
    track_features: tuple[str, ...] = ()
    features: str | None = None
    python_site_packages_path: str | None = None

    @property
    def dist_name(self) -> str:
        """``name-version-build``, the name of the package's cache folder."""
        return f"{self.name}-{self.version}-{self.build}"

    def to_dict(self) -> dict[str, Any]:
        """Lockfile form; optional fields appear only when set."""
        out: dict[str, Any] = {
            "name": self.name, "version": self.version, "build": self.build,
            "build_number": self.build_number, "subdir": self.subdir, "url": self.url,
            "channel": self.channel, "fn": self.fn, "sha256": self.sha256, "md5": self.md5,
            "size": self.size, "depends": list(self.depends),
            "constrains": list(self.constrains),
        }
        optional = {
            "noarch": self.noarch, "timestamp": self.timestamp, "license": self.license,
            "track_features": list(self.track_features) or None,
            "features": self.features,
            "python_site_packages_path": self.python_site_packages_path,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LockedPackage:
        """Inverse of ``to_dict``."""
        return cls(
            name=data["name"], version=data["version"], build=data["build"],
            build_number=data["build_number"], subdir=data["subdir"], url=data["url"],
            channel=data["channel"], fn=data["fn"], sha256=data["sha256"], md5=data["md5"],
            size=data["size"], depends=tuple(data.get("depends", ())),
            constrains=tuple(data.get("constrains", ())), noarch=data.get("noarch"),
            timestamp=data.get("timestamp"), license=data.get("license"),
            track_features=tuple(data.get("track_features", ())),
            features=data.get("features"),
            python_site_packages_path=data.get("python_site_packages_path"),
        )


@dataclass(frozen=True)
class LockedPypiPackage:
    """One PyPI distribution file, installed with ``--no-deps`` after the conda packages."""

    name: str
    version: str
    url: str
    sha256: str
    index_url: str
    requires_python: str | None = None
    requested: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Lockfile form; optional fields appear only when set."""
        out: dict[str, Any] = {"name": self.name, "version": self.version, "url": self.url,
                               "sha256": self.sha256, "index_url": self.index_url}
        if self.requires_python is not None:
            out["requires_python"] = self.requires_python
        if self.requested:
            out["requested"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LockedPypiPackage:
        """Inverse of ``to_dict``."""
        return cls(name=data["name"], version=data["version"], url=data["url"],
                   sha256=data["sha256"], index_url=data["index_url"],
                   requires_python=data.get("requires_python"),
                   requested=bool(data.get("requested", False)))


@dataclass(frozen=True)
class PlatformLock:
    """Everything locked for one platform."""

    virtual_packages: tuple[VirtualPackage, ...] = ()
    packages: tuple[LockedPackage, ...] = ()
    pypi: tuple[LockedPypiPackage, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Lockfile form, packages sorted by name then subdir; ``pypi`` only when set."""
        out: dict[str, Any] = {
            "virtual_packages": [vp.to_dict() for vp in self.virtual_packages],
            "packages": [p.to_dict() for p in
                         sorted(self.packages, key=lambda p: (p.name, p.subdir, p.fn))],
        }
        if self.pypi:
            out["pypi"] = [p.to_dict() for p in sorted(self.pypi, key=lambda p: p.name)]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlatformLock:
        """Inverse of ``to_dict``."""
        return cls(
            virtual_packages=tuple(VirtualPackage.from_dict(v)
                                   for v in data.get("virtual_packages", ())),
            packages=tuple(LockedPackage.from_dict(p) for p in data.get("packages", ())),
            pypi=tuple(LockedPypiPackage.from_dict(p) for p in data.get("pypi", ())),
        )

    def by_name(self) -> dict[str, LockedPackage]:
        """Packages keyed by name."""
        return {p.name: p for p in self.packages}


@dataclass(frozen=True)
class Channel:
    """A channel as written in the spec, and the URL it resolved to."""

    name: str
    url: str

    def to_dict(self) -> dict[str, str]:
        """Lockfile form."""
        return {"name": self.name, "url": self.url}


@dataclass(frozen=True)
class Lockfile:
    """A whole lockfile."""

    spec: EnvironmentSpec
    channels: tuple[Channel, ...]
    platforms: Mapping[str, PlatformLock]
    input_hash: str
    created_at: str
    tool_version: str
    hash_version: int = HASH_VERSION
    channel_priority: str = "strict"
    version: str = VERSION
    tool: str = "conda-store-plugin"
    extra_metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Lockfile form; platforms sorted by name."""
        return {
            "format": FORMAT,
            "version": self.version,
            "metadata": {
                **dict(self.extra_metadata),
                "tool": self.tool,
                "tool_version": self.tool_version,
                "created_at": self.created_at,
                "input_hash": {"algorithm": "sha256", "hash_version": self.hash_version,
                               "value": self.input_hash},
            },
            "spec": self.spec.to_dict(),
            "channels": [c.to_dict() for c in self.channels],
            "options": {"channel_priority": self.channel_priority},
            "platforms": {name: self.platforms[name].to_dict()
                          for name in sorted(self.platforms)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lockfile:
        """Inverse of ``to_dict``; call ``validate_dict`` first on untrusted data."""
        meta = data["metadata"]
        extra = {k: v for k, v in meta.items()
                 if k not in ("tool", "tool_version", "created_at", "input_hash")}
        return cls(
            spec=EnvironmentSpec.from_dict(data["spec"]),
            channels=tuple(Channel(c["name"], c["url"]) for c in data["channels"]),
            platforms={k: PlatformLock.from_dict(v) for k, v in data["platforms"].items()},
            input_hash=meta["input_hash"]["value"],
            hash_version=meta["input_hash"]["hash_version"],
            created_at=meta["created_at"],
            tool=meta["tool"],
            tool_version=meta["tool_version"],
            channel_priority=data.get("options", {}).get("channel_priority", "strict"),
            version=data["version"],
            extra_metadata=extra,
        )

    def to_json(self) -> str:
        """Serialised text: stable key order, two-space indent, final newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def platform(self, name: str) -> PlatformLock:
        """The lock for one platform; ``KeyError`` when absent."""
        return self.platforms[name]

    def with_platforms(self, platforms: Mapping[str, PlatformLock]) -> Lockfile:
        """A copy with ``platforms`` replaced."""
        return replace(self, platforms=dict(platforms))


def validate_dict(data: Any, *, path: str | Path | None = None) -> None:
    """Check ``data`` against ``SCHEMA``; raise ``LockfileError`` naming the first problem."""
    from .schema_check import schema_problem

    if isinstance(data, Mapping) and data.get("format") == FORMAT:
        version = str(data.get("version", ""))
        major, _, minor = version.partition(".")
        if major.isdigit() and minor.isdigit() and (
                int(major) > MAJOR or (int(major) == MAJOR and int(minor) > MINOR)):
            raise LockfileError(
                path, f"lockfile format {version} is newer than this conda-store-plugin "
                      f"understands ({VERSION})",
                hint="Upgrade conda-store-plugin to read it.")
    problem = schema_problem(SCHEMA, data)
    if problem:
        raise LockfileError(path, f"not a valid conda-store lockfile {problem}")


def loads(text: str, *, path: str | Path | None = None) -> Lockfile:
    """Parse and validate lockfile text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockfileError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}): "
                                  f"{exc.msg}") from exc
    validate_dict(data, path=path)
    return Lockfile.from_dict(data)


def read(path: str | Path) -> Lockfile:
    """Read and validate a lockfile."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockfileError(path, "no such file",
                            hint="Create it with `conda store lock`.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LockfileError(path, f"cannot read: {exc}") from exc
    return loads(text, path=path)


def write(lock: Lockfile, path: str | Path) -> Path:
    """Validate, then write atomically: a failure leaves any previous file as it was."""
    data = lock.to_dict()
    validate_dict(data, path=path)
    return atomic_write_text(Path(path), lock.to_json())


def schema_json() -> str:
    """The schema as committed in ``schemas/``."""
    return json.dumps(SCHEMA, indent=2) + "\n"
