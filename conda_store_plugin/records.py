"""Convert between our ``LockedPackage`` and py-rattler's ``RepoDataRecord``."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from .lockfile import LockedPackage

if TYPE_CHECKING:
    from rattler import RepoDataRecord


def _noarch(record) -> str | None:
    if record.noarch.python:
        return "python"
    if record.noarch.generic:
        return "generic"
    return None


def locked_from_record(record: RepoDataRecord) -> LockedPackage:
    """A ``LockedPackage`` from a solved record; fails if the channel gave no sha256."""
    from .exceptions import ChannelError

    if record.sha256 is None or record.md5 is None or record.size is None:
        raise ChannelError(record.channel or record.url,
                           f"{record.file_name} has no sha256/md5/size in its repodata",
                           hint="Re-index the channel (e.g. `python -m rattler index` or "
                                "conda-index) so every package has hashes.")
    timestamp = record.timestamp
    return LockedPackage(
        name=record.name.source,
        version=str(record.version),
        build=record.build,
        build_number=record.build_number,
        subdir=record.subdir,
        url=record.url,
        channel=record.channel or "",
        fn=record.file_name,
        sha256=record.sha256.hex(),
        md5=record.md5.hex(),
        size=record.size,
        depends=tuple(record.depends),
        constrains=tuple(record.constrains),
        noarch=_noarch(record),
        timestamp=round(timestamp.timestamp() * 1000) if timestamp else None,
        license=record.license,
        track_features=tuple(record.track_features),
        features=record.features or None,
        python_site_packages_path=record.python_site_packages_path,
    )


def record_from_locked(pkg: LockedPackage, *, channel: str | None = None,
                       license_family: str | None = None,
                       size: int | None = None) -> RepoDataRecord:
    """The py-rattler record an installer needs, built from the lockfile alone.

    ``channel`` replaces the lock's channel URL (py-rattler writes it into
    ``conda-meta`` as it is); ``license_family`` comes from the package's index.json;
    ``size`` stands in for a size the lock does not know (0).
    """
    from rattler import PackageRecord, RepoDataRecord

    record = PackageRecord(
        name=pkg.name,
        version=pkg.version,
        build=pkg.build,
        build_number=pkg.build_number,
        subdir=pkg.subdir,
        noarch=pkg.noarch,
        depends=list(pkg.depends),
        constrains=list(pkg.constrains),
        sha256=bytes.fromhex(pkg.sha256),
        md5=bytes.fromhex(pkg.md5),
        size=pkg.size or size or 0,
        license=pkg.license,
        license_family=license_family,
        python_site_packages_path=pkg.python_site_packages_path,
    )
    if pkg.timestamp is not None:
        record.timestamp = datetime.datetime.fromtimestamp(pkg.timestamp / 1000,
                                                           tz=datetime.timezone.utc)
    if pkg.track_features:
        record.track_features = list(pkg.track_features)
    if pkg.features:
        record.features = pkg.features
    return RepoDataRecord(record, pkg.fn, pkg.url, pkg.channel if channel is None else channel)
