"""``conda store restore``: recreate a store (or merge into one) from a backup.

1. **Verify** the whole backup (``verify``): a tampered, truncated or unsafe backup is
   refused before anything is written, anywhere.
2. **Plan**, environment by environment, against the target store: ``create`` (not
   there), else per ``on_conflict``: ``fail`` (the default: refuse the whole restore,
   naming every conflict), ``skip`` (keep the store's) or ``replace`` (the backup's
   replaces it, all builds). An envs-dir link path taken by something else is a
   conflict too. ``dry_run`` stops here and reports the plan.
3. **Seed** the package cache with the backup's package archives the planned
   environments need (``packages.CacheSeeder``; hashed again while copied).
4. **Import** each planned environment (``store.importer``): history as it was, the
   current build recreated from its lockfile and checked package by package against
   it. An environment that fails is left as it was before (and reported); the others
   are restored; ``RestoreFailedError`` then lists the failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store.layout import EnvRef, StoreLayout

CONFLICT_POLICIES = ("fail", "skip", "replace")


@dataclass(frozen=True)
class PlannedEnvironment:
    """What the restore does (or would do) with one environment of the backup."""

    environment: str
    action: str  # create, replace, skip, conflict
    current_build: int | None
    builds: int
    link: str | None = None
    reason: str | None = None  # why it conflicts

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"environment": self.environment, "action": self.action,
                "current_build": self.current_build, "builds": self.builds,
                "link": self.link, "reason": self.reason}


@dataclass(frozen=True)
class RestoreOutcome:
    """What ``restore`` did (or, with ``dry_run``, would do)."""

    source: Path
    store: Path
    dry_run: bool
    on_conflict: str
    backup: dict[str, Any]  # created_at, tool_version, with_packages, bytes
    plan: tuple[PlannedEnvironment, ...]
    imported: tuple[Any, ...] = ()  # store.importer.ImportOutcome
    failures: tuple[tuple[str, str], ...] = ()
    packages_seeded: int = 0
    packages_present: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # verify, seed, import (s)

    @property
    def verified_packages(self) -> int:
        """Packages installed and checked against the lockfiles, all environments."""
        return sum(o.recreated.packages for o in self.imported if o.recreated is not None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "source": str(self.source), "store": str(self.store), "dry_run": self.dry_run,
            "on_conflict": self.on_conflict, "backup": self.backup,
            "plan": [p.to_dict() for p in self.plan],
            "imported": [o.to_dict() for o in self.imported],
            "failures": [{"environment": e, "reason": r} for e, r in self.failures],
            "packages": {"seeded": self.packages_seeded,
                         "already_cached": self.packages_present},
            "verified_packages": self.verified_packages,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def restore(root: Path, source: Path, *, on_conflict: str = "fail", dry_run: bool = False,
            envs_dir: Path | None = None, pkgs_dir: Path | None = None,
            offline: bool = False,
            progress: Callable[[Any], None] | None = None) -> RestoreOutcome:
    """Restore the backup ``source`` into the store at ``root``; see the module doc.

    Raises:
        BackupFormatError, ArchiveIntegrityError, UnsafeArchiveMemberError: the backup
            was refused; nothing was written.
        RestoreConflictError: ``on_conflict="fail"`` and environments (or their link
            paths) are taken; nothing was written.
        RestoreFailedError: some environments could not be restored (the others were).
    """
    from ..exceptions import CondaStoreError, RestoreConflictError, RestoreFailedError
    from ..store.builds import open_store
    from .verify import verify

    if on_conflict not in CONFLICT_POLICIES:
        raise CondaStoreError(f"unknown conflict policy {on_conflict!r}",
                              hint=f"Use one of: {', '.join(CONFLICT_POLICIES)}.")
    start = time.perf_counter()
    verified = verify(source)
    timings = {"verify": time.perf_counter() - start}
    layout = open_store(root)  # a newer store is refused; nothing is created yet
    if envs_dir is None:
        from ..store.location import default_envs_dir

        envs_dir = default_envs_dir()
    plan = _plan(layout, verified, on_conflict, Path(envs_dir))
    manifest = verified.manifest
    summary = {"created_at": manifest.created_at, "tool_version": manifest.tool_version,
               "with_packages": manifest.with_packages, "bytes": verified.size,
               "environments": len(manifest.environments),
               "packages": len(manifest.packages)}
    outcome = RestoreOutcome(Path(source), layout.root, dry_run, on_conflict, summary,
                             tuple(plan), seconds=time.perf_counter() - start,
                             timings=timings)
    if dry_run:
        return outcome
    conflicts = [p for p in plan if p.action == "conflict"]
    if conflicts:
        raise RestoreConflictError([f"{p.environment} ({p.reason})" for p in conflicts],
                                   layout.root)
    todo = [p for p in plan if p.action in ("create", "replace")]
    if pkgs_dir is None and todo:
        from ..conda_dirs import default_pkgs_dir

        pkgs_dir = default_pkgs_dir()
    seed_start = time.perf_counter()
    seeded, present = (_seed(verified, todo, Path(pkgs_dir)) if todo and manifest.packages
                       else ((), ()))
    timings["seed"] = time.perf_counter() - seed_start
    import_start = time.perf_counter()
    layout = open_store(root, create=True)
    imported = []
    failures = []
    for item in todo:
        document = verified.documents[item.environment]
        ref = EnvRef(document.namespace, document.name)
        try:
            imported.append(_import(layout, document, ref, item, offline=offline,
                                    pkgs_dir=Path(pkgs_dir), progress=progress))
        except CondaStoreError as exc:
            failures.append((item.environment, exc.message))
    timings["import"] = time.perf_counter() - import_start
    outcome = RestoreOutcome(Path(source), layout.root, False, on_conflict, summary,
                             tuple(plan), tuple(imported), tuple(failures), len(seeded),
                             len(present), time.perf_counter() - start, timings)
    if failures:
        raise RestoreFailedError(failures, outcome.to_dict())
    return outcome


def _plan(layout: StoreLayout, verified: Any, on_conflict: str,
          envs_dir: Path) -> list[PlannedEnvironment]:
    from ..store.current import check_link_free, link_name
    from ..store.location import default_namespace

    own = default_namespace()
    plan = []
    for entry in verified.manifest.environments:
        ref = EnvRef(entry.namespace, entry.name)
        existing = _existing_link(layout, ref)
        if existing is False:
            link = envs_dir.absolute() / link_name(ref, own)
            action = "create"
        else:
            link = Path(existing) if existing else envs_dir.absolute() / link_name(ref, own)
            action = {"fail": "conflict", "skip": "skip", "replace": "replace"}[on_conflict]
        reason = "it exists in the store" if action == "conflict" else None
        if action in ("create", "replace"):
            try:
                check_link_free(layout, ref, link)
            except Exception as exc:  # noqa: BLE001 - EnvironmentLinkError: say why
                action = "conflict" if on_conflict != "skip" else "skip"
                reason = f"its link {link} is taken: {getattr(exc, 'message', exc)}"
        plan.append(PlannedEnvironment(entry.key, action, entry.current_build, entry.builds,
                                       str(link), reason))
    return plan


def _existing_link(layout: StoreLayout, ref: EnvRef) -> str | None | bool:
    """False: no such environment; else its link path (None if it has none)."""
    from ..store import records

    try:
        return records.read("environment", layout.env_file(ref)).link
    except (FileNotFoundError, NotADirectoryError):
        return False


def _seed(verified: Any, todo: list[PlannedEnvironment],
          pkgs_dir: Path) -> tuple[list[str], list[str]]:
    """Copy the package archives the planned environments need into ``pkgs_dir``."""
    from .packages import CacheSeeder
    from .verify import open_members, read_manifest

    locked = {}
    for item in todo:
        current = verified.documents[item.environment].current
        if current is not None and current.status == "completed":
            locked.update({p.sha256: p for p in current.locked_packages()})
    wanted = {p.member: p for p in verified.manifest.packages if p.sha256 in locked}
    if not wanted:
        return [], []
    path = verified.path
    with CacheSeeder(pkgs_dir, locked, source=path) as seeder, \
            open_members(path) as (reader, members):
        read_manifest(path, reader, members)  # the same bytes as verified: skip past it
        for member in members:
            pkg = wanted.get(member.name)
            if pkg is None or not seeder.needed(pkg.fn, pkg.sha256):
                continue  # the reader skips the member's bytes
            seeder.seed(pkg.fn, pkg.sha256, pkg.size,
                        lambda sink, m=member: reader.read(m, sink))
    return seeder.seeded, seeder.present


def _import(layout: StoreLayout, document: Any, ref: EnvRef, item: PlannedEnvironment, *,
            offline: bool, pkgs_dir: Path, progress: Callable[[Any], None] | None) -> Any:
    from ..store.importer import import_document

    return import_document(layout, document, ref, link=Path(item.link),
                           force=item.action == "replace", offline=offline,
                           pkgs_dir=pkgs_dir, progress=progress)
