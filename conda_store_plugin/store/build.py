"""``conda store build``: lock the spec, install a new numbered build, make it current.

1. Under the environment lock: create the environment if new, repair what crashed
   verbs left (``builds.clean_up``), check the envs-dir link is ours to take, and
   number the build (``queued``, builder lock held).
2. Without the environment lock (other builds of it proceed in parallel): ``building``;
   copy the spec; lock it, or reuse ``conda-store.lock.json`` beside the spec when it
   still matches the spec for this platform; install into ``builds/<N>/prefix``;
   mark the prefix frozen (CEP 22: conda refuses to change it); ``completed``.
3. Under the environment lock again: the build becomes current unless a build with a
   higher number is already current and completed; the envs-dir link is switched.

On any failure the build is recorded ``failed`` with the reason (its log has the
details), its half-made prefix is removed, and the previous current build stays.
"""

from __future__ import annotations

import datetime
import json
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..atomic import atomic_write_text
from ..credentials import redact
from . import records
from .builds import allocate, discard, ensure_env, lock_env, read_env, write_build
from .current import check_link_free, repair, set_current
from .diskusage import scan
from .layout import EnvRef, StoreLayout
from .records import Builder, BuildRecord, Size
from .usage import install_activation_hook, write_use

FROZEN_MESSAGE = ("This environment is a build of the conda-store-plugin store "
                  "({ref}@{number}); make a new build with `conda store build` instead "
                  "of changing it.")


@dataclass(frozen=True)
class BuildOutcome:
    """What ``build`` did."""

    record: BuildRecord
    became_current: bool
    previous_current: int | None
    link: str | None
    log: Path
    lockfile: Path

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "environment": self.record.env_key,
            "build": self.record.number,
            "status": self.record.status,
            "current": self.became_current,
            "previous_current": self.previous_current,
            "prefix": self.record.prefix,
            "link": self.link,
            "lockfile": str(self.lockfile),
            "lockfile_reused": self.record.lockfile_reused,
            "package_count": self.record.package_count,
            "size": self.record.size.to_dict() if self.record.size else None,
            "log": str(self.log),
        }


class BuildLog:
    """``build.log``: timestamped lines, appended and flushed as the build goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> BuildLog:
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def write(self, message: str) -> None:
        """Append one (possibly multi-line) message, credentials removed."""
        if self._file is None:
            return
        message = redact(message)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        for line in message.rstrip("\n").splitlines() or [""]:
            self._file.write(f"{stamp} {line}\n")
        self._file.flush()

    def progress(self, event: Any) -> None:
        """A ``fetch.ProgressEvent`` callback that logs every step but byte counts."""
        if getattr(event, "kind", None) == "bytes":
            return
        what = f" {event.package}" if getattr(event, "package", None) else ""
        extra = f" ({event.total} items)" if getattr(event, "total", 0) else ""
        self.write(f"install: {event.kind}{what}{extra}")


def run_build(
    layout: StoreLayout,
    ref: EnvRef,
    *,
    spec_path: Path,
    platform: str,
    link: Path,
    offline: bool = False,
    pkgs_dir: Path | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[Any], None] | None = None,
) -> BuildOutcome:
    """Build ``spec_path`` as a new build of ``ref``; see the module doc.

    Raises:
        BuildFailedError: the build failed (recorded as such); the previous current
            build stays current.
    """
    from ..exceptions import BuildFailedError

    with lock_env(layout, ref):
        existing = _existing_env(layout, ref)
        link = Path(existing.link) if existing is not None and existing.link else link
        check_link_free(layout, ref, link)
        ensure_env(layout, ref, link)
        repair(layout, ref)
        created = records.format_time(records.now_utc())
        record, builder_lock = allocate(layout, ref, lambda number: BuildRecord(
            namespace=ref.namespace, environment=ref.name, number=number, status="queued",
            platform=platform, prefix=str(layout.prefix(ref, number).absolute()),
            created_at=created, builder=Builder.this_process(),
            tool_version=_tool_version(), spec_source=str(spec_path)))
    number = record.number
    log_path = layout.log_file(ref, number)
    lock_path = layout.lock_file(ref, number)
    prefix = layout.prefix(ref, number)
    try:
        with BuildLog(log_path) as log:
            try:
                record = record.with_(status="building",
                                      started_at=records.format_time(records.now_utc()))
                write_build(layout, record)
                log.write(f"build {ref}@{number} for {platform} from {spec_path}")
                # The store (and so its backups) never keeps a token from the spec.
                atomic_write_text(layout.spec_file(ref, number),
                                  redact(spec_path.read_text(encoding="utf-8")))
                lock, reused = _lock(spec_path, lock_path, platform, cache_dir, log)
                record = record.with_(lockfile_reused=reused, input_hash=lock.input_hash,
                                      package_count=_package_count(lock, platform))
                write_build(layout, record)
                log.write(f"install {record.package_count} packages into {prefix}")

                def on_progress(event: Any) -> None:
                    log.progress(event)
                    if progress is not None:
                        progress(event)

                _install(lock_path, prefix, platform, offline, pkgs_dir, on_progress)
                mark_frozen(prefix, ref, number)
                install_activation_hook(prefix, layout.build_dir(ref, number))
                tree = scan(prefix)
                record = record.with_(
                    status="completed", size=Size(tree.apparent, tree.usage().disk),
                    finished_at=records.format_time(records.now_utc()))
                write_build(layout, record)
                log.write(f"completed: {tree.files} files, {tree.apparent} bytes")
            except BaseException as exc:
                reason = _reason(exc)
                log.write(f"FAILED: {reason}")
                log.write("".join(traceback.format_exception(exc)))
                _record_failure(layout, record, reason)
                if isinstance(exc, Exception):
                    raise BuildFailedError(ref.key, number, log_path, reason) from exc
                raise
        with lock_env(layout, ref):
            env = read_env(layout, ref)
            previous = env.current_build
            became = _should_become_current(layout, ref, previous, number)
            if became:
                env = set_current(layout, env, number)
                write_use(layout, ref, number, "build")
            with BuildLog(log_path) as log:
                log.write(f"current build: {env.current_build}")
    finally:
        builder_lock.release()
    return BuildOutcome(record, became, previous, env.link, log_path, lock_path)


def _existing_env(layout: StoreLayout, ref: EnvRef) -> Any:
    try:
        return records.read("environment", layout.env_file(ref))
    except FileNotFoundError:
        return None


def _tool_version() -> str:
    from .. import __version__

    return __version__


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:500]


def _record_failure(layout: StoreLayout, record: BuildRecord, reason: str) -> None:
    try:
        write_build(layout, record.with_(status="failed", error=reason,
                                         finished_at=records.format_time(records.now_utc())))
    finally:
        discard(Path(record.prefix))


def _should_become_current(layout: StoreLayout, ref: EnvRef, current: int | None,
                           number: int) -> bool:
    """A build becomes current unless a newer one is current already (parallel builds)."""
    if current is None or number > current:
        return True
    from .builds import read_build

    try:
        return read_build(layout, ref, current).status != "completed"
    except Exception:  # noqa: BLE001 - an unreadable current record is no reason to stay
        return True


def _lock(spec_path: Path, lock_path: Path, platform: str, cache_dir: Path | None,
          log: BuildLog) -> tuple[Any, bool]:
    """Reuse a fresh lockfile beside the spec, else lock into the build folder."""
    from .. import api
    from .. import lockfile as lockfile_io
    from ..exceptions import LockfileError, LockfileOutOfDateError
    from ..spec import load_spec

    sibling = spec_path.parent / lockfile_io.DEFAULT_FILENAME
    if sibling.is_file():
        try:
            result = api.lock(spec_path=spec_path, lockfile_path=sibling,
                              platforms=[platform], check=True)
            atomic_write_text(lock_path, result.lockfile.to_json())
            log.write(f"lock: reused {sibling} (it matches the spec for {platform})")
            return result.lockfile, True
        except (LockfileError, LockfileOutOfDateError) as exc:
            log.write(f"lock: not reusing {sibling}: {str(exc).splitlines()[0]}")
    spec = load_spec(spec_path)
    platforms = sorted({*spec.platforms, platform}) if spec.platforms else [platform]
    log.write(f"lock: solving for {', '.join(platforms)}")
    result = api.lock(spec_path=spec_path, lockfile_path=lock_path, platforms=platforms,
                      cache_dir=cache_dir)
    log.write(f"lock: wrote {lock_path}")
    return result.lockfile, False


def _package_count(lock: Any, platform: str) -> int | None:
    pl = lock.platforms.get(platform)
    return len(pl.packages) + len(pl.pypi) if pl is not None else None


def _install(lock_path: Path, prefix: Path, platform: str, offline: bool,
             pkgs_dir: Path | None, progress: Callable[[Any], None]) -> Any:
    from .. import api

    return api.install(lockfile_path=lock_path, prefix=prefix, platform=platform,
                       offline=offline, pkgs_dir=pkgs_dir, progress=progress)


def mark_frozen(prefix: Path, ref: EnvRef, number: int) -> None:
    """Write ``conda-meta/frozen`` (CEP 22) so conda refuses to modify the build."""
    message = FROZEN_MESSAGE.format(ref=ref.key, number=number)
    atomic_write_text(prefix / "conda-meta" / "frozen", json.dumps({"message": message}))
