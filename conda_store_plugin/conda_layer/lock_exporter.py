"""``conda export --format conda-store-lock-v1``: our lockfile from an installed environment.

``conda export -n X --format conda-store --file conda-store.lock.json`` (the format is
also detected from a ``--file`` named ``conda-store.lock.json``) writes a schema-valid
lockfile of environment ``X``:

* **this machine's platform**: the installed packages themselves (conda passes the
  ``PrefixRecord`` objects of ``conda-meta``): URL, sha256, md5, size, depends, constrains...
  as installed. A record without sha256 (possible for packages conda installed from a
  ``file://`` channel or a local archive) gets it from the package's archive in the
  package cache (``package_tarball_full_path``), else the export fails naming it.
* **other platforms** (``--platform P``, repeatable, or ``export_platforms`` in
  .condarc): conda solves the environment's requested specs (its history) for ``P``
  with the configured solver before calling the exporter; the lockfile gets that
  solution. This machine's platform is always added unless ``--override-platforms`` is
  given.
* **spec section**: the requested specs from ``conda-meta/history`` (for environments
  created from one of our lockfiles, the lock's own ``spec.dependencies``), the
  environment's channels (those its packages came from, then the configured ones) and
  its variables; ``input_hash`` is computed from it, so ``conda store lock --check``
  and lock-aware ``conda create`` compare it with an environment.yml as usual.
* **virtual packages**: our documented defaults for each platform
  (``platforms.virtual_packages_for``), as ``conda store lock`` writes them.

PyPI packages (this machine's platform only) are exported when each was installed
from an exact file whose sha256 is recorded in its ``direct_url.json``: installs from
one of our lockfiles (``conda create --file`` or ``conda store install``) record it
(``pypi_provenance``), and so does pip when it knew the hash. Any other pip-installed
package makes the export fail (``LockExportError``): a lockfile holds a URL and a hash
for every file. Their ``index_url`` is written empty (nothing records it), and the spec
section has no ``pip:`` lines.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..exceptions import CondaStoreError

NAME = "conda-store-lock-v1"
ALIASES = ("conda-store",)
DEFAULT_FILENAMES = ("conda-store.lock.json", "*.conda-store.lock.json")
DESCRIPTION = "conda-store-plugin lockfile: every platform with URLs and hashes"


class LockExportError(CondaStoreError):
    """The environment cannot be written as a conda-store lockfile."""

    def __init__(self, prefix: str | Path | None, problem: str, *,
                 hint: str | None = None) -> None:
        self.prefix = str(prefix) if prefix else None
        where = f"environment {prefix}" if prefix else "the environment"
        super().__init__(f"cannot export {where} as a conda-store lockfile: {problem}",
                         hint=hint)


def export(envs: Iterable[Any]) -> str:
    """The ``multiplatform_export`` callable: conda environments in, lockfile text out."""
    from .errors import to_conda_error

    try:
        return build_lockfile(list(envs)).to_json()
    except CondaStoreError as exc:
        raise to_conda_error(exc) from exc


def build_lockfile(envs: list[Any]) -> Any:
    """Our ``Lockfile`` for the environments conda prepared (one per platform)."""
    from .. import __version__
    from ..lockfile import Lockfile, PlatformLock, validate_dict
    from ..locking import lock_channel_priority
    from ..platforms import virtual_packages_for

    if not envs:
        raise LockExportError(None, "conda passed no environment")
    installed = _installed_env(envs)
    by_platform = {env.platform: env for env in envs}
    if installed is not None:
        by_platform.setdefault(installed.platform, installed)
    prefix = next((env.prefix for env in envs if env.prefix), None)
    platforms: dict[str, Any] = {}
    for platform, env in sorted(by_platform.items()):
        packages = tuple(locked_package(rec, prefix) for rec in env.explicit_packages)
        pypi = _pypi_packages(prefix) if env is installed else ()
        platforms[platform] = PlatformLock(tuple(virtual_packages_for(platform)), packages,
                                           pypi)
    spec = _spec(prefix, installed or envs[0], sorted(by_platform))
    from ..channels import resolve_channels
    from ..config import load_config

    config = load_config()
    channels = resolve_channels(list(spec.channels), config=config)
    lock = Lockfile(
        spec=spec,
        channels=tuple(channels),
        platforms=platforms,
        input_hash=spec.input_hash(),
        created_at=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        .isoformat().replace("+00:00", "Z"),
        tool_version=__version__,
        channel_priority=lock_channel_priority(config.channel_priority),
        extra_metadata={"exported_from": str(prefix)} if prefix else {},
    )
    validate_dict(lock.to_dict())
    return lock


def _installed_env(envs: list[Any]) -> Any:
    """The environment of this machine's platform: conda's, or read from the prefix."""
    from conda.base.context import context

    for env in envs:
        if env.platform == context.subdir:
            return env
    argparse_args = dict(getattr(context, "_argparse_args", {}) or {})
    prefix = next((env.prefix for env in envs if env.prefix), None)
    if argparse_args.get("override_platforms") or not prefix:
        return None
    from conda.models.environment import Environment

    return Environment.from_prefix(prefix=prefix, name=envs[0].name, platform=context.subdir,
                                   channels=list(context.channels))


# -- packages ----------------------------------------------------------------------------


def locked_package(rec: Any, prefix: str | None) -> Any:
    """A ``LockedPackage`` from a conda record (installed ``PrefixRecord`` or solved)."""
    from ..lockfile import LockedPackage

    url = rec.get("url", None) if hasattr(rec, "get") else getattr(rec, "url", None)
    if not url:
        raise LockExportError(prefix, f"{rec.dist_str()} has no URL",
                              hint="Reinstall it from a channel, then export again.")
    fn = rec.fn or url.rsplit("/", 1)[-1]
    sha256, md5, size = rec.get("sha256", None), rec.get("md5", None), rec.get("size", None)
    if not (sha256 and md5 and size is not None):
        sha256, md5, size = _hashes_from_archive(rec, prefix, sha256, md5, size)
    noarch = rec.noarch.value if getattr(rec, "noarch", None) else None
    timestamp = rec.get("timestamp", None)
    track = rec.get("track_features", None) or ()
    if isinstance(track, str):
        track = tuple(t for t in track.replace(",", " ").split() if t)
    return LockedPackage(
        name=rec.name, version=rec.version, build=rec.build,
        build_number=int(rec.build_number), subdir=rec.subdir, url=url,
        channel=_channel_of(url, rec.subdir), fn=fn, sha256=sha256, md5=md5, size=int(size),
        depends=tuple(rec.depends), constrains=tuple(rec.constrains),
        noarch=noarch if noarch in ("python", "generic") else None,
        timestamp=int(round(timestamp * 1000)) if timestamp else None,
        license=rec.get("license", None) or None,
        track_features=tuple(track),
        features=rec.get("features", None) or None,
        python_site_packages_path=rec.get("python_site_packages_path", None) or None,
    )


def _channel_of(url: str, subdir: str) -> str:
    """The channel URL as our lockfiles (and py-rattler) write it: base URL plus ``/``."""
    folder = url.rsplit("/", 1)[0]
    if folder.endswith("/" + subdir):
        folder = folder[: -len(subdir) - 1]
    return folder + "/"


def _hashes_from_archive(rec: Any, prefix: str | None, sha256: str | None, md5: str | None,
                         size: int | None) -> tuple[str, str, int]:
    """sha256/md5/size from the cached archive; its md5 or size must match the record."""
    candidates = []
    tarball = rec.get("package_tarball_full_path", None)
    if tarball:
        candidates.append(Path(tarball))
    from conda.base.context import context

    candidates += [Path(d) / rec.fn for d in context.pkgs_dirs if rec.fn]
    for path in candidates:
        if not path.is_file():
            continue
        digests = _file_digests(path)
        if (md5 and digests[1] != md5) or (size is not None and digests[2] != size):
            continue  # another file under that name
        return digests
    raise LockExportError(
        prefix, f"{rec.dist_str()} has no sha256 recorded and its archive is not in the "
                "package cache",
        hint="Reinstall it from a channel with hashes in its repodata (or keep the "
             "archive in the package cache), then export again.")


def _file_digests(path: Path) -> tuple[str, str, int]:
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0  # noqa: S324 - conda's md5 field
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), md5.hexdigest(), size


# -- spec --------------------------------------------------------------------------------


def _spec(prefix: str | None, env: Any, platforms: list[str]) -> Any:
    from ..conda_history import requested_specs
    from ..spec import EnvironmentSpec, normalise_spec_string

    specs = list(requested_specs(Path(prefix)).values()) if prefix else []
    installed = {rec.name for rec in env.explicit_packages}
    specs = [normalise_spec_string(s) for s in specs if _spec_name(s) in installed]
    if not specs:  # no history (e.g. made by another tool): every installed package
        specs = sorted(installed)
    channels = tuple(str(c) for c in (env.config.channels or ()))
    name = env.name if env.name and os.sep not in env.name and "/" not in env.name else None
    return EnvironmentSpec(
        name=name, channels=channels, dependencies=tuple(specs),
        platforms=tuple(platforms) if len(platforms) > 1 else (),
        variables={str(k): str(v) for k, v in (env.variables or {}).items()},
    )


def _spec_name(spec: str) -> str:
    from ..conda_history import spec_name

    return spec_name(spec)


# -- PyPI --------------------------------------------------------------------------------


def _pypi_packages(prefix: str | None) -> tuple[Any, ...]:
    """Locked PyPI packages for what pip/uv installed into the environment."""
    if not prefix:
        return ()
    from conda.core.prefix_data import PrefixData

    python_records = PrefixData(prefix, interoperability=True).get_python_packages()
    if not python_records:
        return ()
    from ..lockfile import LockedPypiPackage
    from ..pypi_names import normalise
    from ..pypi_provenance import installed_archives

    archives = installed_archives(Path(prefix))
    out, missing = [], []
    for rec in python_records:
        name = normalise(rec.name)
        url, sha256, requested = archives.get((name, str(rec.version)), (None, None, False))
        if not (url and sha256):
            missing.append(f"{rec.name} {rec.version}")
            continue
        out.append(LockedPypiPackage(name=name, version=str(rec.version), url=url,
                                     sha256=sha256, index_url="", requested=requested))
    if missing:
        raise LockExportError(
            prefix, "PyPI packages installed without a recorded file URL and sha256: "
                    + ", ".join(sorted(missing)),
            hint="A lockfile needs the exact file of every package. Lock the "
                 "environment.yml (with its pip: section) with `conda store lock` instead.")
    return tuple(out)
