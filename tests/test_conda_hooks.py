"""Our lockfile inside conda: `conda create --file`, `conda export --format`, lock-aware create.

Real conda in subprocesses (isolated from the user's configuration), the test channel
over HTTP from 127.0.0.1, the rattler solver.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile
from tests.support.channels import ARCH_SUBDIRS
from tests.support.conda import isolated_env, run_conda
from tests.support.installing import PLATFORM

pytestmark = [
    pytest.mark.conda,
    pytest.mark.skipif(PLATFORM not in ARCH_SUBDIRS,
                       reason=f"the test channel has no {PLATFORM} packages"),
]

OTHER = "osx-arm64" if PLATFORM != "osx-arm64" else "linux-64"
DEPS = ["numpylike", "prefixpkg", "purepkg", "blob"]
# conda adds `pip` to python's dependencies when it solves; the test channel has no pip.
CONDARC = "add_pip_as_python_dependency: false\n"


def write_spec(folder: Path, channel_url: str, deps: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "environment.yml"
    spec.write_text("name: hooks-demo\nchannels:\n  - " + channel_url + "\ndependencies:\n"
                    + "".join(f"  - {d}\n" for d in deps)
                    + "variables:\n  HOOKS_DEMO: 'on'\n")
    return spec


@pytest.fixture(scope="module")
def locked(tmp_path_factory, channel_server) -> Path:
    """environment.yml + conda-store.lock.json (this platform and OTHER) over HTTP."""
    folder = tmp_path_factory.mktemp("hooks") / "project"
    spec = write_spec(folder, channel_server.url, DEPS)
    result = api.lock(spec_path=spec, platforms=[PLATFORM, OTHER],
                      cache_dir=folder.parent / "rattler-cache")
    return result.lockfile_path


@pytest.fixture
def conda_env(tmp_path) -> dict[str, str]:
    return isolated_env(tmp_path / "conda", extra_condarc=CONDARC)


def conda(*args: str, env: dict[str, str], cwd: Path | None = None, ok: bool = True):
    done = run_conda(*args, env=env, cwd=cwd, timeout=300)
    if ok:
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


def installed(prefix: Path) -> dict[str, tuple[str, str]]:
    """name -> (sha256, url) of the conda-meta records."""
    out = {}
    for path in (prefix / "conda-meta").glob("*.json"):
        record = json.loads(path.read_text())
        out[record["name"]] = (record.get("sha256"), record.get("url"))
    return out


def locked_set(path: Path, platform: str = PLATFORM) -> dict[str, tuple[str, str]]:
    lock = lockfile.read(path)
    return {p.name: (p.sha256, p.url) for p in lock.platforms[platform].packages}


def repodata_requests(server) -> list[str]:
    return [p for p in server.requests() if not p.endswith((".conda", ".tar.bz2"))]


@pytest.fixture(scope="module")
def created(tmp_path_factory, locked, channel_server) -> tuple[Path, object]:
    """An environment made by `conda create -p X --file conda-store.lock.json`."""
    root = tmp_path_factory.mktemp("created")
    env = isolated_env(root / "conda", extra_condarc=CONDARC)
    prefix = root / "env"
    channel_server.reset_log()
    done = conda("create", "-p", str(prefix), "--file", str(locked), env=env)
    return prefix, done, repodata_requests(channel_server), env


# -- conda create --file conda-store.lock.json ----------------------------------------


def test_create_from_the_lockfile_installs_exactly_the_locked_set_without_solving(
        created, locked):
    prefix, done, repodata, _ = created
    assert installed(prefix) == locked_set(locked)
    assert repodata == []  # no repodata, no shards: nothing to solve with
    assert "Solving environment" not in done.stdout + done.stderr
    # What conda's explicit path leaves out, done by our post-command:
    state = json.loads((prefix / "conda-meta" / "state").read_text())
    assert state["env_vars"] == {"HOOKS_DEMO": "on"}
    history = (prefix / "conda-meta" / "history").read_text()
    assert f"# update specs: {DEPS!r}" in history
    assert history.count("\n+") == len(DEPS) + 3


def test_history_revisions_and_from_history_export(created):
    prefix, _, _, env = created
    revisions = conda("list", "-p", str(prefix), "--revisions", env=env)
    assert "(rev 0)" in revisions.stdout and "+numpylike-2.0.0" in revisions.stdout
    exported = conda("export", "-p", str(prefix), "--from-history", env=env)
    assert [line.strip("- ") for line in exported.stdout.splitlines()
            if line.startswith("  - ")] == DEPS


def test_remove_takes_out_only_that_package(tmp_path, locked, conda_env):
    prefix = tmp_path / "env"
    conda("create", "-p", str(prefix), "--file", str(locked), env=conda_env)
    conda("remove", "-p", str(prefix), "blob", env=conda_env)
    expected = locked_set(locked)
    del expected["blob"]
    assert installed(prefix) == expected


def test_dry_run_lists_the_locked_packages_and_creates_nothing(tmp_path, locked, conda_env,
                                                               channel_server):
    prefix = tmp_path / "env"
    channel_server.reset_log()
    done = conda("create", "-p", str(prefix), "--dry-run", "--file", str(locked),
                 env=conda_env)
    assert "numpylike" in done.stdout and "no solve" in done.stdout
    assert not prefix.exists()
    assert channel_server.requests() == {}
    as_json = conda("create", "-p", str(prefix), "--dry-run", "--json", "--file",
                    str(locked), env=conda_env)
    assert as_json.stdout.strip() == "" and not prefix.exists()


def test_the_lockfile_is_detected_by_content_and_by_format_name(tmp_path, locked, conda_env):
    renamed = tmp_path / "pinned.json"
    renamed.write_text(locked.read_text())
    done = conda("create", "-p", str(tmp_path / "a"), "--dry-run", "--file", str(renamed),
                 env=conda_env)
    assert "no solve" in done.stdout
    oddly_named = tmp_path / "lock.txt"
    oddly_named.write_text(locked.read_text())
    done = conda("create", "-p", str(tmp_path / "b"), "--dry-run", "--file",
                 str(oddly_named), "--format", "conda-store", env=conda_env)
    assert "no solve" in done.stdout


def test_a_platform_the_lockfile_lacks_is_refused(tmp_path, locked, conda_env):
    data = json.loads(locked.read_text())
    del data["platforms"][PLATFORM]
    other_only = tmp_path / "conda-store.lock.json"
    other_only.write_text(json.dumps(data))
    done = conda("create", "-p", str(tmp_path / "env"), "--file", str(other_only),
                 env=conda_env, ok=False)
    assert done.returncode == 1
    assert "PlatformMismatchError" in done.stderr and OTHER in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "env").exists()


def test_a_broken_lockfile_is_a_clean_conda_error(tmp_path, locked, conda_env):
    data = json.loads(locked.read_text())
    data["platforms"][PLATFORM]["packages"][0]["sha256"] = "not-a-hash"
    broken = tmp_path / "conda-store.lock.json"
    broken.write_text(json.dumps(data))
    done = conda("create", "-p", str(tmp_path / "env"), "--file", str(broken),
                 env=conda_env, ok=False)
    assert done.returncode == 1
    assert "LockfileError" in done.stderr and "Traceback" not in done.stderr


# -- conda export --format conda-store ------------------------------------------------


def normalised(data: dict) -> dict:
    data = json.loads(json.dumps(data))
    for key in ("created_at", "exported_from", "tool_version"):
        data["metadata"].pop(key, None)
    data["spec"].pop("name", None)
    data["spec"].pop("platforms", None)
    return data


def test_round_trip_lock_create_export(created, locked, tmp_path):
    prefix, _, _, env = created
    out = tmp_path / "out.json"
    conda("export", "-p", str(prefix), "--format", "conda-store", "--platform", OTHER,
          "--file", str(out), env=env)
    exported = lockfile.read(out)  # schema-valid
    assert sorted(exported.platforms) == sorted([PLATFORM, OTHER])
    assert exported.input_hash == lockfile.read(locked).input_hash
    assert normalised(json.loads(out.read_text())) == normalised(json.loads(locked.read_text()))


def test_export_detects_the_format_from_the_file_name(created, locked, tmp_path):
    prefix, _, _, env = created
    out = tmp_path / "conda-store.lock.json"
    conda("export", "-p", str(prefix), "--file", str(out), env=env)
    exported = lockfile.read(out)
    assert list(exported.platforms) == [PLATFORM]
    assert {p.name: (p.sha256, p.url) for p in exported.platforms[PLATFORM].packages} == \
        locked_set(locked)


def test_export_of_a_solved_environment_and_another_platform(tmp_path, channel_server,
                                                             conda_env):
    prefix = tmp_path / "env"
    conda("create", "-p", str(prefix), "--override-channels", "-c", channel_server.url,
          "numpylike", "data-pkg", env=conda_env)
    out = tmp_path / "out.json"
    conda("export", "-p", str(prefix), "--format", "conda-store-lock-v1", "--platform",
          OTHER, "--file", str(out), env=conda_env)
    exported = lockfile.read(out)
    assert sorted(exported.spec.dependencies) == ["data-pkg", "numpylike"]
    assert exported.spec.channels == (channel_server.url,)
    assert {p.name: (p.sha256, p.url) for p in exported.platforms[PLATFORM].packages} == \
        installed(prefix)
    other = {p.name: p for p in exported.platforms[OTHER].packages}
    assert other["numpylike"].subdir == OTHER and other["data-pkg"].subdir == "noarch"
    assert [v.name for v in exported.platforms[OTHER].virtual_packages]
    # The export installs again, here and no solve.
    again = tmp_path / "again"
    conda("create", "-p", str(again), "--file", str(out), env=conda_env)
    assert installed(again) == installed(prefix)


# -- lock-aware conda create --file environment.yml -----------------------------------


def test_create_from_environment_yml_uses_a_fresh_lockfile(tmp_path, locked, conda_env,
                                                          channel_server):
    prefix = tmp_path / "env"
    channel_server.reset_log()
    done = conda("create", "-p", str(prefix), "--file", str(locked.parent / "environment.yml"),
                 env=conda_env)
    assert "is locked by" in done.stderr and "up to date" in done.stderr
    assert repodata_requests(channel_server) == []
    assert installed(prefix) == locked_set(locked)


def test_create_from_environment_yml_with_a_stale_lockfile_solves(tmp_path, locked,
                                                                 conda_env, channel_server):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "conda-store.lock.json").write_text(locked.read_text())
    spec = write_spec(folder, channel_server.url, [*DEPS, "data-pkg"])
    prefix = tmp_path / "env"
    channel_server.reset_log()
    done = conda("create", "-p", str(prefix), "--file", str(spec), env=conda_env)
    assert "out of date" in done.stderr and "dependencies added data-pkg" in done.stderr
    assert repodata_requests(channel_server)  # it solved
    assert "data-pkg" in installed(prefix)
    assert (folder / "conda-store.lock.json").read_text() == locked.read_text()


def test_lock_aware_create_can_be_switched_off(tmp_path, locked, channel_server):
    env = isolated_env(tmp_path / "conda",
                       extra_condarc=CONDARC + "plugins:\n  lock_aware_create: false\n")
    channel_server.reset_log()
    done = conda("create", "-p", str(tmp_path / "env"), "--file",
                 str(locked.parent / "environment.yml"), env=env)
    assert "conda-store:" not in done.stderr
    assert repodata_requests(channel_server)


# -- pieces, in process ---------------------------------------------------------------


def test_can_handle_is_about_the_format_field_only(tmp_path):
    from conda_store_plugin.conda_layer.lock_specifier import LockfileSpec

    cases = {"ours.json": '{"format": "conda-store-lock", "version": "9.9"}',
             "theirs.json": '{"format": "other"}', "list.json": "[1, 2]",
             "env.yml": "name: x\ndependencies: [a]\n", "broken.json": "{"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    handled = {n for n in cases if LockfileSpec(str(tmp_path / n)).can_handle()}
    assert handled == {"ours.json"}
    assert not LockfileSpec(str(tmp_path / "missing.json")).can_handle()


def test_records_without_sha256_are_hashed_from_the_cached_archive(tmp_path):
    import hashlib

    from conda.models.records import PackageRecord

    from conda_store_plugin.conda_layer.lock_exporter import LockExportError, locked_package

    archive = tmp_path / "tiny-1.0-0.conda"
    archive.write_bytes(b"not really a package")
    common = dict(name="tiny", version="1.0", build="0", build_number=0, subdir="noarch",
                  url=f"file://{tmp_path}/noarch/tiny-1.0-0.conda", fn=archive.name)
    rec = PackageRecord(**common, md5=hashlib.md5(archive.read_bytes()).hexdigest())
    rec.package_tarball_full_path = str(archive)  # what a PrefixRecord carries
    pkg = locked_package(rec, "/some/env")
    assert pkg.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert pkg.size == archive.stat().st_size

    other = PackageRecord(**{**common, "fn": "gone-1.0-0.conda"}, md5="0" * 32)
    with pytest.raises(LockExportError, match="no sha256"):
        locked_package(other, "/some/env")


@pytest.mark.skipif(sys.platform == "win32", reason="the test python is bash")
def test_pypi_packages_of_the_lockfile_are_installed_after_conda(
        tmp_path, python_channel, pypi_server, rattler_cache_dir):
    from tests.test_pypi import run_python
    from tests.test_pypi import write_spec as write_pip_spec

    spec = write_pip_spec(tmp_path / "spec", python_channel.url, ["python"],
                          [f"--index-url {pypi_server.url}/simple", "fastlib"])
    lock = api.lock(spec_path=spec, platforms=[PLATFORM], cache_dir=rattler_cache_dir)
    env = isolated_env(tmp_path / "conda", extra_condarc=CONDARC)
    env["UV_CACHE_DIR"] = str(tmp_path / "uv-cache")
    prefix = tmp_path / "env"
    conda("create", "-p", str(prefix), "--file", str(lock.lockfile_path), env=env)
    done = run_python(prefix, "import fastlib, importlib.metadata as m;"
                              "print(m.version('fastlib'))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1.0"] or done.stdout.split()[-1].startswith("1.")
    # The export gives the PyPI packages back with their files and hashes.
    out = tmp_path / "out.json"
    conda("export", "-p", str(prefix), "--format", "conda-store", "--file", str(out), env=env)
    pypi = {p.name: p for p in lockfile.read(out).platforms[PLATFORM].pypi}
    locked_pypi = {p.name: p for p in lock.lockfile.platforms[PLATFORM].pypi}
    assert {n: (p.version, p.url, p.sha256, p.requested) for n, p in pypi.items()} == \
        {n: (p.version, p.url, p.sha256, p.requested) for n, p in locked_pypi.items()}


def test_tampered_pypi_hash_stops_the_create_before_conda_installs(
        tmp_path, python_channel, pypi_server, rattler_cache_dir):
    from tests.test_pypi import write_spec as write_pip_spec

    spec = write_pip_spec(tmp_path / "spec", python_channel.url, ["python"],
                          [f"--index-url {pypi_server.url}/simple", "fastlib"])
    lock = api.lock(spec_path=spec, platforms=[PLATFORM], cache_dir=rattler_cache_dir)
    data = json.loads(lock.lockfile_path.read_text())
    data["platforms"][PLATFORM]["pypi"][0]["sha256"] = "0" * 64
    lock.lockfile_path.write_text(json.dumps(data))
    env = isolated_env(tmp_path / "conda", extra_condarc=CONDARC)
    env["UV_CACHE_DIR"] = str(tmp_path / "uv-cache")
    prefix = tmp_path / "env"
    done = conda("create", "-p", str(prefix), "--file", str(lock.lockfile_path), env=env,
                 ok=False)
    assert done.returncode == 1
    assert "PypiChecksumMismatchError" in done.stderr, done.stderr
    assert not prefix.exists()


def test_plugin_hooks_stay_light():
    """conda calls these hooks on every command: they import no engine."""
    code = ("import sys, conda.plugins.types; before = set(sys.modules);"
            "import conda_store_plugin.plugin as p; list(p.conda_environment_specifiers());"
            "list(p.conda_environment_exporters()); list(p.conda_pre_commands());"
            "list(p.conda_post_commands());"
            "print(','.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))")
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ}, check=True)
    assert not set(done.stdout.strip().split(",")) & {"rattler", "jsonschema", "ruamel",
                                                      "filelock"}
