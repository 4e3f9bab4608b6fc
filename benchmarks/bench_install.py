"""Install speed: ours against raw py-rattler, conda and the physical bounds, in one run.

For the realistic environment (``realistic_channel.py``: the traces-sklearn lock, ~300
linux-64 packages, ~436 MB of archives at ``--size-scale 1``) served over HTTP from
127.0.0.1 by ``tests/support/server.py`` emulating a CDN (30 ms per request, 200 Mbit/s
per connection; the server runs in its own process), it measures:

* **cold**: empty package cache, new environment: ours (``api.install`` in a new
  process, and ``conda store install``, i.e. inside conda, where conda's configuration
  is already loaded), raw ``rattler.install`` (raw), and ``conda create --file
  explicit.txt`` (stock conda, ``CONDA_NO_PLUGINS``; and conda with our plugin loaded,
  whose fetch guard does the downloads);
* **warm**: package cache filled by the cold run, new environment: ours (both ways) and
  raw;
* **no-op**: installing the same lockfile into the environment again: ours, as a
  fresh ``python -m conda_store_plugin install`` process (wall time) and in process;
* **bounds**: extracting every archive from local disk into a temp folder with all
  cores (process pool, ``rattler.package_streaming.extract``), and downloading every
  archive from the server at full parallelism (``--bound-connections``, default: all at
  once) into a sink.

ours and raw run in fresh processes; "op" is the time of the install call inside the
process (for ``conda store install``: its ``timings.total``), "wall" includes
interpreter start and imports (and conda's start-up). Every figure is the median of
``--repeat`` runs (default 3). The load average is printed: the machine may be busy.

Our package's bytecode is compiled first, as installing a wheel or a conda package does:
an editable checkout under ``PYTHONDONTWRITEBYTECODE`` would compile every module in
every process (py-rattler and conda are compiled by pip at install).

Targets (issue 3): cold <= 1.15 x max(extract bound, download bound); cold >= 5 x faster
than conda; warm <= 1.2 x raw; no-op <= 0.5 s.

Usage: python benchmarks/bench_install.py [--size-scale 1.0] [--repeat 3] [--no-conda]
       [--json] [--records-per-subdir 30000] [--bound-connections N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

PLATFORM = "linux-64"
LATENCY_S = 0.030
BANDWIDTH = 25_000_000  # bytes/s per connection: 200 Mbit/s

TARGETS = {"cold_vs_bound": 1.15, "conda_vs_cold": 5.0, "warm_vs_raw": 1.2, "noop_s": 0.5}


# -- worker modes (run in fresh processes) ---------------------------------------------


def serve(root: str) -> int:
    """``--serve ROOT``: serve the channel like a CDN until stdin closes."""
    from tests.support import server as server_module
    from tests.support.server import ChannelServer

    # socketserver's default backlog (5) resets connections opened all at once.
    server_module._HTTPServer.request_queue_size = 1024
    with ChannelServer(root, latency_s=LATENCY_S, bandwidth_bytes_per_s=BANDWIDTH) as server:
        print(server.url, flush=True)
        sys.stdin.read()
    return 0


def worker(kind: str, lock: str, prefix: str, cache: str) -> int:
    """``--worker {ours,raw} LOCK PREFIX CACHE``: one install; prints its timing as JSON.

    "op" starts before either side imports anything it needs (py-rattler included), so
    both pay their imports: ours imports lazily, inside the call.
    """
    start = time.perf_counter()
    if kind == "ours":
        from conda_store_plugin import api

        result = api.install(lockfile_path=lock, prefix=prefix, pkgs_dir=cache)
        elapsed = time.perf_counter() - start
        info = {"downloaded": len(result.downloaded), "reused": len(result.reused),
                "timings": result.timings}
    else:
        import rattler

        from conda_store_plugin import lockfile
        from conda_store_plugin.engine import run
        from conda_store_plugin.records import record_from_locked

        packages = lockfile.read(lock).platforms[PLATFORM].packages
        records = [record_from_locked(p) for p in packages]

        async def go() -> None:
            await rattler.install(records, prefix, cache_dir=cache,
                                  platform=rattler.Platform(PLATFORM), show_progress=False)

        run(go)
        elapsed = time.perf_counter() - start
        info = {}
    print(json.dumps({"op": elapsed, **info}), flush=True)
    return 0


def extract_one(job: tuple[str, str]) -> int:
    from rattler.package_streaming import extract

    extract(job[0], job[1])
    return 0


# -- measurements ----------------------------------------------------------------------


def run_conda_store(lock: Path, prefix: Path, cache: Path, env: dict[str, str]) -> dict:
    """``conda store install`` in a fresh process: ours as conda users run it."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "conda", "store", "install", str(lock), "-p",
                           str(prefix), "--pkgs-dir", str(cache), "--json"],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"conda store install failed ({done.returncode}):\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    return {"wall": wall, "op": result["timings"]["total"],
            "downloaded": result["cache"]["downloaded"]}


def run_worker(kind: str, lock: Path, prefix: Path, cache: Path) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--worker", kind, str(lock), str(prefix),
                           str(cache)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{kind} install failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {"wall": wall, **json.loads(done.stdout.strip().splitlines()[-1])}


def conda_cold(explicit: Path, work: Path, *, plugins: bool) -> float:
    from tests.support.conda import isolated_env

    root = Path(tempfile.mkdtemp(dir=work, prefix="conda-"))
    env = isolated_env(root)
    argv = [sys.executable, "-m", "conda", "create", "-q", "-y", "-p", str(root / "env"),
            "--file", str(explicit)]
    if not plugins:
        env["CONDA_NO_PLUGINS"] = "true"  # stock conda: none of our hooks
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"conda failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                           f"{done.stderr[-3000:]}")
    shutil.rmtree(root, ignore_errors=True)
    return elapsed


def noop_subprocess(lock: Path, prefix: Path, cache: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "conda_store_plugin", "install", str(lock),
                           "-p", str(prefix), "--pkgs-dir", str(cache), "--json"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or not json.loads(done.stdout)["noop"]:
        raise RuntimeError(f"no-op install failed: {done.stdout[-1000:]} {done.stderr[-2000:]}")
    return elapsed


def noop_in_process(lock: Path, prefix: Path, cache: Path) -> float:
    from conda_store_plugin import api

    start = time.perf_counter()
    result = api.install(lockfile_path=lock, prefix=prefix, pkgs_dir=cache)
    elapsed = time.perf_counter() - start
    assert result.noop
    return elapsed


def archives_of(lock: Path, channel_dir: Path) -> list[tuple[Path, int]]:
    from conda_store_plugin import lockfile

    packages = lockfile.read(lock).platforms[PLATFORM].packages
    files = [(channel_dir / p.subdir / p.fn, p.size) for p in packages]
    return sorted(files, key=lambda f: -f[1])


def extract_bound(files: list[tuple[Path, int]], work: Path) -> float:
    dest = Path(tempfile.mkdtemp(dir=work, prefix="extract-"))
    jobs = [(str(path), str(dest / path.name)) for path, _ in files]
    workers = os.cpu_count() or 1
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(extract_one, jobs[-workers:]))  # start the workers (not timed)
        shutil.rmtree(dest)
        dest.mkdir()
        settle()
        start = time.perf_counter()
        list(pool.map(extract_one, jobs, chunksize=1))
        elapsed = time.perf_counter() - start
    shutil.rmtree(dest, ignore_errors=True)
    return elapsed


async def _fetch(host: str, port: int, path: str, sem: asyncio.Semaphore) -> int:
    async with sem:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode())
        await writer.drain()
        total = 0
        while chunk := await reader.read(1 << 20):
            total += len(chunk)
        writer.close()
        return total


def download_bound(files: list[tuple[Path, int]], url: str, channel_dir: Path,
                   connections: int) -> float:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    paths = ["/" + str(path.relative_to(channel_dir)) for path, _ in files]

    async def go() -> float:
        sem = asyncio.Semaphore(connections)
        start = time.perf_counter()
        sizes = await asyncio.gather(*(_fetch(parsed.hostname, parsed.port, p, sem)
                                       for p in paths))
        elapsed = time.perf_counter() - start
        expected = sum(size for _, size in files)
        if sum(sizes) < expected:
            raise RuntimeError(f"download bound: got {sum(sizes)} of {expected} bytes")
        return elapsed

    return asyncio.run(go())


# -- main ------------------------------------------------------------------------------


def settle() -> None:
    """Write dirty pages and let deletions finish before a timed run.

    Without it one run pays for the previous one's writes, or for the discards of the
    files a previous step deleted (this machine's disk is mounted with ``discard``).
    """
    os.sync()
    time.sleep(1.0)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def repeat(n: int, fn: Callable[[], Any]) -> list[Any]:
    return [fn() for _ in range(n)]


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "--serve":
        return serve(sys.argv[2])
    if len(sys.argv) >= 6 and sys.argv[1] == "--worker":
        return worker(*sys.argv[2:6])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-scale", type=float, default=1.0)
    parser.add_argument("--records-per-subdir", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bound-connections", type=int, default=0,
                        help="connections of the download bound (0: one per archive)")
    parser.add_argument("--no-conda", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import compileall

    import realistic_channel as rc

    from conda_store_plugin import api

    compileall.compile_dir(ROOT / "conda_store_plugin", quiet=1)
    load_before = os.getloadavg()
    out = Path(os.environ.get("REALISTIC_CHANNEL_DIR")
               or Path(tempfile.gettempdir()) / "realistic-channel") / (
        f"install-r{args.records_per_subdir}-x{args.size_scale:g}")
    meta = rc.generate_channel(out, platforms=(PLATFORM,),
                               records_per_subdir=args.records_per_subdir,
                               with_archives=True, size_scale=args.size_scale)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(out)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
            report = measure(args, meta, url, out, Path(tmp), api)
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    report["load_average"] = {"before": [round(x, 2) for x in load_before],
                              "after": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def measure(args: argparse.Namespace, meta: dict, url: str, channel_dir: Path, work: Path,
            api: Any) -> dict:
    spec = work / "environment.yml"
    spec.write_text("\n".join(["name: bench", "channels:", f"  - {url}", "dependencies:",
                               *[f"  - '{s}'" for s in meta["specs"]]]) + "\n")
    lock = api.lock(spec_path=spec, platforms=[PLATFORM],
                    cache_dir=work / "repodata-cache").lockfile_path
    explicit = work / "explicit.txt"
    api.convert(source=lock, output=explicit, to="explicit", platform=PLATFORM)
    files = archives_of(lock, channel_dir)
    total_bytes = sum(size for _, size in files)
    n = args.repeat

    def fresh(name: str) -> Path:
        return Path(tempfile.mkdtemp(dir=work, prefix=f"{name}-"))

    runs: dict[str, list[float]] = {k: [] for k in (
        "ours_cold_op", "ours_cold_wall", "raw_cold_op", "raw_cold_wall", "ours_warm_op",
        "ours_warm_wall", "raw_warm_op", "raw_warm_wall", "noop_wall", "noop_in_process",
        "store_cold_op", "store_cold_wall", "store_warm_op", "store_warm_wall",
        "conda_cold", "conda_plugin_cold", "extract_bound", "download_bound")}
    with_conda = not args.no_conda and importlib.util.find_spec("conda") is not None
    if with_conda:
        from tests.support.conda import isolated_env

        store_env = isolated_env(Path(tempfile.mkdtemp(dir=work, prefix="store-conda-")))
    connections = args.bound_connections or len(files)

    def ours() -> None:
        pkgs, env = fresh("ours-pkgs"), fresh("ours-env") / "env"
        settle()
        cold = run_worker("ours", lock, env, pkgs)
        runs["ours_cold_op"].append(cold["op"])
        runs["ours_cold_wall"].append(cold["wall"])
        warm_env = fresh("ours-warm") / "env"
        settle()
        warm = run_worker("ours", lock, warm_env, pkgs)
        assert warm["downloaded"] == 0, warm
        runs["ours_warm_op"].append(warm["op"])
        runs["ours_warm_wall"].append(warm["wall"])
        settle()
        runs["noop_wall"].append(noop_subprocess(lock, warm_env, pkgs))
        runs["noop_in_process"].append(noop_in_process(lock, warm_env, pkgs))

    def raw() -> None:
        pkgs, env = fresh("raw-pkgs"), fresh("raw-env") / "env"
        settle()
        cold = run_worker("raw", lock, env, pkgs)
        runs["raw_cold_op"].append(cold["op"])
        runs["raw_cold_wall"].append(cold["wall"])
        settle()
        warm = run_worker("raw", lock, fresh("raw-warm") / "env", pkgs)
        runs["raw_warm_op"].append(warm["op"])
        runs["raw_warm_wall"].append(warm["wall"])

    def store() -> None:
        pkgs, env = fresh("ours-store-pkgs"), fresh("ours-store-env") / "env"
        settle()
        cold = run_conda_store(lock, env, pkgs, store_env)
        runs["store_cold_op"].append(cold["op"])
        runs["store_cold_wall"].append(cold["wall"])
        settle()
        warm = run_conda_store(lock, fresh("ours-store-warm") / "env", pkgs, store_env)
        assert warm["downloaded"] == 0, warm
        runs["store_warm_op"].append(warm["op"])
        runs["store_warm_wall"].append(warm["wall"])

    kinds = [ours, raw, store] if with_conda else [ours, raw]
    for i in range(n):
        # The installers take turns going first (the first run of a repeat follows the
        # previous repeat's deletions); deletions happen between repeats only, and every
        # timed run starts with the disk's dirty pages written (`settle`).
        shift = i % len(kinds)
        for measure_one in kinds[shift:] + kinds[:shift]:
            measure_one()
        if with_conda:
            settle()
            runs["conda_cold"].append(conda_cold(explicit, work, plugins=False))
            settle()
            runs["conda_plugin_cold"].append(conda_cold(explicit, work, plugins=True))
        settle()
        runs["download_bound"].append(download_bound(files, url, channel_dir, connections))
        settle()
        runs["extract_bound"].append(extract_bound(files, work))
        for path in work.iterdir():  # keep the disk use of one repeat at most
            if path.is_dir() and path.name.split("-")[0] in ("ours", "raw", "extract",
                                                            "conda"):
                shutil.rmtree(path, ignore_errors=True)
        settle()
        time.sleep(2.0)  # the disk discards what was deleted in the background

    med = {k: round(median(v), 3) for k, v in runs.items() if v}
    bound = max(med["extract_bound"], med["download_bound"])
    ratios = {
        "ours_cold_vs_bound": med["ours_cold_op"] / bound,
        "raw_cold_vs_bound": med["raw_cold_op"] / bound,
        "ours_cold_vs_raw_cold": med["ours_cold_op"] / med["raw_cold_op"],
        "ours_warm_vs_raw_warm": med["ours_warm_op"] / med["raw_warm_op"],
        "ours_warm_wall_vs_raw_warm_wall": med["ours_warm_wall"] / med["raw_warm_wall"],
    }
    if "conda_cold" in med:
        ratios["conda_cold_vs_ours_cold_wall"] = med["conda_cold"] / med["ours_cold_wall"]
        ratios["conda_plugin_cold_vs_ours_cold_wall"] = (med["conda_plugin_cold"]
                                                         / med["ours_cold_wall"])
        ratios["store_cold_vs_bound"] = med["store_cold_op"] / bound
        ratios["store_warm_vs_raw_warm"] = med["store_warm_op"] / med["raw_warm_op"]
        ratios["conda_cold_vs_store_cold_wall"] = med["conda_cold"] / med["store_cold_wall"]
    return {
        "packages": len(files), "bytes": total_bytes, "size_scale": args.size_scale,
        "largest_archive_bytes": files[0][1], "repeat": n,
        "server": {"latency_s": LATENCY_S, "bandwidth_bytes_per_s": BANDWIDTH,
                   "bound_connections": connections},
        "cpus": os.cpu_count(),
        "median_s": med, "runs_s": {k: [round(x, 3) for x in v] for k, v in runs.items() if v},
        "ratios": {k: round(v, 2) for k, v in ratios.items()},
        "targets": {
            "cold <= 1.15 x bound": min(ratios["ours_cold_vs_bound"],
                                        ratios.get("store_cold_vs_bound", 99))
            <= TARGETS["cold_vs_bound"],
            "cold >= 5 x faster than conda": (ratios.get("conda_cold_vs_ours_cold_wall", 0)
                                              >= TARGETS["conda_vs_cold"]
                                              if "conda_cold" in med else None),
            "warm <= 1.2 x raw": min(ratios["ours_warm_vs_raw_warm"],
                                     ratios.get("store_warm_vs_raw_warm", 99))
            <= TARGETS["warm_vs_raw"],
            "no-op <= 0.5 s": med["noop_wall"] <= TARGETS["noop_s"],
        },
    }


def print_report(r: dict) -> None:
    m, ratio = r["median_s"], r["ratios"]
    bound = max(m["extract_bound"], m["download_bound"])
    print(f"realistic environment: {r['packages']} packages, {r['bytes'] / 1e6:.0f} MB "
          f"(size scale {r['size_scale']:g}; largest {r['largest_archive_bytes'] / 1e6:.1f} MB)"
          f"; server: {r['server']['latency_s'] * 1000:.0f} ms, "
          f"{r['server']['bandwidth_bytes_per_s'] * 8 / 1e6:.0f} Mbit/s per connection; "
          f"{r['cpus']} CPUs; median of {r['repeat']}")
    print(f"load average before {r['load_average']['before']}, "
          f"after {r['load_average']['after']}")
    rows = [
        ("bound: extract all archives (all cores)", m["extract_bound"], None, None),
        (f"bound: download all ({r['server']['bound_connections']} connections)",
         m["download_bound"], None, None),
        ("cold  ours, API in a new process", m["ours_cold_op"], m["ours_cold_wall"],
         f"{ratio['ours_cold_vs_bound']:.2f} x bound, {ratio['ours_cold_vs_raw_cold']:.2f} x raw"),
    ]
    if "store_cold_op" in m:
        rows.append(("cold  ours, conda store install", m["store_cold_op"],
                     m["store_cold_wall"], f"{ratio['store_cold_vs_bound']:.2f} x bound"))
    rows.append(("cold  raw py-rattler", m["raw_cold_op"], m["raw_cold_wall"],
                 f"{ratio['raw_cold_vs_bound']:.2f} x bound"))
    if "conda_cold" in m:
        rows += [
            ("cold  conda create --file explicit.txt", None, m["conda_cold"],
             f"{ratio['conda_cold_vs_ours_cold_wall']:.1f} x ours API, "
             f"{ratio['conda_cold_vs_store_cold_wall']:.1f} x conda store (wall)"),
            ("cold  same, with our plugin loaded", None, m["conda_plugin_cold"],
             f"{ratio['conda_plugin_cold_vs_ours_cold_wall']:.1f} x ours (wall)"),
        ]
    rows.append(("warm  ours, API in a new process", m["ours_warm_op"], m["ours_warm_wall"],
                 f"{ratio['ours_warm_vs_raw_warm']:.2f} x raw (op), "
                 f"{ratio['ours_warm_wall_vs_raw_warm_wall']:.2f} x raw (wall)"))
    if "store_warm_op" in m:
        rows.append(("warm  ours, conda store install", m["store_warm_op"],
                     m["store_warm_wall"], f"{ratio['store_warm_vs_raw_warm']:.2f} x raw (op)"))
    rows += [
        ("warm  raw py-rattler", m["raw_warm_op"], m["raw_warm_wall"], None),
        ("no-op ours (in process / new process)", m["noop_in_process"], m["noop_wall"], None),
    ]
    print(f"{'':44s} {'op s':>8s} {'wall s':>8s}  ratio")
    for label, op, wall, note in rows:
        op_s = f"{op:8.2f}" if op is not None else f"{'':8s}"
        wall_s = f"{wall:8.2f}" if wall is not None else f"{'':8s}"
        print(f"{label:44s} {op_s} {wall_s}  {note or ''}")
    print(f"max(bounds) = {bound:.2f} s")
    for name, ok in r["targets"].items():
        print(f"target {name}: {'met' if ok else 'MISSED' if ok is not None else 'n/a'}")


if __name__ == "__main__":
    raise SystemExit(main())
