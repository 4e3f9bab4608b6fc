"""Crash safety and concurrency of the store: kill -9, parallel builds, atomic switch,
a store from a newer version, record schemas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conda_store_plugin import api
from conda_store_plugin.exceptions import StoreVersionError
from conda_store_plugin.store import records
from tests.support.store import StoreSandbox, own_namespace, snapshot

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"

CHILD = """
import sys
from conda_store_plugin import api
spec, store, envs, pkgs, cache = sys.argv[1:6]
result = api.build(spec_path=spec, store=store, envs_dir=envs, pkgs_dir=pkgs, cache_dir=cache)
print(result.record.number)
"""


@pytest.fixture
def sandbox(tmp_path: Path, channel) -> StoreSandbox:
    return StoreSandbox(tmp_path, channel.url)


def start_build(sandbox: StoreSandbox, spec: Path, pkgs: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(spec), str(sandbox.store), str(sandbox.envs),
         str(pkgs or sandbox.pkgs), str(sandbox.repodata_cache)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def newest_build_dir(sandbox: StoreSandbox) -> Path | None:
    builds = sandbox.store / own_namespace() / "demo" / "builds"
    numbered = sorted(int(p.name) for p in builds.glob("[0-9]*"))
    return builds / str(numbered[-1]) if numbered else None


def test_kill_9_at_any_point_of_a_build_never_reports_a_half_build_completed(
        sandbox, channel, make_server):
    # A slow channel (latency per request, 512 KiB/s) so each step takes long enough to
    # be interrupted in the middle.
    server = make_server(channel.path, latency_s=0.05, bandwidth_bytes_per_s=512 * 1024)
    spec = sandbox.spec(["stack", "blob", "prefixpkg"], channel_url=server.url)
    sandbox.build(["data-pkg"], channel_url=server.url)  # build 1: a good current build

    done = {"1"}

    def fresh() -> Path | None:  # the build the current child makes, once numbered
        folder = newest_build_dir(sandbox)
        return folder if folder is not None and folder.name not in done else None

    def log_has(text: str):
        def check() -> bool:
            folder = fresh()
            log = folder / "build.log" if folder else None
            return bool(log and log.exists() and text in log.read_text())
        return check

    kill_points = [
        ("numbered", lambda: fresh() is not None),
        ("locking", log_has("lock: solving")),
        ("fetching", log_has("install: download")),
        ("linking", lambda: fresh() is not None and (fresh() / "prefix").exists()),
    ]
    for label, point in kill_points:
        pkgs = sandbox.root / f"pkgs-{label}"  # cold cache each time: downloads happen
        child = start_build(sandbox, spec, pkgs)
        try:
            reached = wait_for(point)
        finally:
            child.send_signal(signal.SIGKILL)
            _, err = child.communicate()
        assert reached, f"the build never reached {label}: {err}"

        listed = api.list_environments(store=sandbox.store)  # every verb still reads
        assert listed.environments[0].env.current_build == 1
        hist = api.history(environment="demo", store=sandbox.store)
        last = hist.builds[-1]
        assert last.status == "failed" and last.observed.interrupted, label
        assert api.show(environment=f"demo@{last.number}", store=sandbox.store)
        assert (sandbox.envs / "demo" / "share" / "data-pkg").is_dir()
        done.add(str(last.number))

    # The next build repairs: the interrupted ones are recorded failed, their prefixes go.
    result = sandbox.build(["data-pkg", "blob"], channel_url=server.url)
    assert result.record.number == 6 and result.became_current
    hist = api.history(environment="demo", store=sandbox.store)
    assert [b.status for b in hist.builds] == ["completed"] + ["failed"] * 4 + ["completed"]
    for view in hist.builds[1:5]:
        assert sandbox.build_record(view.number)["status"] == "failed"
        assert "interrupted" in sandbox.build_record(view.number)["error"]
        assert not Path(view.record.prefix).exists()
    assert not list((sandbox.store / own_namespace() / "demo" / "builds").glob(".*"))


RECREATE_CHILD = """
import sys
from conda_store_plugin import api
api.recreate(environment=sys.argv[1], store=sys.argv[2], pkgs_dir=sys.argv[3])
"""


def test_kill_9_during_recreate_leaves_the_build_archived(sandbox, channel, make_server):
    server = make_server(channel.path, latency_s=0.05, bandwidth_bytes_per_s=256 * 1024)
    sandbox.build(["stack", "blob"], channel_url=server.url)
    sandbox.build(["data-pkg"], channel_url=server.url)
    api.archive(environment="demo@1", store=sandbox.store)
    prefix = sandbox.build_dir(1) / "prefix"
    child = subprocess.Popen(
        [sys.executable, "-c", RECREATE_CHILD, "demo@1", str(sandbox.store),
         str(sandbox.root / "cold-pkgs")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        reached = wait_for(lambda: "install: download" in
                           (sandbox.build_dir(1) / "build.log").read_text())
    finally:
        child.send_signal(signal.SIGKILL)
        _, err = child.communicate()
    assert reached, err
    view = api.show(environment="demo@1", store=sandbox.store).build
    assert view.status == "archived"
    result = api.recreate(environment="demo@1", store=sandbox.store, pkgs_dir=sandbox.pkgs,
                          offline=True)
    assert result.record.status == "completed"
    assert (prefix / "share" / "blob" / "blob.bin").is_file()


def test_two_builds_of_one_environment_at_once_are_both_recorded(
        sandbox, channel, make_server):
    server = make_server(channel.path, latency_s=0.02, bandwidth_bytes_per_s=1024 * 1024)
    spec_a = sandbox.spec(["stack", "blob"], folder="a", channel_url=server.url)
    spec_b = sandbox.spec(["data-pkg", "blob"], folder="b", channel_url=server.url)
    spec_c = sandbox.spec(["blob"], name="other", folder="c", channel_url=server.url)
    children = [start_build(sandbox, s) for s in (spec_a, spec_b, spec_c)]
    outputs = [c.communicate(timeout=120) for c in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    numbers = sorted(int(out) for out, _ in outputs[:2])
    assert numbers == [1, 2]
    assert int(outputs[2][0]) == 1
    hist = api.history(environment="demo", store=sandbox.store)
    assert [b.status for b in hist.builds] == ["completed", "completed"]
    assert len({b.record.builder.pid for b in hist.builds}) == 2
    assert hist.env.current_build == 2
    assert Path(os.readlink(sandbox.envs / "demo")) == Path(hist.builds[1].record.prefix)
    assert (sandbox.envs / "other" / "share" / "blob" / "blob.bin").is_file()


def test_switching_the_current_build_is_atomic_for_readers(sandbox):
    sandbox.build(["data-pkg"])
    sandbox.build(["blob"])
    link = sandbox.envs / "demo"
    markers = {"share/data-pkg/data.json", "share/blob/blob.bin"}
    seen: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            target = os.readlink(link)  # never missing, never half-made
            build = Path(target).parent.name
            present = {m for m in markers if (Path(target) / m).exists()}
            seen.append(f"{build}:{','.join(sorted(present))}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(60):
            api.use(environment="demo", build=1 + i % 2, store=sandbox.store)
    finally:
        stop.set()
        thread.join()
    assert set(seen) <= {"1:share/data-pkg/data.json", "2:share/blob/blob.bin"}
    assert len(set(seen)) == 2


def test_leftovers_of_crashed_verbs_read_fine_and_are_cleaned(sandbox):
    sandbox.build(["data-pkg"])
    sandbox.build(["blob"])
    builds = sandbox.store / own_namespace() / "demo" / "builds"
    # A crash while numbering, while discarding a prefix, and between the "archived"
    # record and the removal of its prefix:
    (builds / ".new-0123").mkdir()
    (builds / ".new-0123" / "build.json").write_text("{")
    (builds / "1" / ".trash-abc" / "x").mkdir(parents=True)
    path = builds / "1" / "build.json"
    records.write("build", records.read("build", path).with_(status="archived"), path)
    assert [b.status for b in api.history(environment="demo", store=sandbox.store).builds] \
        == ["archived", "completed"]
    assert api.list_environments(store=sandbox.store).environments[0].env.current_build == 2
    api.use(environment="demo", build=2, store=sandbox.store)  # any changing verb repairs
    assert not (builds / ".new-0123").exists()
    assert not (builds / "1" / ".trash-abc").exists()
    assert not (builds / "1" / "prefix").exists()


def test_a_store_made_by_a_newer_version_is_refused_and_left_alone(sandbox, capsys):
    sandbox.build(["data-pkg"])
    store_file = sandbox.store / "store.json"
    data = json.loads(store_file.read_text())
    store_file.write_text(json.dumps({**data, "version": 2, "new_field": 1}))
    spec = sandbox.spec(["blob"])

    def state() -> tuple:
        return snapshot(sandbox.store), snapshot(sandbox.envs), snapshot(sandbox.pkgs)

    before = state()
    calls = [
        lambda: api.build(spec_path=spec, store=sandbox.store, envs_dir=sandbox.envs,
                          pkgs_dir=sandbox.pkgs),
        lambda: api.list_environments(store=sandbox.store),
        lambda: api.history(environment="demo", store=sandbox.store),
        lambda: api.show(environment="demo", store=sandbox.store),
        lambda: api.use(environment="demo", build=1, store=sandbox.store),
        lambda: api.delete(environment="demo@1", force=True, store=sandbox.store),
        lambda: api.archive(older_than="0s", force=True, store=sandbox.store),
        lambda: api.recreate(environment="demo@1", store=sandbox.store),
        lambda: api.du(store=sandbox.store, include_cache=False),
        lambda: api.dedupe(store=sandbox.store),
    ]
    for call in calls:
        with pytest.raises(StoreVersionError, match="newer than this conda-store-plugin"):
            call()
    code, out = sandbox.cli("list", capsys=capsys)
    assert code == 1 and out["error"] == "StoreVersionError"
    assert state() == before

    # A newer record inside an otherwise current store is refused the same way.
    store_file.write_text(json.dumps(data))
    build_file = sandbox.build_dir(1) / "build.json"
    build_file.write_text(json.dumps({**json.loads(build_file.read_text()), "version": 3}))
    with pytest.raises(StoreVersionError):
        api.history(environment="demo", store=sandbox.store)


@pytest.mark.parametrize("kind", sorted(records.SCHEMAS))
def test_committed_schemas_match_the_code(kind):
    path = SCHEMAS / records.schema_filename(kind)
    assert path.read_text() == records.schema_json(kind), (
        f"{path} is stale: regenerate it from "
        f"conda_store_plugin.store.records.schema_json({kind!r})")


def test_written_records_are_schema_valid_and_round_trip(sandbox):
    from jsonschema import Draft202012Validator

    sandbox.build(["data-pkg"])
    env_dir = sandbox.store / own_namespace() / "demo"
    files = {"store": sandbox.store / "store.json", "environment": env_dir / "env.json",
             "build": env_dir / "builds" / "1" / "build.json",
             "usage": env_dir / "builds" / "1" / "used.json"}
    for kind, path in files.items():
        data = json.loads(path.read_text())
        Draft202012Validator(json.loads((SCHEMAS / records.schema_filename(kind))
                                        .read_text())).validate(data)
        assert records.read(kind, path).to_dict() == data


def test_fast_record_check_agrees_with_the_schemas():
    from jsonschema import Draft202012Validator

    build = records.BuildRecord(
        "ns", "env", 3, "completed", "linux-64", "/p", "2025-01-01T00:00:00Z",
        records.Builder("u", "h", 7), "0.1.0", size=records.Size(10, 4096)).to_dict()
    samples = {
        "build": build,
        "environment": records.EnvironmentRecord("ns", "env", "2025-01-01T00:00:00Z", 3,
                                                 "/envs/env").to_dict(),
        "store": records.StoreRecord("2025-01-01T00:00:00Z", "0.1.0").to_dict(),
        "usage": records.UsageRecord("2025-01-01T00:00:00Z", "run").to_dict(),
    }
    mutations = [
        lambda d: d.pop("version"), lambda d: d.update(version="1"),
        lambda d: d.update(version=True), lambda d: d.update(version=0),
        lambda d: d.update(format="other"), lambda d: d.update(extra={"x": 1}),
        lambda d: d.update(number=0), lambda d: d.update(number=1.5),
        lambda d: d.update(number=True), lambda d: d.update(status="done"),
        lambda d: d.update(size={"apparent": 1}), lambda d: d.update(size=None),
        lambda d: d.update(size={"apparent": -1, "disk": 0}),
        lambda d: d["builder"].pop("pid"), lambda d: d.update(builder=[]),
        lambda d: d.update(current_build=None), lambda d: d.update(current_build="2"),
        lambda d: d.update(link=None), lambda d: d.update(link=3),
        lambda d: d.update(lockfile_reused="yes"), lambda d: d.update(error=None),
        lambda d: d.update(how=None), lambda d: d.pop("created_at", None),
    ]
    for kind, sample in samples.items():
        validator = Draft202012Validator(records.SCHEMAS[kind])
        assert records.conforms(kind, sample) and validator.is_valid(sample)
        for mutate in mutations:
            data = json.loads(json.dumps(sample))
            try:
                mutate(data)
            except (KeyError, AttributeError, TypeError):
                continue
            assert records.conforms(kind, data) == validator.is_valid(data), (kind, data)
