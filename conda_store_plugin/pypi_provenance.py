"""Remember which exact file each locked PyPI package was installed from.

uv records the URL of a ``name @ URL`` install in the distribution's
``direct_url.json`` (PEP 610) but not the archive's hash, even when it checked one
(``--require-hashes``). After installing locked PyPI packages we add the verified
sha256 as PEP 610's ``archive_info.hashes`` (what pip writes when it knows the hash)
and update the ``RECORD`` line of ``direct_url.json``. ``conda export --format
conda-store`` then finds URL and sha256 of every PyPI package of an environment made
from a lockfile (:func:`installed_archives`).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path

from .lockfile import LockedPypiPackage
from .pypi_names import normalise


def _dist_infos(prefix: Path) -> Iterable[Path]:
    yield from Path(prefix).glob("lib/python*/site-packages/*.dist-info")
    yield from Path(prefix).glob("Lib/site-packages/*.dist-info")  # Windows


def _name_version(dist_info: Path) -> tuple[str, str]:
    stem = dist_info.name[: -len(".dist-info")]
    name, _, version = stem.rpartition("-")
    return normalise(name), version


def record_hashes(prefix: str | Path, packages: Iterable[LockedPypiPackage]) -> int:
    """Write each package's locked sha256 into its ``direct_url.json``; returns how many.

    Only distributions whose ``direct_url.json`` names the locked URL are touched.
    """
    wanted = {(p.name, p.version): p for p in packages}
    done = 0
    for dist_info in _dist_infos(Path(prefix)):
        pkg = wanted.get(_name_version(dist_info))
        path = dist_info / "direct_url.json"
        if pkg is None or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("url") != pkg.url:
            continue
        archive = data.get("archive_info")
        if not isinstance(archive, dict):
            continue
        requested = dist_info / "REQUESTED"
        if not pkg.requested and requested.exists():
            # uv marks every line of its requirements file as requested; the lock
            # knows which ones the spec named (PEP 376: the others are dependencies).
            requested.unlink()
            _update_record(dist_info, requested, None)
        if (archive.get("hashes") or {}).get("sha256") == pkg.sha256:
            done += 1
            continue
        archive["hashes"] = {**(archive.get("hashes") or {}), "sha256": pkg.sha256}
        archive["hash"] = f"sha256={pkg.sha256}"  # PEP 610's older, still-read spelling
        text = json.dumps(data, separators=(",", ":"))
        path.write_text(text, encoding="utf-8")
        _update_record(dist_info, path, text.encode("utf-8"))
        done += 1
    return done


def _update_record(dist_info: Path, changed: Path, content: bytes | None) -> None:
    """Give ``changed`` its new hash and size in ``RECORD`` (``None``: it was deleted)."""
    record = dist_info / "RECORD"
    try:
        rows = list(csv.reader(io.StringIO(record.read_text(encoding="utf-8"))))
    except OSError:
        return
    rel = f"{dist_info.name}/{changed.name}"
    if content is None:
        rows = [row for row in rows if not row or row[0] != rel]
    else:
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
        for row in rows:
            if row and row[0] == rel:
                row[1:] = [f"sha256={digest.decode()}", str(len(content))]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    record.write_text(out.getvalue(), encoding="utf-8")


def installed_archives(prefix: str | Path) -> dict[tuple[str, str], tuple[str, str | None,
                                                                          bool]]:
    """(normalised name, version) -> (url, sha256 or None, REQUESTED) per ``direct_url.json``."""
    out: dict[tuple[str, str], tuple[str, str | None, bool]] = {}
    for dist_info in _dist_infos(Path(prefix)):
        try:
            data = json.loads((dist_info / "direct_url.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not data.get("url"):
            continue
        archive = data.get("archive_info") if isinstance(data.get("archive_info"), dict) else {}
        sha256 = (archive.get("hashes") or {}).get("sha256")
        if not sha256 and str(archive.get("hash", "")).startswith("sha256="):
            sha256 = archive["hash"].split("=", 1)[1]
        out[_name_version(dist_info)] = (data["url"], sha256,
                                         (dist_info / "REQUESTED").exists())
    return out
