"""Opening a store, numbering builds, status transitions, reading builds as they really are.

Status transitions: ``queued -> building -> completed | failed``; later
``completed -> archived -> completed`` (recreate) and ``* -> deleted``.

A build's record is only ever replaced whole (atomic write). What a reader reports:

* ``queued``/``building`` whose builder lock is held: as recorded;
* ``queued``/``building`` whose builder lock is free (the builder died, e.g. ``kill -9``):
  ``failed`` with ``interrupted`` true; never ``completed``;
* anything else: as recorded.

Numbering happens under the environment lock: a folder ``builds/.new-*`` is made, its
builder lock taken, ``build.json`` written, and the folder renamed to ``builds/<N>``,
so a numbered folder always has a record and, while it is being built, a held lock.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import UnknownBuildError, UnknownEnvironmentError
from . import records
from .layout import NEW_PREFIX, TRASH_PREFIX, EnvRef, StoreLayout
from .locks import BuilderLock, builder_alive, env_lock
from .records import ACTIVE_STATUSES, BuildRecord, EnvironmentRecord, StoreRecord

INTERRUPTED = "interrupted: the process building it stopped before it finished"


# --- the store ----------------------------------------------------------------------


def open_store(root: Path, *, create: bool = False) -> StoreLayout:
    """Check the store at ``root``; with ``create``, initialise it if it has no store.json.

    A store written by a newer conda-store-plugin is refused before anything is
    written. Without ``create`` a missing store reads as an empty one.
    """
    layout = StoreLayout(Path(root))
    try:
        records.read("store", layout.store_file)
        return layout
    except FileNotFoundError:
        if not create:
            return layout
    layout.root.mkdir(parents=True, exist_ok=True)
    with env_lock(layout.store_lock):
        if not layout.store_file.exists():
            from .. import __version__

            records.write("store", StoreRecord(records.format_time(records.now_utc()),
                                               __version__), layout.store_file)
        else:
            records.read("store", layout.store_file)
    return layout


# --- environments -------------------------------------------------------------------


def read_env(layout: StoreLayout, ref: EnvRef) -> EnvironmentRecord:
    """The environment's record; ``UnknownEnvironmentError`` listing the known ones."""
    try:
        return records.read("environment", layout.env_file(ref))
    except (FileNotFoundError, NotADirectoryError):
        raise UnknownEnvironmentError(ref.key, [r.key for r in layout.environments()],
                                      layout.root) from None


def write_env(layout: StoreLayout, record: EnvironmentRecord) -> None:
    """Replace ``env.json`` atomically."""
    ref = EnvRef(record.namespace, record.name)
    records.write("environment", record, layout.env_file(ref))


def ensure_env(layout: StoreLayout, ref: EnvRef, link: Path | None) -> EnvironmentRecord:
    """Read the environment's record, creating it (with ``link``) if new.

    Call with the environment lock held.
    """
    try:
        return records.read("environment", layout.env_file(ref))
    except FileNotFoundError:
        now = records.format_time(records.now_utc())
        record = EnvironmentRecord(ref.namespace, ref.name, created_at=now,
                                   link=str(link) if link else None, updated_at=now)
        write_env(layout, record)
        return record


def lock_env(layout: StoreLayout, ref: EnvRef) -> Any:
    """Context manager holding the environment lock."""
    return env_lock(layout.env_lock(ref))


# --- builds -------------------------------------------------------------------------


def read_build(layout: StoreLayout, ref: EnvRef, number: int) -> BuildRecord:
    """One build's record; ``UnknownBuildError`` listing the known numbers."""
    try:
        return records.read("build", layout.build_file(ref, number))
    except (FileNotFoundError, NotADirectoryError):
        raise UnknownBuildError(ref.key, number, layout.build_numbers(ref)) from None


def write_build(layout: StoreLayout, record: BuildRecord) -> None:
    """Replace ``build.json`` atomically."""
    ref = EnvRef(record.namespace, record.environment)
    records.write("build", record, layout.build_file(ref, record.number))


@dataclass(frozen=True)
class Observed:
    """A build's status as a reader should report it."""

    status: str
    interrupted: bool = False
    error: str | None = None


def observe(layout: StoreLayout, ref: EnvRef, record: BuildRecord) -> Observed:
    """The status to report: an active build whose builder died is failed/interrupted."""
    if record.status not in ACTIVE_STATUSES:
        return Observed(record.status, error=record.error)
    if is_being_worked_on(layout, ref, record):
        return Observed(record.status)
    return Observed("failed", interrupted=True, error=INTERRUPTED)


def is_being_worked_on(layout: StoreLayout, ref: EnvRef, record: BuildRecord) -> bool:
    """Whether a live process holds the build's builder lock (builds or recreates it)."""
    alive = builder_alive(layout.builder_lock(ref, record.number))
    if alive is None:  # cannot probe the lock: fall back to the recorded pid
        return _pid_alive(record.builder.pid, record.builder.host)
    return alive


def _pid_alive(pid: int, host: str) -> bool:
    import socket

    from ..cache_lock import pid_alive

    if host != socket.gethostname():
        return True  # another machine: cannot tell, do not call it dead
    return pid_alive(pid)


def allocate(layout: StoreLayout, ref: EnvRef,
             make_record: Callable[[int], BuildRecord]) -> tuple[BuildRecord, BuilderLock]:
    """Give the next build number; return its queued record and its held builder lock.

    Call with the environment lock held.
    """
    builds = layout.builds_dir(ref)
    builds.mkdir(parents=True, exist_ok=True)
    numbers = layout.build_numbers(ref)
    number = (numbers[-1] if numbers else 0) + 1
    tmp = builds / f"{NEW_PREFIX}{uuid.uuid4().hex}"
    tmp.mkdir()
    lock = BuilderLock(tmp / layout.builder_lock(ref, number).name)
    lock.acquire()
    try:
        record = make_record(number)
        records.write("build", record, tmp / layout.build_file(ref, number).name)
        os.rename(tmp, layout.build_dir(ref, number))
    except BaseException:
        lock.release()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return record, lock


def discard(path: Path) -> None:
    """Remove a folder: first renamed aside (atomic: it is gone at once), then deleted."""
    if not path.exists() and not path.is_symlink():
        return
    trash = path.parent / f"{TRASH_PREFIX}{uuid.uuid4().hex}"
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def clean_up(layout: StoreLayout, ref: EnvRef) -> list[int]:
    """Repair what crashed verbs left in one environment; returns builds marked failed.

    Call with the environment lock held. Interrupted builds get status ``failed``
    (error "interrupted") and lose their half-made prefix; half-numbered ``.new-*``
    folders and ``.trash-*`` leftovers go; an archived or deleted build keeps no prefix
    unless it is being recreated.
    """
    builds = layout.builds_dir(ref)
    try:
        entries = [e.name for e in os.scandir(builds)]
    except FileNotFoundError:
        return []
    failed = []
    for name in entries:
        if name.startswith((NEW_PREFIX, TRASH_PREFIX)):
            shutil.rmtree(builds / name, ignore_errors=True)
            continue
        if not name.isdigit():
            continue
        number = int(name)
        folder = layout.build_dir(ref, number)
        for leftover in folder.glob(f"{TRASH_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)
        try:
            record = records.read("build", layout.build_file(ref, number))
        except FileNotFoundError:
            continue
        if record.status in ACTIVE_STATUSES:
            if is_being_worked_on(layout, ref, record):
                continue
            write_build(layout, record.with_(
                status="failed", error=INTERRUPTED,
                finished_at=records.format_time(records.now_utc())))
            discard(layout.prefix(ref, number))
            failed.append(number)
        elif record.status in ("archived", "deleted", "failed"):
            prefix = layout.prefix(ref, number)
            if prefix.exists() and not is_being_worked_on(layout, ref, record):
                discard(prefix)
            if record.status == "deleted":
                remove_metadata(folder)
    return sorted(failed)


def remove_metadata(folder: Path) -> None:
    """Remove everything in a build folder but its record and builder lock file."""
    from .layout import BUILD_FILE, BUILDER_LOCK

    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name in (BUILD_FILE, BUILDER_LOCK):
            continue
        if entry.is_dir(follow_symlinks=False):
            discard(Path(entry.path))
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
