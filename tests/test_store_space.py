"""`conda store du` against hand-computed sizes, and `conda store dedupe`."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from conda_store_plugin import api
from conda_store_plugin.store import records
from conda_store_plugin.store.layout import EnvRef, StoreLayout
from tests.support.store import StoreSandbox, snapshot


def blocks(path: Path) -> int:
    return os.lstat(path).st_blocks * 512


def dir_blocks(root: Path) -> int:
    return sum(blocks(Path(folder)) for folder, _, _ in os.walk(root))


def make_store(root: Path, builds: dict[str, list[int]]) -> StoreLayout:
    """A store with completed build records and empty prefixes: ``{"ns/env": [1, 2]}``."""
    layout = StoreLayout(root)
    now = records.format_time(records.now_utc())
    records.write("store", records.StoreRecord(now, "0.1.0"), layout.store_file)
    for key, numbers in builds.items():
        ns, name = key.split("/")
        ref = EnvRef(ns, name)
        records.write("environment", records.EnvironmentRecord(
            ns, name, now, current_build=numbers[-1], link=None), layout.env_file(ref))
        for n in numbers:
            layout.prefix(ref, n).mkdir(parents=True)
            records.write("build", records.BuildRecord(
                ns, name, n, "completed", "linux-64", str(layout.prefix(ref, n)), now,
                records.Builder("u", "h", 1), "0.1.0", finished_at=now),
                layout.build_file(ref, n))
    return layout


def data(size: int, seed: str) -> bytes:
    return random.Random(seed).randbytes(size)


def test_du_matches_hand_computed_sizes(tmp_path, capsys):
    layout = make_store(tmp_path / "store", {"team/app": [1, 2]})
    ref = EnvRef("team", "app")
    p1, p2 = layout.prefix(ref, 1), layout.prefix(ref, 2)
    pkgs = tmp_path / "pkgs"
    (pkgs / "pkg-1.0-0").mkdir(parents=True)
    (p1 / "lib").mkdir()
    (p1 / "lib" / "a.bin").write_bytes(data(10_000, "a"))       # only in build 1
    (p1 / "shared.bin").write_bytes(data(8_192, "s"))           # build 1 and 2
    os.link(p1 / "shared.bin", p2 / "shared.bin")
    (p1 / "twice.bin").write_bytes(data(3_000, "t"))            # two paths, build 1
    os.link(p1 / "twice.bin", p1 / "twice2.bin")
    (p2 / "b.bin").write_bytes(data(5_000, "b"))                # only in build 2
    (pkgs / "pkg-1.0-0" / "cached.bin").write_bytes(data(4_096, "c"))
    os.link(pkgs / "pkg-1.0-0" / "cached.bin", p2 / "cached.bin")  # build 2 and the cache
    os.symlink("b.bin", p2 / "link")

    result = api.du(store=layout.root, pkgs_dir=pkgs)
    [ns] = result.namespaces
    [env] = ns.environments
    b1, b2 = env.builds
    dirs1, dirs2 = dir_blocks(p1), dir_blocks(p2)
    assert (b1.usage.apparent, b1.usage.disk, b1.usage.shared) == (
        10_000 + 8_192 + 2 * 3_000,
        dirs1 + blocks(p1 / "lib" / "a.bin") + blocks(p1 / "shared.bin")
        + blocks(p1 / "twice.bin"),
        blocks(p1 / "shared.bin"))
    assert (b2.usage.apparent, b2.usage.disk, b2.usage.shared) == (
        8_192 + 5_000 + 4_096 + len("b.bin"),
        dirs2 + blocks(p2 / "shared.bin") + blocks(p2 / "b.bin") + blocks(p2 / "cached.bin")
        + blocks(p2 / "link"),
        blocks(p2 / "shared.bin") + blocks(p2 / "cached.bin"))
    # Together the two builds hold shared.bin once; only the cache link is shared.
    assert env.usage.apparent == b1.usage.apparent + b2.usage.apparent
    assert env.usage.disk == b1.usage.disk + b2.usage.disk - blocks(p1 / "shared.bin")
    assert env.usage.shared == blocks(p2 / "cached.bin")
    assert ns.usage == env.usage == result.store
    assert result.store.exclusive == env.usage.disk - blocks(p2 / "cached.bin")
    assert result.cache.apparent == 4_096
    assert result.cache.disk == dir_blocks(pkgs) + blocks(pkgs / "pkg-1.0-0" / "cached.bin")
    assert result.cache_shared_with_store == blocks(p2 / "cached.bin")
    assert b1.metadata_bytes == blocks(layout.build_file(ref, 1))

    from conda_store_plugin.cli import main

    assert main(["du", "--store", str(layout.root), "--pkgs-dir", str(pkgs)]) == 0
    text = capsys.readouterr().out
    assert "team/" in text and "@2 *" in text and "package cache" in text


def test_dedupe_links_identical_copies_only(tmp_path):
    layout = make_store(tmp_path / "store", {"team/app": [1, 2], "team/web": [1]})
    p1, p2 = layout.prefix(EnvRef("team", "app"), 1), layout.prefix(EnvRef("team", "app"), 2)
    p3 = layout.prefix(EnvRef("team", "web"), 1)
    same = data(50_000, "same")
    for prefix in (p1, p2, p3):
        (prefix / "lib").mkdir()
        (prefix / "lib" / "x.so").write_bytes(same)
        (prefix / "conda-meta").mkdir()
        (prefix / "conda-meta" / "pkg.json").write_text('{"same": true}')
        (prefix / "empty").write_bytes(b"")
    (p2 / "bin").mkdir()
    (p2 / "bin" / "tool").write_bytes(same)
    os.chmod(p2 / "bin" / "tool", 0o755)                     # same bytes, other mode
    (p3 / "other.bin").write_bytes(data(50_000, "other"))    # same size, other bytes
    copy_blocks = blocks(p2 / "lib" / "x.so") + blocks(p3 / "lib" / "x.so")

    before = snapshot(layout.root)
    dry = api.dedupe(store=layout.root, dry_run=True)
    assert snapshot(layout.root) == before
    assert (dry.linked_files, dry.bytes_saved) == (2, copy_blocks)

    with open(p2 / "lib" / "x.so", "rb") as held:  # in use while it is replaced
        result = api.dedupe(store=layout.root)
        assert held.read() == same
    assert (result.linked_files, result.bytes_saved, result.skipped) == (2, copy_blocks, 0)
    inodes = {os.stat(p / "lib" / "x.so").st_ino for p in (p1, p2, p3)}
    assert len(inodes) == 1 and os.stat(p1 / "lib" / "x.so").st_nlink == 3
    for prefix in (p1, p2, p3):
        assert (prefix / "lib" / "x.so").read_bytes() == same
    assert os.stat(p2 / "bin" / "tool").st_mode & 0o777 == 0o755
    assert os.stat(p2 / "bin" / "tool").st_nlink == 1
    assert os.stat(p1 / "conda-meta" / "pkg.json").st_nlink == 1
    assert os.stat(p3 / "other.bin").st_nlink == 1
    assert not list(p2.rglob("*.dedupe-*"))
    again = api.dedupe(store=layout.root)
    assert (again.linked_files, again.bytes_saved) == (0, 0)


@pytest.fixture
def sandbox(tmp_path: Path, channel) -> StoreSandbox:
    return StoreSandbox(tmp_path, channel.url)


def test_dedupe_and_du_on_real_builds_from_two_caches(sandbox, tmp_path):
    first = sandbox.build(["blob"])
    second = api.build(spec_path=sandbox.spec(["blob", "data-pkg"]), store=sandbox.store,
                       envs_dir=sandbox.envs, pkgs_dir=tmp_path / "other-pkgs",
                       cache_dir=sandbox.repodata_cache)
    blob1 = Path(first.record.prefix) / "share" / "blob" / "blob.bin"
    blob2 = Path(second.record.prefix) / "share" / "blob" / "blob.bin"
    assert os.stat(blob1).st_ino != os.stat(blob2).st_ino
    before = api.du(store=sandbox.store, pkgs_dir=sandbox.pkgs).store
    result = api.dedupe(store=sandbox.store)
    assert result.linked_files >= 1
    assert os.stat(blob1).st_ino == os.stat(blob2).st_ino
    assert blob2.read_bytes() == blob1.read_bytes() and len(blob1.read_bytes()) == 256 * 1024
    after = api.du(store=sandbox.store, pkgs_dir=sandbox.pkgs).store
    # The store now holds the blob once; its other copy is still held by its own
    # package cache, so that copy frees nothing.
    assert after.disk <= before.disk - blocks(blob1) + 4096
    assert result.bytes_saved < blocks(blob1)
