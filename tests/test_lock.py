"""`conda store lock` end to end on real packages from the test channels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_store_plugin import api, lockfile
from conda_store_plugin.cli import main
from conda_store_plugin.exceptions import (
    ChannelError,
    LockfileOutOfDateError,
    PipRequirementError,
    SpecError,
    UnknownPlatformError,
    UnsatisfiableError,
)
from conda_store_plugin.platforms import current_platform
from tests.support.channels import PackageSpec, for_subdirs

PLATFORMS = ["linux-64", "osx-arm64", "win-64"]


def write_spec(folder: Path, channel_url: str, deps: list[str], **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["name: demo", "channels:", f"  - {channel_url}", "dependencies:"]
    lines += [f"  - {d}" for d in deps]
    for key, value in extra.items():
        lines.append(f"{key}: {json.dumps(value)}")
    path = folder / "environment.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def lock(spec: Path, cache: Path, **kwargs) -> api.LockResult:
    return api.lock(spec_path=spec, cache_dir=cache, **kwargs)


def names(result_or_lock, platform: str) -> dict[str, str]:
    lock_ = getattr(result_or_lock, "lockfile", result_or_lock)
    return {p.name: f"{p.version} {p.build}" for p in lock_.platforms[platform].packages}


def test_locks_three_platforms_with_per_platform_builds(tmp_path, channel, rattler_cache_dir):
    spec = write_spec(tmp_path, channel.url, ["stack", "shellwrap", "unixtool"])
    with pytest.raises(UnsatisfiableError) as info:
        lock(spec, rattler_cache_dir, platforms=PLATFORMS)
    # unixtool needs __unix, which win-64 has not: the solver's explanation is shown.
    assert info.value.platform == "win-64"
    assert "unixtool" in str(info.value)

    spec = write_spec(tmp_path, channel.url, ["stack", "shellwrap"])
    result = lock(spec, rattler_cache_dir, platforms=PLATFORMS)
    assert result.written and result.lockfile_path == tmp_path / "conda-store.lock.json"
    lock_ = lockfile.read(result.lockfile_path)
    assert sorted(lock_.platforms) == PLATFORMS
    for platform in PLATFORMS:
        got = names(lock_, platform)
        assert set(got) == {"stack", "numpylike", "python", "libfoo", "libzlib", "purepkg",
                            "data-pkg", "shellwrap"}
        assert got["numpylike"].startswith("2.0.0 py312")
        assert got["libzlib"] == "1.3.1 h0_0"
        # Locked URLs and hashes are the real archives'.
        for pkg in lock_.platforms[platform].packages:
            spec_ = channel.spec(pkg.name, pkg.version, pkg.subdir, pkg.build)
            assert pkg.sha256 == channel.sha256(pkg.name, pkg.version, pkg.subdir, pkg.build)
            assert pkg.url == channel.archive_url(pkg.name, pkg.version, pkg.subdir, pkg.build)
            assert pkg.size == channel.archive_path(spec_.name, spec_.version, spec_.subdir,
                                                    spec_.build).stat().st_size
    assert names(lock_, "linux-64")["shellwrap"] == "1.0.0 unix_pyh0_0"
    assert names(lock_, "win-64")["shellwrap"] == "1.0.0 win_pyh0_0"
    assert lock_.platforms["linux-64"].packages[0].subdir in ("linux-64", "noarch")


def test_virtual_packages_defaults_overrides_and_cuda(tmp_path, channel, rattler_cache_dir):
    spec = write_spec(tmp_path, channel.url, ["cudapkg"])
    with pytest.raises(UnsatisfiableError, match="__cuda"):
        lock(spec, rattler_cache_dir, platforms=["linux-64"])
    result = lock(spec, rattler_cache_dir, platforms=["linux-64", "win-64"], cuda="12.4",
                  virtual_packages=["__glibc=2.17"])
    vps = {p: {v.name: v.version for v in pl.virtual_packages}
           for p, pl in result.lockfile.platforms.items()}
    assert vps["linux-64"] == {"__archspec": "1", "__cuda": "12.4", "__glibc": "2.17",
                               "__linux": "5.10", "__unix": "0"}
    assert vps["win-64"] == {"__archspec": "1", "__cuda": "12.4", "__glibc": "2.17",
                             "__win": "0"}
    assert "cudapkg" in names(result, "linux-64")
    # --no-cuda wins over an override that names __cuda.
    with pytest.raises(UnsatisfiableError):
        lock(spec, rattler_cache_dir, platforms=["linux-64"], no_cuda=True,
             virtual_packages=["__cuda=12.4"])


def test_same_input_gives_byte_identical_lock_but_created_at(tmp_path, channel,
                                                              rattler_cache_dir):
    spec = write_spec(tmp_path, channel.url, ["stack", "prefixpkg"])
    first = lock(spec, rattler_cache_dir, platforms=PLATFORMS, lockfile_path=tmp_path / "a.json")
    second = lock(spec, tmp_path / "other-cache", platforms=list(reversed(PLATFORMS)),
                  lockfile_path=tmp_path / "b.json")
    a = json.loads(first.lockfile_path.read_text())
    b = json.loads(second.lockfile_path.read_text())
    a["metadata"].pop("created_at")
    b["metadata"].pop("created_at")
    assert json.dumps(a) == json.dumps(b)
    # Both are new files: every locked package is reported as added, in the same order.
    assert second.changes == first.changes
    assert {c.kind for c in first.changes} == {"added"}
    assert len(first.changes) == sum(len(names(first, p)) for p in PLATFORMS)


def test_http_channel_gives_the_same_packages_as_file(tmp_path, channel, http_channel_url,
                                                      rattler_cache_dir):
    via_file = lock(write_spec(tmp_path / "f", channel.url, ["stack"]), rattler_cache_dir,
                    platforms=["linux-64"])
    via_http = lock(write_spec(tmp_path / "h", http_channel_url, ["stack"]),
                    rattler_cache_dir, platforms=["linux-64"])
    assert names(via_file, "linux-64") == names(via_http, "linux-64")
    assert all(p.url.startswith(http_channel_url)
               for p in via_http.lockfile.platforms["linux-64"].packages)


def test_check_reports_exactly_what_changed(tmp_path, channel, rattler_cache_dir):
    spec = write_spec(tmp_path, channel.url, ["stack"], platforms=["linux-64", "osx-arm64"])
    lock(spec, rattler_cache_dir)
    before = (tmp_path / "conda-store.lock.json").read_bytes()
    assert lock(spec, rattler_cache_dir, check=True).up_to_date is True

    write_spec(tmp_path, channel.url, ["stack", "prefixpkg"],
               platforms=["linux-64", "osx-arm64"])
    with pytest.raises(LockfileOutOfDateError, match="dependencies added prefixpkg"):
        lock(spec, rattler_cache_dir, check=True)
    write_spec(tmp_path, channel.url, ["stack"], platforms=["linux-64", "osx-arm64"])
    with pytest.raises(LockfileOutOfDateError, match="platform win-64 is not locked"):
        lock(spec, rattler_cache_dir, check=True, platforms=["win-64"])
    with pytest.raises(LockfileOutOfDateError, match="virtual packages for linux-64 changed"):
        lock(spec, rattler_cache_dir, check=True, cuda="12.0")
    # --check never writes.
    assert (tmp_path / "conda-store.lock.json").read_bytes() == before


def test_update_moves_only_the_named_package(tmp_path, make_channel, rattler_cache_dir):
    ch = make_channel([PackageSpec("alpha", "1.0", noarch="generic"),
                       PackageSpec("beta", "1.0", noarch="generic", depends=["alpha"])])
    spec = write_spec(tmp_path / "env", ch.url, ["alpha", "beta"])
    lock(spec, rattler_cache_dir, platforms=["linux-64"])
    ch.add([PackageSpec("alpha", "2.0", noarch="generic"),
            PackageSpec("beta", "2.0", noarch="generic", depends=["alpha"])])

    updated = lock(spec, tmp_path / "cache2", platforms=["linux-64"], update=["beta"])
    assert names(updated, "linux-64") == {"alpha": "1.0 h0_0", "beta": "2.0 h0_0"}
    assert [(c.name, c.kind, c.old, c.new) for c in updated.changes] == [
        ("beta", "changed", "1.0 h0_0", "2.0 h0_0")]

    relocked = lock(spec, tmp_path / "cache3", platforms=["linux-64"])
    assert names(relocked, "linux-64") == {"alpha": "2.0 h0_0", "beta": "2.0 h0_0"}
    assert [c.name for c in relocked.changes] == ["alpha"]

    with pytest.raises(Exception, match="not in the lockfile"):
        lock(spec, rattler_cache_dir, platforms=["linux-64"], update=["gamma"])


def test_failed_lock_leaves_previous_lockfile(tmp_path, channel, rattler_cache_dir):
    spec = write_spec(tmp_path, channel.url, ["stack"])
    lock(spec, rattler_cache_dir, platforms=["linux-64"])
    before = (tmp_path / "conda-store.lock.json").read_bytes()
    write_spec(tmp_path, channel.url, ["conflict-a", "conflict-b"])
    with pytest.raises(UnsatisfiableError) as info:
        lock(spec, rattler_cache_dir, platforms=["linux-64"])
    assert "libzlib" in info.value.explanation
    assert (tmp_path / "conda-store.lock.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conda-store.lock.json",
                                                          "environment.yml", "rattler-cache"]


@pytest.mark.parametrize(
    ("deps", "kwargs", "error", "words"),
    [
        (["stack"], {"platforms": ["linux-65"]}, UnknownPlatformError, "linux-65"),
        (["does-not-exist"], {}, UnsatisfiableError, "does-not-exist"),
        (["orphan"], {}, UnsatisfiableError, "does-not-exist"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(tmp_path, channel, rattler_cache_dir, deps,
                                                  kwargs, error, words):
    spec = write_spec(tmp_path, channel.url, deps)
    with pytest.raises(error, match=words):
        lock(spec, rattler_cache_dir, **{"platforms": ["linux-64"], **kwargs})
    assert not (tmp_path / "conda-store.lock.json").exists()


def test_unlockable_pip_line_is_refused_before_solving(tmp_path, channel, rattler_cache_dir):
    # The pip section is locked (tests/test_pypi.py); lines a lock cannot reproduce are not.
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{channel.url}]\ndependencies:\n  - stack\n"
                    "  - pip:\n      - requests\n      - -e ./src\n")
    with pytest.raises(PipRequirementError, match="editable installs are not reproducible"):
        lock(spec, rattler_cache_dir, platforms=["linux-64"])
    assert not (tmp_path / "conda-store.lock.json").exists()


def test_unreachable_and_empty_channels(tmp_path, channel, make_server, rattler_cache_dir):
    missing = write_spec(tmp_path / "m", (tmp_path / "nowhere").as_uri(), ["stack"])
    with pytest.raises(ChannelError, match="nowhere"):
        lock(missing, rattler_cache_dir, platforms=["linux-64"])

    # A server that is down: bind a port, then close it.
    server = make_server(tmp_path)
    url = server.url
    server.stop()
    down = write_spec(tmp_path / "d", url + "/ch", ["stack"])
    with pytest.raises(ChannelError):
        lock(down, rattler_cache_dir, platforms=["linux-64"])

    empty_root = tmp_path / "empty"
    for subdir in ("linux-64", "noarch"):
        (empty_root / subdir).mkdir(parents=True)
        (empty_root / subdir / "repodata.json").write_text(
            json.dumps({"info": {"subdir": subdir}, "packages": {}, "packages.conda": {}}))
    spec = tmp_path / "e" / "environment.yml"
    spec.parent.mkdir()
    spec.write_text(f"channels: [{empty_root.as_uri()}, {channel.url}]\n"
                    "dependencies: [stack]\n")
    with pytest.raises(ChannelError, match="has no packages for linux-64"):
        lock(spec, rattler_cache_dir, platforms=["linux-64"])


def test_relative_channel_path_is_relative_to_the_spec(tmp_path, channel, rattler_cache_dir,
                                                       monkeypatch):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "ch").symlink_to(channel.path)
    spec = tmp_path / "proj" / "environment.yml"
    spec.write_text("channels: [./ch]\ndependencies: [data-pkg]\n")
    monkeypatch.chdir(tmp_path)
    result = lock(spec, rattler_cache_dir, platforms=["linux-64"])
    assert result.lockfile.channels[0].name == "./ch"
    assert "data-pkg" in names(result, "linux-64")


def test_channel_prefixed_spec_adds_its_channel(tmp_path, channel, make_channel,
                                                rattler_cache_dir):
    other = make_channel(for_subdirs(PackageSpec("extra", "1.0")), name="other")
    spec = write_spec(tmp_path, channel.url, ["data-pkg", f"{other.url}::extra"])
    result = lock(spec, rattler_cache_dir, platforms=["linux-64"])
    assert [c.url for c in result.lockfile.channels] == [channel.url, other.url]
    assert names(result, "linux-64")["extra"] == "1.0 h0_0"


# --- the command line: argv in, behaviour out ---------------------------------------


def test_cli_lock_then_check_json(tmp_path, channel, rattler_cache_dir, capsys, monkeypatch):
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(rattler_cache_dir))
    spec = write_spec(tmp_path, channel.url, ["stack"])
    out = tmp_path / "x.lock.json"
    assert main(["lock", str(spec), "-o", str(out), "--platform", "linux-64",
                 "--platform", "win-64",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["written"] is True
    assert report["platforms"] == {"linux-64": 7, "win-64": 7}
    assert main(["lock", str(spec), "-o", str(out), "--check", "--platform", "win-64"]) == 0
    assert "is up to date" in capsys.readouterr().out

    write_spec(tmp_path, channel.url, ["stack", "blob"])
    assert main(["lock", str(spec), "-o", str(out), "--check", "--json"]) == 1
    error = json.loads(capsys.readouterr().out)
    assert error["error"] == "LockfileOutOfDateError"
    assert "blob" in error["message"]


def test_cli_bad_yaml_is_a_clean_error(tmp_path, capsys):
    spec = tmp_path / "environment.yml"
    spec.write_text("dependencies: [a\n")
    assert main(["lock", str(spec)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {spec}")
    assert "Traceback" not in err
    assert not (tmp_path / "conda-store.lock.json").exists()


def test_spec_errors_are_spec_errors(tmp_path):
    spec = tmp_path / "environment.yml"
    spec.write_text("channels: []\ndependencies: [a]\n")
    with pytest.raises(SpecError, match="no channels"):
        api.lock(spec_path=spec)


@pytest.mark.parametrize(
    ("priority", "dep", "expected"),
    # py-rattler's strict priority takes a package from the first channel that has a
    # record *matching the spec* (conda's strict would refuse `xpkg >=2` here).
    [(None, "xpkg", "1.0"), ("strict", "xpkg >=2", "2.0"), ("flexible", "xpkg", "1.0"),
     ("flexible", "xpkg >=2", "2.0"), ("disabled", "xpkg", "2.0")],
)
def test_channel_priority_strict_by_default_else_as_configured(
        tmp_path, make_channel, rattler_cache_dir, monkeypatch, priority, dep, expected):
    from conda_store_plugin import config as config_module
    from conda_store_plugin.config import Config

    high = make_channel([PackageSpec("xpkg", "1.0", noarch="generic")], name="high")
    low = make_channel([PackageSpec("xpkg", "2.0", noarch="generic")], name="low")
    monkeypatch.setattr(config_module, "load_config",
                        lambda **_: Config(channel_priority=priority))
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{high.url}, {low.url}]\ndependencies: ['{dep}']\n")
    result = lock(spec, rattler_cache_dir, platforms=["linux-64"])
    assert names(result, "linux-64")["xpkg"].split()[0] == expected
    assert result.lockfile.channel_priority == (priority or "strict")


def test_check_without_platforms_checks_the_locked_ones(tmp_path, channel, rattler_cache_dir):
    spec = write_spec(tmp_path, channel.url, ["stack"])
    other = "win-64" if current_platform() != "win-64" else "linux-64"
    lock(spec, rattler_cache_dir, platforms=[other])
    assert lock(spec, rattler_cache_dir, check=True).up_to_date is True
    with pytest.raises(LockfileOutOfDateError, match=f"platform {current_platform()}"):
        lock(spec, rattler_cache_dir, check=True, platforms=[current_platform()])
