"""Lockfiles that do not know their packages' sizes (converted from conda-lock v1, pixi).

conda-lock v1 records no sizes, so ``conda store convert conda-lock.yml`` writes
``size: 0`` (unknown). ``conda create --file`` on such a lockfile must install exactly
the locked packages, sha256 checked, with ``cache_locks`` on and off, online and from
the package cache offline; ``conda store install`` too. Real conda in subprocesses, the
test channel over HTTP from 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile
from conda_store_plugin.formats import conda_lock_v1
from tests.support.channels import ARCH_SUBDIRS
from tests.support.conda import isolated_env, run_conda
from tests.support.installing import PLATFORM

pytestmark = pytest.mark.skipif(PLATFORM not in ARCH_SUBDIRS,
                                reason=f"the test channel has no {PLATFORM} packages")

DEPS = ["numpylike", "prefixpkg", "purepkg", "blob"]
# conda adds `pip` to python's dependencies when it solves; the test channel has no pip.
CONDARC = "add_pip_as_python_dependency: false\n"
LOCKS = pytest.mark.parametrize("cache_locks", [True, False], ids=["locks-on", "locks-off"])


def lock_channel(folder: Path, channel_url: str) -> Path:
    """A real lock of the test channel for this platform (sizes known)."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "environment.yml"
    spec.write_text("name: sizes\nchannels:\n  - " + channel_url + "\ndependencies:\n"
                    + "".join(f"  - {d}\n" for d in DEPS))
    return api.lock(spec_path=spec, platforms=[PLATFORM],
                    cache_dir=folder / "rattler-cache").lockfile_path


def via_conda_lock(lock: Path, folder: Path) -> Path:
    """``lock`` -> conda-lock.yml -> conda-store.lock.json, as a user converting would."""
    folder.mkdir(parents=True, exist_ok=True)
    api.convert(source=lock, to="conda-lock", output=folder / "conda-lock.yml")
    api.convert(source=folder / "conda-lock.yml", output=folder / "conda-store.lock.json")
    return folder / "conda-store.lock.json"


@pytest.fixture(scope="module")
def original(tmp_path_factory, http_channel_url) -> Path:
    return lock_channel(tmp_path_factory.mktemp("sizes") / "project", http_channel_url)


@pytest.fixture(scope="module")
def converted(original, tmp_path_factory) -> Path:
    path = via_conda_lock(original, tmp_path_factory.mktemp("converted"))
    assert {p.size for p in lockfile.read(path).platforms[PLATFORM].packages} == {0}
    return path


def conda_env(root: Path, *, cache_locks: bool = True) -> dict[str, str]:
    env = isolated_env(root, extra_condarc=CONDARC)
    env["CONDA_PLUGINS_CACHE_LOCKS"] = "true" if cache_locks else "false"
    return env


def conda(*args: str, env: dict[str, str], ok: bool = True):
    done = run_conda(*args, env=env, timeout=300)
    if ok:
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


def installed(prefix: Path) -> dict[str, tuple[str, str, int | None]]:
    """name -> (sha256, url, size) of the conda-meta records."""
    out = {}
    for path in (prefix / "conda-meta").glob("*.json"):
        record = json.loads(path.read_text())
        out[record["name"]] = (record.get("sha256"), record.get("url"), record.get("size"))
    return out


def locked(path: Path) -> dict[str, tuple[str, str, int]]:
    """name -> (sha256, url, size) of the lock this platform."""
    return {p.name: (p.sha256, p.url, p.size)
            for p in lockfile.read(path).platforms[PLATFORM].packages}


def package_requests(server) -> list[str]:
    return [p for p in server.requests() if p.endswith((".conda", ".tar.bz2"))]


def tampered(converted: Path, dest: Path, name: str) -> Path:
    """``converted`` with ``name``'s sha256 replaced by another package's."""
    data = json.loads(converted.read_text())
    packages = data["platforms"][PLATFORM]["packages"]
    other = next(p["sha256"] for p in packages if p["name"] != name)
    for pkg in packages:
        if pkg["name"] == name:
            pkg["sha256"] = other
    dest.write_text(json.dumps(data, indent=2))
    return dest


# -- converting ------------------------------------------------------------------------


def test_conversion_notes_the_unknown_sizes(original, tmp_path):
    api.convert(source=original, to="conda-lock", output=tmp_path / "conda-lock.yml")
    result = api.convert(source=tmp_path / "conda-lock.yml", output=tmp_path / "out.json")
    count = len(lockfile.read(original).platforms[PLATFORM].packages)
    assert any(f"{count} package(s) without a size" in note for note in result.notes)


def test_file_urls_get_their_size_from_the_disk_and_nothing_else_does(channel, tmp_path):
    lock = lock_channel(tmp_path / "project", channel.path.as_uri())
    text = conda_lock_v1.dumps(lockfile.read(lock))
    assert {p.size for p in conda_lock_v1.loads(text).platforms[PLATFORM].packages} \
        == {p.size for p in lockfile.read(lock).platforms[PLATFORM].packages}
    moved = text.replace(channel.path.as_uri(), (tmp_path / "gone").as_uri())
    assert {p.size for p in conda_lock_v1.loads(moved).platforms[PLATFORM].packages} == {0}


# -- conda create --file ---------------------------------------------------------------


@pytest.mark.conda
@LOCKS
def test_create_installs_exactly_the_locked_packages_with_their_real_sizes(
        cache_locks, converted, original, tmp_path, channel_server):
    env = conda_env(tmp_path / "conda", cache_locks=cache_locks)
    prefix = tmp_path / "env"
    done = conda("create", "-p", str(prefix), "--file", str(converted), env=env)
    # Exactly the locked files, and conda-meta has the sizes the original lock knew.
    assert installed(prefix) == locked(original)
    # They were in the cache before conda planned: nothing left for its plan to fetch.
    assert "will be downloaded" not in done.stdout
    assert (tmp_path / "conda" / "pkgs" / ".conda-store").exists() == cache_locks
    history = (prefix / "conda-meta" / "history").read_text()
    assert f"# update specs: {DEPS!r}" in history


@pytest.mark.conda
def test_install_file_into_an_existing_env_fetches_only_what_it_lacks(
        converted, original, tmp_path, channel_server):
    env = conda_env(tmp_path / "conda")
    prefix = tmp_path / "env"
    conda("create", "-p", str(prefix), env=env)  # empty
    conda("install", "-p", str(prefix), "--file", str(converted), env=env)
    assert installed(prefix) == locked(original)

    shutil.rmtree(tmp_path / "conda" / "pkgs")  # nothing cached any more
    channel_server.reset_log()
    conda("install", "-p", str(prefix), "--file", str(converted), env=env)
    assert package_requests(channel_server) == []  # all installed: nothing fetched
    assert installed(prefix) == locked(original)


@pytest.mark.conda
@LOCKS
def test_a_tampered_sha256_fails_cleanly_and_installs_nothing(cache_locks, converted,
                                                              tmp_path):
    bad = tampered(converted, tmp_path / "bad.conda-store.lock.json", "blob")
    env = conda_env(tmp_path / "conda", cache_locks=cache_locks)
    prefix = tmp_path / "env"
    done = conda("create", "-p", str(prefix), "--file", str(bad), env=env, ok=False)
    assert done.returncode != 0
    assert "ChecksumMismatchError" in done.stderr and "blob-1.0.0" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list((prefix / "conda-meta").glob("*.json"))
    assert not (tmp_path / "conda" / "pkgs" / "blob-1.0.0-h0_0" / "info").exists()


@pytest.mark.conda
@LOCKS
def test_offline_installs_from_the_cache_and_fails_cleanly_without_it(
        cache_locks, converted, original, tmp_path, channel_server):
    env = conda_env(tmp_path / "conda", cache_locks=cache_locks)
    cold = tmp_path / "cold"
    done = conda("create", "--offline", "-p", str(cold), "--file", str(converted), env=env,
                 ok=False)
    assert done.returncode != 0, done.stdout
    count = len(locked(original))
    assert f"NotCachedOfflineError: offline: {count} locked package(s)" in done.stderr
    assert "blob-1.0.0-h0_0.conda" in done.stderr and "Traceback" not in done.stderr
    assert not list((cold / "conda-meta").glob("*.json"))

    conda("create", "-p", str(tmp_path / "first"), "--file", str(converted), env=env)
    channel_server.reset_log()
    warm = tmp_path / "warm"
    conda("create", "--offline", "-p", str(warm), "--file", str(converted), env=env)
    assert channel_server.requests() == {}
    assert installed(warm) == locked(original)


@pytest.mark.conda
def test_dry_run_fetches_nothing(converted, tmp_path, channel_server):
    env = conda_env(tmp_path / "conda")
    channel_server.reset_log()
    done = conda("create", "-p", str(tmp_path / "env"), "--dry-run", "--file",
                 str(converted), env=env)
    assert "numpylike" in done.stdout
    assert channel_server.requests() == {}
    assert not (tmp_path / "env").exists()


# -- conda store install ---------------------------------------------------------------


@pytest.mark.conda
def test_conda_store_install_of_a_converted_lock(converted, original, tmp_path):
    env = conda_env(tmp_path / "conda")
    prefix = tmp_path / "env"
    conda("store", "install", str(converted), "-p", str(prefix), env=env)
    # The exact files, and the records learnt the sizes the lock did not know.
    assert installed(prefix) == locked(original)


@pytest.mark.conda
def test_conda_store_install_of_a_converted_file_channel_lock(channel, tmp_path):
    lock = lock_channel(tmp_path / "project", channel.path.as_uri())
    converted = via_conda_lock(lock, tmp_path / "converted")
    env = conda_env(tmp_path / "conda")
    prefix = tmp_path / "env"
    conda("store", "install", str(converted), "-p", str(prefix), env=env)
    assert installed(prefix) == locked(lock)


# -- pixi.lock -------------------------------------------------------------------------


def pixi_v6(lock: Path, *, without_size: str) -> str:
    """A pixi.lock v6 of ``lock``'s packages for this platform; one has no size."""
    data = lockfile.read(lock)
    packages = sorted(data.platforms[PLATFORM].packages, key=lambda p: p.name)
    lines = ["version: 6", "environments:", "  default:", "    channels:",
             f"    - url: {data.channels[0].url}/", "    packages:", f"      {PLATFORM}:"]
    lines += [f"      - conda: {p.url}" for p in packages]
    lines.append("packages:")
    for p in packages:
        lines += [f"- conda: {p.url}", f"  build_number: {p.build_number}",
                  f"  sha256: {p.sha256}", f"  md5: {p.md5}"]
        if p.depends:
            lines.append("  depends:")
            lines += [f"  - {json.dumps(d)}" for d in p.depends]
        if p.noarch:
            lines.append(f"  noarch: {p.noarch}")
        if p.name != without_size:
            lines.append(f"  size: {p.size}")
    return "\n".join(lines) + "\n"


@pytest.mark.conda
def test_a_pixi_package_without_size_converts_and_installs(original, tmp_path):
    pixi = tmp_path / "pixi.lock"
    pixi.write_text(pixi_v6(original, without_size="blob"))
    out = tmp_path / "conda-store.lock.json"
    api.convert(source=pixi, output=out)
    sizes = {n: v[2] for n, v in locked(out).items()}
    assert sizes["blob"] == 0
    assert all(size == locked(original)[n][2] for n, size in sizes.items() if n != "blob")

    env = conda_env(tmp_path / "conda", cache_locks=False)
    prefix = tmp_path / "env"
    conda("create", "-p", str(prefix), "--file", str(out), env=env)
    assert installed(prefix) == locked(original)
