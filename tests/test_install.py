"""`conda store install` end to end: real packages over HTTP from 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conda_store_plugin import api
from conda_store_plugin.cli import main
from conda_store_plugin.exceptions import (
    ChecksumMismatchError,
    CondaStoreError,
    InstallError,
    LockfileError,
    PlatformNotLockedError,
)
from conda_store_plugin.install_errors import (
    PackageDownloadError,
    PackagesNotCachedError,
    PrefixNotUsableError,
)
from tests.support.channels import ARCH_SUBDIRS, PREFIX_PLACEHOLDER
from tests.support.installing import (
    PLATFORM,
    ROOT,
    archives,
    edit_lock,
    install,
    make_lock,
    make_locks,
    package,
    retarget,
    snapshot,
)

pytestmark = pytest.mark.skipif(PLATFORM not in ARCH_SUBDIRS,
                                reason=f"the test channel has no {PLATFORM} packages")


@pytest.fixture(scope="module")
def locks(tmp_path_factory, channel_server) -> dict[str, Path]:
    return make_locks(tmp_path_factory, channel_server)


@pytest.fixture
def pkgs(tmp_path) -> Path:
    return tmp_path / "pkgs"


# -- a working environment ----------------------------------------------------------


def test_records_name_the_cached_archive_as_conda_does(tmp_path, channel):
    """file:// packages are copied, and kept in the cache: records give their path."""
    from tests.support.installing import BASE

    lock = make_lock(tmp_path / "lock", channel.path.as_uri(), BASE, tmp_path / "cache")
    pkgs, prefix = tmp_path / "pkgs", tmp_path / "env"
    install(lock, prefix, pkgs)
    for path in (prefix / "conda-meta").glob("*.json"):
        record = json.loads(path.read_text())  # still one valid JSON document
        archive = pkgs / record["fn"]
        assert archive.is_file()
        assert record["package_tarball_full_path"] == str(archive)
        assert record["extracted_package_dir"] == str(pkgs / path.stem)
        assert record["files"] and record["paths_data"]["paths"]


def test_install_creates_a_working_conda_environment(tmp_path, locks, pkgs, channel_server):
    prefix = tmp_path / "env"
    channel_server.reset_log()
    events = []
    result = install(locks["base"], prefix, pkgs, progress=events.append)

    assert result.created and not result.noop
    assert sorted(d.split("-")[0] for d in result.added) == sorted(
        ["blob", "libfoo", "libzlib", "numpylike", "prefixpkg", "purepkg", "python"])
    assert len(result.downloaded) == 7 and result.downloaded_bytes > 256 * 1024
    # Only archives were fetched, each once: no repodata, no second download by the linker.
    assert all(path.endswith((".conda", ".tar.bz2")) for path in channel_server.requests())
    assert set(archives(channel_server).values()) == {1}
    assert len(archives(channel_server)) == 7

    # Files with their content; the prefix placeholder replaced in text files.
    assert (prefix / "share/numpylike/numpylike.txt").read_text().startswith(
        "numpylike 2.0.0 build py312h0_0")
    script = (prefix / "bin/prefixpkg").read_text()
    assert str(prefix) in script and PREFIX_PLACEHOLDER not in script
    assert os.access(prefix / "bin/prefixpkg", os.X_OK)
    assert (prefix / "share/blob/blob.bin").stat().st_size == 256 * 1024
    assert list(prefix.glob("lib/python3.12/site-packages/purepkg/VERSION.txt"))

    # conda-meta records with what conda writes.
    record = json.loads((prefix / "conda-meta/numpylike-2.0.0-py312h0_0.json").read_text())
    assert record["requested_specs"] == ["numpylike"]
    assert record["channel"] == f"{channel_server.url}/{PLATFORM}"
    assert record["url"].startswith(channel_server.url)
    assert "package_tarball_full_path" not in record  # streamed: no archive kept
    assert record["license_family"] == "BSD"
    assert record["files"] and record["paths_data"]["paths"] and record["link"]
    dep = json.loads((prefix / "conda-meta/libfoo-1.1.0-h0_0.json").read_text())
    assert "requested_spec" not in dep and dep["requested_specs"] == []

    # History in conda's format, with the lock's requested specs.
    history = (prefix / "conda-meta/history").read_text()
    assert history.startswith("==> ")
    assert f"+{channel_server.url}/{PLATFORM}::numpylike-2.0.0-py312h0_0" in history
    assert "# update specs: ['numpylike', 'prefixpkg', 'purepkg', 'blob']" in history

    kinds = [e.kind for e in events]
    for kind in ("fetch", "download", "downloaded", "extracted", "link", "linked"):
        assert kind in kinds
    assert result.to_dict()["counts"] == {"added": 7, "removed": 0, "unchanged": 0}


def test_spec_variables_are_set_like_conda_env_config_vars(tmp_path, channel_server, pkgs):
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{channel_server.url}]\ndependencies: [data-pkg]\n"
                    "variables:\n  DATA_HOME: /srv/data\n")
    lock = api.lock(spec_path=spec, platforms=[PLATFORM],
                    cache_dir=tmp_path / "rattler-cache").lockfile_path
    prefix = tmp_path / "env"
    install(lock, prefix, pkgs)
    state = json.loads((prefix / "conda-meta/state").read_text())
    assert state == {"env_vars": {"DATA_HOME": "/srv/data"}}
    assert install(lock, prefix, pkgs).noop
    # Another variable set by the user stays; a changed value is set again.
    state["env_vars"].update(DATA_HOME="/elsewhere", MINE="1")
    (prefix / "conda-meta/state").write_text(json.dumps(state))
    history = (prefix / "conda-meta/history").read_text()
    install(lock, prefix, pkgs)
    assert json.loads((prefix / "conda-meta/state").read_text())["env_vars"] == {
        "DATA_HOME": "/srv/data", "MINE": "1"}
    assert (prefix / "conda-meta/history").read_text() == history  # no package change


def test_reinstall_of_a_matching_environment_is_a_fast_noop(tmp_path, locks, pkgs,
                                                            channel_server):
    prefix = tmp_path / "env"
    install(locks["base"], prefix, pkgs)
    before = snapshot(prefix)
    channel_server.reset_log()

    start = time.perf_counter()
    result = install(locks["base"], prefix, pkgs)
    elapsed = time.perf_counter() - start

    assert result.noop and result.unchanged == 7 and not result.added
    assert elapsed < 0.5, elapsed
    assert channel_server.log == []  # no request at all
    assert snapshot(prefix) == before


def test_changed_lock_adds_and_removes_only_what_changed(tmp_path, locks, pkgs,
                                                         channel_server):
    prefix = tmp_path / "env"
    install(locks["base"], prefix, pkgs)
    kept = prefix / "share/numpylike/numpylike.txt"
    inode = kept.stat().st_ino
    channel_server.reset_log()

    result = install(locks["changed"], prefix, pkgs)

    assert result.added == ("data-pkg-0.1.0-h0_0",)
    assert result.removed == ("blob-1.0.0-h0_0",)
    assert result.unchanged == 6
    assert archives(channel_server) == {"noarch/data-pkg-0.1.0-h0_0.conda": 1}
    assert not (prefix / "share/blob").exists()
    assert not (prefix / "conda-meta/blob-1.0.0-h0_0.json").exists()
    assert json.loads((prefix / "share/data-pkg/data.json").read_text()) == {"answer": 42}
    assert kept.stat().st_ino == inode  # untouched, not relinked
    history = (prefix / "conda-meta/history").read_text()
    last = history[history.rindex("==> "):]
    assert f"-{channel_server.url}/noarch::blob-1.0.0-h0_0" in last
    assert f"+{channel_server.url}/noarch::data-pkg-0.1.0-h0_0" in last
    assert "# remove specs: ['blob']" in last

    # Back again: blob comes from the cache, nothing is downloaded.
    channel_server.reset_log()
    result = install(locks["base"], prefix, pkgs)
    assert result.added == ("blob-1.0.0-h0_0",) and result.reused == ("blob-1.0.0-h0_0",)
    assert archives(channel_server) == {}


def test_downloads_run_concurrently_and_extraction_overlaps_them(tmp_path, locks, pkgs,
                                                                channel_dir, channel_server,
                                                                make_server):
    server = make_server(channel_dir, bandwidth_bytes_per_s=400_000)  # blob: ~0.7 s
    lock = retarget(locks["base"], channel_server.url, server.url, tmp_path / "lock.json")
    events = []
    install(lock, tmp_path / "env", pkgs, progress=events.append)
    blob_done = next(i for i, e in enumerate(events)
                     if e.kind == "downloaded" and e.package.startswith("blob-"))
    before = events[:blob_done]
    assert sum(e.kind == "download" for e in before) == 7  # all 7 connections at once
    assert sum(e.kind == "extracted" for e in before) == 6  # the others already extracted
    assert any(e.kind == "bytes" and 0 < e.done_bytes < e.total_bytes for e in before)


def test_cli_install_by_name_with_json(tmp_path, locks, pkgs, capsys, monkeypatch):
    from conda_store_plugin import conda_dirs

    envs = tmp_path / "envs"
    monkeypatch.setattr(conda_dirs, "default_envs_dir", lambda: envs)
    argv = ["install", str(locks["base"]), "--pkgs-dir", str(pkgs), "--json"]
    assert main([*argv, "-n", "demo"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prefix"] == str(envs / "demo") and out["counts"]["added"] == 7
    assert out["cache"]["downloaded"] == 7 and set(out["timings"]) >= {"plan", "total"}
    assert main([*argv, "-n", "demo"]) == 0
    assert json.loads(capsys.readouterr().out)["noop"] is True

    # Errors are JSON too, with a non-zero exit.
    assert main([*argv, "-n", "demo", "--platform", "no-such-64"]) == 1
    assert json.loads(capsys.readouterr().out)["error"] == "PlatformNotLockedError"
    assert main(argv) == 1  # neither -n nor -p
    assert "-n NAME or -p PREFIX" in json.loads(capsys.readouterr().out)["message"]


def test_cli_text_output(tmp_path, locks, pkgs, capsys):
    prefix = tmp_path / "env"
    argv = ["install", str(locks["base"]), "-p", str(prefix), "--pkgs-dir", str(pkgs)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "7 added, 0 removed" in out and "+ blob-1.0.0-h0_0" in out
    assert main(argv) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_default_dirs_follow_conda_or_the_environment(tmp_path, monkeypatch):
    from conda_store_plugin import conda_dirs, config

    monkeypatch.setattr(config, "conda_importable", lambda: False)
    for name in ("CONDARC", "CONDA_PREFIX", "CONDA_ROOT", "CONDA_ROOT_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONDA_PKGS_DIRS", f"{tmp_path}/a,{tmp_path}/b")
    monkeypatch.setenv("CONDA_ENVS_DIRS", f"{tmp_path}/envs")
    assert conda_dirs.default_pkgs_dir() == tmp_path / "a"
    assert conda_dirs.default_envs_dir() == tmp_path / "envs"
    monkeypatch.delenv("CONDA_PKGS_DIRS")
    monkeypatch.delenv("CONDA_ENVS_DIRS")
    monkeypatch.delenv("CONDA_ENVS_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert conda_dirs.default_pkgs_dir() == tmp_path / ".conda/pkgs"
    assert conda_dirs.default_envs_dir() == tmp_path / ".conda/envs"
    # Without conda, .condarc is read as conda would read it.
    (tmp_path / ".condarc").write_text(f"pkgs_dirs: [{tmp_path}/rc-pkgs]\n"
                                       f"envs_dirs: [{tmp_path}/rc-envs]\n")
    assert conda_dirs.default_pkgs_dir() == tmp_path / "rc-pkgs"
    assert conda_dirs.default_envs_dir() == tmp_path / "rc-envs"


@pytest.mark.conda
def test_default_dirs_are_condas_when_conda_is_there():
    from conda.base.context import context

    from conda_store_plugin import conda_dirs

    assert str(conda_dirs.default_pkgs_dir()) in context.pkgs_dirs
    assert str(conda_dirs.default_envs_dir()) in context.envs_dirs


def test_requested_specs_change_without_package_change(tmp_path, channel_server, pkgs,
                                                       rattler_cache_dir):
    first = make_lock(tmp_path / "a", channel_server.url, ["numpylike", "blob"],
                      rattler_cache_dir)
    second = make_lock(tmp_path / "b", channel_server.url, ["numpylike", "blob", "libfoo"],
                       rattler_cache_dir)
    prefix = tmp_path / "env"
    install(first, prefix, pkgs)
    channel_server.reset_log()

    result = install(second, prefix, pkgs)  # same packages, libfoo now asked for
    assert result.specs_updated and not result.added and not result.removed
    assert not result.noop and channel_server.log == []
    record = json.loads((prefix / "conda-meta/libfoo-1.1.0-h0_0.json").read_text())
    assert record["requested_spec"] == "libfoo"
    last = (prefix / "conda-meta/history").read_text().split("==> ")[-1]
    assert "# update specs: ['numpylike', 'blob', 'libfoo']" in last
    assert "\n+" not in last and "\n-" not in last
    # conda reads such an entry as a full snapshot: it lists the unchanged packages.
    assert f"\n{channel_server.url}/{PLATFORM}::libfoo-1.1.0-h0_0\n" in last
    assert install(second, prefix, pkgs).noop
    result = install(first, prefix, pkgs)  # and back: libfoo no longer requested
    assert result.specs_updated
    assert "# remove specs: ['libfoo']" in (prefix / "conda-meta/history").read_text()
    record = json.loads((prefix / "conda-meta/libfoo-1.1.0-h0_0.json").read_text())
    assert "requested_spec" not in record


def test_progress_display_renders_a_status_line(tmp_path, locks, pkgs):
    import io

    from conda_store_plugin.cli.install import _Progress

    stream = io.StringIO()
    display = _Progress(stream)
    install(locks["base"], tmp_path / "env", pkgs, progress=display)
    display.close()
    text = stream.getvalue()
    assert "Fetching packages: 7/7 ready" in text and "Linking 7 package" in text
    assert text.endswith("\r")
    # From a warm cache: nothing to download, so no byte count, and few redraws.
    stream = io.StringIO()
    display = _Progress(stream)
    install(locks["base"], tmp_path / "env2", pkgs, progress=display)
    warm = stream.getvalue()
    assert "Fetching packages: 7/7 ready" in warm and "downloaded" not in warm
    assert warm.count("Fetching packages") <= 3


# -- offline ------------------------------------------------------------------------


def test_offline_from_warm_cache_needs_no_network(tmp_path, locks, pkgs, channel_server):
    install(locks["base"], tmp_path / "first", pkgs)
    channel_server.reset_log()
    result = install(locks["base"], tmp_path / "second", pkgs, offline=True)
    assert len(result.added) == 7 and len(result.reused) == 7
    assert channel_server.log == []
    assert (tmp_path / "second/share/blob/blob.bin").is_file()


def test_offline_from_cold_cache_fails_naming_the_missing(tmp_path, locks, pkgs,
                                                          channel_server):
    install(locks["base"], tmp_path / "first", pkgs)
    channel_server.reset_log()
    prefix = tmp_path / "second"
    with pytest.raises(PackagesNotCachedError) as info:
        install(locks["changed"], prefix, pkgs, offline=True)  # data-pkg never fetched
    assert info.value.missing == ["data-pkg-0.1.0-h0_0"]
    assert "data-pkg-0.1.0-h0_0" in str(info.value) and "without --offline" in str(info.value)
    assert not prefix.exists() and channel_server.log == []

    with pytest.raises(PackagesNotCachedError) as info:
        install(locks["base"], prefix, tmp_path / "empty-pkgs", offline=True)
    assert len(info.value.missing) == 7


# -- bad input: a clear error, nothing half-installed -------------------------------


@pytest.fixture
def base_env(tmp_path, locks, pkgs) -> Path:
    prefix = tmp_path / "env"
    install(locks["base"], prefix, pkgs)
    return prefix


@pytest.fixture
def own_channel(tmp_path, channel_dir, channel_server, make_server, locks):
    """A private copy of the channel on its own server, and the changed lock pointing
    at it: tests may damage its files."""
    root = tmp_path / "own-channel"
    shutil.copytree(channel_dir, root)

    def serve(**kwargs):
        server = make_server(root, **kwargs)
        lock = retarget(locks["changed"], channel_server.url, server.url,
                        tmp_path / "changed.lock.json")
        return server, lock

    return root, serve


def test_tampered_sha256_in_lock_fails_before_linking(tmp_path, base_env, locks, pkgs):
    before = snapshot(base_env)
    lock = edit_lock(locks["changed"], tmp_path / "tampered.json",
                     lambda pkgs_: package(pkgs_, "data-pkg").update(sha256="0" * 64))
    with pytest.raises(ChecksumMismatchError) as info:
        install(lock, base_env, pkgs)
    assert info.value.package == "data-pkg-0.1.0-h0_0"
    assert "data-pkg-0.1.0-h0_0" in str(info.value) and "0" * 64 in str(info.value)
    assert snapshot(base_env) == before
    assert not (pkgs / "data-pkg-0.1.0-h0_0.conda").exists()
    assert not (pkgs / "data-pkg-0.1.0-h0_0").exists()
    assert list((pkgs / ".conda-store/tmp").iterdir()) == []


def test_served_file_replaced_fails_with_checksum_mismatch(tmp_path, base_env, pkgs,
                                                           own_channel):
    root, serve = own_channel
    (root / "noarch/data-pkg-0.1.0-h0_0.conda").write_bytes(
        (root / "noarch/unixtool-1.0.0-h0_0.conda").read_bytes())
    server, lock = serve()
    before = snapshot(base_env)
    with pytest.raises(ChecksumMismatchError, match="data-pkg-0.1.0-h0_0"):
        install(lock, base_env, pkgs)
    assert snapshot(base_env) == before
    assert not (pkgs / "data-pkg-0.1.0-h0_0.conda").exists()


@pytest.mark.parametrize("how", ["file", "server"])
def test_truncated_archive_fails_and_leaves_env_alone(tmp_path, base_env, pkgs, own_channel,
                                                      how):
    root, serve = own_channel
    archive = root / "noarch/data-pkg-0.1.0-h0_0.conda"
    if how == "file":  # the channel serves a short file, consistently
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
        server, lock = serve()
    else:  # the connection drops halfway through the body
        server, lock = serve(fail_paths={"noarch/data-pkg-0.1.0-h0_0.conda": "truncate"})
    before = snapshot(base_env)
    with pytest.raises(InstallError, match="data-pkg-0.1.0-h0_0"):
        install(lock, base_env, pkgs)
    assert snapshot(base_env) == before
    assert not (pkgs / "data-pkg-0.1.0-h0_0.conda").exists()


def test_missing_url_fails_naming_the_package(tmp_path, base_env, pkgs, own_channel):
    _, serve = own_channel
    server, lock = serve(fail_paths=["noarch/data-pkg-0.1.0-h0_0.conda"])
    before = snapshot(base_env)
    with pytest.raises(PackageDownloadError) as info:
        install(lock, base_env, pkgs)
    assert [f[0] for f in info.value.failures] == ["data-pkg-0.1.0-h0_0"]
    assert "404" in str(info.value) and "re-lock" in str(info.value)
    assert snapshot(base_env) == before


def test_failed_new_environment_is_not_created(tmp_path, locks, pkgs, own_channel):
    _, serve = own_channel
    server, lock = serve(fail_paths=["noarch/data-pkg-0.1.0-h0_0.conda"])
    prefix = tmp_path / "new-env"
    with pytest.raises(PackageDownloadError):
        install(lock, prefix, pkgs)
    assert not prefix.exists()
    # The other packages were verified into the cache, and are reused next time.
    server.set_failure("noarch/data-pkg-0.1.0-h0_0.conda", None)
    server.reset_log()
    result = install(lock, prefix, pkgs)
    assert archives(server) == {"noarch/data-pkg-0.1.0-h0_0.conda": 1}
    assert len(result.reused) == 6


def test_platform_not_locked(tmp_path, locks, pkgs):
    other = next(p for p in ARCH_SUBDIRS if p != PLATFORM)
    with pytest.raises(PlatformNotLockedError) as info:
        install(locks["base"], tmp_path / "env", pkgs, platform=other)
    assert other in str(info.value) and PLATFORM in str(info.value)
    assert "conda store lock --platform" in str(info.value)
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"format": "conda-store-lock", "version": "1.0"}),
])
def test_invalid_lockfile(tmp_path, pkgs, base_env, content):
    before = snapshot(base_env)
    bad = tmp_path / "bad.lock.json"
    bad.write_text(content)
    with pytest.raises(LockfileError, match="bad.lock.json"):
        install(bad, base_env, pkgs)
    assert snapshot(base_env) == before
    with pytest.raises(LockfileError, match="no such file"):
        install(tmp_path / "nope.json", base_env, pkgs)


def test_prefix_that_is_a_file(tmp_path, locks, pkgs):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    with pytest.raises(PrefixNotUsableError, match="is a file"):
        install(locks["base"], target, pkgs)
    assert target.read_text() == "keep me"
    with pytest.raises(PrefixNotUsableError, match="is a file"):
        install(locks["base"], target / "env", pkgs)
    assert not pkgs.exists()  # refused before touching anything


def test_prefix_that_is_a_non_empty_folder(tmp_path, locks, pkgs):
    target = tmp_path / "stuff"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(PrefixNotUsableError, match="not a conda environment"):
        install(locks["base"], target, pkgs)
    assert snapshot(target) == {"notes.txt": snapshot(target)["notes.txt"]}


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_prefix_not_writable(tmp_path, locks, pkgs):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        with pytest.raises(PrefixNotUsableError, match="not writable"):
            install(locks["base"], parent / "env", pkgs)
    finally:
        parent.chmod(0o755)


def test_prefix_not_writable_even_as_root(tmp_path, locks, pkgs, monkeypatch):
    from conda_store_plugin import install as install_module

    parent = tmp_path / "ro"
    parent.mkdir()
    real_access = os.access
    monkeypatch.setattr(install_module.os, "access",
                        lambda path, mode: real_access(path, mode) and Path(path) != parent)
    with pytest.raises(PrefixNotUsableError, match="not writable"):
        install(locks["base"], parent / "env", pkgs)
    assert list(parent.iterdir()) == []


def test_link_failure_removes_a_new_environment(tmp_path, locks, pkgs, monkeypatch):
    from conda_store_plugin import install as install_module
    from conda_store_plugin.install_errors import LinkError

    async def half_link(plan, pkgs_dir, execute_link_scripts, cached):
        (plan.prefix / "conda-meta").mkdir(parents=True)
        (plan.prefix / "half.txt").write_text("x")
        raise RuntimeError("disk full")

    monkeypatch.setattr(install_module, "_rattler_install", half_link)
    prefix = tmp_path / "env"
    with pytest.raises(LinkError, match="disk full") as info:
        install(locks["base"], prefix, pkgs)
    assert "half-made environment was removed" in str(info.value)
    assert not prefix.exists()
    empty = tmp_path / "empty"  # an empty folder given as target stays, empty
    empty.mkdir()
    with pytest.raises(LinkError):
        install(locks["base"], empty, pkgs)
    assert empty.is_dir() and list(empty.iterdir()) == []


def test_both_or_neither_target_is_refused(tmp_path, locks, pkgs):
    with pytest.raises(CondaStoreError, match="exactly one target"):
        api.install(lockfile_path=locks["base"], pkgs_dir=pkgs)
    with pytest.raises(CondaStoreError, match="exactly one target"):
        api.install(lockfile_path=locks["base"], prefix=tmp_path, name="x", pkgs_dir=pkgs)


# -- a shared cache -----------------------------------------------------------------


def test_concurrent_installs_share_a_cold_cache_and_download_once(tmp_path, locks, pkgs,
                                                                  channel_dir, channel_server,
                                                                  make_server):
    # Slow enough (latency, 256 KiB blob at 400 KB/s) that both processes fetch at once.
    server = make_server(channel_dir, latency_s=0.05, bandwidth_bytes_per_s=400_000)
    lock = retarget(locks["base"], channel_server.url, server.url, tmp_path / "lock.json")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "conda_store_plugin", "install", str(lock),
             "-p", str(tmp_path / f"env{i}"), "--pkgs-dir", str(pkgs), "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        for i in (1, 2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))

    assert archives(server) and set(archives(server).values()) == {1}
    assert len(archives(server)) == 7
    assert sum(r["cache"]["downloaded"] for r in results) == 7
    for i in (1, 2):
        assert (tmp_path / f"env{i}/share/blob/blob.bin").stat().st_size == 256 * 1024


def test_long_lists_in_errors_are_cut_and_json_has_them_all(tmp_path):
    names = [f"pkg{i:03d}-1.0-0" for i in range(304)]
    error = PackagesNotCachedError(tmp_path, names)
    assert "304 locked package(s)" in error.message
    assert "pkg009-1.0-0, ... and 294 more" in error.message
    assert "pkg010-1.0-0" not in error.message
    assert error.to_dict()["missing"] == names
    failures = [(n, f"https://h/{n}.conda", "HTTP 404") for n in names]
    download = PackageDownloadError(failures)
    assert download.message.count("HTTP 404") == 10
    assert download.message.endswith("... and 294 more")
    assert len(download.to_dict()["failures"]) == 304
