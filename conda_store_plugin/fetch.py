"""Fill a package cache with locked packages, downloads and extractions overlapping.

Downloads run concurrently, each sha256-verified while streaming, and each extraction
starts as soon as its own download ends.

Every entry is handled under its inter-process entry lock (``cache_lock.hold_entry``),
so installs sharing a cache download and extract each package once: the second one
waits, then finds the entry done. HTTP(S) goes through py-rattler's client (retries,
authentication, mirrors); ``file://`` URLs are copied. A download is written to
``<pkgs>/.conda-store/tmp/*.partial``, hashed on the way, and renamed into the cache only
when size and sha256 are the locked ones: a mismatch raises before anything is linked.

Progress is reported through a callback (:class:`ProgressEvent`), always from the thread
that runs the event loop; core never prints.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache_lock import hold_entry
from .exceptions import ChecksumMismatchError
from .install_errors import PackageDownloadError, PackagesNotCachedError
from .lockfile import LockedPackage
from .pkgs_cache import (
    CacheEntry,
    EntryState,
    adopt,
    entry_state,
    extract_archive,
    file_sha256,
    store_archive,
    temp_dir,
)

#: Concurrent downloads (connections) at most.
MAX_DOWNLOADS = 16
_CHUNK = 1 << 20
_TICK = 0.1  # seconds between byte-count progress events


@dataclass(frozen=True)
class ProgressEvent:
    """One step of an install, for a progress display.

    ``kind`` is one of: ``fetch`` (start: ``total`` packages to check, ``total_bytes`` to
    download at most), ``cached`` (already in the cache), ``download`` (started),
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
    offline: bool = False,
    progress: ProgressCallback | None = None,
    max_downloads: int = MAX_DOWNLOADS,
    client: Any = None,
) -> FetchReport:
    """Make every package a valid cache entry of ``pkgs_dir``.

    Raises:
        ChecksumMismatchError: a download (or cached archive) is not the locked file.
        PackageDownloadError: downloads failed (404, network); lists all of them.
        PackagesNotCachedError: ``offline`` and some packages need the network.
        InstallError: an archive cannot be extracted.
    """
    pkgs_dir = Path(pkgs_dir)
    pkgs_dir.mkdir(parents=True, exist_ok=True)
    filler = _Filler(pkgs_dir, offline=offline, progress=progress or _ignore,
                     max_downloads=max_downloads, client=client)
    return await filler.run(packages)


def _ignore(event: ProgressEvent) -> None:
    return None


class _Filler:
    def __init__(self, pkgs_dir: Path, *, offline: bool, progress: ProgressCallback,
                 max_downloads: int, client: Any) -> None:
        self.pkgs_dir = pkgs_dir
        self.offline = offline
        self.progress = progress
        self.semaphore = asyncio.Semaphore(max_downloads)
        self.client = client
        self.credentials: Any = None  # credentials.CredentialSource, on first HTTP download
        self.report = FetchReport()
        self.writers: list[_HashingWriter] = []
        self.total_bytes = 0

    async def run(self, packages: Sequence[LockedPackage]) -> FetchReport:
        self.total_bytes = sum(p.size for p in packages)
        self.progress(ProgressEvent("fetch", total=len(packages), total_bytes=self.total_bytes))
        ticker = asyncio.ensure_future(self._tick())
        try:
            results = await asyncio.gather(*(self._one(p) for p in packages),
                                           return_exceptions=True)
        finally:
            ticker.cancel()
        self._emit_bytes()
        self._raise_failures(packages, results)
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

    async def _one(self, pkg: LockedPackage) -> None:
        entry = CacheEntry(self.pkgs_dir, pkg)
        async with hold_entry(self.pkgs_dir, entry.dist):
            state = await asyncio.to_thread(entry_state, entry)
            if state is EntryState.VALID:
                return self._reused(pkg)
            if state is EntryState.ADOPTABLE:
                await asyncio.to_thread(adopt, entry)
                return self._reused(pkg)
            if state is EntryState.ARCHIVE:
                try:
                    await asyncio.to_thread(extract_archive, entry)
                except ChecksumMismatchError:
                    pass  # someone else's file under that name: it was deleted; download
                else:
                    self.report.extracted.append(pkg.dist_name)
                    self.progress(ProgressEvent("extracted", pkg.dist_name))
                    return None
            if self.offline:
                raise PackagesNotCachedError(self.pkgs_dir, [pkg.dist_name])
            async with self.semaphore:
                self.progress(ProgressEvent("download", pkg.dist_name, total_bytes=pkg.size))
                downloaded = await self._download(pkg)
            store_archive(entry, downloaded)
            self.report.downloaded.append(pkg.dist_name)
            self.report.downloaded_bytes += pkg.size
            self.progress(ProgressEvent("downloaded", pkg.dist_name, total_bytes=pkg.size))
            await asyncio.to_thread(extract_archive, entry)
            self.report.extracted.append(pkg.dist_name)
            self.progress(ProgressEvent("extracted", pkg.dist_name))
        return None

    def _reused(self, pkg: LockedPackage) -> None:
        self.report.reused.append(pkg.dist_name)
        self.total_bytes -= pkg.size
        self.progress(ProgressEvent("cached", pkg.dist_name))

    async def _download(self, pkg: LockedPackage) -> Path:
        fd, name = tempfile.mkstemp(prefix=f"{pkg.fn}.", suffix=".partial",
                                    dir=temp_dir(self.pkgs_dir))
        partial = Path(name)
        writer = _HashingWriter(os.fdopen(fd, "wb"))
        self.writers.append(writer)
        try:
            try:
                if pkg.url.startswith("file:"):
                    await asyncio.to_thread(_copy_file_url, pkg.url, writer)
                else:
                    await self._http(pkg.url, writer)
            except (OSError, RuntimeError, ValueError) as exc:
                raise _DownloadFailed(pkg.dist_name, pkg.url, _reason(exc)) from exc
            finally:
                writer.close()
            actual = writer.sha256.hexdigest()
            if actual != pkg.sha256:
                raise ChecksumMismatchError(pkg.dist_name, pkg.url, pkg.sha256, actual)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return partial

    async def _http(self, url: str, writer: _HashingWriter) -> None:
        from rattler.package_streaming import download_to_writer

        if self.credentials is None:  # lockfiles hold no credentials: re-attach them
            from .config import load_config
            from .credentials import CredentialSource
            from .http_client import make_client

            config = load_config()
            self.credentials = CredentialSource.from_config(config)
            if self.client is None:
                self.client = make_client(config)  # proxies, TLS, .netrc
        await download_to_writer(self.client, self.credentials.attach(url), writer)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK)
            self._emit_bytes()

    def _emit_bytes(self) -> None:
        if self.writers:
            done = sum(w.size for w in self.writers)
            self.progress(ProgressEvent("bytes", done_bytes=done,
                                        total_bytes=max(self.total_bytes, done)))


class _DownloadFailed(Exception):
    def __init__(self, package: str, url: str, reason: str) -> None:
        super().__init__(f"{package}: {reason}")
        self.package, self.url, self.reason = package, url, reason


class _HashingWriter:
    """File writer that hashes and counts; py-rattler calls ``write`` from its threads."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.file.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()


def _copy_file_url(url: str, writer: _HashingWriter) -> None:
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    path = url2pathname(urlparse(url).path)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            writer.write(chunk)


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
