"""``conda store recreate ENV@BUILD``: re-install an archived build from its lockfile.

The build is installed at its original prefix (the path its files were made for),
from its own lockfile: the same URLs and sha256s, no solve. With ``offline`` only the
package cache is used. Afterwards the installed records (``conda-meta/*.json``) are
compared with the lock, package by package (URL and sha256); any difference removes
the new prefix and the build stays archived. Only then is it marked ``completed``.

While it is re-installed the record keeps saying ``archived`` and the builder lock is
held: a crash leaves an archived build (the half-made prefix is removed by the next
verb that changes the environment), never a ``completed`` one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import records
from .build import BuildLog, mark_frozen
from .builds import discard, lock_env, observe, read_build, read_env, write_build
from .current import sync_link
from .diskusage import scan
from .layout import EnvRef, StoreLayout
from .locks import BuilderLock
from .records import BuildRecord, Size
from .usage import install_activation_hook, write_use


@dataclass(frozen=True)
class RecreateOutcome:
    """What ``recreate`` did."""

    record: BuildRecord
    packages: int
    current: bool
    install: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "environment": self.record.env_key, "build": self.record.number,
            "status": self.record.status, "prefix": self.record.prefix,
            "packages": self.packages, "current": self.current,
            "size": self.record.size.to_dict() if self.record.size else None,
            "install": self.install.to_dict() if hasattr(self.install, "to_dict") else None,
        }


def run_recreate(layout: StoreLayout, ref: EnvRef, number: int, *, offline: bool = False,
                 pkgs_dir: Path | None = None,
                 progress: Callable[[Any], None] | None = None) -> RecreateOutcome:
    """Re-install archived build ``number`` of ``ref``; see the module doc."""
    from filelock import Timeout

    from ..exceptions import BuildInProgressError, BuildStateError

    with lock_env(layout, ref):
        record = read_build(layout, ref, number)
        observed = observe(layout, ref, record)
        if observed.status in ("queued", "building"):
            raise BuildInProgressError(ref.key, number, "recreate")
        if observed.status != "archived":
            hint = ("It is installed already." if observed.status == "completed" else
                    "Only archived builds can be recreated; make a new build with "
                    "`conda store build`.")
            raise BuildStateError(ref.key, number, observed.status, "recreate", hint=hint)
        lock, packages = _read_lock(layout, ref, record)
        builder_lock = BuilderLock(layout.builder_lock(ref, number))
        try:
            builder_lock.acquire()
        except Timeout:
            raise BuildInProgressError(ref.key, number, "recreate") from None
    try:
        prefix = Path(record.prefix)
        discard(prefix)  # what an interrupted recreate left
        with BuildLog(layout.log_file(ref, number)) as log:
            log.write(f"recreate {ref}@{number} from {layout.lock_file(ref, number)}"
                      f"{' (offline)' if offline else ''}")
            try:
                result = _install(layout.lock_file(ref, number), prefix, record.platform,
                                  offline, pkgs_dir, log, progress)
                problems = compare_with_lock(prefix, packages)
                if problems:
                    from ..exceptions import RecreateMismatchError

                    raise RecreateMismatchError(ref.key, number, problems)
                mark_frozen(prefix, ref, number)
                install_activation_hook(prefix, layout.build_dir(ref, number))
            except BaseException as exc:
                log.write(f"recreate FAILED: {exc}")
                discard(prefix)
                raise
            tree = scan(prefix)
            log.write(f"recreated: {len(packages)} packages, {tree.apparent} bytes")
        with lock_env(layout, ref):
            record = read_build(layout, ref, number).with_(
                status="completed", recreated_at=records.format_time(records.now_utc()),
                size=Size(tree.apparent, tree.usage().disk), bytes_freed=None)
            write_build(layout, record)
            env = read_env(layout, ref)
            current = env.current_build == number
            if current:
                sync_link(layout, env)
                write_use(layout, ref, number, "recreate")
    finally:
        builder_lock.release()
    return RecreateOutcome(record, len(packages), current, result)


def _read_lock(layout: StoreLayout, ref: EnvRef, record: BuildRecord) -> tuple[Any, list]:
    from .. import lockfile as lockfile_io
    from ..exceptions import CorruptBuildLockfileError, LockfileError

    path = layout.lock_file(ref, record.number)
    try:
        lock = lockfile_io.read(path)
    except LockfileError as exc:
        raise CorruptBuildLockfileError(ref.key, record.number, path,
                                        exc.message.split(": ", 1)[-1]) from exc
    platform = lock.platforms.get(record.platform)
    if platform is None:
        raise CorruptBuildLockfileError(ref.key, record.number, path,
                                        f"no packages for {record.platform}")
    return lock, list(platform.packages)


def _install(lock_path: Path, prefix: Path, platform: str, offline: bool,
             pkgs_dir: Path | None, log: BuildLog,
             progress: Callable[[Any], None] | None) -> Any:
    from .. import api

    def on_progress(event: Any) -> None:
        log.progress(event)
        if progress is not None:
            progress(event)

    return api.install(lockfile_path=lock_path, prefix=prefix, platform=platform,
                       offline=offline, pkgs_dir=pkgs_dir, progress=on_progress)


def installed_artifacts(prefix: Path) -> dict[str, tuple[str | None, str | None]]:
    """``name -> (url, sha256)`` from the prefix's ``conda-meta/*.json``."""
    out = {}
    for path in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "name" in data:
            out[data["name"]] = (data.get("url"), data.get("sha256"))
    return out


def compare_with_lock(prefix: Path, packages: list) -> list[str]:
    """Differences between what is installed and the locked packages (empty: same)."""
    installed = installed_artifacts(prefix)
    problems = []
    for pkg in packages:
        got = installed.pop(pkg.name, None)
        if got is None:
            problems.append(f"{pkg.name} is missing")
        elif got != (pkg.url, pkg.sha256):
            problems.append(f"{pkg.name} is {got[0]} ({got[1]}), locked {pkg.url} "
                            f"({pkg.sha256})")
    problems.extend(f"{name} is not in the lock" for name in sorted(installed))
    return problems
