"""Bulk archive: choose completed builds by policy, archive them (or list them: dry run).

Policies, combinable; a build is chosen only when it meets **every** one given:

``older_than``
    it finished longer ago than this;
``keep_last``
    it is not among the ``N`` highest-numbered completed builds of its environment;
``unused_for``
    its last use (see ``usage``: made current, activated, run) is longer ago than this.

Only ``completed`` builds are candidates; the current build of an environment never
is, unless ``include_current``. Each environment is handled under its own lock, so
builds running elsewhere are not disturbed; a build being built is never a candidate
(it is not completed). The report's ``bytes_freed`` is for the chosen builds together:
files hardlinked only among them are counted as freed.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import records
from .builds import lock_env, read_env
from .current import repair
from .diskusage import Tree, combine, scan
from .layout import EnvRef, StoreLayout
from .remove import RemovalOutcome, archive_locked
from .views import BuildView, build_views

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str | datetime.timedelta) -> datetime.timedelta:
    """``90d``, ``12h``, ``30m``, ``45s``, ``2w`` as a ``timedelta``."""
    from ..exceptions import InvalidDurationError

    if isinstance(text, datetime.timedelta):
        return text
    match = _DURATION.match(str(text).lower())
    if not match:
        raise InvalidDurationError(str(text))
    return datetime.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Policy:
    """Which builds bulk archive chooses."""

    older_than: datetime.timedelta | None = None
    keep_last: int | None = None
    unused_for: datetime.timedelta | None = None
    include_current: bool = False

    @property
    def empty(self) -> bool:
        """No criterion given."""
        return self.older_than is None and self.keep_last is None and self.unused_for is None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (durations in seconds)."""
        return {
            "older_than_s": self.older_than.total_seconds() if self.older_than else None,
            "keep_last": self.keep_last,
            "unused_for_s": self.unused_for.total_seconds() if self.unused_for else None,
            "include_current": self.include_current,
        }


def choose(views: list[BuildView], policy: Policy,
           now: datetime.datetime) -> list[tuple[BuildView, tuple[str, ...]]]:
    """The builds of one environment that ``policy`` archives, with the reasons."""
    completed = [v for v in views if v.status == "completed"]
    kept_last = {v.number for v in sorted(completed, key=lambda v: v.number)
                 [-policy.keep_last:]} if policy.keep_last else set()
    chosen = []
    for view in completed:
        if view.current and not policy.include_current:
            continue
        reasons = []
        if policy.keep_last is not None:
            if view.number in kept_last:
                continue
            reasons.append(f"not among the last {policy.keep_last}")
        if policy.older_than is not None:
            age = now - view.finished_or_created
            if age < policy.older_than:
                continue
            reasons.append(f"built {_days(age)} ago")
        if policy.unused_for is not None:
            idle = now - view.last_used_at
            if idle < policy.unused_for:
                continue
            reasons.append(f"unused for {_days(idle)}")
        chosen.append((view, tuple(reasons)))
    return chosen


def _days(delta: datetime.timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:.1f} days" if days >= 1 else f"{delta.total_seconds() / 3600:.1f} hours"


@dataclass(frozen=True)
class ArchiveReport:
    """What (bulk) archive did, or would do with ``dry_run``."""

    archived: tuple[RemovalOutcome, ...]
    bytes_freed: int
    apparent_bytes: int
    dry_run: bool
    policy: Policy | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"dry_run": self.dry_run, "count": len(self.archived),
                "bytes_freed": self.bytes_freed, "apparent_bytes": self.apparent_bytes,
                "policy": self.policy.to_dict() if self.policy else None,
                "builds": [o.to_dict() for o in self.archived]}


def bulk_archive(layout: StoreLayout, refs: Iterable[EnvRef], policy: Policy, *,
                 dry_run: bool = False, now: datetime.datetime | None = None) -> ArchiveReport:
    """Archive, in every environment of ``refs``, the builds ``policy`` chooses."""
    now = now or records.now_utc()
    outcomes: list[RemovalOutcome] = []
    trees: list[Tree] = []
    for ref in refs:
        with lock_env(layout, ref) if not dry_run else contextlib.nullcontext():
            env = read_env(layout, ref) if dry_run else repair(layout, ref)
            for view, reasons in choose(build_views(layout, ref, env), policy, now):
                tree = scan(layout.prefix(ref, view.number))
                trees.append(tree)
                outcomes.append(archive_locked(
                    layout, ref, env, view.number, force=policy.include_current,
                    dry_run=dry_run, reasons=reasons, tree=tree))
                if view.current and not dry_run:
                    env = read_env(layout, ref)
    total = combine(trees)
    return ArchiveReport(tuple(outcomes), total.exclusive, total.apparent, dry_run, policy)


def single_report(outcome: RemovalOutcome) -> ArchiveReport:
    """An ``ArchiveReport`` for one build archived by number."""
    return ArchiveReport((outcome,), outcome.bytes_freed, outcome.usage.apparent,
                         outcome.dry_run)

