"""`conda store export` / `conda store import`: one environment and its history, moved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile, transfer
from conda_store_plugin.exceptions import (
    BuildFailedError,
    EnvironmentExistsError,
    EnvironmentLinkError,
    TransferFileError,
)
from conda_store_plugin.install_errors import PackagesNotCachedError
from conda_store_plugin.store.recreate import installed_artifacts
from tests.support.store import StoreSandbox, own_namespace, snapshot

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schemas" / "conda-store-transfer-1.schema.json"


@pytest.fixture
def sandbox(tmp_path: Path, channel) -> StoreSandbox:
    return StoreSandbox(tmp_path / "source", channel.url)


@pytest.fixture
def target(tmp_path: Path, channel) -> StoreSandbox:
    return StoreSandbox(tmp_path / "target", channel.url)


def make_history(sandbox: StoreSandbox) -> None:
    """demo: 1 archived, 2 completed, 3 failed, 4 completed and current."""
    sandbox.build(["stack"])
    sandbox.build(["stack", "blob"])
    with pytest.raises(BuildFailedError):
        sandbox.build(["conflict-a", "conflict-b"])
    sandbox.build(["data-pkg"])
    api.archive(environment="demo@1", store=sandbox.store)


def history_of(store: Path, environment: str) -> list[dict]:
    """Each build as the transfer sees it: status, times, spec, lockfile, log."""
    hist = api.history(environment=environment, store=store)
    ns, name = hist.env.namespace, hist.env.name
    out = []
    for view in hist.builds:
        folder = store / ns / name / "builds" / str(view.number)
        r = view.record
        out.append({
            "number": r.number, "status": view.status, "current": view.current,
            "times": (r.created_at, r.started_at, r.finished_at),
            "platform": r.platform, "error": r.error, "input_hash": r.input_hash,
            "spec": _text(folder / "environment.yml"),
            "lock": _text(folder / "conda-store.lock.json"),
            "log": _text(folder / "build.log"),
        })
    return out


def _text(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def test_committed_schema_matches_the_code():
    assert SCHEMA_FILE.read_text() == transfer.schema_json(), (
        "schemas/ is stale: regenerate it from conda_store_plugin.transfer.schema_json()")


def test_export_then_import_elsewhere_keeps_history_and_recreates_current(
        sandbox, target, capsys):
    make_history(sandbox)
    out = sandbox.root / "demo.json"
    code, exported = sandbox.cli("export", "demo", "-o", str(out), capsys=capsys)
    assert code == 0 and exported["builds"] == 4 and exported["current_build"] == 4
    from jsonschema import Draft202012Validator

    data = json.loads(out.read_text())
    Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(data)
    assert [b["status"] for b in data["builds"]] == ["archived", "completed", "failed",
                                                    "completed"]
    assert transfer.read(out).to_dict() == data  # model round trip is lossless

    code, imported = target.cli("import", str(out), "--namespace", "team", "-n", "copy",
                                "--envs-dir", str(target.envs), "--pkgs-dir",
                                str(target.pkgs), capsys=capsys)
    assert code == 0, imported
    assert imported["environment"] == "team/copy" and imported["replaced"] is False
    assert imported["recreated"]["status"] == "completed" and imported["packages"] == 1

    before = history_of(sandbox.store, "demo")
    after = history_of(target.store, "team/copy")
    # Same builds, times, specs, lockfiles and logs; completed non-current builds come in
    # archived (their files stay behind), the current one is installed again.
    assert [b.pop("status") for b in after] == ["archived", "archived", "failed",
                                               "completed"]
    assert [b.pop("status") for b in before] == ["archived", "completed", "failed",
                                                "completed"]
    # Recreating the current build appends to its log, as `conda store recreate` does.
    assert after[3]["log"].startswith(before[3]["log"])
    assert "recreate" in after[3]["log"][len(before[3]["log"]):]
    after[3]["log"] = before[3]["log"]
    assert after == before

    prefix = target.store / "team" / "copy" / "builds" / "4" / "prefix"
    lock = lockfile.read(prefix.parent / "conda-store.lock.json")
    assert installed_artifacts(prefix) == {p.name: (p.url, p.sha256)
                                           for p in lock.platforms["linux-64"].packages}
    assert Path(os.readlink(target.envs / "team-copy")) == prefix.absolute()
    assert json.loads((prefix / "conda-meta" / "frozen").read_text())["message"]
    record = json.loads((prefix.parent / "build.json").read_text())
    assert record["recreated_at"] and record["prefix"] == str(prefix.absolute())
    # An archived build recreates from the imported lockfile like any other.
    result = api.recreate(environment="team/copy@2", store=target.store, pkgs_dir=target.pkgs)
    assert result.record.status == "completed"
    # The source store was not touched by the export.
    assert api.history(environment="demo", store=sandbox.store).env.current_build == 4


def test_last_use_keeps_each_format_on_the_way_through(sandbox, target):
    # One model (store.records.UsageRecord), two spellings: ``used.json`` says
    # ``last_used_at``, the transfer file ``last_used: {at, how}``.
    sandbox.build(["stack"])
    sandbox.build(["data-pkg"])
    used = sandbox.build_dir(1) / "used.json"
    used.write_text(json.dumps({"format": "conda-store-usage", "version": 1,
                                "last_used_at": "2025-01-31T12:00:00Z", "how": "run"}))
    out = sandbox.root / "demo.json"
    api.export_environment(environment="demo", output=out, store=sandbox.store)
    exported = json.loads(out.read_text())["builds"][0]
    assert exported["last_used"] == {"at": "2025-01-31T12:00:00Z", "how": "run"}
    api.import_environment(source=out, store=target.store, envs_dir=target.envs,
                           pkgs_dir=target.pkgs)
    assert json.loads((target.build_dir(1) / "used.json").read_text()) == \
        json.loads(used.read_text())


def test_import_refuses_an_existing_environment_unless_force(sandbox, target, capsys):
    sandbox.build(["data-pkg"])
    out = sandbox.root / "demo.json"
    api.export_environment(environment="demo", output=out, store=sandbox.store)
    target.build(["stack"])
    target.build(["blob"])
    before = snapshot(target.root)
    with pytest.raises(EnvironmentExistsError, match="--force"):
        api.import_environment(source=out, store=target.store, envs_dir=target.envs,
                               pkgs_dir=target.pkgs)
    code, err = target.cli("import", str(out), "--envs-dir", str(target.envs), capsys=capsys)
    assert code == 1 and err["error"] == "EnvironmentExistsError"
    assert snapshot(target.root) == before

    result = api.import_environment(source=out, store=target.store, envs_dir=target.envs,
                                    pkgs_dir=target.pkgs, force=True)
    assert result.replaced and result.builds == 1 and result.current_build == 1
    hist = api.history(environment="demo", store=target.store)
    assert [(b.number, b.status) for b in hist.builds] == [(1, "completed")]
    # The replaced environment's link path is kept and now points at the import.
    assert Path(os.readlink(target.envs / "demo")) == \
        (target.build_dir(1) / "prefix").absolute()
    assert (target.envs / "demo" / "share" / "data-pkg").is_dir()
    env_dir = target.store / own_namespace() / "demo"
    assert sorted(p.name for p in env_dir.iterdir()) == [".env.lock", "builds", "env.json"]
    # A new build continues the imported numbering.
    assert target.build(["stack"]).record.number == 2


def test_a_failed_import_leaves_the_store_as_it_was(sandbox, target, tmp_path):
    sandbox.build(["data-pkg"])
    out = sandbox.root / "demo.json"
    api.export_environment(environment="demo", output=out, store=sandbox.store)
    empty_cache = tmp_path / "empty-pkgs"
    # A new environment: nothing of it stays (not even its namespace folder).
    target.build(["stack"], name="other")
    before = snapshot(target.store)
    with pytest.raises(PackagesNotCachedError):
        api.import_environment(source=out, store=target.store, envs_dir=target.envs,
                               pkgs_dir=empty_cache, offline=True, namespace="fresh")
    assert snapshot(target.store) == before
    assert not (target.envs / "fresh-demo").exists()
    # A replacement: the old environment and its link come back.
    target.build(["stack"])
    before = snapshot(target.store)
    link = os.readlink(target.envs / "demo")
    with pytest.raises(PackagesNotCachedError):
        api.import_environment(source=out, store=target.store, envs_dir=target.envs,
                               pkgs_dir=empty_cache, offline=True, force=True)
    after = snapshot(target.store)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    # Only folder mtimes of the env dir change (things were moved out and back).
    assert all(os.path.isdir(target.store / k) for k in changed), changed
    assert os.readlink(target.envs / "demo") == link
    assert api.history(environment="demo", store=target.store).builds[0].status == \
        "completed"


def test_import_refuses_a_link_path_taken_by_something_else(sandbox, target):
    sandbox.build(["data-pkg"])
    out = sandbox.root / "demo.json"
    api.export_environment(environment="demo", output=out, store=sandbox.store)
    (target.envs / "demo").mkdir(parents=True)
    (target.envs / "demo" / "a-plain-env").write_text("")
    with pytest.raises(EnvironmentLinkError):
        api.import_environment(source=out, store=target.store, envs_dir=target.envs,
                               pkgs_dir=target.pkgs)
    assert not (target.store / own_namespace()).exists()


def test_export_leaves_out_a_build_in_progress(sandbox, tmp_path):
    sandbox.build(["data-pkg"])
    holder = hold_fake_build(sandbox, 2)
    try:
        result = api.export_environment(environment="demo", output=tmp_path / "d.json",
                                        store=sandbox.store)
    finally:
        release(holder)
    assert [s.to_dict() for s in result.skipped] == [
        {"environment": f"{own_namespace()}/demo", "build": 2, "status": "building"}]
    data = json.loads((tmp_path / "d.json").read_text())
    assert [b["number"] for b in data["builds"]] == [1]
    # Once its builder is gone it reads as failed (interrupted), and is exported so.
    again = api.export_environment(environment="demo", output=tmp_path / "e.json",
                                   store=sandbox.store)
    assert again.skipped == () and again.builds == 2
    last = json.loads((tmp_path / "e.json").read_text())["builds"][-1]
    assert last["status"] == "failed" and "interrupted" in last["error"]


HOLD = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def hold_fake_build(sandbox: StoreSandbox, number: int) -> subprocess.Popen:
    """A build numbered ``number``, recorded 'building', its builder lock held by a child."""
    folder = sandbox.build_dir(number)
    folder.mkdir(parents=True)
    record = sandbox.build_record(number - 1)
    record.update(number=number, status="building", finished_at=None, size=None,
                  prefix=str(folder / "prefix"))
    (folder / "build.json").write_text(json.dumps(record))
    (folder / "build.log").write_text("half a log\n")
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(folder / ".builder.lock")],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def release(child: subprocess.Popen) -> None:
    child.kill()
    child.wait()
    child.stdout.close()


def test_tokens_never_leave_the_store(sandbox, tmp_path):
    sandbox.build(["data-pkg"])
    secret = "tk-0123456789-SECRET"
    folder = sandbox.build_dir(1)
    with open(folder / "build.log", "a") as f:  # as an older version might have logged
        f.write(f"fetch https://user:pw@host.example/t/{secret}/chan/x.conda\n")
    spec = folder / "environment.yml"
    spec.write_text(spec.read_text() + f"# https://host.example/t/{secret}/chan\n")
    out = tmp_path / "d.json"
    api.export_environment(environment="demo", output=out, store=sandbox.store)
    text = out.read_text()
    assert secret not in text and "user:pw" not in text
    assert "https://host.example/chan/x.conda" in text


def test_export_of_an_unknown_environment_names_the_known_ones(sandbox, tmp_path):
    sandbox.build(["data-pkg"])
    from conda_store_plugin.exceptions import UnknownEnvironmentError

    with pytest.raises(UnknownEnvironmentError, match="demo"):
        api.export_environment(environment="nope", output=tmp_path / "x.json",
                               store=sandbox.store)
    assert not (tmp_path / "x.json").exists()


def _valid(sandbox: StoreSandbox) -> dict:
    sandbox.build(["data-pkg"])
    out = sandbox.root / "demo.json"
    api.export_environment(environment="demo", output=out, store=sandbox.store)
    return json.loads(out.read_text())


INVALID = {
    "not json": (lambda d: "{not json", "not valid JSON"),
    "another format": (lambda d: {**d, "format": "conda-lock"}, "not a conda-store"),
    "newer version": (lambda d: {**d, "version": 2}, "newer"),
    "bad namespace": (lambda d: {**d, "environment": {**d["environment"],
                                                      "namespace": "../etc"}}, "invalid"),
    "duplicate build": (lambda d: {**d, "builds": d["builds"] * 2}, "more than once"),
    "missing current": (lambda d: {**d, "environment": {**d["environment"],
                                                        "current_build": 7}}, "not among"),
    "queued build": (lambda d: {**d, "builds": [{**d["builds"][0], "status": "queued"}]},
                     "not a conda-store"),
    "no lockfile": (lambda d: {**d, "builds": [{**d["builds"][0], "lockfile": None}]},
                    "no lockfile"),
    "bad lockfile": (lambda d: {**d, "builds": [{**d["builds"][0], "lockfile": {
        **d["builds"][0]["lockfile"], "platforms": {}}}]}, "lockfile"),
    "tampered sha256": (lambda d: {**d, "builds": [{**d["builds"][0], "lockfile": {
        **d["builds"][0]["lockfile"], "platforms": {"linux-64": {
            **d["builds"][0]["lockfile"]["platforms"]["linux-64"], "packages": [
                {**d["builds"][0]["lockfile"]["platforms"]["linux-64"]["packages"][0],
                 "sha256": "not-a-hash"}]}}}}]}, "sha256"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_transfer_files_are_refused_and_nothing_changes(sandbox, target, case):
    mutate, message = INVALID[case]
    bad = mutate(_valid(sandbox))
    path = target.root / f"{case}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bad if isinstance(bad, str) else json.dumps(bad))
    target.build(["stack"], name="other")
    before = snapshot(target.root)
    with pytest.raises(TransferFileError, match=message) as info:
        api.import_environment(source=path, store=target.store, envs_dir=target.envs,
                               pkgs_dir=target.pkgs, name="imported")
    assert str(path) in str(info.value)
    assert snapshot(target.root) == before


def test_an_archived_current_build_comes_in_archived(sandbox, target):
    sandbox.build(["data-pkg"])
    api.archive(environment="demo@1", force=True, store=sandbox.store)
    out = sandbox.root / "demo.json"
    api.export_environment(environment="demo", output=out, store=sandbox.store)
    result = api.import_environment(source=out, store=target.store, envs_dir=target.envs,
                                    pkgs_dir=target.pkgs)
    assert result.recreated is None and result.not_recreated == "it was archived when exported"
    hist = api.history(environment="demo", store=target.store)
    assert hist.env.current_build == 1 and hist.builds[0].status == "archived"
    assert not os.path.lexists(target.envs / "demo")
    api.recreate(environment="demo@1", store=target.store, pkgs_dir=target.pkgs)
    assert (target.envs / "demo" / "conda-meta").is_dir()


def test_a_crashed_import_leaves_nothing_the_next_import_does_not_sweep(sandbox, target):
    sandbox.build(["data-pkg"])
    out = sandbox.root / "demo.json"
    api.export_environment(environment="demo", output=out, store=sandbox.store)
    leftover = target.store / own_namespace() / ".import-0123abcd"
    (leftover / "builds" / "1").mkdir(parents=True)
    (leftover / "env.json").write_text("{}")
    assert api.list_environments(store=target.store).environments == ()  # invisible
    api.import_environment(source=out, store=target.store, envs_dir=target.envs,
                           pkgs_dir=target.pkgs)
    assert not leftover.exists()
    assert sorted(p.name for p in (target.store / own_namespace()).iterdir()) == ["demo"]
