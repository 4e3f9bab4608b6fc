"""`conda store archive` (single and bulk), `recreate`, builds in progress."""

from __future__ import annotations

import datetime
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile
from conda_store_plugin.exceptions import (
    BuildInProgressError,
    BuildStateError,
    CondaStoreError,
    CorruptBuildLockfileError,
    CurrentBuildError,
    InvalidDurationError,
)
from conda_store_plugin.store import records
from tests.support.store import StoreSandbox, snapshot


@pytest.fixture
def sandbox(tmp_path: Path, channel) -> StoreSandbox:
    return StoreSandbox(tmp_path, channel.url)


def exclusive_bytes(root: Path) -> int:
    """Bytes on disk that removing ``root`` frees, computed by hand."""
    seen: Counter = Counter()
    info = {}
    total = 0
    for folder, _dirs, files in os.walk(root):
        total += os.lstat(folder).st_blocks * 512
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            seen[(st.st_dev, st.st_ino)] += 1
            info[(st.st_dev, st.st_ino)] = st
    return total + sum(st.st_blocks * 512 for key, st in info.items()
                       if st.st_nlink == seen[key])


def test_archive_frees_bytes_keeps_records_and_refuses_current(sandbox, capsys):
    sandbox.build(["stack", "blob"])
    sandbox.build(["data-pkg"])
    prefix1 = sandbox.build_dir(1) / "prefix"
    expected = exclusive_bytes(prefix1)
    assert expected > 0

    with pytest.raises(CurrentBuildError):
        api.archive(environment="demo@2", store=sandbox.store)
    code, out = sandbox.cli("archive", "demo@1", capsys=capsys)
    assert code == 0
    assert out["bytes_freed"] == expected and out["builds"][0]["action"] == "archived"
    assert not prefix1.exists()
    kept = sorted(p.name for p in sandbox.build_dir(1).iterdir())
    assert kept == [".builder.lock", "build.json", "build.log", "conda-store.lock.json",
                    "environment.yml", "used.json"]
    record = sandbox.build_record(1)
    assert record["status"] == "archived" and record["bytes_freed"] == expected
    # The current build is untouched.
    assert (sandbox.envs / "demo" / "share" / "data-pkg" / "data.json").is_file()
    with pytest.raises(BuildStateError, match="archived") as info:
        api.use(environment="demo", build=1, store=sandbox.store)
    assert "recreate" in info.value.hint
    with pytest.raises(BuildStateError, match="archived"):
        api.archive(environment="demo@1", store=sandbox.store)


def test_recreate_offline_from_warm_cache_gives_the_locked_packages(
        sandbox, channel, make_server, capsys):
    server = make_server(channel.path)
    result = sandbox.build(["stack", "prefixpkg"], channel_url=server.url)
    sandbox.build(["data-pkg"], channel_url=server.url)
    prefix = Path(result.record.prefix)
    before = {p.name: p.read_bytes() for p in (prefix / "conda-meta").glob("*.json")}
    api.archive(environment="demo@1", store=sandbox.store)
    server.stop()  # offline: only the package cache can serve the packages

    code, out = sandbox.cli("recreate", "demo@1", "--offline", "--pkgs-dir",
                            str(sandbox.pkgs), capsys=capsys)
    assert code == 0, out
    assert out["status"] == "completed" and out["packages"] == 8
    assert out["install"]["cache"]["downloaded"] == 0
    lock = lockfile.read(sandbox.build_dir(1) / "conda-store.lock.json")
    locked = {p.name: (p.url, p.sha256) for p in lock.platforms["linux-64"].packages}
    installed = {}
    for path in (prefix / "conda-meta").glob("*.json"):
        data = json.loads(path.read_text())
        installed[data["name"]] = (data["url"], data["sha256"])
    assert installed == locked
    assert sorted(before) == sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    # Installed at its original location: the prefix placeholder became that path.
    assert str(prefix.absolute()) in (prefix / "etc" / "prefixpkg.conf").read_text()
    record = sandbox.build_record(1)
    assert record["status"] == "completed" and record["recreated_at"]
    api.use(environment="demo", build=1, store=sandbox.store)  # usable again


def test_recreate_of_archived_current_build_restores_its_link(sandbox):
    sandbox.build(["data-pkg"])
    api.archive(environment="demo@1", force=True, store=sandbox.store)
    assert not os.path.lexists(sandbox.envs / "demo")
    result = api.recreate(environment="demo@1", store=sandbox.store, pkgs_dir=sandbox.pkgs,
                          offline=True)
    assert result.current
    assert (sandbox.envs / "demo" / "share" / "data-pkg" / "data.json").is_file()
    with pytest.raises(BuildStateError, match="completed"):
        api.recreate(environment="demo@1", store=sandbox.store, pkgs_dir=sandbox.pkgs)


def test_recreate_with_a_corrupt_lockfile_changes_nothing(sandbox, capsys):
    sandbox.build(["data-pkg"])
    sandbox.build(["blob"])
    api.archive(environment="demo@1", store=sandbox.store)
    lock = sandbox.build_dir(1) / "conda-store.lock.json"
    lock.write_text(lock.read_text().replace('"sha256": "', '"sha256": "zz', 1))
    before = snapshot(sandbox.root)
    with pytest.raises(CorruptBuildLockfileError, match="not a valid") as info:
        api.recreate(environment="demo@1", store=sandbox.store, pkgs_dir=sandbox.pkgs)
    assert "conda store build" in info.value.hint
    assert snapshot(sandbox.root) == before
    lock.write_text("{not json")
    code, out = sandbox.cli("recreate", "demo@1", capsys=capsys)
    assert code == 1 and out["error"] == "CorruptBuildLockfileError"
    assert sandbox.build_record(1)["status"] == "archived"


def _age(sandbox: StoreSandbox, number: int, *, finished_days: float,
         used_days: float | None, now: datetime.datetime) -> None:
    path = sandbox.build_dir(number) / "build.json"
    record = records.read("build", path)
    finished = records.format_time(now - datetime.timedelta(days=finished_days))
    records.write("build", record.with_(finished_at=finished, created_at=finished), path)
    used = sandbox.build_dir(number) / "used.json"
    if used_days is None:
        used.unlink(missing_ok=True)
    else:
        records.write("usage", records.UsageRecord(
            records.format_time(now - datetime.timedelta(days=used_days)), "activate"), used)


def test_bulk_archive_policies_dry_run_and_current(sandbox, capsys):
    for deps in (["data-pkg"], ["blob"], ["data-pkg", "blob"], ["purepkg"]):
        sandbox.build(deps)
    now = records.now_utc()
    _age(sandbox, 1, finished_days=200, used_days=5, now=now)
    _age(sandbox, 2, finished_days=100, used_days=60, now=now)
    _age(sandbox, 3, finished_days=10, used_days=None, now=now)
    _age(sandbox, 4, finished_days=300, used_days=300, now=now)  # current: never chosen

    def chosen(**policy) -> list[int]:
        report = api.archive(store=sandbox.store, dry_run=True, now=now, **policy)
        return [o.number for o in report.archived]

    before = snapshot(sandbox.root)
    assert chosen(older_than="90d") == [1, 2]
    assert chosen(keep_last=2) == [1, 2]
    assert chosen(keep_last=3) == [1]
    assert chosen(unused_for="30d") == [2]
    assert chosen(unused_for="8d") == [2, 3]
    assert chosen(older_than="90d", unused_for="30d") == [2]
    assert chosen(older_than="150d", keep_last=1) == [1]
    assert chosen(older_than="90d", force=True) == [1, 2, 4]
    assert chosen(environment="demo", older_than="1w") == [1, 2, 3]
    assert snapshot(sandbox.root) == before  # dry runs change nothing

    dry = api.archive(store=sandbox.store, older_than="90d", dry_run=True, now=now)
    assert dry.bytes_freed > 0
    assert "not among" not in dry.archived[0].reasons[0]
    code, out = sandbox.cli("archive", "--older-than", "90d", capsys=capsys)
    assert code == 0 and [b["build"] for b in out["builds"]] == [1, 2]
    assert out["bytes_freed"] == dry.bytes_freed
    statuses = [b.status for b in api.history(environment="demo",
                                              store=sandbox.store).builds]
    assert statuses == ["archived", "archived", "completed", "completed"]
    assert (sandbox.envs / "demo").is_dir()

    with pytest.raises(InvalidDurationError):
        api.archive(store=sandbox.store, older_than="ninety days")
    with pytest.raises(CondaStoreError, match="nothing to archive"):
        api.archive(store=sandbox.store)


def test_build_in_progress_cannot_be_archived_and_reads_as_interrupted_once_dead(sandbox):
    from conda_store_plugin.store.builds import allocate, lock_env, open_store
    from conda_store_plugin.store.layout import EnvRef
    from conda_store_plugin.store.records import Builder, BuildRecord

    sandbox.build(["data-pkg"])
    layout = open_store(sandbox.store)
    ref = api.history(environment="demo", store=sandbox.store).builds[0].record
    env_ref = EnvRef(ref.namespace, ref.environment)
    with lock_env(layout, env_ref):
        record, builder = allocate(layout, env_ref, lambda n: BuildRecord(
            ref.namespace, ref.environment, n, "building", "linux-64",
            str(layout.prefix(env_ref, n)), records.format_time(records.now_utc()),
            Builder.this_process(), "0"))
    (layout.prefix(env_ref, 2) / "half").mkdir(parents=True)
    try:
        with pytest.raises(BuildInProgressError):
            api.archive(environment="demo@2", store=sandbox.store)
        with pytest.raises(BuildInProgressError):
            api.delete(environment="demo@2", store=sandbox.store)
        view = api.show(environment="demo@2", store=sandbox.store).build
        assert view.status == "building" and not view.observed.interrupted
    finally:
        builder.release()
    view = api.show(environment="demo@2", store=sandbox.store).build
    assert view.status == "failed" and view.observed.interrupted
    assert sandbox.build_record(2)["status"] == "building"  # reading wrote nothing
    api.use(environment="demo", build=1, store=sandbox.store)  # a changing verb repairs
    assert sandbox.build_record(2)["status"] == "failed"
    assert not layout.prefix(env_ref, 2).exists()
