"""conda-lock's unified lockfile, version 1 (``conda-lock.yml``), both ways.

The document, as conda-lock 4 models it (``conda_lock/lockfile/v1/models.py``)::

    version: 1
    metadata:
      content_hash: {<platform>: <hash>}     # conda-lock's hash of its inputs
      channels: [{url: <name or URL>, used_env_vars: []}]
      platforms: [<platform>, ...]
      sources: [<input file>, ...]
      time_metadata: {created_at: <ISO time>}           # optional
      custom_metadata: {<str>: <str>}                   # optional
    package:                                  # singular; one entry per platform
    - name, version, manager: conda|pip, platform: <target platform, also for noarch>,
      dependencies: {<name>: <rest of the spec>}, url, hash: {md5, sha256},
      build (optional), category: main, optional: false

Quirks, and what we do about them:

- ``content_hash`` is conda-lock's own hash of its inputs; we cannot compute it, so
  we write our ``input_hash`` for every platform. ``conda-lock install`` does not
  check it; ``conda-lock lock`` will see it as stale and re-solve, which is right.
- ``dependencies`` is a mapping, so a depends list is written as name -> the rest
  of the spec (``libzlib: '>=1.3.1,<2.0a0'``, ``_libgcc_mutex: 0.1 conda_forge``);
  conda-lock reads ``f"{name} {rest}"`` back. Two specs on one name are merged
  with a comma when both are plain version ranges, else the first is kept.
- conda-lock has no size, build number, constrains, timestamp, license or noarch.
  Reading, we take the build string from ``build`` or the file name, the build
  number from the build string's ``_<n>`` ending, and set size 0 (unknown) unless
  the URL is a ``file://`` archive present on this machine (then its size; no
  network is used). Installers read the rest from the package archive itself;
  ``conda create --file`` fetches packages of unknown size into the package cache
  before conda plans (``conda_layer.lock_specifier``), and the sha256 is checked
  either way.
- Virtual packages are not recorded: we write ours, and our spec, into
  ``custom_metadata`` (``conda_store_spec``, ``conda_store_virtual_packages``, JSON
  strings), so a file we wrote converts back with its spec; other files get the
  defaults of each platform and a spec rebuilt from the top-level packages.
- ``manager: pip`` packages are refused (not supported yet); packages of another
  ``category`` than ``main``, or ``optional: true``, are left out and listed
  in the result's metadata (``converted_from.skipped``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..exceptions import FormatError, UnsupportedLockContentError
from ..lockfile import Channel, LockedPackage, Lockfile, PlatformLock
from ..platforms import VirtualPackage
from ..spec import EnvironmentSpec
from .common import (
    build_number_from_build,
    channel_from_written,
    dependency_name,
    dump_yaml,
    load_yaml,
    reconstructed_spec,
    select_platforms,
    split_dist,
    strip_archive_suffix,
    url_parts,
)

NAME = "conda-lock"
SUFFIX = ".yml"
PER_PLATFORM = False
VERSION = 1
SPEC_KEY = "conda_store_spec"
VIRTUAL_PACKAGES_KEY = "conda_store_virtual_packages"
WHAT = "conda-lock file"

_HEADER = """\
# Converted by conda-store-plugin {version} from a conda-store lockfile (input hash
# {input_hash}).
#
# Install this environment as "YOURENV" with:
#     conda-lock install -n YOURENV <this file>
"""


# -- writing -----------------------------------------------------------------------------


def dependencies_mapping(depends: Sequence[str]) -> dict[str, str]:
    """A depends list as conda-lock's ``{name: rest of the spec}`` mapping."""
    out: dict[str, str] = {}
    for spec in depends:
        name, rest = dependency_name(spec)
        if name not in out:
            out[name] = rest
        elif not out[name]:
            out[name] = rest
        elif rest and " " not in out[name] and " " not in rest:
            out[name] = f"{out[name]},{rest}"
    return out


def _channel_entry(channel: Channel) -> dict[str, Any]:
    written = channel.name
    if "://" in written or written.startswith((".", "/", "~")) or not written:
        written = channel.url
    return {"url": written, "used_env_vars": []}


def package_entry(pkg: LockedPackage, platform: str) -> dict[str, Any]:
    """One ``package:`` entry of a conda package, for target ``platform``."""
    return {
        "name": pkg.name,
        "version": pkg.version,
        "manager": "conda",
        "platform": platform,
        "dependencies": dependencies_mapping(pkg.depends),
        "url": pkg.url,
        "hash": {"md5": pkg.md5, "sha256": pkg.sha256},
        "build": pkg.build,
        "category": "main",
        "optional": False,
    }


def to_document(lock: Lockfile) -> dict[str, Any]:
    """Our lockfile as a conda-lock v1 document (plain data, key order as conda-lock's)."""
    from .. import __version__

    platforms = sorted(lock.platforms)
    virtual = {p: [str(vp) for vp in lock.platforms[p].virtual_packages] for p in platforms}
    packages = [
        package_entry(pkg, platform)
        for platform in platforms
        for pkg in sorted(lock.platforms[platform].packages, key=lambda p: (p.name, p.url))
    ]
    return {
        "version": VERSION,
        "metadata": {
            "content_hash": {p: lock.input_hash for p in platforms},
            "channels": [_channel_entry(c) for c in lock.channels],
            "platforms": platforms,
            "sources": [],
            "time_metadata": {"created_at": lock.created_at},
            "custom_metadata": {
                "created_by": f"conda-store-plugin {__version__}",
                SPEC_KEY: json.dumps(lock.spec.to_dict(), sort_keys=True),
                VIRTUAL_PACKAGES_KEY: json.dumps(virtual, sort_keys=True),
            },
        },
        "package": packages,
    }


def dumps(lock: Lockfile, *, platform: str | None = None,
          source: str | Path = "lockfile") -> str:
    """conda-lock v1 YAML for all platforms of ``lock``, or only ``platform``."""
    from .. import __version__

    lock = select_platforms(lock, platform, source)
    header = _HEADER.format(version=__version__, input_hash=lock.input_hash)
    return header + dump_yaml(to_document(lock))


# -- reading -----------------------------------------------------------------------------


def sniff(head: str) -> bool:
    """Whether the start of a file looks like a conda-lock v1 file."""
    from .common import top_level_keys

    keys = top_level_keys(head)
    return keys.get("version") == "1" and ("metadata" in keys or "package" in keys)


def _require(data: Any, key: str, kind: type | tuple[type, ...], where: str,
             path: str | Path) -> Any:
    value = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__
                                                                          for k in kind)
        raise FormatError(path, f"{where}: `{key}` is missing or not a {names}",
                          hint=f"Regenerate the {WHAT} with conda-lock.")
    return value


def _locked_package(entry: Mapping[str, Any], where: str, path: str | Path) -> LockedPackage:
    name = str(_require(entry, "name", str, where, path))
    version = str(_require(entry, "version", (str, int, float), where, path))
    url = _require(entry, "url", str, where, path)
    hashes = _require(entry, "hash", Mapping, where, path)
    channel, subdir, fn = url_parts(url)
    dist = strip_archive_suffix(fn)
    parts = split_dist(dist) if dist else None
    if not subdir or parts is None:
        raise FormatError(path, f"{where}: {url!r} is not a conda package URL "
                                "(<channel>/<subdir>/<name>-<version>-<build>.conda)")
    build = entry.get("build") or parts[2]
    sha256, md5 = hashes.get("sha256"), hashes.get("md5")
    if not sha256 or not md5:
        missing = " and ".join(k for k, v in (("sha256", sha256), ("md5", md5)) if not v)
        raise FormatError(path, f"{where}: {name} {version} has no {missing} hash",
                          hint="conda-store lockfiles need both hashes for every package; "
                               "re-lock with a recent conda-lock, or lock the spec with "
                               "`conda store lock`.")
    deps = entry.get("dependencies") or {}
    if not isinstance(deps, Mapping):
        raise FormatError(path, f"{where}: `dependencies` must be a mapping")
    return LockedPackage(
        name=name, version=version, build=str(build),
        build_number=build_number_from_build(str(build)), subdir=subdir, url=url,
        channel=channel, fn=fn, sha256=str(sha256).lower(), md5=str(md5).lower(),
        size=local_size(url), depends=tuple(f"{k} {v}".strip() for k, v in deps.items()),
    )


def local_size(url: str) -> int:
    """The size of a ``file://`` package present on this machine, else 0 (unknown).

    Only a stat: the archive is not read, so its sha256 is still checked when installed.
    """
    import os
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    if not url.startswith("file:"):
        return 0
    try:
        return os.stat(url2pathname(urlparse(url).path)).st_size
    except (OSError, ValueError):
        return 0


def _custom(meta: Mapping[str, Any], key: str) -> Any:
    custom = meta.get("custom_metadata")
    if not isinstance(custom, Mapping) or not isinstance(custom.get(key), str):
        return None
    try:
        return json.loads(custom[key])
    except ValueError:
        return None


def _virtual_packages(meta: Mapping[str, Any], platform: str) -> tuple[VirtualPackage, ...]:
    from ..platforms import virtual_packages_for

    stored = _custom(meta, VIRTUAL_PACKAGES_KEY)
    if isinstance(stored, Mapping) and isinstance(stored.get(platform), list):
        try:
            return tuple(VirtualPackage.parse(v) for v in stored[platform])
        except Exception:  # noqa: BLE001 - a damaged note falls back to the defaults
            pass
    return tuple(virtual_packages_for(platform))


def from_document(data: Any, *, path: str | Path) -> Lockfile:
    """Our lockfile from a parsed conda-lock v1 document (conda packages only)."""
    from .common import assemble

    if not isinstance(data, Mapping):
        raise FormatError(path, f"not a {WHAT}: the top level is not a mapping")
    if data.get("version") != VERSION:
        raise FormatError(path, f"conda-lock lockfile version {data.get('version')!r} is "
                                f"not supported (only version {VERSION})",
                          hint="Re-render it with `conda-lock lock` (writes version 1).")
    meta = _require(data, "metadata", Mapping, "metadata", path)
    platforms = [str(p) for p in _require(meta, "platforms", list, "metadata", path)]
    channels: list[Channel] = []
    for item in _require(meta, "channels", list, "metadata", path):
        url = item.get("url") if isinstance(item, Mapping) else item
        if not isinstance(url, str) or not url:
            raise FormatError(path, f"metadata: channel {item!r} has no url")
        channels.append(channel_from_written(url))
    entries = _require(data, "package", list, "package", path)

    pip: list[str] = []
    skipped: list[str] = []
    packages: dict[str, list[LockedPackage]] = {p: [] for p in platforms}
    for i, entry in enumerate(entries):
        where = f"package[{i}]"
        if not isinstance(entry, Mapping):
            raise FormatError(path, f"{where} is not a mapping")
        manager = entry.get("manager")
        if manager == "pip":
            pip.append(str(entry.get("name")))
            continue
        if manager != "conda":
            raise FormatError(path, f"{where}: unknown manager {manager!r} "
                                    "(conda-lock v1 knows conda and pip)")
        platform = str(_require(entry, "platform", str, where, path))
        if platform not in packages:
            raise FormatError(path, f"{where}: platform {platform!r} is not in "
                                    "metadata.platforms")
        if entry.get("category", "main") != "main" or entry.get("optional", False):
            skipped.append(f"{entry.get('name')} ({platform}, "
                           f"category {entry.get('category', 'main')})")
            continue
        packages[platform].append(_locked_package(entry, where, path))
    if pip:
        raise UnsupportedLockContentError(
            path, "pip package(s)", pip,
            hint="conda store convert carries conda packages only for now: remove the "
                 "pip packages from the conda-lock spec and re-lock, or install them with "
                 "pip after the conda environment.")

    platform_locks = {
        p: PlatformLock(virtual_packages=_virtual_packages(meta, p), packages=tuple(pkgs))
        for p, pkgs in packages.items()
    }
    stored = _custom(meta, SPEC_KEY)
    try:
        spec = EnvironmentSpec.from_dict(stored) if isinstance(stored, Mapping) else None
    except (KeyError, TypeError, ValueError):
        spec = None
    if spec is None:
        spec = reconstructed_spec(name=None, channels=channels, platforms=platform_locks)
    converted_from = {"format": NAME, "version": VERSION, "file": Path(path).name,
                      "spec": "stored" if stored is not None else "reconstructed"}
    if skipped:
        converted_from["skipped"] = sorted(skipped)
    return assemble(spec=spec, channels=channels, platforms=platform_locks,
                    converted_from=converted_from, created_at=_created_at(meta))


def _created_at(meta: Mapping[str, Any]) -> str | None:
    import datetime

    time_meta = meta.get("time_metadata")
    value = time_meta.get("created_at") if isinstance(time_meta, Mapping) else None
    if isinstance(value, datetime.datetime):  # unquoted in the YAML
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value) if value else None


def loads(text: str, *, path: str | Path = "conda-lock.yml") -> Lockfile:
    """Parse conda-lock v1 YAML text into our lockfile."""
    return from_document(load_yaml(text, path=path, what=WHAT), path=path)


def read(path: Path, *, environment: str | None = None) -> Lockfile:
    """Read a conda-lock v1 file (``environment`` does not apply)."""
    from .common import read_text

    return loads(read_text(path, what=WHAT), path=path)
