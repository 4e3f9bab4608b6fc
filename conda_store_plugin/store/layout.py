"""Paths inside a store, valid names, ``NS/NAME@BUILD`` references, the format version.

::

    <store>/store.json                      format version; a newer one is refused
    <store>/.store.lock                     taken while store.json is created
    <store>/<ns>/<env>/env.json             current build, link path, created
    <store>/<ns>/<env>/.env.lock            per-environment lock (numbering, switching)
    <store>/<ns>/<env>/builds/<N>/build.json
                                 /.builder.lock  held by the process building N
                                 /environment.yml, conda-store.lock.json, build.log
                                 /used.json      last use (see ``usage``)
                                 /prefix/        the environment itself
    <store>/<ns>/<env>/builds/.new-*        a build being numbered (renamed to <N>)
    <store>/<ns>/<env>/builds/<N>/.trash-*  a prefix being removed
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import InvalidStoreNameError

STORE_FILE = "store.json"
ENV_FILE = "env.json"
BUILD_FILE = "build.json"
USED_FILE = "used.json"
SPEC_FILE = "environment.yml"
LOCK_FILE = "conda-store.lock.json"
LOG_FILE = "build.log"
PREFIX_DIR = "prefix"
BUILDS_DIR = "builds"
ENV_LOCK = ".env.lock"
BUILDER_LOCK = ".builder.lock"
STORE_LOCK = ".store.lock"
NEW_PREFIX = ".new-"
TRASH_PREFIX = ".trash-"

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def check_name(what: str, value: str) -> str:
    """Return ``value`` if it is a valid namespace or environment name."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidStoreNameError(
            what, str(value), "1-100 characters among letters, digits, '_', '.', '-', "
                              "not starting with '.' or '-'")
    return value


@dataclass(frozen=True)
class EnvRef:
    """``NAMESPACE/NAME``, optionally ``@BUILD``."""

    namespace: str
    name: str
    build: int | None = None

    @property
    def key(self) -> str:
        """``NAMESPACE/NAME``."""
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return self.key if self.build is None else f"{self.key}@{self.build}"

    @classmethod
    def parse(cls, text: str, *, default_namespace: str, build: int | str | None = None,
              allow_build: bool = True) -> EnvRef:
        """Parse ``NAME``, ``NS/NAME``, ``NAME@N`` or ``NS/NAME@N``.

        ``build`` (e.g. a separate command-line argument) is used when the text has none.
        """
        text = str(text).strip()
        ref, at, number = text.partition("@")
        if at and not allow_build:
            raise InvalidStoreNameError("environment", text, "a build number is not "
                                                             "allowed here")
        namespace, slash, name = ref.rpartition("/")
        namespace = namespace if slash else default_namespace
        check_name("namespace", namespace)
        check_name("environment name", name)
        raw = number if at else build
        return cls(namespace, name, parse_build_number(raw) if raw is not None else None)


def parse_build_number(raw: int | str) -> int:
    """A build number: a positive integer."""
    text = str(raw).strip()
    if not text.isdigit() or int(text) < 1:
        raise InvalidStoreNameError("build number", text, "a positive whole number")
    return int(text)


@dataclass(frozen=True)
class StoreLayout:
    """Paths of one store directory; pure path arithmetic, touches nothing."""

    root: Path

    @property
    def store_file(self) -> Path:
        """``store.json``."""
        return self.root / STORE_FILE

    @property
    def store_lock(self) -> Path:
        """Lock taken while the store is initialised."""
        return self.root / STORE_LOCK

    def env_dir(self, ref: EnvRef) -> Path:
        """Folder of an environment."""
        return self.root / ref.namespace / ref.name

    def env_file(self, ref: EnvRef) -> Path:
        """``env.json`` of an environment."""
        return self.env_dir(ref) / ENV_FILE

    def env_lock(self, ref: EnvRef) -> Path:
        """Per-environment lock file."""
        return self.env_dir(ref) / ENV_LOCK

    def builds_dir(self, ref: EnvRef) -> Path:
        """Folder holding the numbered builds."""
        return self.env_dir(ref) / BUILDS_DIR

    def build_dir(self, ref: EnvRef, number: int) -> Path:
        """Folder of one build."""
        return self.builds_dir(ref) / str(number)

    def build_file(self, ref: EnvRef, number: int) -> Path:
        """``build.json`` of one build."""
        return self.build_dir(ref, number) / BUILD_FILE

    def prefix(self, ref: EnvRef, number: int) -> Path:
        """The environment prefix of one build."""
        return self.build_dir(ref, number) / PREFIX_DIR

    def spec_file(self, ref: EnvRef, number: int) -> Path:
        """The spec the build was made from."""
        return self.build_dir(ref, number) / SPEC_FILE

    def lock_file(self, ref: EnvRef, number: int) -> Path:
        """The build's lockfile."""
        return self.build_dir(ref, number) / LOCK_FILE

    def log_file(self, ref: EnvRef, number: int) -> Path:
        """The build's log."""
        return self.build_dir(ref, number) / LOG_FILE

    def used_file(self, ref: EnvRef, number: int) -> Path:
        """When the build was last used."""
        return self.build_dir(ref, number) / USED_FILE

    def builder_lock(self, ref: EnvRef, number: int) -> Path:
        """Held by the process that builds (or recreates) this build."""
        return self.build_dir(ref, number) / BUILDER_LOCK

    def namespaces(self) -> list[str]:
        """Namespace folders, sorted."""
        return _subdirs(self.root)

    def environments(self, namespace: str | None = None) -> list[EnvRef]:
        """Every environment that has an ``env.json``, sorted."""
        out = []
        for ns in [namespace] if namespace else self.namespaces():
            for name in _subdirs(self.root / ns):
                ref = EnvRef(ns, name)
                if self.env_file(ref).is_file():
                    out.append(ref)
        return out

    def build_numbers(self, ref: EnvRef) -> list[int]:
        """Numbered build folders of an environment, ascending."""
        try:
            names = [e.name for e in _scandir(self.builds_dir(ref)) if e.is_dir()]
        except FileNotFoundError:
            return []
        return sorted(int(n) for n in names if n.isdigit())


def _scandir(path: Path) -> list:
    import os

    with os.scandir(path) as it:
        return list(it)


def _subdirs(path: Path) -> list[str]:
    try:
        entries = _scandir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False)
                  and _NAME.match(e.name))
