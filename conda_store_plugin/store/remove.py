"""Archive or delete one build (the environment lock is taken here, or by the caller).

``archive``: keep the spec, lockfile, log and records; remove the prefix; status
``archived``. ``delete``: keep only ``build.json``, status ``deleted``. Both report
``bytes_freed``: the bytes on disk that removing the files really released (files also
hardlinked from elsewhere, e.g. the package cache, free nothing).

Order, for crash safety: the record is written first, then the files go (the prefix is
first renamed aside, so it vanishes at once). A crash in between leaves a record that
says archived/deleted and some files that the next verb changing the environment
removes (``builds.clean_up``); never a build that says completed but is half gone.

A current build is neither archived nor deleted without ``force``; with it, the
envs-dir link is removed (an archived current build gets it back when recreated).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import records
from .builds import (
    discard,
    is_being_worked_on,
    lock_env,
    observe,
    read_build,
    read_env,
    remove_metadata,
    write_build,
)
from .current import repair, set_current, sync_link
from .diskusage import SpaceUsage, Tree, scan
from .layout import BUILD_FILE, BUILDER_LOCK, EnvRef, StoreLayout
from .records import BuildRecord, EnvironmentRecord


@dataclass(frozen=True)
class RemovalOutcome:
    """One build archived or deleted (or, in a dry run, that would be)."""

    environment: str
    number: int
    action: str  # "archived" or "deleted"
    was_current: bool
    bytes_freed: int
    usage: SpaceUsage
    dry_run: bool = False
    reasons: tuple[str, ...] = ()  # why bulk archive chose it

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"environment": self.environment, "build": self.number,
                "action": self.action, "was_current": self.was_current,
                "bytes_freed": self.bytes_freed, "apparent_bytes": self.usage.apparent,
                "dry_run": self.dry_run, "reasons": list(self.reasons)}


def _check_removable(layout: StoreLayout, ref: EnvRef, env: EnvironmentRecord,
                     record: BuildRecord, operation: str, force: bool) -> None:
    from ..exceptions import BuildInProgressError, CurrentBuildError

    observed = observe(layout, ref, record)
    if observed.status in ("queued", "building") or (
            record.status == "archived" and is_being_worked_on(layout, ref, record)):
        raise BuildInProgressError(ref.key, record.number, operation)
    if env.current_build == record.number and not force \
            and record.status not in ("deleted",):
        raise CurrentBuildError(ref.key, record.number, operation.rstrip("e") + "ing")


def archive_locked(layout: StoreLayout, ref: EnvRef, env: EnvironmentRecord, number: int, *,
                   force: bool = False, dry_run: bool = False,
                   reasons: tuple[str, ...] = (), tree: Tree | None = None) -> RemovalOutcome:
    """Archive one completed build; hold the environment lock.

    ``tree``: the prefix already scanned by the caller (bulk archive), to scan once.
    """
    from ..exceptions import BuildStateError

    record = read_build(layout, ref, number)
    _check_removable(layout, ref, env, record, "archive", force)
    if record.status != "completed":
        hint = {"archived": "It is archived already.",
                "failed": f"Failed builds have no environment to archive: "
                          f"`conda store delete {ref.key}@{number}` removes it.",
                "deleted": "It was deleted."}.get(record.status)
        raise BuildStateError(ref.key, number, observe(layout, ref, record).status,
                              "archive", hint=hint)
    prefix = Path(record.prefix)
    usage = (tree if tree is not None else scan(prefix)).usage()
    was_current = env.current_build == number
    if not dry_run:
        write_build(layout, record.with_(
            status="archived", archived_at=records.format_time(records.now_utc()),
            bytes_freed=usage.exclusive))
        discard(prefix)
        if was_current:
            sync_link(layout, env)
    return RemovalOutcome(ref.key, number, "archived", was_current, usage.exclusive, usage,
                          dry_run, reasons)


def archive_build(layout: StoreLayout, ref: EnvRef, number: int, *, force: bool = False,
                  dry_run: bool = False) -> RemovalOutcome:
    """Archive one build (takes the environment lock)."""
    with lock_env(layout, ref):
        read_env(layout, ref)
        env = read_env(layout, ref) if dry_run else repair(layout, ref)
        return archive_locked(layout, ref, env, number, force=force, dry_run=dry_run)


def delete_build(layout: StoreLayout, ref: EnvRef, number: int, *,
                 force: bool = False) -> RemovalOutcome:
    """Delete one build, keeping only its record (takes the environment lock)."""
    with lock_env(layout, ref):
        env = read_env(layout, ref)
        return _delete_locked(layout, ref, env, number, force=force)


def delete_environment(layout: StoreLayout, ref: EnvRef, *,
                       force: bool = False) -> list[RemovalOutcome]:
    """Delete every build of an environment (its current one needs ``force``)."""
    from ..exceptions import CurrentBuildError

    with lock_env(layout, ref):
        env = read_env(layout, ref)
        if env.current_build is not None and not force:
            raise CurrentBuildError(ref.key, env.current_build, "deleting")
        out = []
        for number in layout.build_numbers(ref):
            record = read_build(layout, ref, number)
            if record.status == "deleted":
                continue
            out.append(_delete_locked(layout, ref, env, number, force=True))
            env = read_env(layout, ref)
        return out


def _delete_locked(layout: StoreLayout, ref: EnvRef, env: EnvironmentRecord, number: int, *,
                   force: bool) -> RemovalOutcome:
    from ..exceptions import BuildStateError

    record = read_build(layout, ref, number)
    if record.status == "deleted":
        raise BuildStateError(ref.key, number, "deleted", "delete",
                              hint="It was deleted already; only its record is left.")
    _check_removable(layout, ref, env, record, "delete", force)
    prefix = Path(record.prefix)
    usage = scan(prefix).usage()
    folder = layout.build_dir(ref, number)
    freed = usage.exclusive + _metadata_bytes(folder, prefix.name)
    was_current = env.current_build == number
    write_build(layout, record.with_(
        status="deleted", deleted_at=records.format_time(records.now_utc()),
        bytes_freed=freed, error=record.error))
    if was_current:
        set_current(layout, env, None)
    discard(prefix)
    remove_metadata(folder)
    return RemovalOutcome(ref.key, number, "deleted", was_current, freed, usage)


def _metadata_bytes(folder: Path, prefix_name: str) -> int:
    total = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name in (BUILD_FILE, BUILDER_LOCK, prefix_name) or entry.is_dir():
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if st.st_nlink == 1:
            total += st.st_blocks * 512
    return total
