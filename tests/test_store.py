"""`conda store build/list/history/show/use/diff/delete` on real packages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile
from conda_store_plugin.exceptions import (
    BuildFailedError,
    BuildStateError,
    CurrentBuildError,
    EnvironmentLinkError,
    UnknownBuildError,
    UnknownEnvironmentError,
)
from tests.support.store import StoreSandbox, own_namespace, snapshot


@pytest.fixture
def sandbox(tmp_path: Path, channel) -> StoreSandbox:
    return StoreSandbox(tmp_path, channel.url)


def link_target(sandbox: StoreSandbox, name: str = "demo") -> Path:
    return Path(os.readlink(sandbox.envs / name))


def test_build_twice_use_diff_history_show(sandbox, capsys):
    first = sandbox.build(["stack"])
    assert first.record.number == 1 and first.record.status == "completed"
    assert first.became_current and first.previous_current is None
    second = sandbox.build(["stack", "blob"])
    assert second.record.number == 2 and second.became_current
    assert second.previous_current == 1

    ns = own_namespace()
    prefix2 = sandbox.store / ns / "demo" / "builds" / "2" / "prefix"
    assert link_target(sandbox) == prefix2.absolute()
    assert (sandbox.envs / "demo" / "share" / "blob" / "blob.bin").is_file()
    # The build is a real conda environment, marked frozen (CEP 22).
    assert (prefix2 / "conda-meta" / "history").is_file()
    assert json.loads((prefix2 / "conda-meta" / "frozen").read_text())["message"]

    code, listed = sandbox.cli("list", capsys=capsys)
    assert code == 0
    [env] = listed["environments"]
    assert env["environment"] == f"{ns}/demo"
    assert env["current_build"] == 2 and env["statuses"] == {"completed": 2}

    code, hist = sandbox.cli("history", "demo", capsys=capsys)
    assert [(b["build"], b["status"], b["current"]) for b in hist["builds"]] == \
        [(1, "completed", False), (2, "completed", True)]
    assert hist["builds"][0]["package_count"] == 7
    assert hist["builds"][1]["built_by"]["pid"] > 0

    code, shown = sandbox.cli("show", "demo@1", capsys=capsys)
    assert shown["build"] == 1 and shown["status"] == "completed"
    assert "- stack" in shown["spec"]
    assert {p["name"] for p in shown["lock"]["packages"]} >= {"stack", "numpylike"}
    assert "blob" not in {p["name"] for p in shown["lock"]["packages"]}
    assert shown["size"]["apparent"] > 0

    code, diff = sandbox.cli("diff", "demo", "1", "2", capsys=capsys)
    assert diff["counts"] == {"added": 1, "removed": 0, "changed": 0}
    assert diff["changes"][0]["name"] == "blob"

    code, used = sandbox.cli("use", "demo", "1", capsys=capsys)
    assert code == 0 and used["previous_build"] == 2 and used["current_build"] == 1
    assert link_target(sandbox) == (sandbox.build_dir(1) / "prefix").absolute()
    assert not (sandbox.envs / "demo" / "share" / "blob").exists()
    assert api.show(environment="demo", store=sandbox.store).build.number == 1
    # Roll forward again; the record and the link agree.
    api.use(environment=f"{ns}/demo", build=2, store=sandbox.store)
    assert link_target(sandbox) == prefix2.absolute()
    assert json.loads((sandbox.store / ns / "demo" / "env.json").read_text())[
        "current_build"] == 2


def test_failed_build_keeps_previous_current_and_logs_why(sandbox):
    sandbox.build(["data-pkg"])
    with pytest.raises(BuildFailedError) as info:
        sandbox.build(["conflict-a", "conflict-b"])
    assert info.value.build == 2
    log = sandbox.build_dir(2) / "build.log"
    assert "FAILED" in log.read_text() and "conflict" in log.read_text()
    record = sandbox.build_record(2)
    assert record["status"] == "failed" and record["error"]
    assert not (sandbox.build_dir(2) / "prefix").exists()
    assert link_target(sandbox) == (sandbox.build_dir(1) / "prefix").absolute()
    hist = api.history(environment="demo", store=sandbox.store)
    assert [b.status for b in hist.builds] == ["completed", "failed"]
    assert hist.env.current_build == 1
    with pytest.raises(BuildStateError, match="failed"):
        api.use(environment="demo", build=2, store=sandbox.store)


def test_reuses_a_fresh_lockfile_beside_the_spec(sandbox):
    spec = sandbox.spec(["data-pkg"])
    api.lock(spec_path=spec, cache_dir=sandbox.repodata_cache, platforms=["linux-64"])
    sibling = spec.parent / "conda-store.lock.json"
    first = sandbox.build(["data-pkg"])
    assert first.record.lockfile_reused
    assert lockfile.read(first.lockfile).to_dict() == lockfile.read(sibling).to_dict()
    second = sandbox.build(["data-pkg", "blob"])  # the spec changed: the sibling is stale
    assert not second.record.lockfile_reused
    assert "not reusing" in (sandbox.build_dir(2) / "build.log").read_text()


def test_delete_refuses_current_without_force_and_keeps_the_record(sandbox, capsys):
    sandbox.build(["data-pkg"])
    sandbox.build(["blob"])
    before = snapshot(sandbox.root)
    with pytest.raises(CurrentBuildError, match="--force"):
        api.delete(environment="demo@2", store=sandbox.store)
    assert snapshot(sandbox.root) == before

    result = api.delete(environment="demo@1", store=sandbox.store)
    assert result.bytes_freed > 0 and not result.deleted[0].was_current
    assert sorted(p.name for p in sandbox.build_dir(1).iterdir()) == \
        [".builder.lock", "build.json"]
    assert sandbox.build_record(1)["status"] == "deleted"
    assert sandbox.build_record(1)["deleted_at"]
    with pytest.raises(BuildStateError):
        api.use(environment="demo", build=1, store=sandbox.store)

    code, out = sandbox.cli("delete", "demo@2", "--force", capsys=capsys)
    assert code == 0 and out["builds"][0]["was_current"]
    assert not os.path.lexists(sandbox.envs / "demo")
    hist = api.history(environment="demo", store=sandbox.store)
    assert hist.env.current_build is None
    assert [b.status for b in hist.builds] == ["deleted", "deleted"]
    # A new build after that becomes current again.
    assert sandbox.build(["data-pkg"]).record.number == 3
    assert link_target(sandbox) == (sandbox.build_dir(3) / "prefix").absolute()


def test_unknown_environment_and_build_list_the_known_ones(sandbox, capsys):
    sandbox.build(["data-pkg"], name="alpha")
    with pytest.raises(UnknownEnvironmentError) as info:
        api.history(environment="beta", store=sandbox.store)
    assert f"{own_namespace()}/alpha" in str(info.value)
    with pytest.raises(UnknownBuildError, match="builds are: 1"):
        api.show(environment="alpha@7", store=sandbox.store)
    code, out = sandbox.cli("show", "team/beta", capsys=capsys)
    assert code == 1 and out["error"] == "UnknownEnvironmentError"
    assert "alpha" in out["hint"]
    code, out = sandbox.cli("show", "bad name!", capsys=capsys)
    assert code == 1 and out["error"] == "InvalidStoreNameError"


def test_link_taken_by_something_else_is_refused(sandbox):
    (sandbox.envs / "demo").mkdir(parents=True)
    with pytest.raises(EnvironmentLinkError, match="a folder"):
        sandbox.build(["data-pkg"])
    assert not (sandbox.store / own_namespace() / "demo" / "builds").exists()


def test_other_namespace_gets_a_prefixed_link(sandbox):
    result = sandbox.build(["data-pkg"], namespace="team")
    assert result.record.env_key == "team/demo"
    assert Path(result.link) == (sandbox.envs / "team-demo").absolute()
    assert api.list_environments(store=sandbox.store, namespace="team").environments
    assert not api.list_environments(store=sandbox.store, namespace="other").environments


def test_empty_store_lists_nothing_and_is_not_created(tmp_path, capsys):
    store = tmp_path / "nowhere"
    assert api.list_environments(store=store).environments == ()
    assert not store.exists()
    from conda_store_plugin.cli import main

    assert main(["list", "--store", str(store)]) == 0
    assert "No environments" in capsys.readouterr().out


def test_record_use_through_the_link(sandbox):
    from conda_store_plugin.store.usage import record_use

    sandbox.build(["data-pkg"])
    used = sandbox.build_dir(1) / "used.json"
    used.unlink()
    assert record_use(sandbox.envs / "demo", how="run")
    assert json.loads(used.read_text())["how"] == "run"
    assert record_use("demo", how="activate", envs_dirs=[sandbox.envs])
    assert json.loads(used.read_text())["how"] == "activate"
    assert api.record_use(prefix=sandbox.build_dir(1) / "prefix")
    assert not record_use(sandbox.root)  # not a store build: nothing, no error
    assert not record_use("/does/not/exist")


@pytest.mark.conda
def test_conda_lists_runs_and_activates_the_current_build(sandbox):
    import subprocess
    import sys

    sandbox.build(["data-pkg"])
    link = sandbox.envs / "demo"
    env = {**os.environ, "CONDA_ENVS_DIRS": str(sandbox.envs), "CONDA_PKGS_DIRS": str(
        sandbox.pkgs)}
    listed = subprocess.run([sys.executable, "-m", "conda", "env", "list", "--json"],
                            env=env, capture_output=True, text=True, check=True)
    assert str(link) in json.loads(listed.stdout)["envs"]
    stamp = sandbox.build_dir(1) / "used.stamp"
    assert not stamp.exists()
    run = subprocess.run([sys.executable, "-m", "conda", "run", "-n", "demo", "sh", "-c",
                          'cat "$CONDA_PREFIX/share/data-pkg/data.json"'],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"answer": 42}
    assert stamp.exists()  # the activate.d hook recorded the use
    # ... and so did the plugin's pre-command hook for `conda run`.
    assert json.loads((sandbox.build_dir(1) / "used.json").read_text())["how"] == "run"
    view = api.history(environment="demo", store=sandbox.store).builds[0]
    assert view.used.how == "activate"


def test_store_dir_option_beats_environment_beats_setting_beats_default(
        tmp_path, monkeypatch):
    from conda_store_plugin.store import location

    monkeypatch.setenv("CONDA_STORE_DIR", str(tmp_path / "from-env"))
    monkeypatch.setattr(location, "_conda_setting_value", lambda: str(tmp_path / "condarc"))
    assert location.store_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert location.store_dir() == tmp_path / "from-env"
    monkeypatch.delenv("CONDA_STORE_DIR")
    assert location.store_dir() == tmp_path / "condarc"
    monkeypatch.setattr(location, "_conda_setting_value", lambda: None)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert location.store_dir() == tmp_path / "home" / ".conda" / "store"


@pytest.mark.conda
def test_store_dir_from_condarc(tmp_path):
    import subprocess
    import sys

    condarc = tmp_path / "condarc"
    condarc.write_text(f"plugins:\n  store_dir: {tmp_path / 'from-condarc'}\n")
    env = {k: v for k, v in os.environ.items() if k != "CONDA_STORE_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", "from conda_store_plugin.store.location import store_dir; "
                               "print(store_dir())"],
        env={**env, "CONDARC": str(condarc)}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path / "from-condarc")


@pytest.mark.conda
def test_conda_store_verbs_through_conda(tmp_path, channel):
    from tests.support.conda import isolated_env, run_conda

    env = isolated_env(tmp_path / "conda")  # HOME is isolated: the default store is used
    spec = tmp_path / "project" / "environment.yml"
    spec.parent.mkdir()
    spec.write_text(f"name: demo\nchannels: [{channel.url}]\ndependencies: [data-pkg]\n")
    built = run_conda("store", "build", str(spec), "--json", env=env)
    assert built.returncode == 0, built.stderr
    out = json.loads(built.stdout)
    link = tmp_path / "conda" / "envs" / "demo"
    assert out["link"] == str(link) and out["current"]
    assert out["prefix"].startswith(str(tmp_path / "conda" / "home" / ".conda" / "store"))

    listed = json.loads(run_conda("env", "list", "--json", env=env).stdout)
    assert listed["envs_details"][str(link)]["frozen"]
    changed = run_conda("install", "-n", "demo", "blob", "--json", env=env)
    assert changed.returncode != 0 and "EnvironmentIsFrozenError" in changed.stdout
    assert "conda store build" in changed.stdout

    missing = run_conda("store", "show", "nope", "--json", env=env)
    assert missing.returncode != 0
    assert json.loads(missing.stdout)["exception_name"] == "UnknownEnvironmentError"
    assert "demo" in json.loads(missing.stdout)["hint"]
