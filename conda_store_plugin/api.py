"""The Python API: one function per verb, the one door the CLI goes through.

Every function takes keyword-only arguments, returns a plain data object with
``to_dict()`` (what ``--json`` prints), never prints and never exits. Failures
raise ``CondaStoreError`` subclasses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .lockfile import DEFAULT_FILENAME, Lockfile

if TYPE_CHECKING:  # imported by the verbs that need them: `install` loads neither
    from .formats.convert import ConvertResult
    from .locking import PackageChange

DEFAULT_SPEC_FILENAME = "environment.yml"


@dataclass(frozen=True)
class LockResult:
    """What ``lock`` did."""

    lockfile_path: Path
    lockfile: Lockfile | None
    written: bool
    up_to_date: bool | None = None  # set by check
    reasons: tuple[str, ...] = ()  # why it is out of date (check)
    changes: tuple[PackageChange, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        from .locking import platform_summary

        return {
            "lockfile": str(self.lockfile_path),
            "written": self.written,
            "up_to_date": self.up_to_date,
            "reasons": list(self.reasons),
            "platforms": dict(platform_summary(self.lockfile)) if self.lockfile else {},
            "input_hash": self.lockfile.input_hash if self.lockfile else None,
            "changes": [c.to_dict() for c in self.changes],
        }


def lock(
    *,
    spec_path: str | Path | None = None,
    lockfile_path: str | Path | None = None,
    platforms: Sequence[str] = (),
    cuda: str | None = None,
    no_cuda: bool = False,
    virtual_packages: Sequence[str] = (),
    check: bool = False,
    update: Sequence[str] = (),
    cache_dir: str | Path | None = None,
) -> LockResult:
    """Lock an environment.yml for one or more platforms.

    Args:
        spec_path: the environment.yml; default ``environment.yml`` in the cwd.
        lockfile_path: where to write; default ``conda-store.lock.json`` beside the spec.
        platforms: target platforms; default the spec's ``platforms:``, else this machine's.
        cuda: lock for machines with this CUDA driver version (adds ``__cuda``).
        no_cuda: lock without ``__cuda`` even if an override names it.
        virtual_packages: ``__NAME=VERSION[=BUILD]`` overrides of the defaults.
        check: write nothing; report whether the lockfile still matches the spec.
        update: re-solve these packages, keeping the others at their locked versions.
        cache_dir: repodata cache folder (py-rattler's default when None); uv's cache
            (pip section) goes in its ``uv`` subfolder (uv's default when None).

    Raises:
        LockfileOutOfDateError: with ``check``, when the lockfile does not match.
    """
    from . import lockfile as lockfile_io
    from .exceptions import CondaStoreError, LockfileOutOfDateError
    from .locking import LockOptions, check_update_names, diff_locks, make_lock, staleness
    from .platforms import VirtualPackage
    from .spec import load_spec

    spec_file = Path(spec_path) if spec_path else Path.cwd() / DEFAULT_SPEC_FILENAME
    out = Path(lockfile_path) if lockfile_path else spec_file.parent / DEFAULT_FILENAME
    if check and update:
        raise CondaStoreError("--check and --update cannot be used together",
                              hint="Run --check alone, or --update alone.")
    spec = load_spec(spec_file)
    from .config import load_config
    from .locking import lock_channel_priority

    config = load_config()
    if cuda is None and not no_cuda:
        cuda = config.store_cuda
    options = LockOptions(
        platforms=tuple(platforms), cuda=cuda, no_cuda=no_cuda,
        virtual_packages=tuple(VirtualPackage.parse(v) for v in virtual_packages),
        default_platforms=config.store_platforms,
        channel_priority=lock_channel_priority(config.channel_priority),
        config=config,
    )

    if check:
        existing = lockfile_io.read(out)
        reasons = staleness(existing, spec, options)
        if reasons:
            raise LockfileOutOfDateError(out, reasons)
        return LockResult(out, existing, written=False, up_to_date=True)

    previous = _read_previous(out, required=bool(update))
    if update:
        check_update_names(previous, update)
    new = make_lock(spec, options, spec_path=spec_file, previous=previous, update=update,
                    cache_dir=Path(cache_dir) if cache_dir else None)
    lockfile_io.write(new, out)
    return LockResult(out, new, written=True, changes=tuple(diff_locks(previous, new)))


def _read_previous(path: Path, *, required: bool) -> Lockfile | None:
    from . import lockfile as lockfile_io
    from .exceptions import LockfileError

    if not path.exists():
        if required:
            raise LockfileError(path, "no such file; --update needs an existing lockfile",
                                hint="Run `conda store lock` first.")
        return None
    try:
        return lockfile_io.read(path)
    except LockfileError:
        if required:
            raise
        return None  # a broken old lockfile is replaced, not a reason to fail


def __getattr__(name: str) -> Any:
    """``ConvertedFile`` and ``ConvertResult``: importable from here like ``LockResult``."""
    if name in ("ConvertedFile", "ConvertResult"):
        from .formats import convert as convert_module

        return getattr(convert_module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def convert(
    *,
    source: str | Path,
    output: str | Path | None = None,
    to: str = "conda-store",
    from_format: str | None = None,
    platform: str | None = None,
    environment: str | None = None,
) -> ConvertResult:
    """Convert a lockfile to another format (formats: ``conda_store_plugin.formats``).

    Args:
        source: the file to convert: ours, conda-lock v1 or pixi.lock v6/v7.
        output: where to write; default the target format's file name beside the source.
            ``explicit`` and ``env`` hold one platform per file: with several platforms
            one file is written per platform, ``<stem>.<platform><suffix>``.
        to: ``conda-store``, ``explicit``, ``conda-lock`` or ``env``.
        from_format: the source format; detected from the file when None.
        platform: convert this platform only; default all that are locked.
        environment: the pixi.lock environment to convert (default ``default``).

    Raises:
        FormatError: the source is unreadable, of no known format (``UnknownFormatError``),
            holds PyPI or source packages (``UnsupportedLockContentError``), or lacks the
            environment (``LockEnvironmentNotFoundError``). Nothing is written then.
    """
    from .formats.convert import convert_file

    return convert_file(source=source, output=output, to=to, from_format=from_format,
                        platform=platform, environment=environment)


# --- install ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallResult:
    """What ``install`` did."""

    lockfile_path: Path
    prefix: Path
    platform: str
    created: bool
    added: tuple[str, ...] = ()  # dist names linked
    removed: tuple[str, ...] = ()  # dist names unlinked
    unchanged: int = 0
    specs_updated: bool = False
    pkgs_dir: Path | None = None  # None when nothing had to be fetched
    downloaded: tuple[str, ...] = ()
    downloaded_bytes: int = 0
    extracted: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()  # found complete in the package cache
    pypi: tuple[str, ...] = ()  # ``name==version`` of the locked PyPI packages (uv step)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: plan, fetch, link, total

    @property
    def noop(self) -> bool:
        """Whether the environment already matched the lock."""
        return not (self.created or self.added or self.removed or self.specs_updated)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "lockfile": str(self.lockfile_path),
            "prefix": str(self.prefix),
            "platform": self.platform,
            "created": self.created,
            "noop": self.noop,
            "added": list(self.added),
            "removed": list(self.removed),
            "counts": {"added": len(self.added), "removed": len(self.removed),
                       "unchanged": self.unchanged},
            "specs_updated": self.specs_updated,
            "cache": {
                "pkgs_dir": str(self.pkgs_dir) if self.pkgs_dir else None,
                "downloaded": len(self.downloaded),
                "downloaded_bytes": self.downloaded_bytes,
                "extracted": len(self.extracted),
                "reused": len(self.reused),
            },
            "pypi": list(self.pypi),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


def install(
    *,
    lockfile_path: str | Path | None = None,
    prefix: str | Path | None = None,
    name: str | None = None,
    platform: str | None = None,
    offline: bool = False,
    pkgs_dir: str | Path | None = None,
    progress: Any = None,
) -> InstallResult:
    """Install exactly the locked packages of one platform into an environment.

    No solve and no repodata: the lockfile has every URL and hash. Only what differs
    from the environment is fetched, linked or unlinked; an environment that already
    matches returns at once.

    Args:
        lockfile_path: the lockfile; default ``conda-store.lock.json`` in the cwd.
        prefix: the environment's path (``-p``); exclusive with ``name``.
        name: the environment's name under conda's envs dir (``-n``).
        platform: the lock's platform to install; default this machine's.
        offline: use the package cache only; fail naming what it lacks. Also on when
            conda's configuration says ``offline: true``.
        pkgs_dir: the package cache; default conda's first writable ``pkgs_dirs``.
        progress: ``callable(fetch.ProgressEvent)``, called from this thread.

    Raises:
        LockfileError, PlatformNotLockedError, ChecksumMismatchError, InstallError
        (and its subclasses in ``install_errors``): the environment is unchanged.
    """
    import dataclasses
    import os
    import time

    from .install import (
        apply_plan,
        install_pypi_step,
        make_plan,
        read_platform_lock,
        resolve_prefix,
    )

    start = time.perf_counter()
    # offline=False still honours conda's `offline: true`; the configuration is read
    # only once something needs the network (a no-op or warm install never loads it).
    path = Path(lockfile_path) if lockfile_path else Path.cwd() / DEFAULT_FILENAME
    lock, target_platform, packages = read_platform_lock(path, platform)
    target = resolve_prefix(prefix=prefix, name=name)
    plan = make_plan(lock, prefix=target, platform=target_platform, packages=packages)
    timings = {"plan": time.perf_counter() - start}
    result = InstallResult(lockfile_path=path, prefix=target, platform=target_platform,
                           created=False, unchanged=len(plan.unchanged), timings=timings)
    pypi = lock.platforms[target_platform].pypi
    if plan.noop:
        if pypi:  # uv installs what is missing, quickly does nothing otherwise
            offline = _configured_offline(offline)
            install_pypi_step(plan, pypi, offline=offline)
            result = dataclasses.replace(result, pypi=_pypi_names(pypi))
        timings["total"] = time.perf_counter() - start
        return result

    if pkgs_dir is None:
        from .conda_dirs import default_pkgs_dir

        pkgs_dir = default_pkgs_dir()
    pkgs_dir = Path(os.path.abspath(os.path.expanduser(str(pkgs_dir))))
    if pypi:  # download and check the PyPI files before anything in the env changes
        from .pypi_install import fetch_pypi

        offline = _configured_offline(offline)
        fetch_pypi(lock.platforms[target_platform], target_platform, prefix=target,
                   offline=offline)
    applied = apply_plan(plan, pkgs_dir=pkgs_dir, offline=offline or None,
                         progress=progress)
    timings.update(fetch=applied.fetch_s, link=applied.link_s)
    if pypi:
        pypi_start = time.perf_counter()
        install_pypi_step(plan, pypi, offline=offline)
        timings["pypi"] = time.perf_counter() - pypi_start
    timings["total"] = time.perf_counter() - start
    report = applied.fetch
    return InstallResult(
        lockfile_path=path, prefix=target, platform=target_platform,
        created=plan.new_env,
        added=tuple(p.dist_name for p in plan.to_add),
        removed=tuple(r.dist_name for r in plan.to_remove),
        unchanged=len(plan.unchanged),
        specs_updated=plan.specs_changed,
        pkgs_dir=Path(pkgs_dir),
        downloaded=tuple(report.downloaded),
        downloaded_bytes=report.downloaded_bytes,
        extracted=tuple(report.extracted),
        reused=tuple(report.reused),
        pypi=_pypi_names(pypi),
        timings=timings,
    )


def _configured_offline(offline: bool) -> bool:
    """``offline``, or conda's ``offline`` setting when not asked for."""
    if offline:
        return True
    from .config import load_config

    return bool(load_config().offline)


def _pypi_names(packages: Any) -> tuple[str, ...]:
    return tuple(f"{p.name}=={p.version}" for p in packages)


# --- environment store -----------------------------------------------------------------
# build, list_environments, history, show, use, diff, delete, archive, recreate, du,
# dedupe, record_use. ``store`` is the store directory (default: ``store.location``);
# ``environment`` is ``NAME``, ``NAMESPACE/NAME`` or ``NAMESPACE/NAME@BUILD``.


@dataclass(frozen=True)
class UseResult:
    """What ``use`` did."""

    environment: str
    previous: int | None
    current: int
    link: str | None
    prefix: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"environment": self.environment, "previous_build": self.previous,
                "current_build": self.current, "link": self.link, "prefix": self.prefix}


@dataclass(frozen=True)
class DeleteResult:
    """What ``delete`` did."""

    environment: str
    deleted: tuple[Any, ...]  # store.remove.RemovalOutcome

    @property
    def bytes_freed(self) -> int:
        """Bytes on disk released, all builds together."""
        return sum(o.bytes_freed for o in self.deleted)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"environment": self.environment, "bytes_freed": self.bytes_freed,
                "builds": [o.to_dict() for o in self.deleted]}


def _store_ref(store: str | Path | None, environment: str, build: int | str | None = None,
               *, create: bool = False) -> tuple[Any, Any]:
    from .store.builds import open_store
    from .store.layout import EnvRef
    from .store.location import default_namespace, store_dir

    layout = open_store(store_dir(store), create=create)
    return layout, EnvRef.parse(environment, default_namespace=default_namespace(),
                                build=build)


def build(
    *,
    spec_path: str | Path | None = None,
    name: str | None = None,
    namespace: str | None = None,
    store: str | Path | None = None,
    envs_dir: str | Path | None = None,
    platform: str | None = None,
    offline: bool = False,
    pkgs_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: Any = None,
) -> Any:
    """Lock and install a spec as a new numbered build; on success it becomes current.

    Args:
        spec_path: the environment.yml; default ``environment.yml`` in the cwd.
        name: environment name; default the spec's ``name:``.
        namespace: default the user's name.
        store: store directory (see ``store.location``).
        envs_dir: where the environment's ``NAME`` link goes, when it is new
            (default conda's first writable envs dir).
        platform: default this machine's.
        offline: install from the package cache only.
        pkgs_dir: package cache (default conda's).
        cache_dir: repodata cache for locking.
        progress: ``callable(fetch.ProgressEvent)``.

    Returns:
        ``store.build.BuildOutcome``.

    Raises:
        BuildFailedError: the build was recorded failed; the previous build stays current.
    """
    from .exceptions import SpecError
    from .platforms import check_platform, current_platform
    from .spec import load_spec
    from .store.build import run_build
    from .store.builds import open_store
    from .store.current import link_name
    from .store.layout import EnvRef, check_name
    from .store.location import default_envs_dir, default_namespace, store_dir

    root = store_dir(store)
    open_store(root)  # a newer store is refused before anything is read or written
    spec_file = Path(spec_path) if spec_path else Path.cwd() / DEFAULT_SPEC_FILENAME
    spec_file = spec_file.absolute()
    spec = load_spec(spec_file)
    env_name = name or spec.name
    if not env_name:
        raise SpecError(spec_file, "has no `name:` and no environment name was given",
                        hint="Pass -n NAME, or add `name: NAME` to the spec.")
    own = default_namespace()
    ref = EnvRef(check_name("namespace", namespace or own),
                 check_name("environment name", env_name))
    target_platform = check_platform(platform) if platform else current_platform()
    link = Path(envs_dir or default_envs_dir()).absolute() / link_name(ref, own)
    layout = open_store(root, create=True)
    return run_build(layout, ref, spec_path=spec_file, platform=target_platform, link=link,
                     offline=offline, pkgs_dir=Path(pkgs_dir) if pkgs_dir else None,
                     cache_dir=Path(cache_dir) if cache_dir else None, progress=progress)


def list_environments(*, store: str | Path | None = None,
                      namespace: str | None = None) -> Any:
    """Every environment of the store with its current build (``store.views.ListReport``)."""
    from .store.builds import open_store
    from .store.layout import check_name
    from .store.location import store_dir
    from .store.views import list_environments as list_

    layout = open_store(store_dir(store))
    return list_(layout, check_name("namespace", namespace) if namespace else None)


def history(*, environment: str, store: str | Path | None = None) -> Any:
    """Every build of one environment (``store.views.HistoryReport``)."""
    from .store.views import history as history_

    layout, ref = _store_ref(store, environment)
    return history_(layout, ref)


def show(*, environment: str, build: int | str | None = None,
         store: str | Path | None = None) -> Any:
    """One build (default: the current one) in detail (``store.views.ShowReport``)."""
    from .store.views import show as show_

    layout, ref = _store_ref(store, environment, build)
    return show_(layout, ref)


def use(*, environment: str, build: int | str, store: str | Path | None = None) -> UseResult:
    """Make a completed build current (roll back or forward); switches the link atomically."""
    from .exceptions import BuildStateError
    from .store.builds import lock_env, observe, read_build, read_env
    from .store.current import repair, set_current
    from .store.usage import write_use

    layout, ref = _store_ref(store, environment, build)
    with lock_env(layout, ref):
        read_env(layout, ref)  # unknown environment: say so before anything else
        env = repair(layout, ref)
        record = read_build(layout, ref, ref.build)
        status = observe(layout, ref, record).status
        if status != "completed" or not Path(record.prefix).is_dir():
            hint = (f"Recreate it first: `conda store recreate {ref.key}@{ref.build}`."
                    if status == "archived" else
                    f"Pick a completed build (see `conda store history {ref.key}`).")
            raise BuildStateError(ref.key, ref.build, status, "use", hint=hint)
        previous = env.current_build
        env = set_current(layout, env, ref.build)
        write_use(layout, ref, ref.build, "use")
    return UseResult(ref.key, previous, ref.build, env.link, record.prefix)


def diff(*, environment: str, a: int | str, b: int | str,
         store: str | Path | None = None) -> Any:
    """Packages added, removed and changed from build ``a`` to ``b`` (``DiffReport``)."""
    from .store.layout import parse_build_number
    from .store.views import diff as diff_

    layout, ref = _store_ref(store, environment)
    return diff_(layout, ref, parse_build_number(a), parse_build_number(b))


def delete(*, environment: str, build: int | str | None = None, force: bool = False,
           store: str | Path | None = None) -> DeleteResult:
    """Delete one build, or every build of the environment; only the records stay.

    The current build needs ``force`` (the environment then has no current build).
    """
    from .store.builds import lock_env, read_env
    from .store.current import repair
    from .store.remove import delete_build, delete_environment

    layout, ref = _store_ref(store, environment, build)
    with lock_env(layout, ref):
        read_env(layout, ref)
        repair(layout, ref)
    if ref.build is None:
        return DeleteResult(ref.key, tuple(delete_environment(layout, ref, force=force)))
    return DeleteResult(ref.key, (delete_build(layout, ref, ref.build, force=force),))


def archive(
    *,
    environment: str | None = None,
    build: int | str | None = None,
    older_than: str | Any = None,
    keep_last: int | None = None,
    unused_for: str | Any = None,
    force: bool = False,
    dry_run: bool = False,
    store: str | Path | None = None,
    now: Any = None,
) -> Any:
    """Archive one build, or (with policies) many; returns ``store.archive.ArchiveReport``.

    With ``ENV@BUILD`` (or ``build``) that one build is archived. Otherwise the policies
    (``older_than``/``unused_for`` like ``90d``, ``keep_last`` N per environment; all
    given must hold) choose among the completed builds of ``environment`` (default:
    every environment). A current build is only archived with ``force``.
    """
    from .exceptions import CondaStoreError
    from .store.archive import Policy, bulk_archive, parse_duration, single_report
    from .store.builds import open_store
    from .store.layout import EnvRef
    from .store.location import default_namespace, store_dir
    from .store.remove import archive_build

    policy = Policy(
        older_than=parse_duration(older_than) if older_than is not None else None,
        keep_last=_non_negative(keep_last),
        unused_for=parse_duration(unused_for) if unused_for is not None else None,
        include_current=force)
    layout = open_store(store_dir(store))
    ref = EnvRef.parse(environment, default_namespace=default_namespace(), build=build) \
        if environment else None
    if ref is not None and ref.build is not None:
        if not policy.empty:
            raise CondaStoreError("a build number and archive policies cannot be combined",
                                  hint="Name one build (ENV@BUILD), or give policies.")
        return single_report(archive_build(layout, ref, ref.build, force=force,
                                           dry_run=dry_run))
    if policy.empty:
        raise CondaStoreError(
            "nothing to archive: name a build or give a policy",
            hint="e.g. `conda store archive ENV@3`, or `--older-than 90d`, "
                 "`--keep-last 5`, `--unused-for 30d` (add --dry-run to see first).")
    if ref is not None:
        from .store.builds import read_env

        read_env(layout, ref)  # unknown environment: say so, listing the known ones
    refs = [ref] if ref is not None else layout.environments()
    return bulk_archive(layout, refs, policy, dry_run=dry_run, now=now)


def _non_negative(value: int | None) -> int | None:
    from .exceptions import CondaStoreError

    if value is None:
        return None
    if int(value) < 0:
        raise CondaStoreError(f"--keep-last must be 0 or more, not {value}",
                              hint="e.g. --keep-last 3")
    return int(value)


def recreate(*, environment: str, build: int | str | None = None, offline: bool = False,
             pkgs_dir: str | Path | None = None, store: str | Path | None = None,
             progress: Any = None) -> Any:
    """Re-install an archived build from its lockfile, same URLs and hashes (offline ok)."""
    from .store.builds import lock_env, read_env
    from .store.current import repair
    from .store.recreate import run_recreate
    from .store.views import resolve_number

    layout, ref = _store_ref(store, environment, build)
    with lock_env(layout, ref):
        number = resolve_number(layout, ref, read_env(layout, ref))
        repair(layout, ref)
    return run_recreate(layout, ref, number, offline=offline,
                        pkgs_dir=Path(pkgs_dir) if pkgs_dir else None, progress=progress)


def du(*, store: str | Path | None = None, pkgs_dir: str | Path | None = None,
       include_cache: bool = True) -> Any:
    """Apparent size, size on disk and hardlink-shared bytes (``DiskUsageReport``)."""
    from .store.builds import open_store
    from .store.diskusage import report
    from .store.location import store_dir
    from .store.views import build_views

    layout = open_store(store_dir(store))
    builds = {}
    for ref in layout.environments():
        from .store.builds import read_env

        env = read_env(layout, ref)
        builds[ref.key] = {v.number: (v.status, v.current, layout.build_dir(ref, v.number),
                                      layout.prefix(ref, v.number))
                           for v in build_views(layout, ref, env)}
    cache = None
    if include_cache:
        if pkgs_dir is None:
            from .conda_dirs import default_pkgs_dir

            pkgs_dir = default_pkgs_dir()
        cache = Path(pkgs_dir)
    return report(layout.root, builds, cache)


def dedupe(*, store: str | Path | None = None, dry_run: bool = False) -> Any:
    """Hardlink identical files across completed builds (``store.dedupe.DedupeReport``)."""
    from .store.builds import is_being_worked_on, open_store, read_env
    from .store.dedupe import dedupe as dedupe_
    from .store.location import store_dir
    from .store.views import build_views

    layout = open_store(store_dir(store))
    prefixes = []
    for ref in layout.environments():
        for view in build_views(layout, ref, read_env(layout, ref)):
            if view.status == "completed" and not is_being_worked_on(layout, ref,
                                                                     view.record):
                prefixes.append(layout.prefix(ref, view.number))
    return dedupe_(prefixes, dry_run=dry_run)


def record_use(*, prefix: str | Path, how: str = "activate") -> bool:
    """Record that conda activated or ran the store build at ``prefix`` (never raises).

    For the plugin's ``conda_pre_commands`` hook (``activate``, ``run``); see
    ``store.usage`` for the rule.
    """
    from .store.usage import record_use as record

    return record(prefix, how=how)


# --- transfer, backup, restore ----------------------------------------------------------
# export_environment / import_environment: one environment and its history as a transfer
# file (``transfer``); backup / restore: the whole store as one .tar.zst (``backup``).


def export_environment(*, environment: str, output: str | Path | None = None,
                       store: str | Path | None = None) -> Any:
    """Write one environment, every finished build with its history, to a transfer file.

    Args:
        environment: ``NAME`` or ``NAMESPACE/NAME``.
        output: the file to write; default ``<NAME>.conda-store.json`` in the cwd.
        store: store directory (see ``store.location``).

    Returns:
        ``store.exporter.ExportOutcome`` (builds still being built are listed as skipped).
    """
    from .store.builds import read_env
    from .store.exporter import export

    layout, ref = _store_ref(store, environment)
    if ref.build is not None:
        from .exceptions import InvalidStoreNameError

        raise InvalidStoreNameError("environment", environment,
                                    "export takes the whole environment, not one build")
    read_env(layout, ref)  # unknown environment: say so, listing the known ones
    out = Path(output) if output else Path.cwd() / f"{ref.name}.conda-store.json"
    return export(layout, ref, out.absolute())


def import_environment(
    *,
    source: str | Path,
    namespace: str | None = None,
    name: str | None = None,
    force: bool = False,
    store: str | Path | None = None,
    envs_dir: str | Path | None = None,
    offline: bool = False,
    pkgs_dir: str | Path | None = None,
    progress: Any = None,
) -> Any:
    """Import a transfer file: its history, and its current build recreated on disk.

    Args:
        source: the file ``export_environment`` wrote.
        namespace: default the file's namespace.
        name: default the file's environment name.
        force: replace an environment of that name (and all its builds).
        store: store directory.
        envs_dir: where the environment's link goes, when it is new.
        offline: install from the package cache only.
        pkgs_dir: package cache (default conda's).
        progress: ``callable(fetch.ProgressEvent)``.

    Returns:
        ``store.importer.ImportOutcome``.

    Raises:
        TransferFileError: the file is not a valid transfer file.
        EnvironmentExistsError: the environment exists and ``force`` is false.
    """
    from . import transfer
    from .store.builds import open_store
    from .store.current import link_name
    from .store.importer import import_document
    from .store.layout import EnvRef, check_name
    from .store.location import default_envs_dir, default_namespace, store_dir

    document = transfer.read(source)
    root = store_dir(store)
    open_store(root)  # a newer store is refused before anything is written
    ref = EnvRef(check_name("namespace", namespace or document.namespace),
                 check_name("environment name", name or document.name))
    link = Path(envs_dir or default_envs_dir()).absolute() / link_name(ref,
                                                                      default_namespace())
    layout = open_store(root, create=True)
    return import_document(layout, document, ref, link=link, force=force, offline=offline,
                           pkgs_dir=Path(pkgs_dir) if pkgs_dir else None, progress=progress)


def backup(
    *,
    output: str | Path | None = None,
    with_packages: bool = False,
    namespaces: Sequence[str] = (),
    store: str | Path | None = None,
    pkgs_dir: str | Path | None = None,
    offline: bool = False,
    progress: Any = None,
) -> Any:
    """Back up the store (metadata, specs, lockfiles, logs; optionally packages) to one file.

    Args:
        output: the ``.tar.zst`` to write; default ``conda-store-backup-<UTC time>.tar.zst``
            in the cwd. It appears only once complete.
        with_packages: include every package archive the current builds need, so a
            restore needs no network.
        namespaces: back up only these namespaces (default: all).
        store: store directory.
        pkgs_dir: package cache to take the archives from, missing ones fetched into it
            (default conda's).
        offline: never download: fail naming the archives the cache lacks.
        progress: ``callable(fetch.ProgressEvent)`` while fetching archives.

    Returns:
        ``backup.create.BackupOutcome``.
    """
    from .backup.create import create_backup
    from .store.builds import open_store
    from .store.layout import check_name
    from .store.location import store_dir

    layout = open_store(store_dir(store))
    names = [check_name("namespace", ns) for ns in namespaces]
    if output is None:
        from .store.records import now_utc

        output = Path.cwd() / f"conda-store-backup-{now_utc():%Y%m%dT%H%M%SZ}.tar.zst"
    return create_backup(layout, Path(output).absolute(), namespaces=names or None,
                         with_packages=with_packages,
                         pkgs_dir=Path(pkgs_dir) if pkgs_dir else None, offline=offline,
                         progress=progress)


def restore(
    *,
    source: str | Path,
    on_conflict: str = "fail",
    dry_run: bool = False,
    store: str | Path | None = None,
    envs_dir: str | Path | None = None,
    pkgs_dir: str | Path | None = None,
    offline: bool = False,
    progress: Any = None,
) -> Any:
    """Restore a backup into a store: every environment, its history, its current build.

    The backup is verified whole (hashes, safe member names) before anything is written.
    Environments already in the store are conflicts: ``on_conflict`` ``fail`` (default:
    refuse, naming them), ``skip`` or ``replace``.

    Args:
        source: the ``.tar.zst`` that ``backup`` wrote.
        on_conflict: ``fail``, ``skip`` or ``replace``.
        dry_run: verify and plan only; write nothing.
        store: target store directory (created if new).
        envs_dir: where new environments' links go (default conda's envs dir).
        pkgs_dir: package cache, seeded with the backup's packages (default conda's).
        offline: install from the package cache only.
        progress: ``callable(fetch.ProgressEvent)``.

    Returns:
        ``backup.restore.RestoreOutcome``.

    Raises:
        BackupFormatError, ArchiveIntegrityError, UnsafeArchiveMemberError,
        RestoreConflictError: nothing was written. RestoreFailedError: some
        environments failed (each left as it was), the others were restored.
    """
    from .backup.restore import restore as restore_
    from .store.location import store_dir

    return restore_(store_dir(store), Path(source).absolute(), on_conflict=on_conflict,
                    dry_run=dry_run, envs_dir=Path(envs_dir) if envs_dir else None,
                    pkgs_dir=Path(pkgs_dir) if pkgs_dir else None, offline=offline,
                    progress=progress)
