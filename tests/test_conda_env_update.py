"""`conda env update --file conda-store.lock.json`: the environment becomes the lock.

Real conda in subprocesses (isolated from the user's configuration), the test channel
over HTTP from 127.0.0.1. Two lockfiles of one project: ``old`` and ``new``; going from
one to the other upgrades numpylike, downgrades python, adds blob and removes data-pkg.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile
from tests.support.channels import ARCH_SUBDIRS
from tests.support.conda import isolated_env, run_conda
from tests.support.installing import PLATFORM, snapshot

pytestmark = [
    pytest.mark.conda,
    pytest.mark.skipif(PLATFORM not in ARCH_SUBDIRS,
                       reason=f"the test channel has no {PLATFORM} packages"),
]

OTHER = "osx-arm64" if PLATFORM != "osx-arm64" else "linux-64"
OLD = ["numpylike =1.1.0", "purepkg", "data-pkg"]
NEW = ["numpylike =2.0.0", "python =3.11", "purepkg", "blob"]
# conda adds `pip` to python's dependencies when it solves; the test channel has no pip.
CONDARC = "add_pip_as_python_dependency: false\n"


def write_lock(folder: Path, channel_url: str, deps: list[str], cache: Path,
               variables: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "environment.yml"
    text = ("name: update-demo\nchannels:\n  - " + channel_url + "\ndependencies:\n"
            + "".join(f"  - {d}\n" for d in deps))
    if variables:
        text += "variables:\n" + "".join(f"  {k}: '{v}'\n" for k, v in variables.items())
    spec.write_text(text)
    return api.lock(spec_path=spec, platforms=[PLATFORM, OTHER],
                    cache_dir=cache).lockfile_path


@pytest.fixture(scope="module")
def locks(tmp_path_factory, channel_server) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("env-update")
    cache = root / "rattler-cache"
    return {
        "old": write_lock(root / "old", channel_server.url, OLD, cache,
                          {"UPDATE_DEMO": "old"}),
        "new": write_lock(root / "new", channel_server.url, NEW, cache,
                          {"UPDATE_DEMO": "new", "ONLY_NEW": "1"}),
    }


@pytest.fixture
def conda_env(tmp_path) -> dict[str, str]:
    return isolated_env(tmp_path / "conda", extra_condarc=CONDARC)


def conda(*args: str, env: dict[str, str], ok: bool = True):
    done = run_conda(*args, env=env, timeout=300)
    if ok:
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


def installed(prefix: Path) -> dict[str, tuple[str, str, str]]:
    """name -> (version, sha256, url) of the conda-meta records."""
    out = {}
    for path in (prefix / "conda-meta").glob("*.json"):
        record = json.loads(path.read_text())
        out[record["name"]] = (record["version"], record.get("sha256"), record.get("url"))
    return out


def locked(path: Path, platform: str = PLATFORM) -> dict[str, tuple[str, str, str]]:
    lock = lockfile.read(path)
    return {p.name: (p.version, p.sha256, p.url) for p in lock.platforms[platform].packages}


def requested_specs(prefix: Path) -> dict[str, str]:
    """What conda itself reads from the history as the environment's requested specs."""
    from conda.history import History

    return {name: str(spec)
            for name, spec in History(str(prefix)).get_requested_specs_map().items()}


def env_vars(prefix: Path) -> dict[str, str]:
    state = prefix / "conda-meta" / "state"
    return json.loads(state.read_text()).get("env_vars", {}) if state.exists() else {}


def update(prefix: Path, lock: Path, env: dict[str, str], *extra: str, ok: bool = True):
    return conda("env", "update", "-p", str(prefix), "--file", str(lock), *extra,
                 env=env, ok=ok)


# -- the environment becomes the lock ---------------------------------------------------


def test_update_creates_a_missing_environment_from_the_lock(tmp_path, locks, conda_env,
                                                            channel_server):
    prefix = tmp_path / "env"
    channel_server.reset_log()
    done = update(prefix, locks["old"], conda_env)
    assert installed(prefix) == locked(locks["old"])
    assert not [p for p in channel_server.requests()
                if not p.endswith((".conda", ".tar.bz2"))]  # no repodata: no solve
    assert "Solving environment" not in done.stdout + done.stderr
    assert "NEW packages will be INSTALLED" in done.stdout
    assert "conda activate" in done.stdout  # conda finished its command as usual
    assert env_vars(prefix) == {"UPDATE_DEMO": "old"}
    assert set(requested_specs(prefix)) == {"numpylike", "purepkg", "data-pkg"}


def test_update_adds_upgrades_downgrades_and_removes(tmp_path, locks, conda_env):
    prefix = tmp_path / "env"
    update(prefix, locks["old"], conda_env)
    before = installed(prefix)

    done = update(prefix, locks["new"], conda_env)

    after = installed(prefix)
    assert after == locked(locks["new"])
    assert "data-pkg" in before and "data-pkg" not in after  # removed, no --prune needed
    assert "blob" not in before and "blob" in after  # added
    assert (before["numpylike"][0], after["numpylike"][0]) == ("1.1.0", "2.0.0")
    assert (before["python"][0], after["python"][0]) == ("3.12.1", "3.11.7")
    out = done.stdout
    assert "The following packages will be UPDATED" in out
    assert "1.1.0-py312h0_0 --> 2.0.0-py311h0_0" in out
    assert "The following packages will be DOWNGRADED" in out
    assert "The following packages will be REMOVED" in out and "data-pkg" in out
    # The history says what the new lock asks for, and that data-pkg is no longer asked.
    assert requested_specs(prefix) == {
        "numpylike": "numpylike=2.0.0", "python": "python=3.11", "purepkg": "purepkg",
        "blob": "blob"}
    history = (prefix / "conda-meta" / "history").read_text()
    assert "# remove specs: ['data-pkg']" in history
    last_entry = history.rsplit("==>", 1)[1].splitlines()
    assert [line.rsplit("::", 1)[1] for line in last_entry if line.startswith("-")] == [
        "numpylike-1.1.0-py312h0_0", "python-3.12.1-h0_0_cpython", "data-pkg-0.1.0-h0_0"]
    if sys.platform != "win32":  # noarch: python packages follow python to its new site
        site = prefix / "lib"
        assert (site / "python3.11" / "site-packages" / "purepkg" / "VERSION.txt").is_file()
        assert not (site / "python3.12").exists()
    assert env_vars(prefix) == {"UPDATE_DEMO": "new", "ONLY_NEW": "1"}
    # conda's own view of the environment agrees.
    listed = conda("list", "-p", str(prefix), "--json", env=conda_env)
    assert {p["name"]: p["version"] for p in json.loads(listed.stdout)} == \
        {n: v[0] for n, v in locked(locks["new"]).items()}


def test_a_second_update_changes_nothing(tmp_path, locks, conda_env, channel_server):
    prefix = tmp_path / "env"
    update(prefix, locks["new"], conda_env)
    meta = snapshot(prefix / "conda-meta")
    written = {p.name: p.stat().st_mtime_ns for p in (prefix / "conda-meta").iterdir()}
    channel_server.reset_log()

    done = update(prefix, locks["new"], conda_env)

    assert "All locked packages already installed" in done.stdout
    assert channel_server.requests() == {}
    assert snapshot(prefix / "conda-meta") == meta  # no history entry, no record changed
    assert {p.name: p.stat().st_mtime_ns
            for p in (prefix / "conda-meta").iterdir()} == written  # nor rewritten


def test_packages_the_lock_lacks_are_removed_with_or_without_prune(tmp_path, locks,
                                                                   conda_env,
                                                                   channel_server):
    prefix = tmp_path / "env"
    update(prefix, locks["new"], conda_env)
    conda("install", "-p", str(prefix), "--override-channels", "-c", channel_server.url,
          "unixtool" if not PLATFORM.startswith("win") else "wintool", env=conda_env)
    assert installed(prefix) != locked(locks["new"])

    update(prefix, locks["new"], conda_env, "--prune")
    assert installed(prefix) == locked(locks["new"])


def test_update_by_name_and_by_the_lockfile_name(tmp_path, locks, conda_env):
    envs = tmp_path / "conda" / "envs"
    conda("env", "update", "-n", "named", "--file", str(locks["old"]), env=conda_env)
    assert installed(envs / "named") == locked(locks["old"])
    # Neither -n nor -p: the lockfile's spec name, as conda does for environment.yml.
    conda("env", "update", "--file", str(locks["new"]), env=conda_env)
    assert installed(envs / "update-demo") == locked(locks["new"])
    assert "update-demo" in conda("env", "list", env=conda_env).stdout


def test_without_a_target_conda_asks_for_one(tmp_path, locks, conda_env):
    data = json.loads(locks["new"].read_text())
    del data["spec"]["name"]
    nameless = tmp_path / "conda-store.lock.json"
    nameless.write_text(json.dumps(data))
    done = conda("env", "update", "--file", str(nameless), env=conda_env, ok=False)
    assert done.returncode == 1
    assert "Unable to determine environment" in done.stderr, done.stderr
    assert not list((tmp_path / "conda" / "envs").glob("*"))


def test_an_environment_yml_is_still_solved_by_conda(tmp_path, conda_env, channel_server):
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels:\n  - {channel_server.url}\ndependencies:\n  - data-pkg\n")
    prefix = tmp_path / "env"
    channel_server.reset_log()
    conda("env", "update", "-p", str(prefix), "--file", str(spec), env=conda_env)
    assert set(installed(prefix)) == {"data-pkg"}
    assert [p for p in channel_server.requests() if "repodata" in p]  # conda solved


# -- dry run, JSON ----------------------------------------------------------------------


def test_dry_run_shows_what_would_change_and_changes_nothing(tmp_path, locks, conda_env,
                                                             channel_server):
    prefix = tmp_path / "env"
    update(prefix, locks["old"], conda_env)
    before = snapshot(prefix)
    channel_server.reset_log()
    dry = {**conda_env, "CONDA_DRY_RUN": "true"}

    done = update(prefix, locks["new"], dry)

    assert "Dry run" in done.stdout
    assert "numpylike" in done.stdout and "1.1.0-py312h0_0 --> 2.0.0-py311h0_0" in done.stdout
    assert "DOWNGRADED" in done.stdout and "REMOVED" in done.stdout
    assert snapshot(prefix) == before
    assert channel_server.requests() == {}

    as_json = update(prefix, locks["new"], {**dry}, "--json")
    report = json.loads(as_json.stdout)
    assert report["dry_run"] is True and report["success"] is True
    assert report["changes"]["removed"] == ["data-pkg"]
    assert report["changes"]["new"] == ["blob"]
    assert "numpylike" in report["changes"]["updated"]
    assert "python" in report["changes"]["downgraded"]
    assert snapshot(prefix) == before
    # A missing environment stays missing.
    update(tmp_path / "new-env", locks["new"], dry)
    assert not (tmp_path / "new-env").exists()


def test_json_output_is_one_document(tmp_path, locks, conda_env):
    prefix = tmp_path / "env"
    done = update(prefix, locks["new"], conda_env, "--json")
    assert json.loads(done.stdout)["success"] is True
    assert installed(prefix) == locked(locks["new"])


# -- refusals ---------------------------------------------------------------------------


def test_a_lock_without_this_platform_is_refused(tmp_path, locks, conda_env):
    prefix = tmp_path / "env"
    update(prefix, locks["old"], conda_env)
    before = snapshot(prefix)
    data = json.loads(locks["new"].read_text())
    del data["platforms"][PLATFORM]
    other_only = tmp_path / "conda-store.lock.json"
    other_only.write_text(json.dumps(data))

    done = update(prefix, other_only, conda_env, ok=False)

    assert done.returncode == 1
    assert "PlatformMismatchError" in done.stderr and OTHER in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(prefix) == before


def test_a_tampered_package_stops_before_the_environment_changes(tmp_path, locks,
                                                                conda_env):
    prefix = tmp_path / "env"
    update(prefix, locks["old"], conda_env)
    before = snapshot(prefix)
    data = json.loads(locks["new"].read_text())
    blob = next(p for p in data["platforms"][PLATFORM]["packages"] if p["name"] == "blob")
    blob["sha256"] = "0" * 64
    tampered = tmp_path / "conda-store.lock.json"
    tampered.write_text(json.dumps(data))

    done = update(prefix, tampered, conda_env, ok=False)

    assert done.returncode != 0
    assert "ChecksumMismatchError" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(prefix) == before


def test_a_broken_lockfile_is_a_clean_conda_error(tmp_path, locks, conda_env):
    data = json.loads(locks["new"].read_text())
    data["platforms"][PLATFORM]["packages"][0]["sha256"] = "not-a-hash"
    broken = tmp_path / "conda-store.lock.json"
    broken.write_text(json.dumps(data))
    done = update(tmp_path / "env", broken, conda_env, ok=False)
    assert done.returncode == 1
    assert "LockfileError" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "env").exists()


def test_a_frozen_environment_is_refused_unless_overridden(tmp_path, locks, conda_env):
    prefix = tmp_path / "env"
    update(prefix, locks["old"], conda_env)
    (prefix / "conda-meta" / "frozen").write_text("{}")
    before = installed(prefix)

    done = update(prefix, locks["new"], conda_env, ok=False)
    assert done.returncode != 0 and "Frozen" in done.stderr, done.stderr
    assert installed(prefix) == before

    update(prefix, locks["new"], conda_env, "--override-frozen")
    assert installed(prefix) == locked(locks["new"])


# -- PyPI -------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="the test python is bash")
def test_pypi_packages_of_the_lock_are_installed(tmp_path, python_channel, pypi_server,
                                                 rattler_cache_dir):
    from tests.test_pypi import run_python
    from tests.test_pypi import write_spec as write_pip_spec

    spec = write_pip_spec(tmp_path / "spec", python_channel.url, ["python"],
                          [f"--index-url {pypi_server.url}/simple", "fastlib"])
    lock = api.lock(spec_path=spec, platforms=[PLATFORM], cache_dir=rattler_cache_dir)
    env = isolated_env(tmp_path / "conda", extra_condarc=CONDARC)
    env["UV_CACHE_DIR"] = str(tmp_path / "uv-cache")
    prefix = tmp_path / "env"
    # An environment without them first: the update adds the PyPI packages.
    conda("create", "-p", str(prefix), "--override-channels", "-c", python_channel.url,
          "python", env=env)
    assert run_python(prefix, "import fastlib").returncode != 0

    done = update(prefix, lock.lockfile_path, env)

    assert "fastlib" in done.stdout
    ran = run_python(prefix, "import fastlib, importlib.metadata as m;"
                             "print(m.version('fastlib'))")
    assert ran.returncode == 0, ran.stderr
    locked_pypi = {p.name: p.version for p in lock.lockfile.platforms[PLATFORM].pypi}
    assert ran.stdout.split()[-1] == locked_pypi["fastlib"]
