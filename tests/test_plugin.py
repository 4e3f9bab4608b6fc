"""The conda-facing layer: hooks, `conda store` parsing, CondaError mapping, settings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.conda import isolated_env, run_conda

ENGINE_MODULES = ("rattler", "jsonschema", "ruamel", "filelock")


def imported_after(statement: str) -> set[str]:
    code = (f"import sys; {statement}; "
            "print(','.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.strip().split(","))


def test_importing_package_cli_and_api_does_not_load_the_engine():
    loaded = imported_after("import conda_store_plugin.cli, conda_store_plugin.api")
    assert not loaded & set(ENGINE_MODULES)


@pytest.mark.conda
def test_importing_the_plugin_does_not_load_the_engine():
    loaded = imported_after("import conda_store_plugin.plugin")
    assert not loaded & set(ENGINE_MODULES)


@pytest.mark.conda
def test_conda_help_lists_store_and_store_help_lists_verbs(tmp_path):
    env = isolated_env(tmp_path)
    top = run_conda("--help", env=env)
    assert top.returncode == 0, top.stderr
    assert "store" in top.stdout
    assert "Error while loading conda entry point" not in top.stderr
    store = run_conda("store", "--help", env=env)
    assert store.returncode == 0, store.stderr
    for verb in ("lock", "install"):
        assert verb in store.stdout
    bare = run_conda("store", env=env)
    assert bare.returncode == 0
    assert "lock" in bare.stdout


@pytest.mark.conda
def test_conda_store_lock_and_errors_as_conda_errors(tmp_path, channel):
    env = isolated_env(tmp_path / "conda")
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{channel.url}]\ndependencies: [stack]\n")
    done = run_conda("store", "lock", str(spec), "--platform", "linux-64", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["platforms"] == {"linux-64": 7}

    spec.write_text(f"channels: [{channel.url}]\ndependencies: [stack, blob]\n")
    stale = run_conda("store", "lock", str(spec), "--check", "--platform", "linux-64", env=env)
    assert stale.returncode == 1
    assert "LockfileOutOfDateError:" in stale.stderr
    assert "blob" in stale.stderr
    assert "Traceback" not in stale.stderr and "ERROR REPORT" not in stale.stderr

    as_json = run_conda("store", "lock", str(spec), "--check", "--platform", "linux-64", "--json",
                        env=env)
    assert as_json.returncode == 1
    dump = json.loads(as_json.stdout)
    assert dump["exception_name"] == "LockfileOutOfDateError"
    assert "conda store lock" in dump["hint"]


@pytest.mark.conda
def test_settings_show_in_conda_config_and_are_read(tmp_path):
    env = isolated_env(tmp_path, extra_condarc="plugins:\n  store_dir: /srv/store\n")
    shown = run_conda("config", "--show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    plugins = json.loads(shown.stdout)["plugins"]
    assert plugins["store_dir"] == "/srv/store"
    assert "store_platforms" in plugins and "store_cuda" in plugins
    read = subprocess.run(
        [sys.executable, "-c", "from conda_store_plugin.config import load_config;"
                               "print(load_config(use_conda=True).store_dir,"
                               " load_config(use_conda=False).store_dir)"],
        env=env, capture_output=True, text=True, check=True)
    assert read.stdout.split() == ["/srv/store", "/srv/store"]  # conda's context, ours


@pytest.mark.conda
def test_lock_defaults_come_from_condarc_settings(tmp_path, channel):
    env = isolated_env(tmp_path / "conda", extra_condarc=(
        "plugins:\n  store_platforms: [linux-64, win-64]\n  store_cuda: '12.4'\n"))
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{channel.url}]\ndependencies: [cudapkg]\n")
    done = run_conda("store", "lock", str(spec), "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["platforms"] == {"linux-64": 1, "win-64": 1}
    lock = json.loads((tmp_path / "conda-store.lock.json").read_text())
    cuda = [v for v in lock["platforms"]["linux-64"]["virtual_packages"] if v["name"] == "__cuda"]
    assert cuda == [{"name": "__cuda", "version": "12.4", "build": "0"}]
    # The command line wins over the setting.
    refused = run_conda("store", "lock", str(spec), "--no-cuda", "--json", env=env)
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["exception_name"] == "UnsatisfiableError"


@pytest.mark.conda
def test_pre_command_names_are_the_names_conda_passes():
    """conda names a command after its module (`conda env update`: main_env_update)."""
    import importlib.util

    from conda.base.context import context

    from conda_store_plugin.conda_layer import exit_guard, usage
    from conda_store_plugin.conda_layer.cache_locks import EXCLUSIVE_COMMANDS, SHARED_COMMANDS

    subcommands = {s.name for s in context.plugin_manager.get_hook_results("subcommands")}
    assert {"store", "doctor"} <= subcommands
    names = exit_guard.RUN_FOR | set(usage.RUN_FOR) | SHARED_COMMANDS | EXCLUSIVE_COMMANDS
    unknown = sorted(n for n in names - subcommands
                     if importlib.util.find_spec(f"conda.cli.main_{n}") is None)
    assert unknown == []
