"""pixi.lock (the rattler lock format) versions 6 and 7 -> our lockfile, conda packages only.

py-rattler (``rattler.LockFile.from_path``) reads both versions into one model, with
every field a v6 file leaves out (name, version, build, subdir, noarch: derived from
the URL) filled in, so one adapter serves both. What differs between the two, from
rattler's ``rattler_lock`` (``file_format_version.rs``, ``parse/serialize.rs``):

- v7 adds a top-level ``platforms:`` list; each has a ``name``, a ``subdir`` when the
  name is not a subdir (``linux-64-cuda``), and optional ``virtual-packages``
  (``__glibc=2.17``; rattler also accepts spec-like ``__glibc >=2.17``). v6 has no
  virtual packages.
- v7 package entries drop ``arch``/``platform`` (derived from the URL), may use file
  paths relative to the lock file, and environments may list ``conda_source:``
  packages (pixi build). Binary packages are still ``- conda: <url>``.

What we take:

- One named environment (pixi locks have several; ``default`` unless asked).
- Per platform, the environment's conda packages with URL, hashes, size, depends.
  pixi writes a size for nearly every package; one without is kept with size 0
  (unknown, as conda-lock conversions have), which ``conda create --file`` handles by
  fetching it into the package cache first (``conda_layer.lock_specifier``). sha256
  and md5 are still required.
- Virtual packages: our documented defaults for the platform, overridden by the
  v7 ``virtual-packages`` where the lock gives them (a spec-like entry counts as
  its lowest version).
- A spec rebuilt from the lock: its channels and the packages nothing else depends
  on (pixi keeps the requested specs in pixi.toml, not in the lock).

PyPI packages and conda source packages in the chosen environment are refused with
``UnsupportedLockContentError`` (not supported yet); nothing is dropped silently.
Platform names that are not subdirs are stored under their subdir.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..exceptions import (
    ChannelError,
    FormatError,
    LockEnvironmentNotFoundError,
    UnsupportedLockContentError,
)
from ..lockfile import LockedPackage, Lockfile, PlatformLock
from ..platforms import VirtualPackage
from .common import channel_from_written, dependency_name, top_level_keys

if TYPE_CHECKING:
    from rattler import RepoDataRecord

NAME = "pixi"
SUPPORTED_VERSIONS = (6, 7)
DEFAULT_ENVIRONMENT = "default"
WHAT = "pixi.lock file"

_EXACT = re.compile(r"^__[\w.\-]+=[^\s=<>!~,*]+(=[^\s=]+)?$")
_VERSION = re.compile(r"[0-9][0-9A-Za-z._+]*")


def sniff(head: str) -> bool:
    """Whether the start of a file looks like a pixi.lock (any version)."""
    keys = top_level_keys(head)
    return keys.get("version", "").isdigit() and "environments" in keys


def lock_version(head: str) -> int | None:
    """The ``version:`` of a pixi.lock, read from the start of the file."""
    value = top_level_keys(head).get("version", "")
    return int(value) if value.isdigit() else None


def virtual_package_from_lock(text: str, *, path: str | Path) -> VirtualPackage:
    """A v7 ``virtual-packages`` entry as our ``VirtualPackage``.

    ``__glibc=2.17`` and ``__glibc=2.17=0`` are exact; a spec such as
    ``__glibc >=2.17`` is read as its lowest version; a bare name as version 0.
    """
    text = text.strip()
    if _EXACT.match(text):
        return VirtualPackage.parse(text)
    name, rest = dependency_name(text)
    if not name.startswith("__"):
        raise FormatError(path, f"virtual package {text!r} does not start with __",
                          hint="Fix the platform's `virtual-packages` in the lock file.")
    if not rest:
        return VirtualPackage(name, "0")
    match = _VERSION.search(rest)
    if match is None:
        raise FormatError(path, f"cannot read a version from virtual package {text!r}",
                          hint="Write it as __NAME=VERSION in the lock file.")
    return VirtualPackage(name, match.group(0).rstrip("."))


def locked_package(record: RepoDataRecord, *, path: str | Path) -> LockedPackage:
    """Our ``LockedPackage`` from a py-rattler record of the lock (size 0 if it has none)."""
    from ..records import locked_from_record

    if record.size is None and record.sha256 is not None and record.md5 is not None:
        record.size = 0  # unknown: installs fetch it first and check the sha256
    try:
        return locked_from_record(record)
    except ChannelError as exc:
        raise FormatError(path, f"{record.file_name} has no sha256 or md5 in the lock",
                          hint="conda-store lockfiles need both; re-lock with a "
                               "current pixi (`pixi lock`).") from exc


def _check_version(path: Path) -> int:
    from .common import read_text

    head = read_text(path, what=WHAT)[:8192]
    version = lock_version(head)
    if version is None or "environments" not in top_level_keys(head):
        raise FormatError(path, f"not a {WHAT}: no top-level `version:` and `environments:`")
    if version not in SUPPORTED_VERSIONS:
        newer = version > max(SUPPORTED_VERSIONS)
        raise FormatError(
            path, f"pixi.lock version {version} is not supported (versions "
                  f"{', '.join(map(str, SUPPORTED_VERSIONS))} are)",
            hint="Upgrade conda-store-plugin to read it." if newer else
                 "Rewrite it with a current pixi: `pixi lock`.")
    return version


def _platform_key(name: str, subdir: str, taken: Iterable[str], path: Path) -> str:
    key = name if name == subdir else subdir
    if key in taken:
        raise FormatError(path, f"two platforms of the environment use subdir {subdir} "
                                f"(one is {name!r}); a conda-store lockfile keeps one per "
                                "subdir",
                          hint="Convert from a pixi.lock whose platforms are plain subdirs.")
    return key


def read(path: Path, *, environment: str | None = None) -> Lockfile:
    """Our lockfile for one environment of a pixi.lock (v6 or v7)."""
    from rattler import LockFile
    from rattler.lock import CondaLockedSourcePackage, PypiLockedPackage

    from ..platforms import virtual_packages_for
    from .common import assemble, reconstructed_spec

    path = Path(path)
    version = _check_version(path)
    try:
        lock_file = LockFile.from_path(path)
    except Exception as exc:  # py-rattler raises its own parse errors
        raise FormatError(path, f"py-rattler cannot read it: {exc}",
                          hint=f"Check the {WHAT}, or regenerate it with `pixi lock`.") from exc

    name = environment or DEFAULT_ENVIRONMENT
    env = lock_file.environment(name)
    if env is None:
        raise LockEnvironmentNotFoundError(path, name, [n for n, _ in lock_file.environments()])

    lock_platforms = sorted(env.platforms(), key=lambda p: p.name)
    pypi: list[str] = []
    source: list[str] = []
    for lock_platform in lock_platforms:
        for package in env.packages(lock_platform) or ():
            if isinstance(package, PypiLockedPackage):
                pypi.append(package.name)
            elif isinstance(package, CondaLockedSourcePackage):
                source.append(package.name)
    if pypi:
        raise UnsupportedLockContentError(
            path, f"PyPI package(s) in environment {name!r}", pypi,
            hint="conda store convert carries conda packages only for now: convert an "
                 "environment without PyPI dependencies (--environment NAME), or install "
                 "the PyPI packages with pip after the conda environment.")
    if source:
        raise UnsupportedLockContentError(
            path, f"conda source package(s) in environment {name!r}", source,
            hint="Source packages are built by pixi and have no archive URL; build and "
                 "publish them to a channel, re-lock, then convert.")

    platforms: dict[str, PlatformLock] = {}
    for lock_platform in lock_platforms:
        subdir = str(lock_platform.subdir)
        key = _platform_key(lock_platform.name, subdir, platforms, path)
        records = env.conda_repodata_records_for_platform(lock_platform) or []
        overrides = [virtual_package_from_lock(v, path=path)
                     for v in lock_platform.virtual_packages]
        platforms[key] = PlatformLock(
            virtual_packages=tuple(virtual_packages_for(subdir, overrides=overrides)),
            packages=tuple(locked_package(r, path=path) for r in records),
        )
    if not platforms:
        raise FormatError(path, f"environment {name!r} has no platforms",
                          hint="Lock it for at least one platform with pixi first.")

    channels = tuple(channel_from_written(str(c)) for c in env.channels())
    spec = reconstructed_spec(name=name, channels=channels, platforms=platforms)
    return assemble(spec=spec, channels=channels, platforms=platforms,
                    converted_from={"format": NAME, "version": version, "environment": name,
                                    "file": path.name, "spec": "reconstructed"})
