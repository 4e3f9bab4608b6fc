"""Fill a package cache with locked packages, downloads and extractions overlapping.

Downloads run concurrently (``MAX_DOWNLOADS``), largest first: the biggest archive at
one connection's speed is what a cold install waits for.

Installs (``keep_archives=False``) stream each HTTP download straight into its
extraction (py-rattler's ``download_and_extract``, in Rust, without the GIL): the
package is unpacked into a staging folder in ``<pkgs>/.conda-store/tmp`` while its
sha256 is computed, and only when that is the locked one is the folder (with conda's
``repodata_record.json``) renamed into the cache. No archive is kept, as after ``conda
clean --tarballs``. With ``keep_archives=True`` (backups need the archives) the file
is downloaded to ``<pkgs>/.conda-store/tmp/*.partial.<ext>`` first, then extracted the
same way, and archive and folder move into the cache together. Either way a mismatch
raises before anything is linked, nothing unverified enters the cache, and no Python
code touches the downloaded bytes. ``file://`` URLs are copied, then extracted.

Complete entries are recognised without locks in one pass. Everything else is handled
under its inter-process entry lock (``cache_lock.hold_entry``), so installs sharing a
cache download and extract each package once: the second one waits, then finds the
entry done. A package that needs a download takes a download slot first and its entry
lock second, so queued packages hold no locks. HTTP(S) goes through py-rattler's
client (retries, authentication, mirrors), set up from the configuration in a worker
thread on the first download.

Progress is reported through a callback (:class:`ProgressEvent`), always from the thread
that runs the event loop; core never prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache_entries import append_urls, new_partial, new_staging
from .cache_lock import hold_entry
from .exceptions import ChecksumMismatchError
from .install_errors import PackageDownloadError, PackagesNotCachedError
from .lockfile import LockedPackage
from .pkgs_cache import (
    CacheEntry,
    EntryState,
    adopt,
    complete_extracted,
    entry_state,
    entry_state_and_record,
    extract_archive,
    file_sha256,
)

#: Concurrent downloads (connections) at most; pixi uses 50. Fewer leave a cold install
#: waiting on request latency for its hundreds of small packages.
MAX_DOWNLOADS = 48
_TICK = 0.1  # seconds between byte-count progress events


@dataclass(frozen=True)
class ProgressEvent:
    """One step of an install, for a progress display.

    ``kind`` is one of: ``fetch`` (start: ``total`` packages to check, ``total_bytes`` to
    download at most), ``cached`` (in the cache; ``total_bytes``: how much less there is to
    download than ``fetch`` said), ``download`` (started),
    ``bytes`` (``done_bytes`` of ``total_bytes`` downloaded so far, all packages),
    ``downloaded``, ``extracted``, ``link`` (linking ``total`` changes),
    ``linked``, ``done``.
    """

    kind: str
    package: str | None = None
    done_bytes: int = 0
    total_bytes: int = 0
    total: int = 0


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class FetchReport:
    """What filling the cache did."""

    reused: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    extracted: list[str] = field(default_factory=list)
    # dist name -> the conda record of a reused entry, as read while checking it
    records: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    downloaded_bytes: int = 0


def offline_missing(pkgs_dir: Path, packages: Sequence[LockedPackage]) -> list[str]:
    """Dist names of ``packages`` the cache cannot provide without the network.

    An archive without its extracted folder counts when its sha256 is the locked one.
    """
    missing = []
    for pkg in packages:
        entry = CacheEntry(pkgs_dir, pkg)
        state = entry_state(entry)
        if state is EntryState.ARCHIVE and file_sha256(entry.archive) == pkg.sha256:
            continue
        if state in (EntryState.MISSING, EntryState.ARCHIVE):
            missing.append(pkg.dist_name)
    return missing


async def fill_cache(
    pkgs_dir: Path,
    packages: Sequence[LockedPackage],
    *,
    offline: bool | None = False,
    progress: ProgressCallback | None = None,
    max_downloads: int = MAX_DOWNLOADS,
    client: Any = None,
    keep_archives: bool = True,
    check_files: bool = True,
) -> FetchReport:
    """Make every package a valid cache entry of ``pkgs_dir``.

    ``offline=None`` takes conda's ``offline`` setting, read (with the proxies, TLS
    settings and credentials) only when a package has to be fetched: a warm cache never
    loads the configuration.

    ``keep_archives=False`` streams each HTTP download straight into its extraction
    (py-rattler, no archive written, the sha256 computed on the way): the entry is the
    extracted folder with its conda record, like an entry after ``conda clean
    --tarballs``. That is what installs use: half the disk writes, and the extraction
    of the largest package no longer waits for its download to end.

    ``check_files=False`` takes an entry whose metadata is complete and whose record is
    the locked artifact as valid, as conda and py-rattler do, without looking for each
    of its files (an ``lstat`` per file is a sixth of a warm install): for callers that
    check file by file when linking fails (``install.apply_plan``).

    Raises:
        ChecksumMismatchError: a download (or cached archive) is not the locked file.
        PackageDownloadError: downloads failed (404, network); lists all of them.
        PackagesNotCachedError: ``offline`` and some packages need the network.
        InstallError: an archive cannot be extracted.
    """
    pkgs_dir = Path(pkgs_dir)
    pkgs_dir.mkdir(parents=True, exist_ok=True)
    filler = _Filler(pkgs_dir, offline=offline, progress=progress or _ignore,
                     max_downloads=max_downloads, client=client,
                     keep_archives=keep_archives, check_files=check_files)
    return await filler.run(packages)


def _ignore(event: ProgressEvent) -> None:
    return None


def _states(pkgs_dir: Path, packages: Sequence[LockedPackage],
            check_files: bool) -> list[tuple[EntryState, dict[str, Any] | None]]:
    return [entry_state_and_record(CacheEntry(pkgs_dir, pkg), check_files=check_files)
            for pkg in packages]


@dataclass(frozen=True)
class _Network:
    """What downloads need, from the configuration (set up once, off the event loop)."""

    offline: bool
    client: Any = None
    credentials: Any = None  # credentials.CredentialSource: lockfiles hold no credentials


class _Filler:
    def __init__(self, pkgs_dir: Path, *, offline: bool | None, progress: ProgressCallback,
                 max_downloads: int, client: Any, keep_archives: bool = True,
                 check_files: bool = True) -> None:
        self.pkgs_dir = pkgs_dir
        self.keep_archives = keep_archives
        self.check_files = check_files
        self.offline = offline
        self.progress = progress
        self.semaphore = asyncio.Semaphore(max_downloads)
        self.client = client
        self._network: asyncio.Future[_Network] | None = None
        self.report = FetchReport()
        self.partials: list[Path] = []  # downloads in progress
        self.new_urls: list[str] = []  # urls.txt lines of entries made, written at the end
        self.done_bytes = 0  # bytes of finished downloads
        self.total_bytes = 0

    async def run(self, packages: Sequence[LockedPackage]) -> FetchReport:
        # Largest first: downloads start in this order (the semaphore is FIFO), and the
        # biggest archive at one connection's speed is what a cold install waits for.
        packages = sorted(packages, key=lambda p: -p.size)
        # First look without entry locks, in one worker-thread call: callers hold the
        # cache's shared lock, so no `clean` removes a complete entry, and other
        # installs only ever rename complete entries into place. Only what is not
        # complete is handled under its entry lock (and looked at again there).
        states = await asyncio.to_thread(_states, self.pkgs_dir, packages, self.check_files)
        todo = [(pkg, state) for pkg, (state, _) in zip(packages, states, strict=True)
                if state is not EntryState.VALID]
        self.total_bytes = sum(pkg.size for pkg, _ in todo)  # at most this much to download
        self.progress(ProgressEvent("fetch", total=len(packages), total_bytes=self.total_bytes))
        for pkg, (state, record) in zip(packages, states, strict=True):
            if state is EntryState.VALID:
                self.report.records[pkg.dist_name] = record
                self._reused(pkg, counted=False)
        if not todo:
            return self.report
        ticker = asyncio.ensure_future(self._tick())
        try:
            results = await asyncio.gather(*(self._one(p, state) for p, state in todo),
                                           return_exceptions=True)
        finally:
            ticker.cancel()
            # Entries are complete without their urls.txt line (conda reads the URL from
            # repodata_record.json): one locked append for all, also after failures.
            await asyncio.to_thread(append_urls, self.pkgs_dir, self.new_urls)
        self._emit_bytes()
        self._raise_failures([p for p, _ in todo], results)
        return self.report

    def _raise_failures(self, packages: Sequence[LockedPackage], results: list) -> None:
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, Exception):
                raise error  # KeyboardInterrupt, CancelledError
        for kind in (ChecksumMismatchError, PackagesNotCachedError):
            found = [e for e in errors if isinstance(e, kind)]
            if kind is PackagesNotCachedError and found:
                raise PackagesNotCachedError(self.pkgs_dir,
                                             [name for e in found for name in e.missing])
            if found:
                raise found[0]
        failures = [e for e in errors if isinstance(e, _DownloadFailed)]
        denied = [f for f in failures if f.reason.startswith(_DENIED)]
        if denied:
            from .exceptions import CredentialsRequiredError

            raise CredentialsRequiredError([(f.package, f.url, f.reason) for f in denied])
        if failures:
            raise PackageDownloadError([(f.package, f.url, f.reason) for f in failures])
        if errors:
            raise errors[0]

    async def _one(self, pkg: LockedPackage, first_look: EntryState) -> None:
        entry = CacheEntry(self.pkgs_dir, pkg)
        if first_look is EntryState.MISSING:
            # Nothing in the cache a moment ago: a download is likely. Wait for the
            # network setup and a download slot first, and only then take the entry
            # lock, so that packages queued for a slot hold no locks (and the first
            # downloads do not wait for hundreds of lock files to be taken).
            network = await self.network()
            if network.offline:
                raise PackagesNotCachedError(self.pkgs_dir, [pkg.dist_name])
            async with self.semaphore:
                async with hold_entry(self.pkgs_dir, entry.dist):
                    await self._fill(pkg, entry, have_slot=True)
            return
        async with hold_entry(self.pkgs_dir, entry.dist):
            await self._fill(pkg, entry, have_slot=False)

    async def _fill(self, pkg: LockedPackage, entry: CacheEntry, *, have_slot: bool) -> None:
        """Make one entry complete; the caller holds its lock (and maybe a slot)."""
        state = await asyncio.to_thread(entry_state, entry)
        if state is EntryState.VALID:
            return self._reused(pkg)
        if state is EntryState.ADOPTABLE:
            await asyncio.to_thread(adopt, entry, record_url=False)
            self.new_urls.append(pkg.url)
            return self._reused(pkg)
        if state is EntryState.ARCHIVE:
            try:
                await asyncio.to_thread(extract_archive, entry, record_url=False)
            except ChecksumMismatchError:
                pass  # someone else's file under that name: it was deleted; download
            else:
                self.new_urls.append(pkg.url)
                self.report.extracted.append(pkg.dist_name)
                self.progress(ProgressEvent("extracted", pkg.dist_name))
                return None
        network = await self.network()
        if network.offline:
            raise PackagesNotCachedError(self.pkgs_dir, [pkg.dist_name])
        # An unknown size (0) is learnt from the kept archive, for conda's records.
        stream = not self.keep_archives and not pkg.url.startswith("file:") and pkg.size > 0
        async with (contextlib.nullcontext() if have_slot else self.semaphore):
            self.progress(ProgressEvent("download", pkg.dist_name, total_bytes=pkg.size))
            if stream:
                staging, sha256 = await self._stream(pkg, entry, network)
            else:
                downloaded = await self._download(pkg, network)
        self.report.downloaded.append(pkg.dist_name)
        self.report.downloaded_bytes += pkg.size
        self.progress(ProgressEvent("downloaded", pkg.dist_name, total_bytes=pkg.size))
        if stream:
            try:  # verifies the sha256, then renames the folder into the cache
                await asyncio.to_thread(complete_extracted, entry, staging, sha256,
                                        record_url=False)
            except BaseException:  # on success the folder was renamed away
                shutil.rmtree(staging, ignore_errors=True)
                raise
        else:
            try:  # verifies the sha256, then moves archive and folder into the cache
                await asyncio.to_thread(extract_archive, entry, downloaded,
                                        record_url=False)
            finally:
                downloaded.unlink(missing_ok=True)
        self.new_urls.append(pkg.url)
        self.report.extracted.append(pkg.dist_name)
        self.progress(ProgressEvent("extracted", pkg.dist_name))
        return None

    def _reused(self, pkg: LockedPackage, *, counted: bool = True) -> None:
        """Record a package the cache has; ``counted``: its size was in ``total_bytes``."""
        self.report.reused.append(pkg.dist_name)
        size = pkg.size if counted else 0
        self.total_bytes -= size
        self.progress(ProgressEvent("cached", pkg.dist_name, total_bytes=size))

    async def network(self) -> _Network:
        """The network setup, made once in a worker thread on the first download.

        Loading the configuration (conda's context, proxies, credentials) and building
        the HTTP client takes a few hundred milliseconds of Python: done inside the
        event loop it would hold up every download and extraction already running.
        """
        if self._network is None:
            self._network = asyncio.ensure_future(asyncio.to_thread(self._setup_network))
        return await self._network

    def _setup_network(self) -> _Network:
        if self.offline:
            return _Network(offline=True)
        from .config import load_config
        from .credentials import CredentialSource

        config = load_config()
        if self.offline is None and config.offline:
            return _Network(offline=True)
        client = self.client
        if client is None:
            from .http_client import make_client

            client = make_client(config)  # proxies, TLS, .netrc
        return _Network(offline=False, client=client,
                        credentials=CredentialSource.from_config(config))

    async def _stream(self, pkg: LockedPackage, entry: CacheEntry,
                      network: _Network) -> tuple[Path, str]:
        """Download and extract at once into a staging folder; (folder, sha256 hex)."""
        from rattler.package_streaming import download_and_extract

        # Off the event loop, like every other filesystem call here: on a slow disk a
        # mkdir takes a millisecond, and the loop drives every running download.
        staging = await asyncio.to_thread(new_staging, self.pkgs_dir, entry.dist)
        try:
            try:
                # lockfiles hold no credentials: re-attach the configured ones
                sha256, _md5 = await download_and_extract(
                    network.client, network.credentials.attach(pkg.url), staging)
            except (OSError, RuntimeError, ValueError) as exc:
                raise _DownloadFailed(pkg.dist_name, pkg.url, _reason(exc)) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.done_bytes += pkg.size
        return staging, sha256.hex()

    async def _download(self, pkg: LockedPackage, network: _Network) -> Path:
        """The file at ``pkg.url`` in ``<pkgs>/.conda-store/tmp``, not yet verified."""
        fd, partial = await asyncio.to_thread(new_partial, self.pkgs_dir, pkg.fn)
        os.close(fd)
        self.partials.append(partial)
        try:
            try:
                if pkg.url.startswith("file:"):
                    await asyncio.to_thread(_copy_file_url, pkg.url, partial)
                else:
                    await self._http(pkg.url, partial, network)
            except (OSError, RuntimeError, ValueError) as exc:
                raise _DownloadFailed(pkg.dist_name, pkg.url, _reason(exc)) from exc
            size = partial.stat().st_size
            # A cheap early check; the sha256 is checked on extraction. Size 0 is unknown
            # (locks converted from conda-lock).
            if pkg.size and size != pkg.size:
                raise ChecksumMismatchError(pkg.dist_name, pkg.url, pkg.sha256,
                                            file_sha256(partial))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            self.done_bytes += _size_of(partial)
            self.partials.remove(partial)
        return partial

    async def _http(self, url: str, dest: Path, network: _Network) -> None:
        from rattler.package_streaming import download_to_path

        # lockfiles hold no credentials: re-attach the configured ones
        await download_to_path(network.client, network.credentials.attach(url), dest)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK)
            self._emit_bytes()

    def _emit_bytes(self) -> None:
        if self.partials or self.done_bytes:
            done = self.done_bytes + sum(_size_of(p) for p in self.partials)
            self.progress(ProgressEvent("bytes", done_bytes=done,
                                        total_bytes=max(self.total_bytes, done)))


class _DownloadFailed(Exception):
    def __init__(self, package: str, url: str, reason: str) -> None:
        super().__init__(f"{package}: {reason}")
        self.package, self.url, self.reason = package, url, reason


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _copy_file_url(url: str, dest: Path) -> None:
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    shutil.copyfile(url2pathname(urlparse(url).path), dest)


_DENIED = "access denied"


def _reason(exc: BaseException) -> str:
    from .credentials import redact

    text = redact(str(exc).strip()) or type(exc).__name__
    if "404" in text:
        return "not found (HTTP 404)"
    for status in ("401", "403"):
        if status in text:
            return f"{_DENIED} (HTTP {status}): missing or wrong credentials"
    return text
