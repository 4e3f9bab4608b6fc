"""Read-only views: list, history, show, diff. They take no lock and write nothing.

Every build is reported with its *observed* status (``builds.observe``): a build whose
builder died shows as ``failed`` with ``interrupted: true``, never as completed.
"""

from __future__ import annotations

import datetime
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import records
from .builds import Observed, observe, read_build, read_env
from .layout import BUILD_FILE, EnvRef, StoreLayout
from .records import BuildRecord, EnvironmentRecord, UsageRecord
from .usage import read_use, read_use_in


@dataclass(frozen=True)
class BuildView:
    """A build as reported: its record, observed status, current flag and last use."""

    record: BuildRecord
    observed: Observed
    current: bool
    used: UsageRecord | None

    @property
    def number(self) -> int:
        """The build number."""
        return self.record.number

    @property
    def status(self) -> str:
        """The observed status."""
        return self.observed.status

    @property
    def last_used_at(self) -> datetime.datetime:
        """Last use (see ``usage``), else when it finished, else when it was created."""
        when = self.used.last_used_at if self.used else None
        return records.parse_time(when or self.record.finished_at or self.record.created_at)

    @property
    def finished_or_created(self) -> datetime.datetime:
        """When the build finished (created, if it never did)."""
        return records.parse_time(self.record.finished_at or self.record.created_at)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        r = self.record
        return {
            "environment": r.env_key, "build": r.number, "status": self.status,
            "interrupted": self.observed.interrupted, "current": self.current,
            "platform": r.platform, "prefix": r.prefix,
            "created_at": r.created_at, "started_at": r.started_at,
            "finished_at": r.finished_at, "archived_at": r.archived_at,
            "deleted_at": r.deleted_at, "recreated_at": r.recreated_at,
            "last_used_at": self.used.last_used_at if self.used else None,
            "last_used_how": self.used.how if self.used else None,
            "package_count": r.package_count,
            "size": r.size.to_dict() if r.size else None, "bytes_freed": r.bytes_freed,
            "built_by": r.builder.to_dict(), "tool_version": r.tool_version,
            "spec_source": r.spec_source, "lockfile_reused": r.lockfile_reused,
            "input_hash": r.input_hash, "error": self.observed.error,
        }


def build_view(layout: StoreLayout, ref: EnvRef, env: EnvironmentRecord,
               record: BuildRecord) -> BuildView:
    """The view of one build."""
    return BuildView(record, observe(layout, ref, record), env.current_build == record.number,
                     read_use(layout, ref, record.number))


def build_views(layout: StoreLayout, ref: EnvRef, env: EnvironmentRecord) -> list[BuildView]:
    """Every numbered build of the environment, ascending."""
    out = []
    builds = os.fspath(layout.builds_dir(ref))
    for number in layout.build_numbers(ref):
        folder = os.path.join(builds, str(number))
        try:
            record = records.read("build", os.path.join(folder, BUILD_FILE))
        except FileNotFoundError:
            continue
        out.append(BuildView(record, observe(layout, ref, record),
                             env.current_build == number, read_use_in(folder)))
    return out


# --- list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentSummary:
    """One line of ``conda store list``."""

    env: EnvironmentRecord
    current: BuildView | None
    counts: dict[str, int]
    last_used_at: str | None

    @property
    def key(self) -> str:
        """``NAMESPACE/NAME``."""
        return f"{self.env.namespace}/{self.env.name}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        c = self.current
        return {
            "environment": self.key, "namespace": self.env.namespace, "name": self.env.name,
            "current_build": self.env.current_build,
            "current_status": c.status if c else None,
            "prefix": c.record.prefix if c else None, "link": self.env.link,
            "builds": sum(self.counts.values()), "statuses": dict(sorted(self.counts.items())),
            "size": c.record.size.to_dict() if c and c.record.size else None,
            "created_at": self.env.created_at, "last_used_at": self.last_used_at,
        }


@dataclass(frozen=True)
class ListReport:
    """``conda store list``."""

    store_dir: Path
    environments: tuple[EnvironmentSummary, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"store": str(self.store_dir),
                "environments": [e.to_dict() for e in self.environments]}


def list_environments(layout: StoreLayout, namespace: str | None = None) -> ListReport:
    """Every environment with its current build and counts of builds by status."""
    out = []
    for ref in layout.environments(namespace):
        env = read_env(layout, ref)
        views = build_views(layout, ref, env)
        current = next((v for v in views if v.current), None)
        used = [v.used.last_used_at for v in views if v.used]
        out.append(EnvironmentSummary(env, current, dict(Counter(v.status for v in views)),
                                      max(used) if used else None))
    return ListReport(layout.root, tuple(out))


# --- history ------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryReport:
    """``conda store history ENV``."""

    env: EnvironmentRecord
    builds: tuple[BuildView, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"environment": f"{self.env.namespace}/{self.env.name}",
                "current_build": self.env.current_build, "link": self.env.link,
                "builds": [b.to_dict() for b in self.builds]}


def history(layout: StoreLayout, ref: EnvRef) -> HistoryReport:
    """Every build of one environment."""
    env = read_env(layout, ref)
    return HistoryReport(env, tuple(build_views(layout, ref, env)))


# --- show ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShowReport:
    """``conda store show ENV[@BUILD]``: record, spec, lock summary, size, status."""

    build: BuildView
    spec_text: str | None
    packages: tuple[dict[str, Any], ...]
    channels: tuple[str, ...]
    paths: dict[str, str]
    lock_problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.build.to_dict(), "spec": self.spec_text,
                "lock": {"channels": list(self.channels), "packages": list(self.packages),
                         "problem": self.lock_problem},
                "paths": self.paths}


def resolve_number(layout: StoreLayout, ref: EnvRef, env: EnvironmentRecord) -> int:
    """``ref.build``, else the current build, else the newest build."""
    from ..exceptions import UnknownBuildError

    if ref.build is not None:
        return ref.build
    if env.current_build is not None:
        return env.current_build
    numbers = layout.build_numbers(ref)
    if not numbers:
        raise UnknownBuildError(ref.key, "(current)", [])
    return numbers[-1]


def show(layout: StoreLayout, ref: EnvRef) -> ShowReport:
    """One build in detail (default: the current build)."""
    from .. import lockfile as lockfile_io
    from ..exceptions import LockfileError

    env = read_env(layout, ref)
    number = resolve_number(layout, ref, env)
    record = read_build(layout, ref, number)
    view = build_view(layout, ref, env, record)
    spec_file = layout.spec_file(ref, number)
    try:
        spec_text = spec_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        spec_text = None
    packages: tuple[dict[str, Any], ...] = ()
    channels: tuple[str, ...] = ()
    problem = None
    lock_path = layout.lock_file(ref, number)
    if lock_path.exists():
        try:
            lock = lockfile_io.read(lock_path)
            channels = tuple(c.url for c in lock.channels)
            pl = lock.platforms.get(record.platform)
            if pl is not None:
                packages = tuple({"name": p.name, "version": p.version, "build": p.build,
                                  "channel": p.channel, "url": p.url, "sha256": p.sha256}
                                 for p in sorted(pl.packages, key=lambda p: p.name))
        except LockfileError as exc:
            problem = exc.message
    paths = {"build_dir": str(layout.build_dir(ref, number)), "prefix": record.prefix,
             "spec": str(spec_file), "lockfile": str(lock_path),
             "log": str(layout.log_file(ref, number))}
    return ShowReport(view, spec_text, packages, channels, paths, problem)


# --- diff ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffReport:
    """``conda store diff ENV A B``: packages added, removed, changed from A to B."""

    environment: str
    a: int
    b: int
    platform: str
    changes: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        counts = Counter(c.kind for c in self.changes)
        return {"environment": self.environment, "a": self.a, "b": self.b,
                "platform": self.platform,
                "counts": {k: counts.get(k, 0) for k in ("added", "removed", "changed")},
                "changes": [c.to_dict() for c in self.changes]}


def diff(layout: StoreLayout, ref: EnvRef, a: int, b: int) -> DiffReport:
    """Compare the lockfiles of builds ``a`` and ``b`` (reusing ``locking.diff_platform``)."""
    from ..locking import diff_platform

    locks = []
    for number in (a, b):
        record = read_build(layout, ref, number)
        locks.append((record, _build_lock(layout, ref, record)))
    (ra, la), (rb, lb) = locks
    changes = diff_platform(rb.platform, la.platforms.get(ra.platform),
                            lb.platforms.get(rb.platform))
    return DiffReport(ref.key, a, b, rb.platform, tuple(changes))


def _build_lock(layout: StoreLayout, ref: EnvRef, record: BuildRecord) -> Any:
    from .. import lockfile as lockfile_io
    from ..exceptions import BuildStateError, CorruptBuildLockfileError, LockfileError

    path = layout.lock_file(ref, record.number)
    if record.status == "deleted":
        raise BuildStateError(ref.key, record.number, "deleted", "compare",
                              hint="A deleted build keeps no lockfile.")
    try:
        return lockfile_io.read(path)
    except LockfileError as exc:
        if not path.exists():
            raise BuildStateError(ref.key, record.number, observe(layout, ref, record).status,
                                  "compare", hint="It has no lockfile (it failed before "
                                                  "locking).") from exc
        raise CorruptBuildLockfileError(ref.key, record.number, path, exc.message,
                                        operation="compare") from exc
