"""Import a transfer document as an environment of the store, its history intact.

Every build keeps its number, spec, lockfile, log, timestamps and status, except that
a ``completed`` build comes in ``archived`` (its files are not in the document); the
current build is then recreated from its lockfile (``recreate``: same URLs and sha256s,
checked package by package against the lock) and becomes ``completed`` again, with the
envs-dir link pointing at it. A current build locked for another platform than this
machine's stays archived (``conda store recreate`` on a matching machine brings it).

All or nothing:

1. The records and files are written into a hidden staging folder
   ``<store>/<ns>/.import-<id>/`` (invisible to every verb; its lock tells a later
   import whether it is a crash leftover to sweep).
2. Under the environment lock they are moved into place, ``env.json`` last, so no
   reader sees half an environment. An existing environment is refused unless
   ``force``; with it, the old one (no build of it may be in progress) is moved aside
   into ``<env>/.replaced-<id>/`` and its link removed.
3. The current build is recreated (outside the lock, as ``recreate`` does).
4. On any failure the imported environment is removed and the replaced one (if any)
   moved back, link included; on success the replaced one is deleted.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from . import records
from .builds import discard, is_being_worked_on, lock_env, observe
from .current import check_link_free, remove_link, sync_link
from .layout import (
    BUILD_FILE,
    BUILDS_DIR,
    ENV_FILE,
    LOCK_FILE,
    LOG_FILE,
    SPEC_FILE,
    USED_FILE,
    EnvRef,
    StoreLayout,
)
from .locks import BuilderLock, builder_alive
from .records import ACTIVE_STATUSES, Builder, BuildRecord, EnvironmentRecord

STAGING_PREFIX = ".import-"
REPLACED_PREFIX = ".replaced-"
_HOLD_LOCK = ".import.lock"


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one environment did."""

    environment: str
    builds: int
    current_build: int | None
    replaced: bool
    link: str | None
    recreated: Any = None  # recreate.RecreateOutcome, when the current build was recreated
    not_recreated: str | None = None  # why the current build stays archived

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "environment": self.environment, "builds": self.builds,
            "current_build": self.current_build, "replaced": self.replaced,
            "link": self.link,
            "recreated": self.recreated.to_dict() if self.recreated is not None else None,
            "packages": self.recreated.packages if self.recreated is not None else 0,
            "not_recreated": self.not_recreated,
        }


def import_document(layout: StoreLayout, document: Any, ref: EnvRef, *, link: Path,
                    force: bool = False, offline: bool = False,
                    pkgs_dir: Path | None = None,
                    progress: Callable[[Any], None] | None = None) -> ImportOutcome:
    """Import ``document`` (a ``transfer.TransferDocument``) as ``ref``; see the module doc.

    ``link`` is used for a new environment; a replaced one keeps its own link path.

    Raises:
        EnvironmentExistsError: ``ref`` exists and ``force`` is false.
        EnvironmentLinkError: the link path is taken by something else.
        BuildInProgressError: ``force``, and a build of the old environment is running.
        RecreateMismatchError, InstallError...: recreating the current build failed
            (the store is as it was).
    """
    from ..exceptions import EnvironmentExistsError
    from ..platforms import current_platform

    existing = _read_env(layout, ref)
    if (existing is not None or layout.builds_dir(ref).exists()) and not force:
        raise EnvironmentExistsError(ref.key, layout.root)
    if existing is not None and existing.link:
        link = Path(existing.link)
    check_link_free(layout, ref, link)

    current = document.current
    recreate = current is not None and current.status == "completed"
    not_recreated = None
    if recreate and current.platform != current_platform():
        recreate = False
        not_recreated = (f"it is locked for {current.platform}, this machine is "
                         f"{current_platform()}")
    elif current is not None and current.status == "archived":
        not_recreated = "it was archived when exported"

    ns_dir = layout.root / ref.namespace
    created_ns = not ns_dir.exists()
    sweep(ns_dir, STAGING_PREFIX)
    staging: _HeldDir | None = None
    replaced: _HeldDir | None = None
    swapped = False
    try:
        staging = _HeldDir(ns_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}")
        _stage(layout, document, ref, staging.path, link)
        with lock_env(layout, ref):
            existing = _read_env(layout, ref)
            if (existing is not None or layout.builds_dir(ref).exists()) and not force:
                raise EnvironmentExistsError(ref.key, layout.root)
            sweep(layout.env_dir(ref), REPLACED_PREFIX)
            if existing is not None:
                replaced = _move_aside(layout, ref, existing)
            else:  # builds without env.json (a crash between the two renames): --force
                discard(layout.builds_dir(ref))
            os.rename(staging.path / BUILDS_DIR, layout.builds_dir(ref))
            os.rename(staging.path / ENV_FILE, layout.env_file(ref))  # now visible
            swapped = True
        outcome = None
        if recreate:
            from .recreate import run_recreate

            outcome = run_recreate(layout, ref, current.number, offline=offline,
                                   pkgs_dir=pkgs_dir, progress=progress)
    except BaseException:
        if swapped or replaced is not None:
            _roll_back(layout, ref, replaced)
        if staging is not None:
            staging.remove()
        if replaced is None:  # a new environment: nothing of it stays
            _remove_if_bare(layout.env_dir(ref))
            if created_ns:
                _rmdir_quietly(ns_dir)
        raise
    staging.remove()
    if replaced is not None:
        replaced.remove()
    return ImportOutcome(ref.key, len(document.builds), document.current_build,
                         replaced is not None, str(link), outcome, not_recreated)


# --- staging -------------------------------------------------------------------------


def _stage(layout: StoreLayout, document: Any, ref: EnvRef, folder: Path,
           link: Path) -> None:
    """Write env.json and every build folder of the import into ``folder``."""
    from .. import lockfile as lockfile_io
    from ..credentials import redact

    now = records.format_time(records.now_utc())
    for build in document.builds:
        final_prefix = layout.prefix(ref, build.number).absolute()
        number_dir = folder / BUILDS_DIR / str(build.number)
        number_dir.mkdir(parents=True)
        record = _record(document, build, ref, final_prefix, now)
        records.write("build", record, number_dir / BUILD_FILE)
        if build.status == "deleted":
            continue
        if build.spec is not None:
            atomic_write_text(number_dir / SPEC_FILE, redact(build.spec))
        if build.lockfile is not None:
            lock = lockfile_io.Lockfile.from_dict(build.lockfile)
            lockfile_io.write(lock, number_dir / LOCK_FILE)
        if build.log is not None:
            atomic_write_text(number_dir / LOG_FILE, redact(build.log))
        if build.last_used is not None:
            records.write("usage", build.last_used, number_dir / USED_FILE)
    env = EnvironmentRecord(ref.namespace, ref.name,
                            created_at=document.created_at or now,
                            current_build=document.current_build, link=str(link),
                            updated_at=document.updated_at or now)
    records.write("environment", env, folder / ENV_FILE)


def _record(document: Any, build: Any, ref: EnvRef, prefix: Path, now: str) -> BuildRecord:
    status = build.status
    archived_at = build.archived_at
    if status == "completed":  # its files stay behind: archived (the current one is
        status = "archived"    # recreated next)
        archived_at = now
    return BuildRecord(
        namespace=ref.namespace, environment=ref.name, number=build.number, status=status,
        platform=build.platform, prefix=str(prefix),
        created_at=build.created_at or now, builder=Builder.from_dict(build.builder),
        tool_version=build.tool_version, started_at=build.started_at,
        finished_at=build.finished_at, archived_at=archived_at,
        deleted_at=build.deleted_at, recreated_at=build.recreated_at,
        spec_source=build.spec_source, lockfile_reused=build.lockfile_reused,
        input_hash=build.input_hash, package_count=build.package_count,
        error=build.error)


# --- swapping, rolling back ----------------------------------------------------------


def _read_env(layout: StoreLayout, ref: EnvRef) -> EnvironmentRecord | None:
    try:
        return records.read("environment", layout.env_file(ref))
    except (FileNotFoundError, NotADirectoryError):
        return None


def _move_aside(layout: StoreLayout, ref: EnvRef, env: EnvironmentRecord) -> _HeldDir:
    """Move the old environment's env.json and builds into ``.replaced-*`` (env lock held)."""
    from ..exceptions import BuildInProgressError

    for number in layout.build_numbers(ref):
        try:
            record = records.read("build", layout.build_file(ref, number))
        except FileNotFoundError:
            continue
        if observe(layout, ref, record).status in ACTIVE_STATUSES or (
                record.status == "archived" and is_being_worked_on(layout, ref, record)):
            raise BuildInProgressError(ref.key, number, "replace")
    held = _HeldDir(layout.env_dir(ref) / f"{REPLACED_PREFIX}{uuid.uuid4().hex}", env)
    if env.link:
        remove_link(layout, ref, Path(env.link))  # no link into a moved prefix
    os.rename(layout.env_file(ref), held.path / ENV_FILE)
    try:
        if layout.builds_dir(ref).exists():
            os.rename(layout.builds_dir(ref), held.path / BUILDS_DIR)
    except BaseException:
        os.rename(held.path / ENV_FILE, layout.env_file(ref))
        sync_link(layout, env)
        held.remove()
        raise
    return held


def _roll_back(layout: StoreLayout, ref: EnvRef, replaced: _HeldDir | None) -> None:
    """Remove the imported environment; put the replaced one (and its link) back."""
    with lock_env(layout, ref):
        try:
            os.unlink(layout.env_file(ref))
        except FileNotFoundError:
            pass
        discard(layout.builds_dir(ref))
        if replaced is None:
            return
        if (replaced.path / BUILDS_DIR).exists():
            os.rename(replaced.path / BUILDS_DIR, layout.builds_dir(ref))
        os.rename(replaced.path / ENV_FILE, layout.env_file(ref))
        if replaced.env is not None:
            sync_link(layout, replaced.env)
    replaced.remove()


class _HeldDir:
    """A folder made now and locked for as long as this import works on it."""

    def __init__(self, path: Path, env: EnvironmentRecord | None = None) -> None:
        self.path = path
        self.env = env  # the environment moved into it (``.replaced-*``)
        path.mkdir(parents=True)
        self._lock = BuilderLock(path / _HOLD_LOCK)
        self._lock.acquire()

    def remove(self) -> None:
        """Delete the folder and let go of it (idempotent)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock.release()


def sweep(folder: Path, prefix: str) -> list[Path]:
    """Delete ``prefix*`` folders in ``folder`` left by imports that died; return them."""
    removed = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(prefix)]
    except FileNotFoundError:
        return removed
    for entry in entries:
        path = Path(entry.path)
        if builder_alive(path / _HOLD_LOCK):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _remove_if_bare(env_dir: Path) -> None:
    """Remove an environment folder holding nothing but its lock file (a failed import)."""
    from .layout import ENV_LOCK

    try:
        names = os.listdir(env_dir)
    except FileNotFoundError:
        return
    if set(names) <= {ENV_LOCK}:
        for name in names:
            try:
                os.unlink(env_dir / name)
            except FileNotFoundError:
                pass
        _rmdir_quietly(env_dir)


def _rmdir_quietly(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
