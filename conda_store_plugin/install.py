"""Install a lockfile's packages for one platform into a prefix: exactly those, no solve.

Three steps, and nothing touches the prefix before the third:

1. **plan** (:func:`make_plan`): compare ``conda-meta/*.json`` with the lock (by sha256 and
   URL) into add / remove / unchanged, and the history's requested specs with the
   lock's. Nothing to do means return at once (no cache, no engine, no network).
2. **fill** (``fetch.fill_cache``): every package to add becomes a verified entry of the
   conda package cache; any checksum, download or extraction failure stops here.
3. **link** (:func:`apply_plan`): ``rattler.install`` links from that cache (it finds the
   entries and downloads nothing), then the ``conda-meta`` records get the fields conda
   writes and ``conda-meta/history`` a conda-format entry with the lock's requested specs.

A failure while linking a *new* environment removes it; an existing environment is
left as it was by every failure before linking.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .conda_meta import InstalledPackage, env_vars, meta_dir, read_installed
from .exceptions import CondaStoreError, PlatformNotLockedError
from .fetch import FetchReport, ProgressCallback, ProgressEvent
from .install_errors import LinkError, PackagesNotCachedError, PrefixNotUsableError
from .lockfile import LockedPackage, Lockfile


@dataclass(frozen=True)
class InstallPlan:
    """What installing a lock into a prefix has to change."""

    prefix: Path
    platform: str
    packages: tuple[LockedPackage, ...]
    to_add: tuple[LockedPackage, ...]
    to_remove: tuple[InstalledPackage, ...]
    unchanged: tuple[LockedPackage, ...]
    requested: Mapping[str, str]  # name -> spec, for locked packages the spec names
    update_specs: tuple[str, ...]  # the lock's spec.dependencies
    remove_specs: tuple[str, ...]  # names the history requested that the lock does not
    specs_changed: bool
    new_env: bool
    reinstall: frozenset[str] = frozenset()  # same sha256, new URL: relink anyway
    respecced: frozenset[str] = frozenset()  # unchanged packages whose requested spec changed
    variables: Mapping[str, str] = field(default_factory=dict)  # the spec's variables
    variables_changed: bool = False  # conda-meta/state lacks some of them

    @property
    def noop(self) -> bool:
        """Nothing to add, remove or record."""
        return not (self.to_add or self.to_remove or self.specs_changed or self.new_env
                    or self.variables_changed)

    @property
    def packages_change(self) -> bool:
        """Packages to link or unlink, or requested specs to record in the history."""
        return bool(self.to_add or self.to_remove or self.specs_changed or self.new_env)


@dataclass
class Applied:
    """What applying a plan did."""

    fetch: FetchReport = field(default_factory=FetchReport)
    pkgs_dir: Path | None = None
    fetch_s: float = 0.0
    link_s: float = 0.0


# -- target -------------------------------------------------------------------------


def resolve_prefix(*, prefix: str | Path | None, name: str | None,
                   envs_dir: Path | None = None) -> Path:
    """The target from ``-p PREFIX`` or ``-n NAME`` (under conda's envs dir)."""
    if (prefix is None) == (name is None):
        raise CondaStoreError(
            "give exactly one target: -n NAME or -p PREFIX",
            hint="e.g. `conda store install conda-store.lock.json -n myenv`.")
    if prefix is not None:
        return Path(os.path.abspath(os.path.expanduser(str(prefix))))
    if not name or name in (".", "..") or "/" in name or os.sep in name or " " in name:
        raise CondaStoreError(f"invalid environment name {name!r}",
                              hint="Use letters, digits, '-', '_' or '.', or give -p PREFIX.")
    if envs_dir is None:
        from .conda_dirs import default_envs_dir

        envs_dir = default_envs_dir()
    return Path(envs_dir) / name


def check_prefix(prefix: Path) -> bool:
    """Refuse unusable targets; return True when the environment is new.

    Raises:
        PrefixNotUsableError: a file, not writable, or a non-empty folder that is not
            a conda environment.
    """
    if prefix.exists() or prefix.is_symlink():
        if not prefix.is_dir():
            raise PrefixNotUsableError(prefix, "it is a file, not a folder",
                                       hint="Remove the file or choose another path.")
        is_env = meta_dir(prefix).is_dir()
        if not is_env and any(prefix.iterdir()):
            raise PrefixNotUsableError(
                prefix, "the folder is not empty and is not a conda environment "
                        "(no conda-meta/)",
                hint="Give a new or empty folder, or an existing environment.")
        folders = (prefix, meta_dir(prefix)) if is_env else (prefix,)
        for folder in folders:
            if not os.access(folder, os.W_OK | os.X_OK):
                raise PrefixNotUsableError(prefix, f"{folder} is not writable",
                                           hint="Fix its permissions or choose another "
                                                "path.")
        return not is_env
    for parent in prefix.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise PrefixNotUsableError(prefix, f"{parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise PrefixNotUsableError(prefix, f"cannot create it: {parent} is not "
                                                   "writable")
            break
    return True


# -- plan ---------------------------------------------------------------------------


def read_platform_lock(path: Path, platform: str | None
                       ) -> tuple[Lockfile, str, tuple[LockedPackage, ...]]:
    """Read the lockfile and pick one platform (default: this machine's).

    Raises:
        LockfileError: unreadable, not JSON, or not schema-valid.
        PlatformNotLockedError: the lockfile has nothing for ``platform``.
    """
    from . import lockfile as lockfile_io

    lock = lockfile_io.read(path)
    if platform is None:
        from .platforms import current_platform

        platform = current_platform()
    if platform not in lock.platforms:
        raise PlatformNotLockedError(path, platform, sorted(lock.platforms))
    return lock, platform, lock.platforms[platform].packages


def make_plan(lock: Lockfile, *, prefix: Path, platform: str,
              packages: Sequence[LockedPackage]) -> InstallPlan:
    """Compare the prefix with the lock. Reads only ``conda-meta``; writes nothing."""
    from .conda_history import requested_map, requested_specs

    new_env = check_prefix(prefix)
    installed = {} if new_env else read_installed(prefix)
    wanted = {p.name: p for p in packages}
    to_add, unchanged, reinstall = [], [], set()
    for pkg in packages:
        have = installed.get(pkg.name)
        if have is not None and have.same_artifact(pkg):
            unchanged.append(pkg)
            continue
        to_add.append(pkg)
        if have is not None and have.sha256 == pkg.sha256:
            reinstall.add(pkg.name)
    to_remove = [rec for name, rec in sorted(installed.items()) if name not in wanted]

    requested = requested_map(lock.spec.dependencies, wanted)
    before = {} if new_env else requested_specs(prefix)
    before_locked = {k: v for k, v in before.items() if k in wanted}
    variables = dict(lock.spec.variables)
    current_vars = {} if new_env else env_vars(prefix)
    return InstallPlan(
        prefix=prefix,
        platform=platform,
        packages=tuple(packages),
        to_add=tuple(to_add),
        to_remove=tuple(to_remove),
        unchanged=tuple(unchanged),
        requested=requested,
        update_specs=tuple(lock.spec.dependencies),
        remove_specs=tuple(sorted(set(before) - set(requested))),
        specs_changed=before_locked != requested,
        new_env=new_env,
        reinstall=frozenset(reinstall),
        respecced=frozenset(p.name for p in unchanged
                            if before.get(p.name) != requested.get(p.name)),
        variables=variables,
        variables_changed=any(current_vars.get(k) != v for k, v in variables.items()),
    )


# -- apply --------------------------------------------------------------------------


def apply_plan(plan: InstallPlan, *, pkgs_dir: Path, offline: bool | None = False,
               progress: ProgressCallback | None = None,
               execute_link_scripts: bool = True) -> Applied:
    """Fill the cache with what the plan adds, then link and record it.

    Raises:
        PackagesNotCachedError: ``offline`` and packages are missing from the cache
            (``offline=None``: conda's ``offline`` setting, read only if something is).
        ChecksumMismatchError, PackageDownloadError, InstallError: before linking.
        LinkError: linking failed (a new environment is removed).
    """
    from .cache_lock import cache_lock
    from .engine import run as run_engine
    from .fetch import fill_cache, offline_missing

    emit = progress or (lambda event: None)
    applied = Applied(pkgs_dir=pkgs_dir)
    needs_link = bool(plan.to_add or plan.to_remove or plan.new_env)
    existed_empty = plan.new_env and plan.prefix.is_dir()

    # A new environment is linked from cache entries trusted the way conda and
    # py-rattler trust them (metadata and record there), without an lstat per file: if
    # an entry lost files, linking fails, the half-made environment is removed, and the
    # entries are checked file by file, redone and linked once more. An existing
    # environment is only ever linked from entries checked file by file.
    trusting = plan.new_env

    async def fill_and_link() -> None:
        start = time.perf_counter()
        if plan.to_add:
            applied.fetch = await fill_cache(pkgs_dir, plan.to_add, offline=offline,
                                             progress=emit, keep_archives=False,
                                             check_files=not trusting)
        applied.fetch_s = time.perf_counter() - start
        if needs_link:
            emit(ProgressEvent("link", total=len(plan.to_add) + len(plan.to_remove)))
            def linking():  # a fresh coroutine for each attempt
                return _guarded(plan, _rattler_install(plan, pkgs_dir, execute_link_scripts,
                                                       applied.fetch.records), existed_empty)

            try:
                await linking()
            except LinkError:
                if not (trusting and await _redo_broken_entries(plan, pkgs_dir, applied,
                                                                offline, emit)):
                    raise
                await linking()

    with cache_lock(pkgs_dir, shared=True):
        if offline:  # asked for: name everything missing before touching the cache
            missing = offline_missing(pkgs_dir, plan.to_add)
            if missing:
                raise PackagesNotCachedError(pkgs_dir, missing)
        start = time.perf_counter()
        run_engine(fill_and_link)  # one event loop: the engine settles once
        link_start = start + applied.fetch_s
        _guarded_sync(plan, lambda: _record(plan, pkgs_dir), existed_empty)
        applied.link_s = time.perf_counter() - link_start
    emit(ProgressEvent("linked"))
    return applied


async def _redo_broken_entries(plan: InstallPlan, pkgs_dir: Path, applied: Applied,
                               offline: bool | None, emit: ProgressCallback) -> bool:
    """Check the entries a failed link used, file by file; redo broken ones.

    Returns whether any entry was broken (and is now complete), i.e. whether linking
    again can succeed.
    """
    from .fetch import fill_cache

    redone = await fill_cache(pkgs_dir, plan.to_add, offline=offline, progress=emit,
                              keep_archives=False, check_files=True)
    fixed = set(redone.downloaded) | set(redone.extracted)
    if not fixed:
        return False
    report = applied.fetch
    report.reused = [name for name in report.reused if name not in fixed]
    for name in fixed:
        report.records.pop(name, None)
    report.downloaded += redone.downloaded
    report.extracted += redone.extracted
    report.downloaded_bytes += redone.downloaded_bytes
    return True


def _record(plan: InstallPlan, pkgs_dir: Path) -> None:
    from .conda_history import write_entry
    from .conda_meta import add_tarball_paths, complete_records, set_env_vars

    if plan.packages_change:
        # py-rattler wrote the new records with channel, requested specs and license
        # family as conda spells them (_rattler_records); left are the archive paths,
        # and the records of unchanged packages whose requested spec changed. (The
        # legacy singular `requested_spec` is only read by conda when `requested_specs`
        # is absent: rewriting records just for it would cost a quarter of a warm
        # install.)
        add_tarball_paths(plan.prefix, plan.to_add, pkgs_dir)
        complete_records(plan.prefix, [p for p in plan.unchanged if p.name in plan.respecced],
                         plan.requested, pkgs_dir)
        write_entry(plan.prefix, packages=plan.packages, update_specs=plan.update_specs,
                    remove_specs=plan.remove_specs)
    if plan.variables_changed:  # as `conda env config vars set` writes them
        set_env_vars(plan.prefix, plan.variables)


def _rattler_records(plan: InstallPlan, pkgs_dir: Path,
                     cached: Mapping[str, Mapping] | None = None) -> list:
    """py-rattler records that make py-rattler write ``conda-meta`` the way conda does.

    ``cached``: the conda records of cache entries already read (dist name -> record).
    """
    import json

    from .pkgs_cache import CacheEntry, conda_channel
    from .records import record_from_locked

    records = []
    for pkg in plan.packages:
        record = (cached or {}).get(pkg.dist_name)
        if record is None:
            record_path = os.path.join(pkgs_dir, CacheEntry(pkgs_dir, pkg).dist, "info",
                                       "repodata_record.json")  # strings: one per package
            try:
                with open(record_path, encoding="utf-8") as f:
                    record = json.load(f)
            except (OSError, ValueError):
                pass
        if not isinstance(record, Mapping):
            record = {}
        size = record.get("size")
        records.append(record_from_locked(
            pkg, channel=conda_channel(pkg), license_family=record.get("license_family"),
            size=size if isinstance(size, int) else None))
    return records


def _rattler_specs(specs: Sequence[str]) -> list:
    """The requested specs as py-rattler ``install`` takes them (unparsable ones left out)."""
    from rattler import MatchSpec

    out = []
    for text in specs:
        try:
            spec = MatchSpec(text)
        except Exception:  # noqa: BLE001 - only conda-meta's requested_specs would lack it
            continue
        # py-rattler 0.26 passes the list to Rust without unwrapping its MatchSpec class.
        out.append(getattr(spec, "_match_spec", spec))
    return out


async def _guarded(plan: InstallPlan, linking, existed_empty: bool) -> None:
    try:
        await linking
    except BaseException as exc:
        _clean_up(plan, existed_empty)
        if isinstance(exc, CondaStoreError) or not isinstance(exc, Exception):
            raise
        raise LinkError(plan.prefix, str(exc) or type(exc).__name__,
                        new_env=plan.new_env) from exc


def _guarded_sync(plan: InstallPlan, step, existed_empty: bool) -> None:
    try:
        step()
    except BaseException as exc:
        _clean_up(plan, existed_empty)
        if isinstance(exc, CondaStoreError) or not isinstance(exc, Exception):
            raise
        raise LinkError(plan.prefix, str(exc) or type(exc).__name__,
                        new_env=plan.new_env) from exc


def _clean_up(plan: InstallPlan, existed_empty: bool) -> None:
    """Remove a half-made new environment (an empty folder given as target stays)."""
    if plan.new_env:
        shutil.rmtree(plan.prefix, ignore_errors=True)
        if existed_empty:
            plan.prefix.mkdir(exist_ok=True)


async def _rattler_install(plan: InstallPlan, pkgs_dir: Path, execute_link_scripts: bool,
                           cached: Mapping[str, Mapping]) -> None:
    from rattler import Platform
    from rattler import install as rattler_install

    plan.prefix.mkdir(parents=True, exist_ok=True)
    await rattler_install(
        _rattler_records(plan, pkgs_dir, cached),
        plan.prefix,
        cache_dir=pkgs_dir,
        reinstall_packages=set(plan.reinstall) or None,
        platform=Platform(plan.platform),
        execute_link_scripts=execute_link_scripts,
        show_progress=False,
        requested_specs=_rattler_specs(list(plan.requested.values())) or None,
    )


def install_pypi_step(plan: InstallPlan, packages: Sequence, *, offline: bool) -> None:
    """Install the lock's PyPI packages with uv, once the conda packages are linked.

    A failure removes an environment this install created; an existing one keeps its
    (already updated) conda packages, and running the install again completes it.
    """
    from .pypi_install import install_pypi
    from .pypi_provenance import record_hashes

    try:
        install_pypi(plan.prefix, packages, offline=offline)
        record_hashes(plan.prefix, packages)  # so `conda export` can lock them again
    except BaseException:
        if plan.new_env:
            _clean_up(plan, existed_empty=False)
        raise

