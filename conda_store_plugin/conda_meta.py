"""Read and complete an environment's ``conda-meta/<dist>.json`` records.

Reading is what the install plan needs (name, hashes, URL) and nothing more, so a
no-op install stays fast. Completing adds what py-rattler's linker leaves out and conda
writes: ``channel`` as conda spells it (the subdir URL), ``requested_spec``,
``package_tarball_full_path`` and the ``info/index.json`` fields of the cache record
(``license_family``, ``arch``, ``platform``...).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .json_lines import dumps_top_level
from .lockfile import LockedPackage
from .pkgs_cache import CacheEntry, conda_channel


@dataclass(frozen=True)
class InstalledPackage:
    """One ``conda-meta/*.json`` record, reduced to what planning compares."""

    name: str
    version: str
    build: str
    sha256: str | None
    md5: str | None
    url: str | None
    record_file: Path

    @property
    def dist_name(self) -> str:
        """``name-version-build``."""
        return f"{self.name}-{self.version}-{self.build}"

    def same_artifact(self, pkg: LockedPackage) -> bool:
        """Whether ``pkg`` is exactly this package from the same URL."""
        if self.sha256:
            same = self.sha256 == pkg.sha256
        elif self.md5:
            same = self.md5 == pkg.md5
        else:
            same = self.dist_name == pkg.dist_name
        return same and (self.url is None or self.url == pkg.url)


def meta_dir(prefix: Path) -> Path:
    """``<prefix>/conda-meta``."""
    return Path(prefix) / "conda-meta"


def read_installed(prefix: Path) -> dict[str, InstalledPackage]:
    """Installed packages by name; an unreadable record is skipped (and so reinstalled)."""
    installed: dict[str, InstalledPackage] = {}
    folder = meta_dir(prefix)
    if not folder.is_dir():
        return installed
    for path in folder.glob("*.json"):
        fields = _identity(path)
        if fields is None:
            continue
        try:
            pkg = InstalledPackage(
                name=fields["name"], version=fields["version"], build=fields["build"],
                sha256=fields.get("sha256"), md5=fields.get("md5"), url=fields.get("url"),
                record_file=path,
            )
        except (KeyError, TypeError):
            continue
        installed[pkg.name] = pkg
    return installed


# Records are pretty-printed JSON (conda, py-rattler and we all use a 2-space indent)
# with the identity fields before the bulky ``files``/``paths_data``: read only the head.
_HEAD_BYTES = 64 * 1024
_TOP_FIELD = re.compile(
    r'^  "(name|version|build|sha256|md5|url)": ("(?:[^"\\]|\\.)*"|null)', re.M)
_BULK = re.compile(r'^  "(files|paths_data)": ', re.M)


def _identity(path: Path) -> dict[str, Any] | None:
    """name, version, build, sha256, md5, url of a record, without parsing its file list."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
            complete = len(head) < _HEAD_BYTES
        text = head.decode("utf-8", errors="replace")
        bulk = _BULK.search(text)
        if bulk is not None:
            fields = {m.group(1): json.loads(m.group(2))
                      for m in _TOP_FIELD.finditer(text, 0, bulk.start())}
            if {"name", "version", "build"} <= fields.keys():
                return fields
        data = json.loads(text) if complete else json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def complete_records(prefix: Path, packages: Sequence[LockedPackage],
                     requested: Mapping[str, str], pkgs_dir: Path | None, *,
                     keep_specs: bool = False) -> int:
    """Give each package's record the fields conda writes; returns how many changed.

    ``keep_specs`` leaves the requested specs as the record has them.
    """
    changed = 0
    for pkg in packages:
        path = meta_dir(prefix) / f"{pkg.dist_name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        patched = _patched(data, pkg, requested.get(pkg.name), pkgs_dir,
                           keep_specs=keep_specs)
        if patched != data:
            _overwrite(path, dumps_top_level(patched).encode("utf-8"))
            changed += 1
    return changed


def add_tarball_paths(prefix: Path, packages: Sequence[LockedPackage],
                      pkgs_dir: Path) -> int:
    """Give records py-rattler just wrote the ``package_tarball_full_path`` conda writes.

    Only for packages whose archive is in the cache; returns how many records changed.
    A line is spliced in before ``extracted_package_dir`` (py-rattler writes it at the
    top level, one field per line) instead of a JSON round trip: parsing and writing
    the file lists again cost a sixth of a warm install. A record in another layout
    gets the full treatment of :func:`complete_records`.
    """
    changed = 0
    folder = os.fspath(meta_dir(prefix))
    for pkg in packages:
        archive = os.path.join(pkgs_dir, pkg.fn)  # strings: this runs once per package
        if not os.path.isfile(archive):
            continue
        path = os.path.join(folder, f"{pkg.dist_name}.json")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        head = data[:_HEAD_BYTES]
        marker = head.find(b'\n  "extracted_package_dir": ')
        if marker < 0 or b'\n  "package_tarball_full_path": ' in head:
            changed += complete_records(prefix, [pkg], {}, pkgs_dir, keep_specs=True)
            continue
        line = f'\n  "package_tarball_full_path": {json.dumps(archive)},'
        _overwrite(path, data[:marker] + line.encode("utf-8") + data[marker:])
        changed += 1
    return changed


def _overwrite(path: str | Path, data: bytes) -> None:
    """Rewrite a record in place, as conda and py-rattler write records.

    Not by rename, and not by truncating to zero first: ext4 flushes a file that
    replaces another either way (``auto_da_alloc``), which made rewriting the records of
    a new environment take as long as linking it. The file holds a valid record of the
    same package before and after.
    """
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()


def _patched(data: Mapping[str, Any], pkg: LockedPackage, spec: str | None,
             pkgs_dir: Path | None, *, keep_specs: bool = False) -> dict[str, Any]:
    out = dict(data)
    out["channel"] = conda_channel(pkg)
    if not keep_specs:
        if spec is None:
            out.pop("requested_spec", None)
            out["requested_specs"] = []
        else:
            out["requested_spec"] = spec
            out["requested_specs"] = [spec]
    if pkgs_dir is not None:
        entry = CacheEntry(pkgs_dir, pkg)
        if entry.archive.is_file():
            out["package_tarball_full_path"] = str(entry.archive)
        try:
            record = json.loads(entry.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        for key, value in record.items():
            out.setdefault(key, value)
    return out


# -- environment variables (conda-meta/state, as `conda env config vars` keeps them) ----


def env_vars(prefix: Path) -> dict[str, str]:
    """The environment variables recorded in ``conda-meta/state``."""
    try:
        data = json.loads((meta_dir(prefix) / "state").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get("env_vars") if isinstance(data, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def set_env_vars(prefix: Path, variables: Mapping[str, str]) -> None:
    """Set ``variables`` in ``conda-meta/state``, keeping the others (conda's format)."""
    path = meta_dir(prefix) / "state"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if not isinstance(state, dict):
        state = {}
    current = state.get("env_vars") if isinstance(state.get("env_vars"), dict) else {}
    state["env_vars"] = {**current, **{str(k): str(v) for k, v in variables.items()}}
    path.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
