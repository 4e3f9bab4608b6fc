"""`conda store backup` / `conda store restore`: whole stores, round trip, offline, hostile
backups refused before anything is written."""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile
from conda_store_plugin.backup import manifest as manifest_io
from conda_store_plugin.exceptions import (
    ArchiveIntegrityError,
    BackupFormatError,
    BuildFailedError,
    RestoreConflictError,
    RestoreFailedError,
    UnsafeArchiveMemberError,
)
from conda_store_plugin.install_errors import PackagesNotCachedError
from conda_store_plugin.store.recreate import installed_artifacts
from tests.support.store import StoreSandbox, own_namespace, snapshot
from tests.test_transfer import hold_fake_build, release

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schemas" / "conda-store-backup-1.schema.json"


def make_store(sandbox: StoreSandbox) -> None:
    """Three environments with histories.

    * ``<me>/demo``: 1 archived, 2 completed, 3 failed, 4 current;
    * ``team/analysis``: 1 current (rolled back to), 2 completed;
    * ``<me>/gone``: its only build deleted, no current build.
    """
    sandbox.build(["stack"])
    sandbox.build(["stack", "blob"])
    with pytest.raises(BuildFailedError):
        sandbox.build(["conflict-a", "conflict-b"])
    sandbox.build(["data-pkg"])
    api.archive(environment="demo@1", store=sandbox.store)
    sandbox.build(["stack"], name="analysis", namespace="team")
    sandbox.build(["data-pkg", "blob"], name="analysis", namespace="team")
    api.use(environment="team/analysis", build=1, store=sandbox.store)
    sandbox.build(["blob"], name="gone")
    api.delete(environment="gone@1", force=True, store=sandbox.store)


def describe(store: Path) -> dict:
    """Environments, current builds, installed package sets and histories of a store."""
    out = {}
    for summary in api.list_environments(store=store).environments:
        key = summary.key
        hist = api.history(environment=key, store=store)
        builds = []
        for view in hist.builds:
            r = view.record
            folder = store / r.namespace / r.environment / "builds" / str(r.number)
            status = view.status
            if status == "completed" and not view.current:
                status = "archived"  # a restore brings only current builds on disk
            lock = folder / "conda-store.lock.json"
            log = folder / "build.log"
            builds.append({
                "number": r.number, "status": status, "platform": r.platform,
                "times": (r.created_at, r.started_at, r.finished_at, r.deleted_at),
                "error": r.error, "input_hash": r.input_hash,
                "spec": _text(folder / "environment.yml"),
                "lock": lockfile.read(lock).to_dict() if lock.exists() else None,
                "log": _before_recreate(log.read_text()) if log.exists() else None,
            })
        current = hist.env.current_build
        packages = None
        if current is not None:
            record = next(b.record for b in hist.builds if b.number == current)
            packages = installed_artifacts(Path(record.prefix))
            locked = lockfile.read(Path(record.prefix).parent / "conda-store.lock.json")
            assert packages == {p.name: (p.url, p.sha256)
                                for p in locked.platforms[record.platform].packages}
        out[key] = {"current": current, "packages": packages, "builds": builds,
                    "created_at": hist.env.created_at}
    return out


def current_packages(store: Path) -> set[str]:
    """sha256 of every package the current builds of a store have locked."""
    out = set()
    for summary in api.list_environments(store=store).environments:
        if summary.current is not None:
            record = summary.current.record
            lock = lockfile.read(Path(record.prefix).parent / "conda-store.lock.json")
            out |= {p.sha256 for p in lock.platforms[record.platform].packages}
    return out


def _text(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def _before_recreate(log: str) -> str:
    """The log up to a restore's recreate of the build (which appends to it)."""
    import re

    found = re.search(r"^\S+ recreate ", log, flags=re.M)
    return log[:found.start()] if found else log


@pytest.fixture
def sandbox(tmp_path: Path, channel) -> StoreSandbox:
    return StoreSandbox(tmp_path / "source", channel.url)


@pytest.fixture
def target(tmp_path: Path, channel) -> StoreSandbox:
    return StoreSandbox(tmp_path / "target", channel.url)


def restore(target: StoreSandbox, backup: Path, **kwargs) -> object:
    return api.restore(source=backup, store=target.store, envs_dir=target.envs,
                       pkgs_dir=target.pkgs, **kwargs)


def test_committed_schema_matches_the_code():
    assert SCHEMA_FILE.read_text() == manifest_io.schema_json(), (
        "schemas/ is stale: regenerate it from "
        "conda_store_plugin.backup.manifest.schema_json()")


def test_round_trip_into_a_new_store(sandbox, target, capsys):
    make_store(sandbox)
    backup = sandbox.root / "store-backup.tar.zst"
    code, made = sandbox.cli("backup", "-o", str(backup), capsys=capsys)
    assert code == 0, made
    assert made["environments"] == [f"{own_namespace()}/demo", f"{own_namespace()}/gone",
                                    "team/analysis"]
    assert made["builds"] == 7 and made["packages"] == 0 and made["skipped"] == []
    assert [p.name for p in backup.parent.iterdir() if p.name.startswith(".")] == []

    code, dry = target.cli("restore", str(backup), "--dry-run", "--envs-dir",
                           str(target.envs), capsys=capsys)
    assert code == 0 and {p["action"] for p in dry["plan"]} == {"create"}
    assert not target.store.exists() and not target.envs.exists()

    code, restored = target.cli("restore", str(backup), "--envs-dir", str(target.envs),
                                "--pkgs-dir", str(target.pkgs), capsys=capsys)
    assert code == 0, restored
    assert restored["failures"] == [] and len(restored["imported"]) == 3
    assert restored["verified_packages"] == 1 + 7  # demo@4: data-pkg; analysis@1: stack

    assert describe(target.store) == describe(sandbox.store)
    assert Path(os.readlink(target.envs / "demo")).is_relative_to(target.store)
    assert (target.envs / "team-analysis" / "conda-meta").is_dir()
    assert not (target.envs / "gone").exists()
    # The restored store is a working store: archived builds recreate, builds go on.
    api.recreate(environment="demo@2", store=target.store, pkgs_dir=target.pkgs)
    assert target.build(["blob"]).record.number == 5


def test_manifest_is_schema_valid_and_lists_every_member(sandbox, tmp_path):
    from jsonschema import Draft202012Validator

    make_store(sandbox)
    backup = tmp_path / "b.tar.zst"
    api.backup(output=backup, with_packages=True, store=sandbox.store,
               pkgs_dir=sandbox.pkgs)
    members = read_members(backup)
    assert members[0][0].name == "manifest.json"
    manifest = json.loads(members[0][1])
    Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(manifest)
    import hashlib

    listed = {m["path"]: (m["size"], m["sha256"]) for m in manifest["members"]}
    assert listed == {info.name: (len(data), hashlib.sha256(data).hexdigest())
                      for info, data in members[1:]}
    # The packages of the current builds (demo@4 and team/analysis@1), nothing else.
    assert {p["sha256"] for p in manifest["packages"]} == current_packages(sandbox.store)
    assert all(info.uname == "" and info.uid == 0 for info, _ in members)


def test_restore_with_packages_makes_no_network_request(sandbox, target, channel,
                                                        make_server):
    server = make_server(channel.path)
    sandbox.build(["stack", "blob"], channel_url=server.url)
    sandbox.build(["data-pkg"], name="small", channel_url=server.url)
    backup = sandbox.root / "with-packages.tar.zst"
    made = api.backup(output=backup, with_packages=True, store=sandbox.store,
                      pkgs_dir=sandbox.pkgs)
    unique = len(current_packages(sandbox.store))
    assert made.packages == unique == 8 and made.package_bytes > 0

    server.reset_log()
    result = restore(target, backup)
    assert server.log == []  # not one request: every package came from the backup
    assert result.packages_seeded == 8 and result.verified_packages == 8 + 1
    assert set(result.timings) == {"verify", "seed", "import"}
    assert describe(target.store) == describe(sandbox.store)
    # Into another store sharing that package cache: nothing to copy again.
    again = api.restore(source=backup, store=target.root / "store2",
                        envs_dir=target.root / "envs2", pkgs_dir=target.pkgs)
    assert (again.packages_seeded, again.packages_present) == (0, 8)
    assert server.log == []

    # Without packages the same restore downloads them (the counter works).
    lean = sandbox.root / "lean.tar.zst"
    api.backup(output=lean, store=sandbox.store)
    other = StoreSandbox(target.root.parent / "other", server.url)
    server.reset_log()
    restore(other, lean)
    assert sum(server.downloads(archives_only=True).values()) == 8


def test_backup_fetches_archives_the_cache_lacks(sandbox, tmp_path, channel, make_server):
    server = make_server(channel.path)
    sandbox.build(["stack"], channel_url=server.url)
    for archive in sandbox.pkgs.glob("*.conda"):  # like `conda clean --tarballs`
        archive.unlink()
    for archive in sandbox.pkgs.glob("*.tar.bz2"):
        archive.unlink()
    before = snapshot(sandbox.store)
    with pytest.raises(PackagesNotCachedError):
        api.backup(output=tmp_path / "offline.tar.zst", with_packages=True, offline=True,
                   store=sandbox.store, pkgs_dir=sandbox.pkgs)
    assert list(tmp_path.glob("*offline*")) == []  # no half backup, no temp file
    server.reset_log()
    made = api.backup(output=tmp_path / "b.tar.zst", with_packages=True,
                      store=sandbox.store, pkgs_dir=sandbox.pkgs)
    assert made.packages == 7 and sum(server.downloads(archives_only=True).values()) == 7
    assert not list((sandbox.pkgs / ".conda-store" / "tmp").glob("backup-*"))
    assert snapshot(sandbox.store) == before  # a backup never writes to the store


def test_backup_while_a_build_runs_holds_only_finished_builds(sandbox, target):
    sandbox.build(["data-pkg"])
    holder = hold_fake_build(sandbox, 2)
    try:
        made = api.backup(output=sandbox.root / "b.tar.zst", store=sandbox.store)
    finally:
        release(holder)
    assert [s.to_dict() for s in made.skipped] == [
        {"environment": f"{own_namespace()}/demo", "build": 2, "status": "building"}]
    manifest = json.loads(read_members(sandbox.root / "b.tar.zst")[0][1])
    assert manifest["skipped"] == [s.to_dict() for s in made.skipped]
    assert manifest["environments"][0]["builds"] == 1
    restore(target, sandbox.root / "b.tar.zst")
    hist = api.history(environment="demo", store=target.store)
    assert [(b.number, b.status) for b in hist.builds] == [(1, "completed")]


def test_restore_into_a_non_empty_store_merges_by_environment(sandbox, target, capsys):
    make_store(sandbox)
    backup = sandbox.root / "b.tar.zst"
    api.backup(output=backup, store=sandbox.store)
    target.build(["blob"])  # <me>/demo exists in the target: a conflict
    target.build(["stack"], name="mine")

    before = snapshot(target.root)
    with pytest.raises(RestoreConflictError, match="demo") as info:
        restore(target, backup)
    assert info.value.conflicts == (f"{own_namespace()}/demo (it exists in the store)",)
    code, err = target.cli("restore", str(backup), "--envs-dir", str(target.envs),
                           capsys=capsys)
    assert code == 2 and err["error"] == "RestoreConflictError"
    dry = restore(target, backup, dry_run=True)
    assert {p.environment.split("/")[-1]: p.action for p in dry.plan} == {
        "demo": "conflict", "gone": "create", "analysis": "create"}
    assert snapshot(target.root) == before

    skipped = restore(target, backup, on_conflict="skip")
    assert {o.environment.split("/")[-1] for o in skipped.imported} == {"gone", "analysis"}
    hist = api.history(environment="demo", store=target.store)
    assert [b.number for b in hist.builds] == [1]  # the store's own, untouched
    assert api.history(environment="mine", store=target.store).env.current_build == 1

    replaced = restore(target, backup, on_conflict="replace")
    assert [o.replaced for o in replaced.imported] == [True, True, True]
    assert describe(target.store)[f"{own_namespace()}/demo"] == \
        describe(sandbox.store)[f"{own_namespace()}/demo"]
    assert api.history(environment="mine", store=target.store).env.current_build == 1


def test_restore_failures_leave_each_environment_as_it_was(sandbox, target, tmp_path):
    sandbox.build(["data-pkg"])
    sandbox.build(["stack"], name="other")
    backup = sandbox.root / "lean.tar.zst"
    api.backup(output=backup, store=sandbox.store)
    with pytest.raises(RestoreFailedError) as info:
        api.restore(source=backup, store=target.store, envs_dir=target.envs,
                    pkgs_dir=tmp_path / "empty", offline=True)
    assert {e for e, _ in info.value.failures} == {f"{own_namespace()}/demo",
                                                   f"{own_namespace()}/other"}
    assert "offline" in info.value.failures[0][1]
    assert api.list_environments(store=target.store).environments == ()
    assert info.value.to_dict()["report"]["imported"] == []


def test_backup_of_chosen_namespaces(sandbox, tmp_path, capsys):
    make_store(sandbox)
    code, made = sandbox.cli("backup", "-o", str(tmp_path / "t.tar.zst"), "--namespace",
                             "team", capsys=capsys)
    assert code == 0 and made["environments"] == ["team/analysis"]
    code, err = sandbox.cli("backup", "-o", str(tmp_path / "x.tar.zst"), "--namespace",
                            "nobody", capsys=capsys)
    assert code == 1 and "team" in err["hint"]
    assert not (tmp_path / "x.tar.zst").exists()


# --- hostile and damaged backups -------------------------------------------------------


def read_members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    import zstandard

    data = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for info in tar:
            blob = tar.extractfile(info).read() if info.isreg() else b""
            out.append((info, blob))
    return out


def write_backup(path: Path, members: list[tuple[tarfile.TarInfo, bytes]],
                 *, compress: bool = True) -> Path:
    import zstandard

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if info.isreg():
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    body = raw.getvalue()
    path.write_bytes(zstandard.ZstdCompressor(write_checksum=True).compress(body)
                     if compress else body)
    return path


def member(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE,
           linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info, data


def with_manifest(members: list, change: Callable[[dict], None]) -> list:
    manifest = json.loads(members[0][1])
    change(manifest)
    return [(members[0][0], json.dumps(manifest).encode()), *members[1:]]


def env_index(members: list) -> int:
    return next(i for i, (info, _) in enumerate(members) if info.name.startswith("env"))


def pkg_index(members: list) -> int:
    return next(i for i, (info, _) in enumerate(members) if info.name.startswith("pack"))


def replace_at(members: list, index: int, data: bytes) -> list:
    out = list(members)
    out[index] = (members[index][0], data)
    return out


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


HOSTILE: dict[str, tuple[Callable[[list], list], type, str]] = {
    "path traversal ../evil": (lambda m: [*m, member("../evil")],
                               UnsafeArchiveMemberError, "path traversal"),
    "absolute /abs": (lambda m: [m[0], member("/tmp/abs-evil"), *m[1:]],
                      UnsafeArchiveMemberError, "absolute"),
    "symlink to /etc": (lambda m: [*m, member("environments/etc", kind=tarfile.SYMTYPE,
                                              linkname="/etc")],
                        UnsafeArchiveMemberError, "symbolic link"),
    "hardlink outside": (lambda m: [*m, member("packages/passwd", kind=tarfile.LNKTYPE,
                                               linkname="../../../etc/passwd")],
                         UnsafeArchiveMemberError, "hard link"),
    "char device": (lambda m: [*m, member("packages/null", kind=tarfile.CHRTYPE)],
                    UnsafeArchiveMemberError, "device"),
    "oversized member vs manifest": (
        lambda m: replace_at(m, env_index(m), m[env_index(m)][1] + b" " * 4096),
        UnsafeArchiveMemberError, "oversized"),
    "tampered transfer file": (
        lambda m: replace_at(m, env_index(m), m[env_index(m)][1].replace(
            b'"name": "demo"', b'"name": "dEmo"')),
        ArchiveIntegrityError, "sha256"),
    "tampered package": (lambda m: replace_at(m, pkg_index(m), flip(m[pkg_index(m)][1], 100)),
                         ArchiveIntegrityError, "sha256"),
    "shorter member": (lambda m: replace_at(m, env_index(m), m[env_index(m)][1][:-10]),
                       ArchiveIntegrityError, "bytes, the manifest says"),
    "member missing": (lambda m: [x for i, x in enumerate(m) if i != pkg_index(m)],
                       ArchiveIntegrityError, "missing"),
    "unlisted member": (lambda m: [*m, member("packages/" + "0" * 64 + "/x-1-0.conda")],
                        ArchiveIntegrityError, "not listed"),
    "manifest not first": (lambda m: [m[1], m[0], *m[2:]], BackupFormatError, "first"),
    "manifest not json": (lambda m: [(m[0][0], b"{oops"), *m[1:]], BackupFormatError,
                          "not valid JSON"),
    "manifest newer": (lambda m: with_manifest(m, lambda d: d.update(version=9)),
                       BackupFormatError, "newer"),
    "manifest lists ../evil": (
        lambda m: with_manifest(m, lambda d: d["members"].append(
            {"path": "../evil", "size": 1, "sha256": "0" * 64})),
        BackupFormatError, "members"),
    "transfer file for another environment": (
        lambda m: with_manifest(m, lambda d: d["environments"][0].update(current_build=1)),
        BackupFormatError, "manifest says"),
}


@pytest.fixture(scope="module")
def good_backup(tmp_path_factory, channel) -> Path:
    source = StoreSandbox(tmp_path_factory.mktemp("source"), channel.url)
    source.build(["stack"])
    source.build(["data-pkg"])
    path = source.root / "good.tar.zst"
    api.backup(output=path, with_packages=True, store=source.store, pkgs_dir=source.pkgs)
    return path


@pytest.fixture(scope="module")
def victim(tmp_path_factory, channel) -> StoreSandbox:
    """A store that already has an environment, restored into by every hostile case."""
    box = StoreSandbox(tmp_path_factory.mktemp("victim"), channel.url)
    box.build(["blob"], name="precious")
    return box


def assert_refused(victim: StoreSandbox, backup: Path, error: type, match: str) -> None:
    before = snapshot(victim.root)
    store_stat = os.stat(victim.store)
    with pytest.raises(error, match=match):
        restore(victim, backup, on_conflict="replace")
    assert snapshot(victim.root) == before  # store, envs links and package cache
    assert os.stat(victim.store).st_mtime_ns == store_stat.st_mtime_ns
    assert not Path("/tmp/abs-evil").exists()
    assert not (victim.root.parent / "evil").exists()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_backups_are_refused_before_anything_is_written(good_backup, victim,
                                                                tmp_path, case):
    mutate, error, match = HOSTILE[case]
    bad = write_backup(tmp_path / "bad.tar.zst", mutate(read_members(good_backup)))
    assert_refused(victim, bad, error, match)


@pytest.mark.parametrize("cut", [0.5, 0.9, -1, -20])
def test_truncated_backups_are_refused(good_backup, victim, tmp_path, cut):
    data = good_backup.read_bytes()
    end = int(len(data) * cut) if cut > 0 else len(data) + cut
    bad = tmp_path / "truncated.tar.zst"
    bad.write_bytes(data[:end])
    assert_refused(victim, bad, ArchiveIntegrityError, "truncated|damaged")


def test_damaged_or_foreign_files_are_refused(good_backup, victim, tmp_path):
    data = good_backup.read_bytes()
    trailing = tmp_path / "trailing.tar.zst"
    trailing.write_bytes(data + b"extra bytes")
    assert_refused(victim, trailing, ArchiveIntegrityError, "after the end")
    flipped = tmp_path / "flipped.tar.zst"
    flipped.write_bytes(flip(data, len(data) // 2))
    assert_refused(victim, flipped, ArchiveIntegrityError, "damaged|sha256")
    plain = write_backup(tmp_path / "plain.tar", read_members(good_backup), compress=False)
    assert_refused(victim, plain, BackupFormatError, "not zstd")
    assert_refused(victim, tmp_path / "missing.tar.zst", BackupFormatError, "no such file")


def test_the_good_backup_itself_restores(good_backup, victim, target):
    result = restore(target, good_backup)
    assert result.verified_packages == 1
