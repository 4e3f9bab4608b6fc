"""Make, check and update lockfiles: environment.yml in, ``Lockfile`` out."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .channels import channels_named_in_specs, resolve_channels
from .exceptions import CondaStoreError, SpecError
from .lockfile import Channel, LockedPackage, LockedPypiPackage, Lockfile, PlatformLock
from .platforms import (
    VirtualPackage,
    check_platform,
    current_platform,
    virtual_packages_for,
)
from .spec import HASH_VERSION, EnvironmentSpec

if TYPE_CHECKING:
    from .config import Config


@dataclass(frozen=True)
class LockOptions:
    """How to lock, beyond the spec itself (from the command line)."""

    platforms: tuple[str, ...] = ()
    cuda: str | None = None
    no_cuda: bool = False
    virtual_packages: tuple[VirtualPackage, ...] = ()
    channel_priority: str = "strict"
    #: From the ``store_platforms`` setting: used when neither options nor spec name any.
    default_platforms: tuple[str, ...] = ()
    #: conda's configuration (``config.load_config``): channels when the spec names
    #: none, channel_alias/custom_channels/custom_multichannels, credentials, network.
    #: None: no configuration (names go to conda.anaconda.org, nothing else is known).
    config: Config | None = None

    def target_platforms(self, spec: EnvironmentSpec,
                         fallback: Iterable[str] = ()) -> list[str]:
        """Platforms asked for, in order of precedence.

        Options, else the spec's ``platforms:``, else the ``store_platforms``
        setting, else ``fallback``, else this machine's.
        """
        names = (list(self.platforms or spec.platforms or self.default_platforms
                      or fallback) or [current_platform()])
        return sorted({check_platform(p) for p in names})

    def virtual_packages_for(self, platform: str) -> tuple[VirtualPackage, ...]:
        """Virtual packages for ``platform`` under these options."""
        overrides = [vp for vp in self.virtual_packages
                     if not (self.no_cuda and vp.name == "__cuda")]
        cuda = None if self.no_cuda else self.cuda
        return tuple(virtual_packages_for(platform, overrides=overrides, cuda=cuda))


@dataclass(frozen=True)
class PackageChange:
    """A package that differs between two locks of one platform."""

    platform: str
    name: str
    old: str | None  # "version build", None when added
    new: str | None  # None when removed
    source: str = "conda"  # or "pypi" (then old/new are "version (pypi)")

    @property
    def kind(self) -> str:
        """added, removed or changed."""
        return "added" if self.old is None else "removed" if self.new is None else "changed"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"platform": self.platform, "name": self.name, "kind": self.kind,
                "old": self.old, "new": self.new, "source": self.source}


def diff_platform(platform: str, old: PlatformLock | None,
                  new: PlatformLock | None) -> list[PackageChange]:
    """What changed between two locks of one platform, sorted by name."""
    before = old.by_name() if old else {}
    after = new.by_name() if new else {}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a is not None and b is not None and (a.sha256 == b.sha256 and a.url == b.url):
            continue
        changes.append(PackageChange(
            platform, name,
            f"{a.version} {a.build}" if a else None,
            f"{b.version} {b.build}" if b else None,
        ))
    pypi_before = {p.name: p for p in old.pypi} if old else {}
    pypi_after = {p.name: p for p in new.pypi} if new else {}
    for name in sorted(pypi_before.keys() | pypi_after.keys()):
        a, b = pypi_before.get(name), pypi_after.get(name)
        if a is not None and b is not None and (a.sha256 == b.sha256 and a.url == b.url):
            continue
        changes.append(PackageChange(
            platform, name,
            f"{a.version} (pypi)" if a else None,
            f"{b.version} (pypi)" if b else None,
            source="pypi",
        ))
    return changes


def diff_locks(old: Lockfile | None, new: Lockfile) -> list[PackageChange]:
    """Changes for every platform of ``new`` (and platforms dropped from ``old``)."""
    old_platforms = old.platforms if old else {}
    names = sorted(set(old_platforms) | set(new.platforms))
    return [c for p in names
            for c in diff_platform(p, old_platforms.get(p), new.platforms.get(p))]


def staleness(lock: Lockfile, spec: EnvironmentSpec, options: LockOptions) -> list[str]:
    """Why ``lock`` no longer matches ``spec`` under ``options``; empty when it does."""
    reasons = []
    spec = spec_without_credentials(spec)
    if lock.hash_version != HASH_VERSION:
        reasons.append(f"input hash version {lock.hash_version} differs from "
                       f"{HASH_VERSION} (made by another conda-store-plugin)")
    elif lock.input_hash != spec.input_hash():
        reasons.append("the spec changed: " + _spec_difference(lock.spec, spec))
    elif not spec.channels and options.config is not None:
        from .credentials import strip_credentials

        wanted = [strip_credentials(c.url) for c in lock_channels(spec, options)]
        have = [c.url for c in lock.channels]
        if wanted != have:
            reasons.append(f"the configured channels changed: {have} -> {wanted}")
    # Nothing names platforms: check the ones the lockfile has (it may have been made
    # with --platform for other machines than this one).
    for platform in options.target_platforms(spec, fallback=lock.platforms):
        if platform not in lock.platforms:
            reasons.append(f"platform {platform} is not locked")
            continue
        wanted = options.virtual_packages_for(platform)
        have = lock.platforms[platform].virtual_packages
        if tuple(have) != wanted:
            reasons.append(f"virtual packages for {platform} changed: "
                           f"{_names(have)} -> {_names(wanted)}")
        if spec.pip:
            from .pypi_lock import pypi_staleness

            reasons += pypi_staleness(spec, platform, lock.platforms[platform])
    return reasons


def _names(vps: Iterable[VirtualPackage]) -> str:
    return ", ".join(str(v) for v in vps) or "none"


def _spec_difference(old: EnvironmentSpec, new: EnvironmentSpec) -> str:
    parts = []
    for label, a, b in (("dependencies", old.dependencies, new.dependencies),
                        ("pip", old.pip, new.pip)):
        added = sorted(set(b) - set(a))
        removed = sorted(set(a) - set(b))
        if added:
            parts.append(f"{label} added {', '.join(added)}")
        if removed:
            parts.append(f"{label} removed {', '.join(removed)}")
    if [c.rstrip("/") for c in old.channels] != [c.rstrip("/") for c in new.channels]:
        parts.append(f"channels {list(old.channels)} -> {list(new.channels)}")
    if dict(old.variables) != dict(new.variables):
        parts.append("variables changed")
    return "; ".join(parts) or "its canonical form changed"


def make_lock(
    spec: EnvironmentSpec,
    options: LockOptions,
    *,
    spec_path: Path | None = None,
    previous: Lockfile | None = None,
    update: Sequence[str] = (),
    cache_dir: Path | None = None,
    now: datetime.datetime | None = None,
) -> Lockfile:
    """Solve ``spec`` for every target platform and return the lockfile.

    With ``update``, ``previous`` is required: every package not named keeps
    its locked version where the solver can keep it.
    """
    from .solve import SolveRequest, solve_platforms

    config = options.config
    if not spec.channels and not (config is not None and config.channels):
        raise SpecError(spec_path, "no channels given, and none configured",
                        hint="Add a `channels:` list, e.g. `channels: [conda-forge]`, or "
                             "configure conda's (`conda config --add channels conda-forge`).")
    if not spec.dependencies:
        raise SpecError(spec_path, "no dependencies given",
                        hint="Add a `dependencies:` list.")
    pip_section = None
    if spec.pip:
        from .pypi_requirements import parse_pip_section

        pip_section = parse_pip_section(spec.pip, path=spec_path)  # fail before solving
    base_dir = spec_path.parent if spec_path else None
    channels = lock_channels(spec, options, base_dir=base_dir)
    platforms = options.target_platforms(spec)
    requests = [
        SolveRequest(
            platform=p,
            virtual_packages=options.virtual_packages_for(p),
            locked=_kept(previous, p, update),
        )
        for p in platforms
    ]
    uv_cache = cache_dir / "uv" if cache_dir else None
    prefetch = contextlib.nullcontext()
    if pip_section is not None:
        from .pypi_lock import prefetch_pypi  # warms uv's cache while conda solves

        prefetch = prefetch_pypi(pip_section, requests[0].platform, requests[0].virtual_packages,
                                 dependencies=spec.dependencies, cache_dir=uv_cache)
    with prefetch:
        solved = solve_platforms(channels=channels, specs=spec.dependencies,
                                 requests=requests, channel_priority=options.channel_priority,
                                 cache_dir=cache_dir, config=config)
    solved = {p: [_package_without_credentials(pkg) for pkg in pkgs]
              for p, pkgs in solved.items()}
    pypi: dict[str, tuple[LockedPypiPackage, ...]] = {}
    if pip_section is not None:
        from .pypi_lock import PypiLockRequest, lock_pypi

        pypi = lock_pypi(pip_section, [
            PypiLockRequest(r.platform, tuple(solved[r.platform]), r.virtual_packages,
                            preferred=_kept_pypi(previous, r.platform, update))
            for r in requests], cache_dir=uv_cache)
    created = (now or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    spec = spec_without_credentials(spec)  # a lockfile never holds credentials
    return Lockfile(
        spec=spec,
        channels=tuple(_channel_without_credentials(c) for c in channels),
        platforms={r.platform: PlatformLock(r.virtual_packages, tuple(solved[r.platform]),
                                            pypi.get(r.platform, ()))
                   for r in requests},
        input_hash=spec.input_hash(),
        created_at=created.isoformat().replace("+00:00", "Z"),
        tool_version=__version__,
        channel_priority=options.channel_priority,
    )


def lock_channels(spec: EnvironmentSpec, options: LockOptions, *,
                  base_dir: Path | None = None) -> tuple[Channel, ...]:
    """The channels a lock of ``spec`` uses, in priority order, with credentials.

    URLs carry the credentials the configuration has for them: strip them before
    writing anything.

    The spec's ``channels:``, else the configured ``channels``; then the channels of
    ``channel::name`` dependencies.
    """
    config = options.config
    names = list(spec.channels) or list(config.channels if config is not None else ())
    channels = resolve_channels([*names, *channels_named_in_specs(spec.dependencies)],
                                base_dir=base_dir, config=config)
    if config is None:
        return channels
    from .credentials import CredentialSource

    source = CredentialSource.from_config(config)
    return tuple(Channel(c.name, source.attach(c.url)) for c in channels)


def lock_channel_priority(configured: str | None) -> str:
    """The ``channel_priority`` a lock uses for the configured value.

    Unset (``None``) locks ``strict``; a value the user configured is used as it
    is. Values the lockfile format cannot record fall back to ``strict``.
    """
    from .lockfile import SCHEMA

    recordable = (SCHEMA["properties"]["options"]["properties"]["channel_priority"]
                  .get("enum", ("strict", "disabled")))
    value = (configured or "strict").lower()
    return value if value in recordable else "strict"


def spec_without_credentials(spec: EnvironmentSpec) -> EnvironmentSpec:
    """``spec`` with credentials removed from its channel URLs."""
    from dataclasses import replace

    from .credentials import strip_credentials

    channels = tuple(strip_credentials(c) for c in spec.channels)
    return spec if channels == spec.channels else replace(spec, channels=channels)


def _channel_without_credentials(channel: Channel) -> Channel:
    from .credentials import strip_credentials

    return Channel(strip_credentials(channel.name), strip_credentials(channel.url))


def _package_without_credentials(pkg: LockedPackage) -> LockedPackage:
    from dataclasses import replace

    from .credentials import has_credentials, strip_credentials

    if not (has_credentials(pkg.url) or has_credentials(pkg.channel)):
        return pkg
    return replace(pkg, url=strip_credentials(pkg.url),
                   channel=strip_credentials(pkg.channel))


def _kept(previous: Lockfile | None, platform: str,
          update: Sequence[str]) -> tuple[LockedPackage, ...]:
    if not update or previous is None or platform not in previous.platforms:
        return ()
    named = set(update)
    return tuple(p for p in previous.platforms[platform].packages if p.name not in named)


def _kept_pypi(previous: Lockfile | None, platform: str,
               update: Sequence[str]) -> tuple[LockedPypiPackage, ...]:
    if not update or previous is None or platform not in previous.platforms:
        return ()
    from .pypi_names import normalise

    named = {normalise(n) for n in update}
    return tuple(p for p in previous.platforms[platform].pypi if p.name not in named)


def check_update_names(previous: Lockfile, update: Sequence[str]) -> None:
    """Refuse ``--update`` names that no platform of the lockfile has (conda or PyPI)."""
    from .pypi_names import normalise

    locked = {p.name for pl in previous.platforms.values() for p in pl.packages}
    locked_pypi = {p.name for pl in previous.platforms.values() for p in pl.pypi}
    unknown = sorted(n for n in set(update) - locked if normalise(n) not in locked_pypi)
    if unknown:
        raise CondaStoreError(
            f"cannot update {', '.join(unknown)}: not in the lockfile",
            hint="Name packages the lockfile has (see it with `conda store lock --check`), "
                 "or add them to the spec's dependencies.")


def platform_summary(lock: Lockfile) -> Mapping[str, int]:
    """Package count per platform."""
    return {name: len(pl.packages) for name, pl in sorted(lock.platforms.items())}
