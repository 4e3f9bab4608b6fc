"""Lock speed: our 3-platform lock against raw py-rattler solves and conda, in one run.

Prints, for the realistic channel (``realistic_channel.py``: ~30k records per subdir,
the traces-sklearn environment):

* ``ours``: ``conda_store_plugin.api.lock`` for linux-64, osx-arm64 and win-64 (cold:
  fresh repodata cache; the platforms are solved concurrently on one gateway);
* ``raw``: ``rattler.solve`` of the same specs, one platform after the other, each with a
  fresh gateway (cold), and the single slowest one;
* ``conda``: ``python -m conda create --dry-run`` per platform (rattler solver), when
  conda is importable.

Target: ours (3 platforms) <= 1.3 x one raw single-platform solve.

Usage: python benchmarks/bench_lock.py [--records-per-subdir 30000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import realistic_channel as rc  # noqa: E402

PLATFORMS = ("linux-64", "osx-arm64", "win-64")


def write_spec(folder: Path, meta: dict) -> Path:
    lines = ["name: bench", "channels:", f"  - {meta['channel_url']}", "dependencies:"]
    lines += [f"  - '{s}'" for s in meta["specs"]]
    path = folder / "environment.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_ours(spec: Path, work: Path) -> tuple[float, float, dict]:
    from conda_store_plugin import api

    cache = Path(tempfile.mkdtemp(dir=work, prefix="cache-"))
    cpu, start = cpu_seconds(), time.perf_counter()
    result = api.lock(spec_path=spec, lockfile_path=work / "bench.lock.json",
                      platforms=list(PLATFORMS), cache_dir=cache)
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return elapsed, cpu, {p: len(pl.packages) for p, pl in result.lockfile.platforms.items()}


def time_raw(meta: dict, platform: str, work: Path) -> float:
    import rattler

    gateway = rattler.Gateway(cache_dir=Path(tempfile.mkdtemp(dir=work, prefix="raw-")))
    start = time.perf_counter()
    asyncio.run(rattler.solve(sources=[meta["channel_url"]], specs=meta["specs"],
                              platforms=[platform, "noarch"], gateway=gateway,
                              virtual_packages=rc.rattler_virtual_packages(platform)))
    return time.perf_counter() - start


def time_conda(meta: dict, platform: str, work: Path) -> float | None:
    if importlib.util.find_spec("conda") is None:
        return None
    sys.path.insert(0, str(HERE.parent))
    from tests.support.conda import isolated_env

    root = Path(tempfile.mkdtemp(dir=work, prefix="conda-"))
    # The realistic channel, like ours, has no pip: do not add it to python.
    env = isolated_env(root, extra_condarc="add_pip_as_python_dependency: false\n")
    overrides = {"linux": {"CONDA_OVERRIDE_GLIBC": "2.28", "CONDA_OVERRIDE_LINUX": "5.10"},
                 "osx": {"CONDA_OVERRIDE_OSX": "11.0"}, "win": {}}
    env.update(overrides[platform.split("-")[0]])
    env["CONDA_OVERRIDE_CUDA"] = ""
    argv = [sys.executable, "-m", "conda", "create", "--dry-run", "--json", "-p",
            str(root / "env"), "--override-channels", "-c", meta["channel_url"],
            "--platform", platform, "--solver", "rattler", *meta["specs"]]
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1) or '"success": true' not in done.stdout:
        # A dry run exits 1 with DryRunExit on some versions; anything else is a failure.
        if "DryRunExit" not in done.stdout:
            print(f"conda failed for {platform}: {done.stdout[-400:]} {done.stderr[-400:]}",
                  file=sys.stderr)
            return None
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records-per-subdir", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-conda", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    out = Path(os.environ.get("REALISTIC_CHANNEL_DIR")
               or Path(tempfile.gettempdir()) / "realistic-channel") / (
        f"r{args.records_per_subdir}-s0")
    meta = rc.generate_channel(out, platforms=PLATFORMS,
                               records_per_subdir=args.records_per_subdir)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = write_spec(work, meta)
        ours, ours_cpu = [], []
        raw, conda = {p: [] for p in PLATFORMS}, {p: [] for p in PLATFORMS}
        counts = {}
        time_ours(spec, work)  # warm-up: imports and config, paid once per process
        for _ in range(args.repeat):
            elapsed, cpu, counts = time_ours(spec, work)
            ours.append(elapsed)
            ours_cpu.append(cpu)
            for p in PLATFORMS:
                raw[p].append(time_raw(meta, p, work))
        if not args.no_conda:
            for p in PLATFORMS:
                t = time_conda(meta, p, work)
                if t is not None:
                    conda[p].append(t)

    med = statistics.median
    raw_each = {p: med(v) for p, v in raw.items()}
    raw_sum = sum(raw_each.values())
    raw_max = max(raw_each.values())
    ours_med = med(ours)
    cores = os.cpu_count() or 1
    report = {
        "cores": cores,
        "ours_cpu_s": round(med(ours_cpu), 3),
        "ours_lower_bound_on_these_cores_s": round(med(ours_cpu) / cores, 3),
        "records_per_subdir": args.records_per_subdir,
        "packages": counts,
        "ours_3_platforms_s": round(ours_med, 3),
        "raw_per_platform_s": {p: round(v, 3) for p, v in raw_each.items()},
        "raw_sequential_sum_s": round(raw_sum, 3),
        "ratio_ours_vs_slowest_single_raw": round(ours_med / raw_max, 2),
        "ratio_ours_vs_raw_sequential": round(ours_med / raw_sum, 2),
        "conda_dry_run_s": {p: round(v[0], 3) for p, v in conda.items() if v},
    }
    if report["conda_dry_run_s"]:
        report["ratio_conda_sum_vs_ours"] = round(
            sum(report["conda_dry_run_s"].values()) / ours_med, 2)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"realistic channel: {args.records_per_subdir} records/subdir, packages {counts}")
    print(f"ours, 3 platforms concurrently (cold, median of {args.repeat}): {ours_med:.3f} s"
          f"  (CPU {report['ours_cpu_s']:.3f} s: >= "
          f"{report['ours_lower_bound_on_these_cores_s']:.3f}"
          f" s wall on {cores} cores)")
    for p, v in raw_each.items():
        print(f"raw py-rattler {p:10s} (cold):                  {v:.3f} s")
    print(f"raw, 3 platforms one after the other:           {raw_sum:.3f} s")
    print(f"ratio ours / slowest single raw solve:          "
          f"{report['ratio_ours_vs_slowest_single_raw']:.2f}  (target <= 1.30)")
    print(f"ratio ours / raw sequential:                    "
          f"{report['ratio_ours_vs_raw_sequential']:.2f}")
    for p, v in report["conda_dry_run_s"].items():
        print(f"conda create --dry-run {p:10s}:              {v:.3f} s")
    if "ratio_conda_sum_vs_ours" in report:
        print(f"conda (3 platforms, sum) / ours:                "
              f"{report['ratio_conda_sum_vs_ours']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
