"""Concurrent ``conda create`` on one package cache: stock conda vs conda with the plugin.

For each round (a fresh package cache every time), for each mode (``stock``: conda with
``CONDA_NO_PLUGINS=true``; ``plugin``: with conda-store-plugin's cache locks), for each
process count (4 and 8) and variant (``creates``; ``clean``: ``conda clean --all -y``
started while the creates run), it starts the processes at once against a local HTTP
channel of 44 packages (a few hundred KB each, 20 ms latency per request), then checks
every exit status, every environment file by file against the packages' ``paths.json``
sha256, every cache entry, and how often the server sent each archive. Modes alternate
within a round so machine load affects both alike. It also times single creates of the
same package set (fresh cache) as the baseline of the wall-time ratio.

The classic solver is used: the rattler solver's interpreter-exit crash (py-rattler 0.26)
is a separate issue; any such exit is still counted separately.

Usage::

    python benchmarks/bench_concurrency.py [--rounds 20] [--processes 4 8]
        [--variants creates clean] [--modes stock plugin] [--singles 5] [--out DIR] [--json]

Exit status 1 when the plugin mode had any failure, broken environment or entry, or
duplicate download in a round without ``clean``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import stress  # noqa: E402
from tests.support.server import ChannelServer  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--processes", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--variants", nargs="+", default=["creates", "clean"],
                        choices=["creates", "clean"])
    parser.add_argument("--modes", nargs="+", default=["stock", "plugin"],
                        choices=["stock", "plugin"])
    parser.add_argument("--singles", type=int, default=5,
                        help="single creates per mode for the baseline")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--clean-delay", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep each round's folders")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    out.mkdir(parents=True, exist_ok=True)
    specs = stress.stress_packages()
    channel = out / "channel"
    if not (channel / "noarch" / "repodata.json").is_file():
        stress.build_stress_channel(channel, specs)
    archives = {s.filename: channel / s.relpath for s in specs}
    cells: dict[tuple[str, int, str], list[dict]] = {}
    singles: dict[str, list[float]] = {mode: [] for mode in args.modes}
    single_cpu: dict[str, list[float]] = {mode: [] for mode in args.modes}
    load_before = os.getloadavg()
    started = time.perf_counter()
    with ChannelServer(channel, latency_s=args.latency) as server:
        server._httpd.handle_error = lambda *a: None  # clients dropping keep-alives
        one = stress.request_sets(specs, 1)
        for k in range(args.singles):
            for mode in args.modes:
                root = out / f"single-{mode}-{k}"
                shutil.rmtree(root, ignore_errors=True)
                env = stress.stress_env(root, plugin=mode == "plugin")
                result = stress.run_round(root, channel_url=server.url, requests=one, env=env)
                if result.failed:
                    print(f"single {mode} failed: {result.failed[0].stderr[-500:]}",
                          file=sys.stderr)
                singles[mode].append(result.wall_s)
                single_cpu[mode].append(result.cpu_s)
                if not args.keep:
                    shutil.rmtree(root, ignore_errors=True)
        for round_no in range(args.rounds):
            for n in args.processes:
                requests = stress.request_sets(specs, n)
                for variant in args.variants:
                    for mode in args.modes:
                        root = out / f"{mode}-{n}-{variant}-{round_no}"
                        shutil.rmtree(root, ignore_errors=True)
                        env = stress.stress_env(root, plugin=mode == "plugin")
                        server.reset_log()
                        result = stress.run_round(
                            root, channel_url=server.url, requests=requests, env=env,
                            clean=variant == "clean", clean_delay_s=args.clean_delay)
                        stress.check_round(result, root, specs=specs, archives=archives,
                                           requests=requests,
                                           downloads=server.downloads(archives_only=True))
                        summary = result.summary()
                        summary["clean_ran"] = result.clean is not None
                        cells.setdefault((mode, n, variant), []).append(summary)
                        if not args.json:
                            print(f"round {round_no:2d} {mode:6s} n={n} {variant:7s} "
                                  f"{json.dumps(summary)}", flush=True)
                        if not args.keep:
                            shutil.rmtree(root, ignore_errors=True)
    report = build_report(cells, singles, args, load_before, time.perf_counter() - started)
    report["single_cpu_s"] = {m: [round(x, 2) for x in v] for m, v in single_cpu.items()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    bad = [row for row in report["rows"] if row["mode"] == "plugin" and (
        row["failed_processes"] or row["broken_envs"] or row["broken_cache_entries"]
        or (row["variant"] == "creates" and row["duplicate_downloads"]))]
    return 1 if bad else 0


def build_report(cells: dict, singles: dict, args: argparse.Namespace,
                 load_before: tuple, seconds: float) -> dict:
    rows = []
    for (mode, n, variant), runs in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][2],
                                                                          kv[0][0])):
        walls = [r["wall_s"] for r in runs]
        single = statistics.median(singles[mode]) if singles.get(mode) else None
        rows.append({
            "mode": mode, "processes": n, "variant": variant, "rounds": len(runs),
            "failed_processes": sum(r["failed"] for r in runs),
            "rounds_with_failures": sum(1 for r in runs if r["failed"]),
            "rattler_exit_crashes": sum(r["rattler_exit_crashes"] for r in runs),
            "broken_envs": sum(r["broken_envs"] for r in runs),
            "broken_cache_entries": sum(r["broken_cache_entries"] for r in runs),
            "duplicate_downloads": sum(r["duplicate_downloads"] for r in runs),
            "max_downloads_per_file": max(r["max_downloads_per_file"] for r in runs),
            "wall_median_s": round(statistics.median(walls), 2),
            "wall_min_s": round(min(walls), 2),
            "wall_max_s": round(max(walls), 2),
            "single_median_s": round(single, 2) if single else None,
            "ratio_to_single": round(statistics.median(walls) / single, 2) if single else None,
            "cpu_median_s": round(statistics.median(r.get("cpu_s", 0.0) for r in runs), 1),
        })
    return {
        "rows": rows,
        "singles_s": {m: [round(x, 2) for x in v] for m, v in singles.items()},
        "cpus": stress.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "packages": len(stress.stress_packages()),
        "latency_s": args.latency,
        "total_s": round(seconds, 1),
    }


def print_report(report: dict) -> None:
    print()
    print(f"{report['packages']} packages, latency {report['latency_s'] * 1000:.0f} ms, "
          f"{report['cpus']} CPUs, load average {report['loadavg_before']} -> "
          f"{report['loadavg_after']}, {report['total_s']} s in all")
    print(f"single create (fresh cache), seconds: {report['singles_s']}")
    print(f"single create CPU seconds: {report.get('single_cpu_s')}")
    header = ("mode", "N", "variant", "rounds", "failed", "rnds_failed", "broken_envs",
              "broken_entries", "dup_dl", "max_dl", "wall_med", "wall_min", "wall_max",
              "single", "ratio", "cpu_med")
    keys = ("mode", "processes", "variant", "rounds", "failed_processes",
            "rounds_with_failures", "broken_envs", "broken_cache_entries",
            "duplicate_downloads", "max_downloads_per_file", "wall_median_s", "wall_min_s",
            "wall_max_s", "single_median_s", "ratio_to_single", "cpu_median_s")
    widths = [max(len(h), 7) for h in header]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in report["rows"]:
        print("  ".join(str(row[k]).rjust(w) for k, w in zip(keys, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
