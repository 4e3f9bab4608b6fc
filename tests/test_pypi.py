"""The `pip:` section: locked per platform with uv, installed after the conda packages.

Everything is local: wheels built by the test (tests/support/pypi.py), a simple index
served on 127.0.0.1 (or read as a folder), and a conda channel whose `python` runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile
from conda_store_plugin.exceptions import (
    LockfileOutOfDateError,
    PipRequirementError,
    PypiChecksumMismatchError,
    PypiIndexError,
    PypiInstallError,
    PypiNoPythonError,
    PypiNoWheelError,
    PypiResolutionError,
)
from conda_store_plugin.lockfile import LockedPackage, LockedPypiPackage
from conda_store_plugin.platforms import VirtualPackage, virtual_packages_for
from conda_store_plugin.pypi_install import fetch_pypi, install_pypi
from conda_store_plugin.pypi_names import provided_by_conda, pypi_name
from conda_store_plugin.pypi_targets import best_wheel, locked_python, target_for
from tests.support.pypi import FASTLIB_TAGS, WheelSpec, fastlib_11

PLATFORMS = ["linux-64", "osx-arm64", "win-64"]
XY = f"{sys.version_info.major}.{sys.version_info.minor}"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="the test python is bash")


def write_spec(folder: Path, channel_url: str, deps: list[str], pip: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["name: demo", "channels:", f"  - {channel_url}", "dependencies:"]
    lines += [f"  - {d}" for d in deps]
    if pip:
        lines.append("  - pip:")
        lines += [f"    - {json.dumps(p)}" for p in pip]
    path = folder / "environment.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def pypi(result_or_lock, platform: str) -> dict[str, LockedPypiPackage]:
    lock_ = getattr(result_or_lock, "lockfile", result_or_lock)
    return {p.name: p for p in lock_.platforms[platform].pypi}


def lock(spec: Path, cache: Path, **kwargs) -> api.LockResult:
    return api.lock(spec_path=spec, cache_dir=cache, **kwargs)


@pytest.fixture(autouse=True)
def _fast_failing_uv(monkeypatch):
    # A refused connection is retried 3 times by default (~5 s); once is enough here.
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")


# --- lock ----------------------------------------------------------------------------


def test_each_platform_gets_its_own_wheel(tmp_path, python_channel, pypi_index, pypi_server,
                                          rattler_cache_dir):
    simple = pypi_server.url + "/simple"
    spec = write_spec(tmp_path, python_channel.url, ["python", "provided"],
                      [f"--index-url {simple}", "fastlib", "needsprovided"])
    result = lock(spec, rattler_cache_dir, platforms=PLATFORMS)
    written = lockfile.read(result.lockfile_path)
    assert written == result.lockfile and written.version == lockfile.VERSION
    for platform in PLATFORMS:
        got = pypi(written, platform)
        # `provided` comes from conda (2.0), not from the index (2.5): not locked.
        assert sorted(got) == ["fastlib", "needsprovided", "purelib"]
        wheel = pypi_index.wheel("fastlib", "1.0", FASTLIB_TAGS[platform])
        assert got["fastlib"].url == pypi_server.url_for(f"files/{wheel.filename}")
        assert got["fastlib"].sha256 == pypi_index.sha256(wheel)
        assert got["purelib"].version == "1.1"
        assert got["purelib"].url.endswith("/files/purelib-1.1-py3-none-any.whl")
        assert {p.index_url for p in got.values()} == {simple}
        assert {n for n, p in got.items() if p.requested} == {"fastlib", "needsprovided"}
    # Conda's packages are untouched by the pip section.
    names = {p.name for p in written.platforms["linux-64"].packages}
    assert names == {"python", "provided"}
    assert [(c.name, c.source) for c in result.changes if c.platform == "win-64"] == [
        ("provided", "conda"), ("python", "conda"), ("fastlib", "pypi"),
        ("needsprovided", "pypi"), ("purelib", "pypi")]


def test_conda_python_packages_are_respected_by_their_pypi_name(
        tmp_path, python_channel, pypi_server, rattler_cache_dir):
    simple = pypi_server.url + "/simple"
    # pytorch (conda) provides torch (PyPI); conda's purelib is not a Python package
    # (no python dependency), so the PyPI purelib is still locked.
    spec = write_spec(tmp_path, python_channel.url, ["python", "pytorch", "purelib"],
                      [f"-i {simple}", "usestorch", "purelib==1.0"])
    result = lock(spec, rattler_cache_dir, platforms=["linux-64", "win-64"])
    for platform in ("linux-64", "win-64"):
        got = pypi(result, platform)
        assert sorted(got) == ["purelib", "usestorch"]
        assert got["purelib"].version == "1.0"


def test_pip_requirement_conflicting_with_conda_fails_with_both_versions(
        tmp_path, python_channel, pypi_server, rattler_cache_dir):
    spec = write_spec(tmp_path, python_channel.url, ["python", "provided"],
                      [f"--index-url {pypi_server.url}/simple", "needsnewprovided"])
    with pytest.raises(PypiResolutionError) as info:
        lock(spec, rattler_cache_dir, platforms=["linux-64"])
    assert "provided>=3" in str(info.value) and "provided==2.0+conda" in str(info.value)
    assert "+conda" in info.value.hint
    assert not (tmp_path / "conda-store.lock.json").exists()


@pytest.mark.parametrize(("line", "words"), [
    ("-e ./mypkg", "editable installs are not reproducible"),
    ("./mypkg", "local paths are not reproducible"),
    ("../dist/mypkg-1.0-py3-none-any.whl", "local paths are not reproducible"),
    ("mypkg @ file:///tmp/mypkg", "local paths"),
    ("git+https://example.invalid/org/mypkg.git@main", "VCS URLs are not supported"),
    ("mypkg @ git+https://example.invalid/org/mypkg.git", "VCS URLs are not supported"),
    ("mypkg @ https://example.invalid/mypkg-1.0-py3-none-any.whl", "direct URL"),
    ("-r requirements.txt", "the option -r is not supported"),
    ("--find-links ./wheels", "the option --find-links is not supported"),
])
def test_unreproducible_lines_are_refused_before_solving(tmp_path, python_channel,
                                                         rattler_cache_dir, line, words):
    spec = write_spec(tmp_path, python_channel.url, ["python"], ["purelib", line])
    with pytest.raises(PipRequirementError, match=words) as info:
        lock(spec, rattler_cache_dir, platforms=["linux-64"])
    assert str(spec) in str(info.value) and line in str(info.value)
    assert info.value.hint
    assert not (tmp_path / "conda-store.lock.json").exists()


def test_no_wheel_for_a_platform_names_it_and_writes_nothing(
        tmp_path, python_channel, pypi_server, rattler_cache_dir):
    spec = write_spec(tmp_path, python_channel.url, ["python"],
                      [f"--index-url {pypi_server.url}/simple", "purelib"])
    lock(spec, rattler_cache_dir, platforms=["linux-64", "win-64"])
    before = (tmp_path / "conda-store.lock.json").read_bytes()

    write_spec(tmp_path, python_channel.url, ["python"],
               [f"--index-url {pypi_server.url}/simple", "purelib", "linuxonly"])
    with pytest.raises(PypiNoWheelError) as info:
        lock(spec, rattler_cache_dir, platforms=["linux-64", "win-64"])
    assert info.value.platform == "win-64" and info.value.package == "linuxonly"
    assert "win-64" in str(info.value) and "linuxonly" in str(info.value)
    assert (tmp_path / "conda-store.lock.json").read_bytes() == before
    # linux-64 alone is fine.
    assert "linuxonly" in pypi(lock(spec, rattler_cache_dir, platforms=["linux-64"]),
                               "linux-64")


def test_index_that_is_down_is_named(tmp_path, python_channel, pypi_index, make_index_server,
                                     rattler_cache_dir):
    server = make_index_server(pypi_index.root)
    simple = server.url + "/simple"
    server.stop()
    spec = write_spec(tmp_path, python_channel.url, ["python"], [f"-i {simple}", "fastlib"])
    with pytest.raises(PypiIndexError) as info:
        lock(spec, rattler_cache_dir, platforms=["linux-64"])
    assert info.value.index_url == simple and simple in str(info.value)
    assert not (tmp_path / "conda-store.lock.json").exists()


def test_pip_section_without_conda_python(tmp_path, python_channel, pypi_server,
                                          rattler_cache_dir):
    spec = write_spec(tmp_path, python_channel.url, ["clib"],
                      [f"-i {pypi_server.url}/simple", "purelib"])
    with pytest.raises(PypiNoPythonError, match="Add `python`"):
        lock(spec, rattler_cache_dir, platforms=["linux-64"])


def test_folder_index_as_extra_index_records_where_each_came_from(
        tmp_path, python_channel, pypi_server, make_pypi_index, rattler_cache_dir):
    extra = make_pypi_index([WheelSpec("extraproj", "3.0", requires=["purelib"])],
                            name="extra")
    simple = pypi_server.url + "/simple"
    spec = write_spec(tmp_path, python_channel.url, ["python"],
                      [f"--index-url {simple}", f"--extra-index-url {extra.file_url}",
                       "fastlib", "extraproj"])
    got = pypi(lock(spec, rattler_cache_dir, platforms=["osx-arm64"]), "osx-arm64")
    assert {n: p.index_url for n, p in got.items()} == {
        "extraproj": extra.file_url, "fastlib": simple, "purelib": simple}
    assert got["extraproj"].url == (extra.root / "files" /
                                    "extraproj-3.0-py3-none-any.whl").as_uri()


def test_check_covers_the_pip_section(tmp_path, python_channel, pypi_server,
                                      rattler_cache_dir):
    simple = pypi_server.url + "/simple"
    spec = write_spec(tmp_path, python_channel.url, ["python"], [f"-i {simple}", "fastlib"])
    result = lock(spec, rattler_cache_dir, platforms=["linux-64", "win-64"])
    assert lock(spec, rattler_cache_dir, check=True,
                platforms=["linux-64", "win-64"]).up_to_date

    write_spec(tmp_path, python_channel.url, ["python"],
               [f"-i {simple}", "fastlib", "needsprovided"])
    with pytest.raises(LockfileOutOfDateError, match="pip added needsprovided"):
        lock(spec, rattler_cache_dir, check=True, platforms=["linux-64", "win-64"])

    # A lockfile whose PyPI part was lost (hand edit, older tool) is stale too.
    write_spec(tmp_path, python_channel.url, ["python"], [f"-i {simple}", "fastlib"])
    data = json.loads(result.lockfile_path.read_text())
    data["platforms"]["win-64"]["pypi"] = [
        p for p in data["platforms"]["win-64"]["pypi"] if p["name"] != "fastlib"]
    result.lockfile_path.write_text(json.dumps(data))
    with pytest.raises(LockfileOutOfDateError, match="fastlib not locked for win-64"):
        lock(spec, rattler_cache_dir, check=True, platforms=["linux-64", "win-64"])


def test_update_moves_only_the_named_pypi_package(tmp_path, python_channel, make_pypi_index,
                                                  make_index_server, rattler_cache_dir):
    index = make_pypi_index([WheelSpec("purelib", "1.0"), WheelSpec("solo", "1.0"),
                             *(WheelSpec("fastlib", "1.0", tag=t, requires=["purelib>=1.0"])
                               for t in FASTLIB_TAGS.values())])
    server = make_index_server(index.root)
    spec = write_spec(tmp_path, python_channel.url, ["python"],
                      [f"-i {server.url}/simple", "fastlib", "solo"])
    first = lock(spec, rattler_cache_dir, platforms=["linux-64", "win-64"])
    assert {n: p.version for n, p in pypi(first, "win-64").items()} == {
        "fastlib": "1.0", "purelib": "1.0", "solo": "1.0"}

    index.add([*fastlib_11(), WheelSpec("purelib", "1.1"), WheelSpec("solo", "2.0")])
    updated = lock(spec, rattler_cache_dir, platforms=["linux-64", "win-64"],
                   update=["fastlib"])
    for platform in ("linux-64", "win-64"):
        # fastlib 1.1 needs purelib>=1.1, so purelib moves too; solo stays.
        assert {n: p.version for n, p in pypi(updated, platform).items()} == {
            "fastlib": "1.1", "purelib": "1.1", "solo": "1.0"}
    assert sorted((c.platform, c.name, c.old, c.new) for c in updated.changes) == [
        ("linux-64", "fastlib", "1.0 (pypi)", "1.1 (pypi)"),
        ("linux-64", "purelib", "1.0 (pypi)", "1.1 (pypi)"),
        ("win-64", "fastlib", "1.0 (pypi)", "1.1 (pypi)"),
        ("win-64", "purelib", "1.0 (pypi)", "1.1 (pypi)")]

    relocked = lock(spec, rattler_cache_dir, platforms=["linux-64", "win-64"])
    assert pypi(relocked, "linux-64")["solo"].version == "2.0"
    with pytest.raises(Exception, match="not in the lockfile"):
        lock(spec, rattler_cache_dir, platforms=["linux-64"], update=["nosuchproject"])


def test_lockfile_without_pypi_still_loads(tmp_path, channel, rattler_cache_dir):
    spec = write_spec(tmp_path, channel.url, ["data-pkg"], [])
    path = lock(spec, rattler_cache_dir, platforms=["linux-64"]).lockfile_path
    data = json.loads(path.read_text())
    data["version"] = "1.0"
    path.write_text(json.dumps(data))
    old = lockfile.read(path)
    assert old.version == "1.0" and old.platforms["linux-64"].pypi == ()
    assert "pypi" not in json.loads(old.to_json())["platforms"]["linux-64"]


# --- install -------------------------------------------------------------------------


@pytest.fixture
def locked_env(tmp_path, python_channel, pypi_server, rattler_cache_dir):
    """A lock of python + fastlib (+ purelib) for linux-64, and its conda part installed."""
    spec = write_spec(tmp_path / "spec", python_channel.url, ["python", "provided"],
                      [f"--index-url {pypi_server.url}/simple", "fastlib", "needsprovided"])
    result = lock(spec, rattler_cache_dir, platforms=["linux-64"])
    return result.lockfile_path, result.lockfile


def run_python(prefix: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(prefix / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, env={k: v for k, v in os.environ.items()
                                          if not k.startswith("PYTHON")})


def site_packages(prefix: Path) -> set[str]:
    return {p.name for p in (prefix / "lib" / f"python{XY}" / "site-packages").iterdir()}


@posix_only
def test_install_puts_the_locked_wheels_into_the_environment(tmp_path, locked_env,
                                                             monkeypatch):
    path, lock_ = locked_env
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    prefix = tmp_path / "env"
    result = api.install(lockfile_path=path, prefix=prefix, platform="linux-64",
                         pkgs_dir=tmp_path / "pkgs")
    assert sorted(result.pypi) == ["fastlib==1.0", "needsprovided==1.0", "purelib==1.1"]
    done = run_python(prefix, "import sys, fastlib, purelib, needsprovided, provided\n"
                              "import importlib.metadata as m\n"
                              "print(sys.prefix, fastlib.TAG, m.version('purelib'),"
                              " provided.VERSION)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(prefix), FASTLIB_TAGS["linux-64"], "1.1", "2.0"]
    listed = subprocess.run(
        [sys.executable, "-c", "import uv, subprocess, sys; sys.exit(subprocess.call("
         f"[uv.find_uv_bin(), 'pip', 'list', '--python', {str(prefix / 'bin/python')!r},"
         " '--format', 'json']))"], capture_output=True, text=True, check=True)
    assert {p["name"]: p["version"] for p in json.loads(listed.stdout)}.items() >= {
        "fastlib": "1.0", "purelib": "1.1", "needsprovided": "1.0"}.items()
    # Installing again changes nothing.
    again = install_pypi(prefix, lock_.platforms["linux-64"].pypi)
    assert {p.name for p in again.installed} == {"fastlib", "purelib", "needsprovided"}


@posix_only
@pytest.mark.conda
def test_conda_list_shows_the_pypi_packages(tmp_path, locked_env, monkeypatch):
    from tests.support.conda import isolated_env, run_conda

    path, _ = locked_env
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    prefix = tmp_path / "env"
    api.install(lockfile_path=path, prefix=prefix, platform="linux-64",
                pkgs_dir=tmp_path / "pkgs")
    done = run_conda("list", "-p", str(prefix), "--json", env=isolated_env(tmp_path / "c"))
    assert done.returncode == 0, done.stderr
    listed = {p["name"]: p for p in json.loads(done.stdout)}
    assert listed["fastlib"]["version"] == "1.0" and listed["fastlib"]["channel"] == "pypi"
    assert listed["purelib"]["channel"] == "pypi"
    assert listed["provided"]["channel"] != "pypi"  # conda's, not re-installed by pip


@posix_only
def test_install_with_a_tampered_pypi_hash_creates_nothing(tmp_path, locked_env, monkeypatch):
    path, _ = locked_env
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    data = json.loads(path.read_text())
    for package in data["platforms"]["linux-64"]["pypi"]:
        if package["name"] == "purelib":
            package["sha256"] = "f" * 64
    path.write_text(json.dumps(data))
    prefix = tmp_path / "env"
    with pytest.raises(PypiChecksumMismatchError, match="purelib"):
        api.install(lockfile_path=path, prefix=prefix, platform="linux-64",
                    pkgs_dir=tmp_path / "pkgs")
    # The PyPI files are checked before the conda packages are linked.
    assert not prefix.exists()


def test_fetch_checks_the_files_of_another_platform(tmp_path, python_channel, pypi_server,
                                                    rattler_cache_dir):
    spec = write_spec(tmp_path, python_channel.url, ["python"],
                      [f"-i {pypi_server.url}/simple", "fastlib"])
    lock_ = lock(spec, rattler_cache_dir, platforms=["win-64"]).lockfile
    cache = tmp_path / "uv-cache"
    fetch_pypi(lock_.platforms["win-64"], "win-64", cache_dir=cache)
    pypi_server.stop()
    fetch_pypi(lock_.platforms["win-64"], "win-64", cache_dir=cache, offline=True)
    with pytest.raises(PypiInstallError):
        fetch_pypi(lock_.platforms["win-64"], "win-64", cache_dir=tmp_path / "cold")


@posix_only
def test_offline_install_from_uv_cache(tmp_path, locked_env, pypi_server):
    _, lock_ = locked_env
    cache = tmp_path / "uv-cache"
    packages = lock_.platforms["linux-64"].pypi
    first, second = tmp_path / "env1", tmp_path / "env2"
    for prefix in (first, second):
        make_conda_env(prefix, lock_, tmp_path / "pkgs")
    install_pypi(first, packages, cache_dir=cache)
    pypi_server.stop()
    install_pypi(second, packages, cache_dir=cache, offline=True)
    assert run_python(second, "import fastlib").returncode == 0
    # Cold cache and offline: a clear error, nothing installed.
    third = tmp_path / "env3"
    make_conda_env(third, lock_, tmp_path / "pkgs")
    with pytest.raises(PypiInstallError, match="Offline installs need"):
        install_pypi(third, packages, cache_dir=tmp_path / "cold", offline=True)
    assert "fastlib" not in site_packages(third)


@posix_only
def test_tampered_sha256_installs_nothing(tmp_path, locked_env):
    _, lock_ = locked_env
    prefix = tmp_path / "env"
    make_conda_env(prefix, lock_, tmp_path / "pkgs")
    before = site_packages(prefix)
    packages = [p if p.name != "fastlib" else LockedPypiPackage(
        p.name, p.version, p.url, "0" * 64, p.index_url) for p in
        lock_.platforms["linux-64"].pypi]
    with pytest.raises(PypiChecksumMismatchError) as info:
        install_pypi(prefix, packages, cache_dir=tmp_path / "uv-cache")
    assert info.value.package == "fastlib" and info.value.expected == "0" * 64
    assert info.value.actual == next(p.sha256 for p in lock_.platforms["linux-64"].pypi
                                     if p.name == "fastlib")
    assert site_packages(prefix) == before  # purelib and needsprovided were not installed


def test_install_needs_the_environment_python(tmp_path):
    package = LockedPypiPackage("purelib", "1.0", "http://127.0.0.1:9/x.whl", "0" * 64,
                                "http://127.0.0.1:9/simple")
    with pytest.raises(PypiInstallError, match="has no python"):
        install_pypi(tmp_path, [package])
    assert install_pypi(tmp_path, []).installed == ()


def make_conda_env(prefix: Path, lock_, pkgs: Path) -> None:
    """The conda part of ``lock_`` (linux-64) linked into ``prefix``."""
    import asyncio

    from rattler import Platform
    from rattler import install as rattler_install

    from conda_store_plugin.records import record_from_locked

    asyncio.run(rattler_install([record_from_locked(p)
                                 for p in lock_.platforms["linux-64"].packages],
                                prefix, cache_dir=pkgs, platform=Platform("linux-64"),
                                show_progress=False))


# --- units: names, targets, wheel choice ----------------------------------------------


def conda_pkg(name: str, version: str = "1.0", depends=(), noarch=None) -> LockedPackage:
    return LockedPackage(name=name, version=version, build="0", build_number=0,
                         subdir="noarch" if noarch else "linux-64", url=f"x/{name}.conda",
                         channel="x", fn=f"{name}.conda", sha256="0" * 64, md5="0" * 32,
                         size=1, depends=tuple(depends), noarch=noarch)


def test_conda_to_pypi_name_rule():
    packages = [conda_pkg("python", "3.11.7"), conda_pkg("pytorch", "2.1", ["python >=3.11"]),
                conda_pkg("PyYAML", "6.0", ["python"]), conda_pkg("ruamel.yaml", "0.18",
                                                                  noarch="python"),
                conda_pkg("graphviz", "9.0", ["libgd"]),  # the C library, not PyPI graphviz
                conda_pkg("python-graphviz", "0.20", noarch="python"),
                conda_pkg("python_abi", "3.11", ["python 3.11.*"])]
    assert provided_by_conda(packages) == {"torch": "2.1", "pyyaml": "6.0",
                                           "ruamel-yaml": "0.18", "graphviz": "0.20"}
    assert pypi_name("matplotlib-base") == "matplotlib" and pypi_name("Foo_Bar") == "foo-bar"


def test_targets_follow_the_virtual_packages():
    python = conda_pkg("python", "3.11.7")
    linux = target_for("linux-64", python, virtual_packages_for("linux-64"))
    assert linux.python_platform == "x86_64-manylinux_2_28" and linux.python_version == "3.11.7"
    old = target_for("linux-64", python, [VirtualPackage("__glibc", "2.17")])
    assert old.python_platform == "x86_64-manylinux_2_17"
    assert "cp311-cp311-manylinux_2_28_x86_64" not in old.tags
    mac = target_for("osx-arm64", python, virtual_packages_for("osx-arm64"))
    assert dict(mac.env) == {"MACOSX_DEPLOYMENT_TARGET": "11.0"}
    assert mac.python_platform == "aarch64-apple-darwin"
    names = ["multi-1.0-py3-none-any.whl", "multi-1.0-cp311-abi3-manylinux_2_28_x86_64.whl",
             "multi-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    assert best_wheel(names, linux.tags) == 2
    assert best_wheel(names[:2], linux.tags) == 1
    assert best_wheel(names, mac.tags) == 0
    assert best_wheel(["multi-1.0-cp311-cp311-win_amd64.whl"], mac.tags) is None
    with pytest.raises(PypiNoPythonError, match="PyPy"):
        locked_python("linux-64", [LockedPackage(
            "python", "3.9.18", "0_73_pypy", 0, "linux-64", "u", "c", "f.conda", "0" * 64,
            "0" * 32, 1)])
