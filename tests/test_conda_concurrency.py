"""Real conda commands at the same time on one package cache, with the plugin.

The short version of ``benchmarks/bench_concurrency.py`` (which also runs stock conda
for comparison): rounds of concurrent ``conda create`` processes (classic solver: the
rattler solver's exit crash of py-rattler 0.26 is another issue), with and without a
``conda clean --all`` running meanwhile, each round with a fresh cache. Every process
must exit 0, every environment must match its packages' ``paths.json`` sha256 file by
file, no cache entry may be half-extracted, and the server must have sent each archive
once (twice at most when ``clean`` ran between two creates).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import stress
from tests.support.channels import package_digest
from tests.support.conda import run_conda
from tests.support.server import ChannelServer

pytestmark = [pytest.mark.conda, pytest.mark.slow]

ROUNDS = 2
PROCESSES = 4


@pytest.fixture(scope="module")
def specs() -> list:
    return stress.stress_packages()


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory, specs: list) -> Path:
    return stress.build_stress_channel(tmp_path_factory.mktemp("stress") / "channel", specs)


@pytest.fixture
def server(channel: Path):
    with ChannelServer(channel, latency_s=0.02) as srv:  # widens the race windows
        srv._httpd.handle_error = lambda *args: None  # clients dropping keep-alives
        yield srv


def _archives(channel: Path, specs: list) -> dict[str, Path]:
    return {s.filename: channel / s.relpath for s in specs}


def _explain(result: stress.RoundResult) -> str:
    lines = [json.dumps(result.summary())]
    for proc in result.failed[:3]:
        lines.append(f"exit {proc.returncode}: {' '.join(proc.argv[:3])}\n"
                     f"{proc.stderr[-1500:]}\n{proc.stdout[-500:]}")
    for problems in result.env_problems.values():
        lines.extend(problems[:3])
    lines.extend(result.cache_problems[:5])
    return "\n".join(lines)


@pytest.mark.parametrize("clean", [False, True], ids=["creates", "creates+clean"])
def test_concurrent_creates_share_one_cache(tmp_path, channel, specs, server, clean):
    requests = stress.request_sets(specs, PROCESSES)
    for round_no in range(ROUNDS):
        root = tmp_path / f"round-{round_no}"
        env = stress.stress_env(root, plugin=True)
        server.reset_log()
        result = stress.run_round(root, channel_url=server.url, requests=requests, env=env,
                                  clean=clean, clean_delay_s=0.5)
        stress.check_round(result, root, specs=specs, archives=_archives(channel, specs),
                           requests=requests, downloads=server.downloads(archives_only=True))
        why = _explain(result)
        assert not result.failed, why
        assert result.broken_envs == 0, why
        assert result.cache_problems == [], why
        assert not result.missing_downloads, why
        # Once per round; a clean between two creates may force one more download.
        assert max(result.downloads.values()) <= (2 if clean else 1), why


def test_concurrent_explicit_file_installs(tmp_path, channel, specs, server):
    """``conda create --file explicit.txt`` never solves: the guard covers it too."""
    root = tmp_path / "explicit"
    root.mkdir()
    explicit = root / "explicit.txt"
    explicit.write_text("@EXPLICIT\n" + "".join(
        f"{server.url}/{s.relpath}#{package_digest(channel / s.relpath)}\n" for s in specs))
    env = stress.stress_env(root, plugin=True)
    procs = [stress._start(["create", "-y", "-q", "-p", str(root / "envs" / f"e{i}"),
                            "--file", str(explicit)], env, root) for i in range(PROCESSES)]
    results = [stress._finish(p, t, ["create"], 600) for p, t in procs]
    assert [r.returncode for r in results] == [0] * PROCESSES, results[0].stderr[-2000:]
    by_name = {s.name: s for s in specs}
    for i in range(PROCESSES):
        assert stress.verify_env(root / "envs" / f"e{i}", by_name, list(by_name)) == []
    assert stress.verify_cache(root / "pkgs", by_name, _archives(channel, specs)) == []
    downloads = server.downloads(archives_only=True)
    assert len(downloads) == len(specs) and set(downloads.values()) == {1}


def test_concurrent_lockfile_installs_and_conda_store_install(tmp_path, channel, specs,
                                                              server):
    """Our lockfile two ways at once: ``conda create --file conda-store.lock.json`` (our
    specifier, conda's explicit path) and ``conda store install`` (py-rattler), sharing
    entries and the download of each package."""
    from tests.support.installing import make_lock

    names = [s.name for s in specs]
    lock = make_lock(tmp_path / "lock", server.url, names, tmp_path / "rattler-cache")
    root = tmp_path / "lockfile"
    env = stress.stress_env(root, plugin=True)
    server.reset_log()
    argvs = [["create", "-y", "-q", "-p", str(root / "envs" / "c0"), "--file", str(lock)],
             ["store", "install", str(lock), "-p", str(root / "envs" / "s0")],
             ["create", "-y", "-q", "-p", str(root / "envs" / "c1"), "--file", str(lock)],
             ["store", "install", str(lock), "-p", str(root / "envs" / "s1")]]
    procs = [stress._start(argv, env, root) for argv in argvs]
    results = [stress._finish(p, t, argv, 600) for (p, t), argv in zip(procs, argvs,
                                                                        strict=True)]
    for result in results:
        assert result.returncode == 0 or result.rattler_exit_crash, result.stderr[-2000:]
    by_name = {s.name: s for s in specs}
    for prefix in ("c0", "s0", "c1", "s1"):
        assert stress.verify_env(root / "envs" / prefix, by_name, names) == []
    assert stress.verify_cache(root / "pkgs", by_name, _archives(channel, specs)) == []
    downloads = server.downloads(archives_only=True)
    assert len(downloads) == len(specs) and set(downloads.values()) == {1}


_CLEANER = """
import sys
from pathlib import Path
from conda_store_plugin.cache_lock import pkgs_dir_lock
hold = pkgs_dir_lock(Path(sys.argv[1]), exclusive=True, timeout=30, command="conda clean --all")
print("ready", flush=True)
sys.stdin.readline()
"""


def test_install_waits_for_clean_with_a_message_and_times_out(tmp_path, channel, specs,
                                                              server):
    root = tmp_path / "timeout"
    env = stress.stress_env(root, plugin=True)
    env["CONDA_PLUGINS_CACHE_LOCK_TIMEOUT"] = "2"
    pkgs = root / "pkgs"
    # Not an ancestor of the conda process (a child of a holder would be let through).
    cleaner = subprocess.Popen([sys.executable, "-c", _CLEANER, str(pkgs)], text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env={**env, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert cleaner.stdout.readline().strip() == "ready"
        start = time.monotonic()
        proc = run_conda(*stress.create_argv(root / "envs" / "x", server.url, ["s00"]),
                         env=env, cwd=root)
        waited = time.monotonic() - start
    finally:
        cleaner.communicate("\n", timeout=30)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"waiting for another conda process using {pkgs} (pid {cleaner.pid}: " \
           "conda clean --all)" in proc.stderr
    assert "CacheLockTimeoutError: timed out after 2 s" in proc.stderr
    assert "cache_lock_timeout" in proc.stderr
    assert waited < 60
    assert not (root / "envs" / "x").exists()
    # Released: the same command now goes through.
    again = run_conda(*stress.create_argv(root / "envs" / "x", server.url, ["s00"]),
                      env=env, cwd=root)
    assert again.returncode == 0, again.stderr


def test_a_killed_install_does_not_block_the_cache(tmp_path, channel, specs, server):
    root = tmp_path / "killed"
    env = stress.stress_env(root, plugin=True)
    argv = stress.create_argv(root / "envs" / "x", server.url, [s.name for s in specs])
    proc = subprocess.Popen([sys.executable, "-m", "conda", *argv], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    holders = root / "pkgs" / ".conda-store" / "locks" / "holders"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (holders.is_dir() and any(holders.iterdir())):
        time.sleep(0.05)
    time.sleep(0.5)  # somewhere in solving or fetching
    proc.kill()
    proc.communicate()
    env["CONDA_PLUGINS_CACHE_LOCK_TIMEOUT"] = "20"
    clean = run_conda("clean", "--all", "-y", env=env, cwd=root)
    assert clean.returncode == 0, clean.stderr
    again = run_conda(*argv, env=env, cwd=root)
    assert again.returncode == 0, again.stderr
    by_name = {s.name: s for s in specs}
    assert stress.verify_env(root / "envs" / "x", by_name, list(by_name)) == []
    assert stress.verify_cache(root / "pkgs", by_name, _archives(channel, specs)) == []


def test_doctor_reports_and_fixes_half_extracted_entries(tmp_path, channel, specs, server):
    root = tmp_path / "doctor"
    env = stress.stress_env(root, plugin=True)
    prefix = root / "envs" / "x"
    assert run_conda(*stress.create_argv(prefix, server.url, ["s00", "s01"]), env=env,
                     cwd=root).returncode == 0
    entry = next((root / "pkgs").glob("s01-*/"))
    (entry / "share" / "s01" / "data.bin").unlink()  # what a killed extraction leaves
    leftover = root / "pkgs" / ".conda-store" / "tmp" / "s00-1.0.0-h0_0.999999999.x"
    leftover.mkdir(parents=True)

    report = run_conda("doctor", "-p", str(prefix), "package-cache-entries", env=env,
                       cwd=root)
    assert report.returncode == 0, report.stderr
    assert f"half-extracted: {entry} (1 files missing: share/s01/data.bin)" in report.stdout
    assert f"leftover-temp: {leftover}" in report.stdout

    fixed = run_conda("doctor", "-p", str(prefix), "--fix", "package-cache-entries",
                      env=env, cwd=root)
    assert fixed.returncode == 0, fixed.stderr
    assert not entry.exists() and not leftover.exists()
    clean = run_conda("doctor", "-p", str(prefix), "package-cache-entries", env=env, cwd=root)
    assert "Package caches have no half-extracted entries or leftovers." in clean.stdout


def test_disabled_by_setting_leaves_conda_alone(tmp_path, channel, specs, server):
    root = tmp_path / "disabled"
    env = stress.stress_env(root, plugin=True)
    env["CONDA_PLUGINS_CACHE_LOCKS"] = "false"
    proc = run_conda(*stress.create_argv(root / "envs" / "x", server.url, ["s00"]), env=env,
                     cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert not (root / "pkgs" / ".conda-store").exists()
    shown = run_conda("config", "--show", "plugins.cache_lock_timeout",
                      "plugins.cache_lock_kind", "plugins.cache_locks", env=env, cwd=root)
    assert "cache_lock_timeout: 600" in shown.stdout, shown.stdout + shown.stderr
    assert "cache_locks: false" in shown.stdout.lower()
