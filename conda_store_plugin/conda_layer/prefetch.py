"""Make packages complete entries of the package cache, one entry lock at a time.

For each package conda is about to fetch (a ``PackageRecord`` from a solve or a
lockfile, or a ``MatchSpec`` of an explicit URL), in the first writable cache and under
that entry's lock:

1. nothing, if any cache already has it extracted, complete, with a record conda will
   accept (the same test as ``ProgressiveFetchExtract.make_actions_for_record``, plus
   "every file of ``paths.json`` is there");
2. else take the archive: the one already in the cache if its size and checksum are
   right, else a copy from another cache, else a download with conda's own
   ``download()`` (conda's session: proxies, auth plugins, SSL settings; size and
   sha256/md5 verified) into ``<pkgs>/.conda-store/tmp``;
3. extract it there with the extractor conda would use, write
   ``info/repodata_record.json`` as conda does, append the URL to ``urls.txt``, rename
   the folder and then the archive into place (a scan that saw the archive alone would
   extract it and write a record of its own). A cached archive that fails to extract
   is replaced by a fresh download once.

A package whose entry lock another process holds is put back in the queue, so the
workers go on with other packages and come back to it once it is done (then step 1
finds it complete): every package is downloaded once per machine, different packages
in parallel. A holder never waits for another lock, so there is no lock cycle.

Failures are collected and raised together like conda does (``CondaMultiError`` of
conda's own exceptions, e.g. ``CondaHTTPError``, ``ChecksumMismatchError``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, CancelledError, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BUSY = object()
_RETRY_S = 0.1  # seconds before trying an entry another process holds again


@dataclass
class Job:
    """One package to put into the cache."""

    record: Any  # PackageRecord or MatchSpec
    url: str
    fn: str
    dist: str
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    busy_since: float | None = None
    reported: bool = False
    found: tuple[str, Any] | None = None  # (pkgs_dir, PackageCacheRecord) once in a cache


def jobs_for(records: Iterable[Any]) -> list[Job]:
    """Jobs for the records that have a URL, largest first (like conda)."""
    from conda.common.path import strip_pkg_extension
    from conda.models.match_spec import MatchSpec

    jobs = []
    for record in records:
        if isinstance(record, MatchSpec):
            get = record.get_raw_value
            url, md5, sha256, size = get("url"), get("md5"), get("sha256"), None
        else:
            url, md5, sha256 = record.get("url"), record.get("md5"), record.get("sha256")
            size = record.get("size")
        if not url:
            continue  # conda raises its own error for it
        fn = os.path.basename(str(url).split("#")[0]) or record.fn
        dist = strip_pkg_extension(fn)[0]
        jobs.append(Job(record, str(url), fn, dist, md5 or None, sha256 or None,
                        int(size) if size else None))
    return sorted(jobs, key=lambda j: j.size or 0, reverse=True)


# -- does conda already have it? --------------------------------------------------------


def cached_record(folder: Path, fn: str) -> Any:
    """The ``PackageCacheRecord`` of an extracted, complete folder, or None."""
    from conda.common.serialize import json
    from conda.models.records import PackageCacheRecord

    from ..cache_entries import is_complete

    try:
        with open(folder / "info" / "repodata_record.json", encoding="utf-8") as f:
            data = json.load(f)
        record = PackageCacheRecord.from_objects(
            data, package_tarball_full_path=str(folder.parent / fn),
            extracted_package_dir=str(folder))
    except Exception:  # unreadable, half-written or invalid: not usable
        return None
    return record if is_complete(folder) else None


def record_matches(job: Job, pcrec: Any) -> bool:
    """The test of conda's ``make_actions_for_record``: a cache record is the package."""
    from conda.models.match_spec import MatchSpec

    if not pcrec.get("url"):
        return False
    if isinstance(job.record, MatchSpec):
        return bool(job.record.match(pcrec))
    if pcrec != job.record:
        return False
    size, md5 = job.record.get("size"), job.record.get("md5")
    sizes = (size, job.record.get("legacy_bz2_size"))
    md5s = (md5, job.record.get("legacy_bz2_md5"))
    if size is not None and pcrec.get("size") is not None and pcrec.size not in sizes:
        return False
    return not (md5 is not None and pcrec.get("md5") is not None and pcrec.md5 not in md5s)


def done_anywhere(job: Job) -> bool:
    """Some package cache holds the package extracted, complete and matching.

    Remembers where in ``job.found``.
    """
    from conda.base.context import context

    for pkgs_dir in context.pkgs_dirs:
        pcrec = cached_record(Path(pkgs_dir) / job.dist, job.fn)
        if pcrec is not None and record_matches(job, pcrec):
            job.found = (pkgs_dir, pcrec)
            return True
    return False


# -- making entries ---------------------------------------------------------------------


class _Corrupt(Exception):
    """The archive cannot be extracted (or has no readable ``info/index.json``)."""


class Filler:
    """Fills one package cache; see the module docstring."""

    def __init__(self, pkgs_dir: Path, *, timeout: float,
                 on_wait: Callable[[Any], None] | None = None,
                 progress: Any = None, workers: int = 5) -> None:
        self.pkgs_dir = Path(pkgs_dir)
        self.timeout = timeout
        self.on_wait = on_wait
        self.progress = progress
        self.workers = max(1, workers)
        self.new_records: list[Any] = []
        self.cancelled = False  # set on the first failure or interrupt: stop downloads

    # scheduling

    def run(self, jobs: list[Job]) -> list[Any]:
        """Make every job's entry; returns the new ``PackageCacheRecord`` s."""
        from conda import CondaMultiError

        errors: list[BaseException] = []
        pending = deque(jobs)
        later: list[tuple[float, Job]] = []  # busy elsewhere: retry at that time
        running: dict[Any, Job] = {}
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="conda-store-fetch")
        try:
            while pending or running or later:
                now = time.monotonic()
                ready = [item for item in later if item[0] <= now]
                for item in ready:
                    later.remove(item)
                    pending.append(item[1])
                while pending and len(running) < self.workers:
                    job = pending.popleft()
                    running[pool.submit(self._attempt, job)] = job
                next_retry = min((t for t, _ in later), default=None)
                if not running:
                    time.sleep(max(next_retry - now, 0.0) if next_retry else 0.0)
                    continue
                timeout = None if next_retry is None else max(next_retry - now, 0.0)
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    try:
                        outcome = future.result()
                    except Exception as exc:  # noqa: BLE001 - collected, raised together
                        outcome = exc
                    if outcome is _BUSY:
                        outcome = self._still_busy(job)
                        if outcome is None:
                            later.append((time.monotonic() + _RETRY_S, job))
                    if isinstance(outcome, BaseException):
                        # Like conda: the first failure stops the rest (running ones end).
                        if not isinstance(outcome, CancelledError):
                            errors.append(outcome)
                        self.cancelled = True
                        pending.clear()
                        later.clear()
                    elif outcome is not None:
                        self.new_records.append(outcome)
        except BaseException:
            self.cancelled = True
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if errors:
            from ..exceptions import CondaStoreError
            from .errors import to_conda_error

            raise CondaMultiError([to_conda_error(e) if isinstance(e, CondaStoreError) else e
                                   for e in errors])
        return self.new_records

    def _still_busy(self, job: Job) -> BaseException | None:
        from ..cache_lock import LockWait, entry_holders
        from ..exceptions import CacheLockTimeoutError

        now = time.monotonic()
        if job.busy_since is None:
            job.busy_since = now
        waited = now - job.busy_since
        if self.on_wait is not None and not job.reported and waited > 3.0:
            job.reported = True
            with contextlib.suppress(Exception):
                self.on_wait(LockWait(self.pkgs_dir, True, waited,
                                      entry_holders(self.pkgs_dir, job.dist), entry=job.dist))
        if self.timeout >= 0 and waited > self.timeout:
            holders = [h.describe() for h in entry_holders(self.pkgs_dir, job.dist)]
            return CacheLockTimeoutError(f"{job.dist} in {self.pkgs_dir}", self.timeout,
                                         holders, exclusive=True)
        return None

    def _attempt(self, job: Job) -> Any:
        from ..cache_lock import try_entry

        if self.cancelled:
            raise CancelledError()
        lock = try_entry(self.pkgs_dir, job.dist)
        if lock is None:
            return _BUSY
        try:
            return self._make_entry(job)
        finally:
            lock.release()

    # one entry, under its lock

    def _make_entry(self, job: Job) -> Any:
        from conda.models.records import PackageCacheRecord

        from ..cache_entries import (
            append_url,
            clear_leftovers,
            new_staging,
            publish_file,
            replace_dir,
        )

        if done_anywhere(job):
            return None
        archive = self.pkgs_dir / job.fn
        folder = self.pkgs_dir / job.dist
        clear_leftovers(self.pkgs_dir, dist=job.dist)  # of killed processes, for this entry
        staging = new_staging(self.pkgs_dir, job.dist)
        bar = None
        try:
            fresh = False
            if archive.is_file() and self._archive_ok(archive, job):
                source = archive
            else:
                bar = self._bar(job)
                source = self._obtain(job, staging, bar)
                if source is None:
                    return None  # offline and nowhere to copy from: conda reports it
                fresh = True
            try:
                record = self._extract(job, source, staging)
            except _Corrupt as exc:
                if fresh:
                    from ..exceptions import PackageCacheEntryError

                    raise PackageCacheEntryError(job.dist, job.url, str(exc)) from exc
                archive.unlink(missing_ok=True)  # a damaged leftover: fetch it again
                bar = bar or self._bar(job)
                source = self._obtain(job, staging, bar)
                if source is None:
                    return None
                try:
                    record = self._extract(job, source, staging)
                except _Corrupt as exc2:
                    from ..exceptions import PackageCacheEntryError

                    raise PackageCacheEntryError(job.dist, job.url, str(exc2)) from exc2
            # Order matters to a concurrent cache scan: an archive without its folder
            # makes conda extract it and write a record from urls.txt. So: URL first,
            # then the complete folder (record inside), then the archive.
            append_url(self.pkgs_dir, job.url)
            replace_dir(staging / "pkg", folder)
            if source != archive:
                publish_file(source, archive)
            if bar is not None:
                bar.update_to(1.0)
                bar.finish()
            pcrec = PackageCacheRecord.from_objects(
                record, package_tarball_full_path=str(archive),
                extracted_package_dir=str(folder))
            job.found = (str(self.pkgs_dir), pcrec)
            return pcrec
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _bar(self, job: Job) -> Any:
        return self.progress(job.record) if self.progress is not None else None

    def _archive_ok(self, archive: Path, job: Job) -> bool:
        """The cached archive has the expected size and checksum (when known)."""
        from ..cache_entries import file_digest

        try:
            if job.size is not None and archive.stat().st_size != job.size:
                return False
        except OSError:
            return False
        if job.sha256:
            return file_digest(archive, "sha256") == job.sha256
        if job.md5:
            return file_digest(archive, "md5") == job.md5
        return True

    def _obtain(self, job: Job, staging: Path, bar: Any) -> Path | None:
        """The archive, complete, inside ``staging`` (or the cached one); None offline."""
        from conda.base.context import context
        from conda.common.path import url_to_path

        target = staging / job.fn
        if job.url.startswith("file:/"):
            source = Path(url_to_path(job.url))
            if os.path.realpath(source) == os.path.realpath(self.pkgs_dir / job.fn):
                return self.pkgs_dir / job.fn
            shutil.copyfile(source, target)  # conda copies local files unverified, too
            return target
        for pkgs_dir in context.pkgs_dirs:
            candidate = Path(pkgs_dir) / job.fn
            if os.path.realpath(pkgs_dir) == os.path.realpath(self.pkgs_dir):
                continue
            if candidate.is_file() and (job.size or job.sha256 or job.md5) \
                    and self._archive_ok(candidate, job):
                shutil.copyfile(candidate, target)
                return target
        if context.offline:
            return None
        from conda.gateways.connection.download import download

        def callback(fraction: float) -> None:
            if self.cancelled:
                raise CancelledError()
            if bar is not None:
                bar.update_to(fraction)

        download(job.url, str(target), md5=job.md5, sha256=job.sha256, size=job.size,
                 progress_update_callback=callback)
        return target

    def _extract(self, job: Job, source: Path, staging: Path) -> Any:
        """Extract into ``staging/pkg`` and write its ``repodata_record.json``."""
        from conda.gateways.disk.create import write_as_json_to_file
        from conda.gateways.disk.read import read_index_json

        from .extractor import underlying

        dest = staging / "pkg"
        if dest.exists():
            shutil.rmtree(dest)
        try:
            underlying(source)(str(source), str(dest))
            raw_index = read_index_json(str(dest))
        except Exception as exc:  # noqa: BLE001 - any failure means a damaged archive
            raise _Corrupt(f"{type(exc).__name__}: {exc}") from exc
        record = self._repodata_record(job, source, raw_index)
        write_as_json_to_file(str(dest / "info" / "repodata_record.json"), record)
        return record

    def _repodata_record(self, job: Job, source: Path, raw_index: Any) -> Any:
        """``info/repodata_record.json`` exactly as ``ExtractPackageAction`` writes it."""
        from conda.base.context import context
        from conda.common.url import has_platform
        from conda.gateways.disk.read import compute_sum
        from conda.models.channel import Channel
        from conda.models.match_spec import MatchSpec
        from conda.models.records import PackageRecord

        if not isinstance(job.record, MatchSpec):
            return PackageRecord.from_objects(job.record, raw_index)
        url = job.url
        channel = Channel(url) if has_platform(url, context.known_subdirs) else Channel(None)
        return PackageRecord.from_objects(
            raw_index, url=url, channel=channel, fn=os.path.basename(url),
            sha256=job.sha256 or compute_sum(str(source), "sha256"),
            size=os.path.getsize(source),
            md5=job.md5 or compute_sum(str(source), "md5"))

