"""Reproducer: fresh processes that lock with py-rattler must always exit 0.

Without ``conda_store_plugin.engine`` about 5-13 % of such processes die at interpreter
shutdown with SIGSEGV/SIGABRT (see the engine module's docstring for the cause). Each
test here starts 50 fresh interpreters that solve a small channel for three platforms
over HTTP and exit, and requires every one of them to exit 0 with the expected output:

* ``cli``: the way the command-line entry point runs (``engine.run_engine_then_exit``);
* ``library``: the way ``api.lock`` runs inside a caller's interpreter (``engine.run``),
  ending with an ordinary interpreter exit.

``test_unfixed_processes_crash`` shows the crash without the fix; it only runs when
``CSP_EXIT_CRASH_DEMO=<number of processes>`` is set (it asserts that some crash, so it is
statistical by nature), e.g. ``CSP_EXIT_CRASH_DEMO=200 pytest tests/test_engine_exit.py``.
"""

from __future__ import annotations

import collections
import hashlib
import http.server
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conda_store_plugin import engine

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("linux-64", "osx-arm64", "win-64")
PROCESSES = 50
WORKERS = 4

# name, version, subdir, depends
PACKAGES = [
    ("alpha", "1.0", "noarch", []),
    ("alpha", "2.0", "noarch", []),
    ("beta", "1.0", "noarch", ["alpha >=1"]),
    ("gamma", "0.1", "noarch", ["beta", "alpha <2", "delta"]),
    ("delta", "1.0", "linux-64", []),
    ("delta", "2.0", "osx-arm64", []),
    ("delta", "3.0", "win-64", []),
]
EXPECTED = {
    platform: sorted(["alpha=1.0", "beta=1.0", f"delta={delta}", "gamma=0.1"])
    for platform, delta in zip(PLATFORMS, ("1.0", "2.0", "3.0"), strict=True)
}

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys

    import rattler

    from conda_store_plugin import engine

    url, cache, mode = sys.argv[1:4]
    PLATFORMS = ["linux-64", "osx-arm64", "win-64"]


    def lock():
        gateway = rattler.Gateway(cache_dir=cache)

        async def solve_all():
            return await asyncio.gather(*(
                rattler.solve([url], ["gamma"], gateway=gateway, platforms=[p, "noarch"])
                for p in PLATFORMS
            ))

        results = asyncio.run(solve_all()) if mode == "unfixed" else engine.run(solve_all)
        return {
            p: sorted(f"{r.name.normalized}={r.version}" for r in records)
            for p, records in zip(PLATFORMS, results)
        }


    def main():
        print(json.dumps(lock(), sort_keys=True))
        return 0


    if mode == "cli":
        engine.run_engine_then_exit(main)
    main()
    """
)


def build_channel(root: Path) -> Path:
    """Tiny real channel: .conda archives made by conda-package-handling, indexed by rattler."""
    from conda_package_handling import api as cph
    from rattler.index import index_fs

    for subdir in ("noarch", *PLATFORMS):
        (root / subdir).mkdir(parents=True, exist_ok=True)
    for name, version, subdir, depends in PACKAGES:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp)
            payload = f"share/{name}/{name}.txt"
            content = f"{name} {version} {subdir}\n".encode()
            (src / "info").mkdir()
            (src / payload).parent.mkdir(parents=True)
            (src / payload).write_bytes(content)
            index = {
                "name": name,
                "version": version,
                "build": "0",
                "build_number": 0,
                "depends": depends,
                "subdir": subdir,
                "license": "BSD-3-Clause",
                "timestamp": 1_704_067_200_000,
            }
            if subdir == "noarch":
                index["noarch"] = "generic"
            paths = {
                "paths_version": 1,
                "paths": [
                    {
                        "_path": payload,
                        "path_type": "hardlink",
                        "sha256": hashlib.sha256(content).hexdigest(),
                        "size_in_bytes": len(content),
                    }
                ],
            }
            (src / "info/index.json").write_text(json.dumps(index))
            (src / "info/paths.json").write_text(json.dumps(paths))
            files = ["info/index.json", "info/paths.json", payload]
            cph.create(str(src), files, f"{name}-{version}-0.conda", str(root / subdir))
    engine.run(index_fs(root, write_zst=False, write_shards=False))
    return root


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def channel_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = build_channel(tmp_path_factory.mktemp("exit-channel"))

    def handler(*args: object, **kwargs: object) -> _QuietHandler:
        return _QuietHandler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_processes(
    tmp_path: Path, url: str, mode: str, count: int
) -> list[subprocess.CompletedProcess[str]]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))

    def one(i: int) -> subprocess.CompletedProcess[str]:
        cache = tmp_path / f"cache-{i}"
        return subprocess.run(
            [sys.executable, str(script), url, str(cache), mode],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, range(count)))


def summary(procs: list[subprocess.CompletedProcess[str]]) -> str:
    codes = collections.Counter(p.returncode for p in procs)
    bad = next((p for p in procs if p.returncode != 0), None)
    detail = f"; first failure stderr: {bad.stderr[-800:]!r}" if bad else ""
    return f"exit codes {dict(codes)}{detail}"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cli", "library"])
def test_fresh_processes_lock_and_exit_zero(tmp_path: Path, channel_url: str, mode: str) -> None:
    procs = run_processes(tmp_path, channel_url, mode, PROCESSES)
    assert all(p.returncode == 0 for p in procs), summary(procs)
    for p in procs:
        assert json.loads(p.stdout) == EXPECTED, (p.stdout, p.stderr)
        assert "Fatal Python error" not in p.stderr, p.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("CSP_EXIT_CRASH_DEMO"),
    reason="crash-rate demo without the fix: set CSP_EXIT_CRASH_DEMO=<processes> to run",
)
def test_unfixed_processes_crash(tmp_path: Path, channel_url: str) -> None:
    count = int(os.environ["CSP_EXIT_CRASH_DEMO"])
    procs = run_processes(tmp_path, channel_url, "unfixed", count)
    crashed = [p for p in procs if p.returncode != 0]
    print(f"without the fix: {len(crashed)}/{count} crashed; {summary(procs)}")
    # Every process did its work before dying, which is what makes the crash so nasty.
    assert all(json.loads(p.stdout) == EXPECTED for p in procs)
    assert crashed, f"no crash in {count} processes (expected roughly 5-13 %)"
    assert all(p.returncode in (-6, -11) for p in crashed), summary(procs)


EXIT_CHILD = textwrap.dedent(
    """
    import atexit, sys, threading, time

    from conda_store_plugin import engine

    case = sys.argv[1]
    atexit.register(lambda: print("atexit ran", end=""))


    def late_writer():
        time.sleep(0.2)
        print("thread joined;", end=" ")


    def main():
        threading.Thread(target=late_writer).start()
        print("partial line;", end=" ")
        if case == "none":
            return None
        if case == "three":
            return 3
        if case == "exit4":
            sys.exit(4)
        if case == "message":
            sys.exit("bye")
        if case == "boom":
            raise ValueError("boom")


    engine.run_engine_then_exit(main)
    print("unreachable")
    """
)


@pytest.mark.parametrize(
    ("case", "code", "stderr_has"),
    [
        ("none", 0, ""),
        ("three", 3, ""),
        ("exit4", 4, ""),
        ("message", 1, "bye"),
        ("boom", 1, "ValueError: boom"),
    ],
)
def test_run_engine_then_exit_behaves_like_a_normal_exit(
    tmp_path: Path, case: str, code: int, stderr_has: str
) -> None:
    script = tmp_path / "exit_child.py"
    script.write_text(EXIT_CHILD)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(script), case], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == code, proc.stderr
    # Buffered output is flushed, non-daemon threads are joined, atexit handlers run.
    assert proc.stdout == "partial line; thread joined; atexit ran"
    assert stderr_has in proc.stderr


def test_run_works_inside_a_running_event_loop() -> None:
    import asyncio

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def caller() -> int:
        return engine.run(answer)  # a sync API called from async code

    start = time.monotonic()
    assert asyncio.run(caller()) == 42
    assert engine.run(answer()) == 42
    # Foreign threads that were in Python before (pytest-xdist's execnet thread) are not
    # waited for, so this does not sit out settle()'s timeout.
    assert time.monotonic() - start < 0.9
