"""The test-channel fixture produces real, valid, reproducible conda channels."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import conda_package_handling.api as cph
import pytest
import rattler
from rattler import GenericVirtualPackage, PackageName, Version
from rattler.exceptions import SolverError

from tests.support.channels import (
    ALL_SUBDIRS,
    PREFIX_PLACEHOLDER,
    Channel,
    PackageSpec,
    build_package,
    default_packages,
    package_digest,
)
from tests.support.server import ChannelServer, Failure, serve_directory

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[no-redef]


def _virtual(*names: str) -> list[GenericVirtualPackage]:
    versions = {"__unix": "0", "__win": "0", "__linux": "6.1", "__glibc": "2.35", "__cuda": "12.4"}
    return [GenericVirtualPackage(PackageName(n), Version(versions[n]), "0") for n in names]


def _solve(
    source: str,
    specs: list[str],
    cache_dir: Path,
    platform: str = "linux-64",
    virtual: tuple[str, ...] = ("__unix", "__linux", "__glibc"),
    **kwargs: Any,
) -> dict[str, rattler.RepoDataRecord]:
    records = asyncio.run(
        rattler.solve(
            sources=[source],
            specs=specs,
            platforms=[platform, "noarch"],
            gateway=rattler.Gateway(cache_dir=cache_dir),
            virtual_packages=_virtual(*virtual),
            **kwargs,
        )
    )
    return {r.name.normalized: r for r in records}


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()


# -- archives ------------------------------------------------------------------------


def test_archives_extract_with_valid_metadata(channel: Channel, tmp_path: Path) -> None:
    assert len(channel.packages) >= 45
    for spec, archive in channel.packages.items():
        dest = tmp_path / spec.subdir / spec.filename
        cph.extract(str(archive), str(dest))
        info = dest / "info"
        assert json.loads((info / "index.json").read_text()) == spec.index_json()
        paths = json.loads((info / "paths.json").read_text())
        assert paths["paths_version"] == 1
        listed = (info / "files").read_text().splitlines()
        assert [p["_path"] for p in paths["paths"]] == listed == sorted(spec.payload())
        for entry in paths["paths"]:
            data = (dest / entry["_path"]).read_bytes()
            assert entry["path_type"] == "hardlink"
            assert entry["size_in_bytes"] == len(data)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            if entry["_path"] in spec.prefix_files:
                assert entry["prefix_placeholder"] == PREFIX_PLACEHOLDER
                assert PREFIX_PLACEHOLDER.encode() in data
        # Every payload file present, nothing extra besides info/.
        on_disk = sorted(
            p.relative_to(dest).as_posix()
            for p in dest.rglob("*")
            if p.is_file() and not p.relative_to(dest).as_posix().startswith("info/")
        )
        assert on_disk == listed
        # rattler parses the same archive.
        index = rattler.IndexJson.from_package_archive(archive)
        assert (index.name.normalized, index.build) == (spec.name, spec.build)


def test_default_payload_is_unique_per_package(tmp_path: Path) -> None:
    spec = PackageSpec("thing", "1.2.3", subdir="osx-arm64", format=".tar.bz2")
    ((path, content),) = spec.payload().items()
    assert path == "share/thing/thing.txt"
    assert b"thing 1.2.3" in content and b"osx-arm64" in content
    archive = build_package(spec, tmp_path)
    assert archive.name == "thing-1.2.3-h0_0.tar.bz2"
    index = json.loads(cph_info(archive, tmp_path / "x", "index.json"))
    assert (index["platform"], index["arch"], index["subdir"]) == ("osx", "arm64", "osx-arm64")
    noarch = PackageSpec("pure", "1", noarch="python")
    assert (noarch.subdir, noarch.build) == ("noarch", "pyh0_0")
    assert noarch.index_json()["arch"] is None and noarch.index_json()["noarch"] == "python"


def cph_info(archive: Path, dest: Path, name: str) -> str:
    cph.extract(str(archive), str(dest), components="info")
    return (dest / "info" / name).read_text()


def test_builds_are_byte_identical(tmp_path: Path) -> None:
    specs = default_packages()
    for spec in specs[:: max(len(specs) // 12, 1)]:  # a spread of formats and subdirs
        a = build_package(spec, tmp_path / "a")
        b = build_package(spec, tmp_path / "b")
        assert a.read_bytes() == b.read_bytes(), spec.filename


def test_builds_are_identical_across_processes(channel: Channel, tmp_path: Path) -> None:
    # A fresh interpreter with another hash seed must give the same sha256 (no set/dict
    # iteration order or timestamps leaking into archives).
    names = ["libzlib-1.3.1-h0_0.conda", "libzlib-1.3.1-h0_0.tar.bz2", "blob-1.0.0-h0_0.conda"]
    code = (
        "import sys; from tests.support.channels import *\n"
        "for s in default_packages():\n"
        "    if s.filename in sys.argv[2:] and s.subdir in ('linux-64', 'noarch'):\n"
        "        print(s.filename, package_digest(build_package(s, sys.argv[1])))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), *names],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    got = dict(line.split() for line in out.splitlines())
    assert set(got) == set(names)
    for name, digest in got.items():
        subdir = "noarch" if name.startswith("blob") else "linux-64"
        assert digest == package_digest(channel.path / subdir / name)


# -- channel / repodata --------------------------------------------------------------


def test_repodata_matches_archives(channel: Channel) -> None:
    assert set(channel.subdirs) == set(ALL_SUBDIRS)
    for subdir in ALL_SUBDIRS:
        repodata = channel.repodata(subdir)
        assert repodata["info"]["subdir"] == subdir
        entries = {**repodata.get("packages", {}), **repodata.get("packages.conda", {})}
        expected = {s.filename: s for s in channel.specs if s.subdir == subdir}
        assert set(entries) == set(expected)
        for filename, rec in entries.items():
            spec, archive = expected[filename], channel.path / subdir / filename
            key = "packages.conda" if filename.endswith(".conda") else "packages"
            assert filename in repodata[key]
            assert rec["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
            assert rec["md5"] == hashlib.md5(archive.read_bytes()).hexdigest()
            assert rec["size"] == archive.stat().st_size
            assert (rec["name"], rec["version"], rec["build"]) == (
                spec.name,
                spec.version,
                spec.build,
            )
            assert rec["depends"] == list(spec.depends)
            assert rec.get("constrains", []) == list(spec.constrains)
            assert rec["timestamp"] == spec.timestamp
        # The compressed variant carries the same content.
        zst = channel.path / subdir / "repodata.json.zst"
        assert json.loads(zstd.decompress(zst.read_bytes())) == repodata


def test_channel_lookup_helpers(channel: Channel) -> None:
    with pytest.raises(LookupError, match="pass more filters"):
        channel.archive_path("libzlib")
    with pytest.raises(LookupError, match="nothing"):
        channel.archive_path("cudapkg", subdir="osx-arm64")
    # Same name-version-build in both formats: .conda wins, like solvers choose.
    assert channel.archive_path("libzlib", "1.3.1", "linux-64").name == "libzlib-1.3.1-h0_0.conda"
    bz2 = channel.archive_path("libzlib", "1.3.1", "linux-64", format=".tar.bz2")
    assert bz2.name == "libzlib-1.3.1-h0_0.tar.bz2"
    assert channel.sha256("purepkg", "1.1.0") == package_digest(
        channel.path / "noarch" / "purepkg-1.1.0-pyh0_0.conda"
    )
    assert channel.archive_url("data-pkg", base_url="http://x/") == (
        "http://x/noarch/data-pkg-0.1.0-h0_0.conda"
    )
    assert channel.url.startswith("file://")


def test_make_channel_minimal_and_flags(make_channel: Any) -> None:
    ch = make_channel(
        [PackageSpec("solo", "1.0", subdir="linux-64")], write_zst=False, write_shards=False
    )
    assert ch.repodata("noarch").get("packages.conda", {}) == {}  # noarch always exists
    assert list(ch.repodata("linux-64")["packages.conda"]) == ["solo-1.0-h0_0.conda"]
    assert not list(ch.path.rglob("*.zst"))
    assert not (ch.path / ".tmp").exists()
    sharded = make_channel([PackageSpec("solo", "1.0", subdir="linux-64")], name="sharded")
    assert (sharded.path / "linux-64" / "repodata_shards.msgpack.zst").is_file()
    assert (sharded.path / "linux-64" / "repodata.json.zst").is_file()
    # add()/remove(): publish a release / yank a package; flags from the build are kept.
    (v2,) = ch.add([PackageSpec("solo", "2.0", subdir="linux-64")])
    assert v2 == ch.archive_path("solo", "2.0")
    assert set(ch.repodata("linux-64")["packages.conda"]) == {
        "solo-1.0-h0_0.conda",
        "solo-2.0-h0_0.conda",
    }
    ch.remove(ch.spec("solo", "1.0"))
    assert list(ch.repodata("linux-64")["packages.conda"]) == ["solo-2.0-h0_0.conda"]
    assert not list(ch.path.rglob("*.zst"))
    with pytest.raises(ValueError, match="duplicate"):
        make_channel([PackageSpec("x", "1"), PackageSpec("x", "1")], name="dup")


# -- rattler can use the channel -----------------------------------------------------


def test_rattler_solves_from_file_url(channel: Channel, rattler_cache_dir: Path) -> None:
    recs = _solve(channel.url, ["numpylike", "purepkg"], rattler_cache_dir)
    assert set(recs) == {"numpylike", "libfoo", "libzlib", "python", "purepkg"}
    assert (str(recs["numpylike"].version), recs["numpylike"].build) == ("2.0.0", "py312h0_0")
    for name, rec in recs.items():
        assert rec.url.startswith(channel.url + "/")
        assert rec.sha256.hex() == channel.sha256(name, str(rec.version), rec.subdir, rec.build)


def test_rattler_solves_over_http(
    channel: Channel, make_server: Any, rattler_cache_dir: Path
) -> None:
    server: ChannelServer = make_server(channel.path)
    recs = _solve(server.url, ["numpylike"], rattler_cache_dir)
    assert set(recs) == {"numpylike", "libfoo", "libzlib", "python"}
    assert all(r.url.startswith(server.url + "/") for r in recs.values())
    requested = server.requests("GET")
    assert requested["linux-64/repodata_shards.msgpack.zst"] == 1  # sharded index used
    assert not server.downloads(archives_only=True)  # solving downloads no package


def test_rattler_solves_unsharded_over_http(
    make_channel: Any, make_server: Any, rattler_cache_dir: Path
) -> None:
    ch = make_channel(
        [s for s in default_packages() if s.subdir in ("linux-64", "noarch")], write_shards=False
    )
    server: ChannelServer = make_server(ch.path)
    recs = _solve(server.url, ["numpylike"], rattler_cache_dir)
    assert "libzlib" in recs
    assert any(p.startswith("linux-64/repodata.json") for p in server.downloads())


@pytest.mark.parametrize(
    ("specs", "platform", "virtual", "expected"),
    [
        # __unix/__win select the noarch variant build.
        (["shellwrap"], "linux-64", ("__unix",), {"shellwrap": "unix_pyh0_0"}),
        (["shellwrap"], "win-64", ("__win",), {"shellwrap": "win_pyh0_0"}),
        (["cudapkg"], "linux-64", ("__unix", "__cuda"), {"cudapkg": "h0_0"}),
        # python pin selects the numpylike build variant.
        (
            ["numpylike", "python 3.11.*"],
            "osx-arm64",
            ("__unix",),
            {"numpylike": "py311h0_0", "python": "h0_0_cpython"},
        ),
        (["stack"], "win-64", ("__win",), {"stack": "h0_0", "data-pkg": "h0_0"}),
    ],
)
def test_default_ecosystem_solves(
    channel: Channel,
    rattler_cache_dir: Path,
    specs: list[str],
    platform: str,
    virtual: tuple[str, ...],
    expected: dict[str, str],
) -> None:
    recs = _solve(channel.url, specs, rattler_cache_dir, platform=platform, virtual=virtual)
    assert {name: recs[name].build for name in expected} == expected


@pytest.mark.parametrize(
    ("specs", "platform", "virtual"),
    [
        (["conflict-a", "conflict-b"], "linux-64", ("__unix",)),
        (["constrainer", "numpylike >=2"], "linux-64", ("__unix",)),
        (["orphan"], "linux-64", ("__unix",)),
        (["unixtool"], "win-64", ("__win",)),
        (["cudapkg"], "linux-64", ("__unix",)),  # no __cuda
    ],
)
def test_default_ecosystem_unsatisfiable(
    channel: Channel,
    rattler_cache_dir: Path,
    specs: list[str],
    platform: str,
    virtual: tuple[str, ...],
) -> None:
    with pytest.raises(SolverError):
        _solve(channel.url, specs, rattler_cache_dir, platform=platform, virtual=virtual)


def test_rattler_installs_from_http_downloading_each_package_once(
    channel: Channel, make_server: Any, rattler_cache_dir: Path, tmp_path: Path
) -> None:
    server: ChannelServer = make_server(channel.path)
    recs = _solve(server.url, ["numpylike", "purepkg", "prefixpkg"], rattler_cache_dir)
    prefix = tmp_path / "env"
    asyncio.run(
        rattler.install(
            list(recs.values()), prefix, cache_dir=tmp_path / "pkgs", show_progress=False
        )
    )
    downloads = server.downloads(archives_only=True)
    assert downloads == {f"{r.subdir}/{r.file_name}": 1 for r in recs.values()}
    # Prefix placeholder replaced, noarch python relocated into site-packages.
    assert (prefix / "etc/prefixpkg.conf").read_text() == f"prefix={prefix}\n"
    assert (prefix / "lib/python3.12/site-packages/purepkg/VERSION.txt").is_file()
    assert os.access(prefix / "bin/prefixpkg", os.X_OK)


# -- server --------------------------------------------------------------------------


def test_server_counts_and_fails(channel: Channel) -> None:
    rel = "noarch/data-pkg-0.1.0-h0_0.conda"
    body = (channel.path / rel).read_bytes()
    with serve_directory(
        channel.path,
        fail_paths={"noarch/orphan-1.0.0-h0_0.conda": "500", rel: Failure("truncate", times=1)},
    ) as srv:
        # First request truncated: Content-Length promises more than arrives.
        with pytest.raises(http.client.IncompleteRead):
            _get(srv.url_for(rel))
        assert srv.download_count(rel) == 0
        assert _get(srv.url_for(rel)) == (200, body)  # then recovers
        assert _get(srv.url_for(rel)) == (200, body)
        assert srv.download_count(rel) == 2
        assert _get(srv.url_for("noarch/orphan-1.0.0-h0_0.conda"))[0] == 500
        assert _get(srv.url_for("noarch/missing.conda"))[0] == 404
        assert _get(srv.url_for("../../etc/passwd"))[0] == 404
        status, part = _get(srv.url_for(rel), {"Range": "bytes=10-19"})
        assert (status, part) == (206, body[10:20])
        with urllib.request.urlopen(
            urllib.request.Request(srv.url_for(rel), method="HEAD"), timeout=10
        ) as resp:
            assert int(resp.headers["Content-Length"]) == len(body)
            etag = resp.headers["ETag"]
        assert _get(srv.url_for(rel), {"If-None-Match": etag})[0] == 304
        srv.set_failure(rel, "reset")
        with pytest.raises((urllib.error.URLError, http.client.HTTPException, OSError)):
            _get(srv.url_for(rel))
        assert srv.requests()[rel] == 7  # truncated, 2 ok, range, HEAD, 304, reset
        assert srv.bytes_sent >= 2 * len(body)
        srv.reset_log()
        assert srv.log == []
    with pytest.raises(RuntimeError):
        _ = srv.url  # stopped


def test_server_latency_and_bandwidth(channel: Channel, make_server: Any) -> None:
    small = channel.archive_path("data-pkg")
    srv: ChannelServer = make_server(channel.path, latency_s=0.05)
    t0 = time.monotonic()
    for _ in range(3):
        assert _get(srv.url_for("noarch/" + small.name))[0] == 200
    elapsed = time.monotonic() - t0
    assert 0.15 <= elapsed < 2.0
    blob = channel.archive_path("blob")  # ~256 KiB at 2 MB/s -> ~0.13 s
    slow: ChannelServer = make_server(channel.path, bandwidth_bytes_per_s=2_000_000)
    t0 = time.monotonic()
    status, data = _get(slow.url_for("noarch/" + blob.name))
    elapsed = time.monotonic() - t0
    assert status == 200 and len(data) == blob.stat().st_size
    assert len(data) / 2_000_000 * 0.9 <= elapsed < 2.0


def test_channel_server_fixture(
    channel_server: ChannelServer, http_channel_url: str, channel_dir: Path
) -> None:
    assert http_channel_url == channel_server.url
    status, body = _get(f"{http_channel_url}/noarch/repodata.json")
    assert status == 200
    assert json.loads(body) == json.loads((channel_dir / "noarch" / "repodata.json").read_text())


@pytest.mark.conda
def test_conda_marker_runs_only_with_conda() -> None:
    import conda  # noqa: F401
