"""``conda create --file conda-store.lock.json``: our lockfile as a conda environment specifier.

conda (26.7.1) picks this specifier for files named ``conda-store.lock.json`` or
``*.conda-store.lock.json``, for any file whose JSON says ``"format": "conda-store-lock"``
(content detection), and for ``--format conda-store-lock-v1`` / ``--format conda-store``.
It hands conda the locked packages of the current platform (``context.subdir``) as
``Environment.explicit_packages``, so conda installs exactly those records without a
solve and without downloading any repodata (``conda.misc.install_explicit_packages``):
every record carries its URL, sha256, md5 and size, conda downloads it (checking the
sha256 and size while streaming) and links it. Records whose size the lockfile does not
know are fetched first (below).

What conda's explicit path leaves out, and what we do about it
--------------------------------------------------------------
conda returns from ``conda.cli.install.install`` as soon as it has linked explicit
packages: it neither runs the installers of ``Environment.external_packages`` (its pip
installer would anyway use plain ``pip install -U -r`` with ``name==version`` lines,
without hashes) nor writes ``Environment.variables``. So the lockfile's PyPI packages
(format 1.1 ``platforms.<p>.pypi``) and variables are applied by our
``conda_post_commands`` hook (:func:`after_command`) once conda's transaction has
succeeded: uv installs the exact locked files with ``--require-hashes --no-deps``
(``pypi_install.install_pypi``), and the variables go into ``conda-meta/state`` like
``conda env config vars set`` writes them. The PyPI files are downloaded and checked
into uv's cache *before* conda changes anything (``pypi_install.fetch_pypi`` in
:meth:`LockfileSpec.env_for`), so a missing or tampered wheel stops the create early. If
uv fails after all, a new environment is removed again (``conda create``) and the error
is reported; ``conda install --file`` leaves the environment with its conda packages.

History: conda records every explicit record as an ``# update specs`` entry
(``channel/subdir::name==version=build``). The post-command replaces that line of the
entry this command wrote with the lockfile's requested specs (``spec.dependencies``),
so the environment's history says what was asked for, as ``conda store install`` writes
it: ``conda export --from-history`` gives the spec back, ``conda export --platform``
can solve it for other platforms (pinned builds of another subdir cannot be), and
``conda remove PKG`` keeps every other requested package and what it needs.
The ``+``/``-`` lines are left untouched, so ``conda list --revisions`` and
``conda install --revision`` work as usual.

Packages of unknown size
------------------------
Lockfiles converted from conda-lock v1 record ``size: 0`` for every package (conda-lock
has no sizes), and so may pixi.lock conversions for the odd package pixi wrote without
one. conda cannot install such a record as it is: with ``size=0`` its download stops at
once (``download_inner`` treats a partial file of ``>= size`` bytes as complete) and
fails the sha256 check on an empty file; without a size, the transaction summary
(``print_transaction_summary``, ``human_bytes(prec.size)``) fails for every package it
still has to download. Only packages that are already in a package cache need no size.

So :meth:`LockfileSpec.env_for` puts them there first. The records of unknown size are
handed to conda *without* a size; conda's own ``ProgressiveFetchExtract`` downloads and
extracts them (checking the sha256 while downloading, as for every record), the same
step conda runs for an ``@EXPLICIT`` file before its own summary. With ``cache_locks``
on, our fetch guard wraps that step (entry locks, staging, one download per machine);
with it off, conda does it alone: one code path either way, conda's session (proxies,
credentials, SSL settings, ``--offline``) and conda's errors. Then each record gets the
size of its verified archive (the cache record's, else the archive's file size), so
conda's plan finds every package cached, its summary lists nothing to download, and
``conda-meta`` records the real sizes. Packages already installed in the target prefix
(``conda install --file``), which conda will not link again, are not fetched.

Filling in sizes when converting (HTTP ``HEAD`` per package) was the alternative
rejected: it makes an offline file conversion depend on the network, on every
channel's credentials and on servers sending ``Content-Length``, and a lock converted
offline would still need this path. Conversions fill in only what costs nothing: the
size of a ``file://`` package that is present on disk.

``--dry-run`` lists the locked packages and raises ``DryRunExit`` (conda's explicit path
cannot dry-run: its transaction refuses to run). A lockfile without the current platform
is refused by conda itself (``PlatformMismatchError`` listing the locked platforms)
before this module builds anything; :meth:`LockfileSpec.env_for` raises our
``PlatformNotLockedError`` for callers that skip that check.

``conda env update --file conda-store.lock.json``: conda's ``env update`` only installs
``requested_packages`` (with a solve) and never looks at ``explicit_packages``, so for
that command :meth:`LockfileSpec.env_for` hands over to ``lock_env_update`` (which a
``conda_pre_commands`` hook tells that an ``env update`` is running). It makes the
environment match the lock exactly, with the engine of ``conda store install``: no
solve, packages added, changed and removed (with or without ``--prune``), the history's
requested specs, variables, PyPI packages; a missing environment is created. Then conda
finishes the command with nothing left to do. ``CONDA_DRY_RUN=true`` shows the plan
(``env update`` has no ``--dry-run`` option). None of the post-command work above is
pending for it.

Limits: ``conda install --file conda-store.lock.json`` adds and replaces packages but
never removes any; ``conda env update --file`` (or ``conda store install``) makes an
existing environment match a lockfile exactly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conda.plugins.types import EnvironmentSpecBase

from ..exceptions import CondaStoreError

#: Specifier (and exporter) name and aliases.
NAME = "conda-store-lock-v1"
ALIASES = ("conda-store",)
DEFAULT_FILENAMES = ("conda-store.lock.json", "*.conda-store.lock.json")
DESCRIPTION = "conda-store-plugin lockfile (all platforms, URLs and hashes; no solve)"

_SNIFF_BYTES = 1 << 20  # content detection reads at most this much of a file


class NotCachedOfflineError(CondaStoreError):
    """``--offline``, and packages the lockfile has no size for are in no package cache."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = sorted(missing)
        super().__init__(
            f"offline: {len(self.missing)} locked package(s) of unknown size are in no "
            f"package cache: {', '.join(self.missing)}",
            hint="Run once without --offline to download them. Nothing was installed.")


@dataclass
class Pending:
    """What conda's explicit install leaves for the post-command, for one lockfile."""

    lockfile: Path
    platform: str
    requested: tuple[str, ...]
    pypi: tuple[Any, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    history_size: int | None = None  # size of conda-meta/history before conda's entry
    prefix: str | None = None


#: Set by ``LockfileSpec.env_for`` during a ``conda create/install --file``, consumed by
#: ``after_command`` (same process, one command).
_pending: list[Pending] = []


class LockfileSpec(EnvironmentSpecBase):
    """A ``conda-store.lock.json`` file for conda's ``--file``."""

    def __init__(self, filename: str | None = None, **kwargs: Any) -> None:
        """Take the path conda passes as the only positional argument."""
        self.filename = filename
        self._lock: Any = None

    def can_handle(self) -> bool:
        """Whether the file is JSON with ``"format": "conda-store-lock"`` (not validated)."""
        from ..lockfile import FORMAT

        if not self.filename:
            return False
        try:
            with open(self.filename, "rb") as f:
                head = f.read(_SNIFF_BYTES + 1)
        except OSError:
            return False
        if len(head) > _SNIFF_BYTES or not head.lstrip()[:1] == b"{":
            return False  # not JSON, or bigger than any lockfile we write
        try:
            data = json.loads(head)
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("format") == FORMAT

    def _read(self) -> Any:
        if self._lock is None:
            from .. import lockfile
            from ..exceptions import CondaStoreError
            from .errors import to_conda_error

            try:
                self._lock = lockfile.read(self.filename or "")
            except CondaStoreError as exc:
                raise to_conda_error(exc) from exc
        return self._lock

    @property
    def available_platforms(self) -> tuple[str, ...]:
        """The lockfile's platforms."""
        return tuple(sorted(self._read().platforms))

    @property
    def env(self) -> Any:
        """The environment for this machine's platform (``context.subdir``)."""
        from conda.base.context import context

        return self._environment(context.subdir)

    def env_for(self, platform: str) -> Any:
        """The environment conda installs: the locked records, no solve.

        Packages of unknown size are put into the package cache first (see "Packages of
        unknown size" above). Raises ``DryRunExit`` under ``--dry-run`` after listing the
        packages.
        """
        from conda.base.context import context
        from conda.exceptions import DryRunExit

        from . import lock_env_update

        env = self._environment(platform)
        lock = self._read()
        if lock_env_update.active():  # `conda env update`: we install, conda finishes
            return lock_env_update.update(Path(self.filename or ""), lock, platform, env)
        locked = lock.platforms[platform]
        if context.dry_run:
            if not (context.json or context.quiet):
                _print_dry_run(self.filename, platform, locked.packages, locked.pypi)
            raise DryRunExit()
        if locked.pypi:
            _fetch_pypi_first(locked, platform)
        if any(not p.size for p in locked.packages):
            env = replace(env, explicit_packages=cache_unknown_sizes(
                env.explicit_packages, prefix=context.target_prefix))
        _pending.append(Pending(
            lockfile=Path(self.filename or ""), platform=platform,
            requested=tuple(lock.spec.dependencies), pypi=tuple(locked.pypi),
            variables=dict(lock.spec.variables),
            history_size=_history_size(context.target_prefix),
            prefix=context.target_prefix,
        ))
        return env

    def _environment(self, platform: str) -> Any:
        from conda.models.environment import Environment

        from ..exceptions import PlatformNotLockedError
        from .errors import to_conda_error

        lock = self._read()
        if platform not in lock.platforms:
            raise to_conda_error(PlatformNotLockedError(self.filename, platform,
                                                        sorted(lock.platforms)))
        return Environment(
            platform=platform,
            name=lock.spec.name or None,
            explicit_packages=[package_record(p) for p in lock.platforms[platform].packages],
            variables=dict(lock.spec.variables),
        )


def package_record(pkg: Any) -> Any:
    """The conda ``PackageRecord`` of a ``LockedPackage``: everything the lock knows.

    A size of 0 (unknown, e.g. converted from conda-lock v1) is left out, so conda
    skips its size check; :func:`cache_unknown_sizes` fills it in.
    """
    from conda.models.records import PackageRecord

    from ..pkgs_cache import conda_channel

    fields: dict[str, Any] = {
        "name": pkg.name, "version": pkg.version, "build": pkg.build,
        "build_number": pkg.build_number, "url": pkg.url, "md5": pkg.md5,
        "sha256": pkg.sha256, "depends": list(pkg.depends),
        "constrains": list(pkg.constrains), "subdir": pkg.subdir,
        "channel": conda_channel(pkg), "fn": pkg.fn,
    }
    optional = {"size": pkg.size or None,
                "timestamp": pkg.timestamp, "noarch": pkg.noarch, "license": pkg.license,
                "features": pkg.features,
                "track_features": " ".join(pkg.track_features) or None,
                "python_site_packages_path": pkg.python_site_packages_path}
    fields.update({k: v for k, v in optional.items() if v is not None})
    return PackageRecord(**fields)


def cache_unknown_sizes(records: list[Any], *, prefix: str | None) -> list[Any]:
    """``records`` with every size known: fetch those without one into the package cache.

    Records without a size that ``prefix`` already has installed are left as they are
    (conda does not link them again). The others go through conda's
    ``ProgressiveFetchExtract`` (our fetch guard when ``cache_locks`` is on), which
    downloads what no cache has, checking each sha256, and extracts it; each then gets
    the size of its cached archive. Raises conda's own errors (``CondaMultiError`` of
    ``ChecksumMismatchError``, ``CondaHTTPError``...) before anything is linked, and
    :class:`NotCachedOfflineError` (as a ``CondaError``) for ``--offline`` cache misses.
    """
    from conda.base.context import context
    from conda.core.package_cache_data import ProgressiveFetchExtract

    unknown = [r for r in records if r.get("size", None) is None
               and not _installed_in(prefix, r)]
    if not unknown:
        return list(records)
    fetch = ProgressiveFetchExtract(unknown)
    if context.offline:
        fetch.prepare()
        missing = [record.fn for record, (cache, _) in fetch.paired_actions.items()
                   if cache is not None and not str(cache.url).startswith("file:")]
        if missing:
            from .errors import to_conda_error

            raise to_conda_error(NotCachedOfflineError(missing))
    fetch.execute()
    sized = {}
    for record in unknown:
        size = cached_size(record)
        if size is not None:
            sized[id(record)] = _with_size(record, size)
    return [sized.get(id(r), r) for r in records]


def cached_size(record: Any) -> int | None:
    """The size of the package's archive in a cache that has it extracted, or None.

    The cache record's size when it has one (conda wrote it from repodata or from the
    verified download) and the record is this package (same sha256, or none), else the
    archive's file size; None when only the extracted folder is left (``conda clean
    --tarballs``): the package is cached then, and conda needs no size for it.
    """
    from conda.core.package_cache_data import PackageCacheData

    for pcrec in PackageCacheData.query_all(record):
        if not pcrec.is_extracted:
            continue
        if any(pcrec.get(key, None) and record.get(key, None)
               and pcrec.get(key) != record.get(key) for key in ("sha256", "md5")):
            continue  # another archive of that name (.tar.bz2 vs .conda, a rebuild)
        size = pcrec.get("size", None)
        if size:
            return int(size)
        archive = pcrec.get("package_tarball_full_path", None)
        if archive and os.path.isfile(archive):
            return os.path.getsize(archive)
    return None


def _with_size(record: Any, size: int) -> Any:
    from conda.models.records import PackageRecord

    return PackageRecord.from_objects(record, size=size)


def _installed_in(prefix: str | None, record: Any) -> bool:
    """The test of ``conda.misc.install_explicit_packages``: conda will not relink it."""
    if not prefix or not os.path.isdir(os.path.join(prefix, "conda-meta")):
        return False
    from conda.core.prefix_data import PrefixData
    from conda.models.match_spec import MatchSpec

    prefix_data = PrefixData(prefix)
    if prefix_data.get(record.name, None) is None:
        return False
    spec = MatchSpec(record.to_match_spec(), name=record.name)
    return next(prefix_data.query(spec), None) is not None


def _print_dry_run(filename: Any, platform: str, packages: Any, pypi: Any) -> None:
    print(f"\n## Locked packages for {platform} from {filename} (no solve) ##\n")
    for pkg in sorted(packages, key=lambda p: p.name):
        print(f"  {pkg.name:<28} {pkg.version:<14} {pkg.build:<22} {pkg.url}")
    for pkg in sorted(pypi, key=lambda p: p.name):
        print(f"  {pkg.name:<28} {pkg.version:<14} {'(pypi)':<22} {pkg.url}")
    print(flush=True)


def _fetch_pypi_first(locked: Any, platform: str) -> None:
    from conda.base.context import context

    from ..exceptions import CondaStoreError
    from ..pypi_install import fetch_pypi
    from .errors import to_conda_error

    try:
        fetch_pypi(locked, platform, prefix=context.target_prefix, offline=context.offline)
    except CondaStoreError as exc:
        raise to_conda_error(exc) from exc


def _history_size(prefix: str | None) -> int | None:
    if not prefix:
        return None
    try:
        return os.path.getsize(os.path.join(prefix, "conda-meta", "history"))
    except OSError:
        return 0


# -- after conda's transaction (conda_post_commands) -----------------------------------

#: Commands whose ``--file`` can be our lockfile (``conda env create`` runs as ``create``).
POST_COMMANDS = frozenset({"create", "install"})


def after_command(command: str) -> None:
    """``conda_post_commands`` action: PyPI packages, variables and history specs."""
    while _pending:
        pending = _pending.pop(0)
        prefix = pending.prefix
        if not prefix or not os.path.isdir(os.path.join(prefix, "conda-meta")):
            continue
        _fix_history(Path(prefix), pending)
        if pending.variables:
            from conda.core.prefix_data import PrefixData

            PrefixData(prefix).set_environment_env_vars(dict(pending.variables))
        if pending.pypi:
            _install_pypi(Path(prefix), pending, new_env=command == "create")


def _install_pypi(prefix: Path, pending: Pending, *, new_env: bool) -> None:
    from conda.base.context import context

    from ..exceptions import CondaStoreError
    from ..pypi_install import install_pypi
    from ..pypi_provenance import record_hashes
    from .errors import to_conda_error

    if not (context.quiet or context.json):
        print(f"Installing {len(pending.pypi)} locked PyPI package(s) with uv ...",
              flush=True)
    try:
        install_pypi(prefix, pending.pypi, offline=context.offline)
        record_hashes(prefix, pending.pypi)
    except CondaStoreError as exc:
        if new_env:
            import shutil

            shutil.rmtree(prefix, ignore_errors=True)
        raise to_conda_error(exc) from exc


def _fix_history(prefix: Path, pending: Pending) -> None:
    """Make the entry conda just wrote record the lock's requested specs."""
    from ..atomic import atomic_write_text
    from ..conda_history import history_path

    path = history_path(prefix)
    start = pending.history_size or 0
    try:
        data = path.read_bytes()
    except OSError:
        return
    if len(data) <= start:
        return  # conda linked nothing and wrote no entry
    head, tail = data[:start].decode("utf-8"), data[start:].decode("utf-8")
    lines = tail.splitlines(keepends=True)
    wanted = f"# update specs: {list(pending.requested)!r}\n"
    replaced = False
    for i, line in enumerate(lines):
        if line.startswith("# update specs:"):
            lines[i] = wanted if pending.requested else ""
            replaced = True
    if not replaced:
        return
    atomic_write_text(path, head + "".join(lines))


def clear_pending(command: str | None = None) -> None:
    """``conda_pre_commands`` action: forget what an earlier, failed command left.

    conda skips post-commands when a command fails; in a process that runs several
    commands (tests, ``conda.cli.main`` callers) its leftovers must not reach the next.
    """
    _pending.clear()
