"""Baseline: raw py-rattler solves of the traces-sklearn environment on the realistic channel.

Generates (or reuses, see ``realistic_channel.generate_channel``) the benchmark channel,
then solves the lock's top-level specs for each platform, one platform after the other,
with the platform's default virtual packages, and prints per platform:

* ``cold``: ``rattler.solve`` with a fresh ``Gateway`` (reads + parses the repodata of
  every name reachable from the specs, then solves): what one CLI invocation pays;
* ``query``: the gateway's recursive repodata query alone (fresh gateway), and the
  number of candidate records it returns;
* ``warm``: ``rattler.solve`` again on the gateway that already holds the records
  (solver only): min / median of ``--repeat`` runs;
* the solved package count against the lock's count, and whether the solution is the
  lock's exact set of (name, version, build).

Usage::

    python benchmarks/bench_raw_solve.py [--out DIR] [--records-per-subdir 30000]
        [--platforms linux-64 osx-arm64 win-64] [--repeat 3] [--seed 0] [--json]

Exit status 1 if a platform does not solve to the lock's packages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rattler  # noqa: E402
import realistic_channel as rc  # noqa: E402


def default_out(records_per_subdir: int, seed: int) -> Path:
    base = os.environ.get("REALISTIC_CHANNEL_DIR") or os.path.join(
        tempfile.gettempdir(), "realistic-channel"
    )
    return Path(base) / f"r{records_per_subdir}-s{seed}"


def _solve(meta: dict, platform: str, gateway: rattler.Gateway) -> list:
    return asyncio.run(
        rattler.solve(
            sources=[meta["channel_url"]],
            specs=meta["specs"],
            platforms=[platform, "noarch"],
            virtual_packages=rc.rattler_virtual_packages(platform),
            gateway=gateway,
        )
    )


def bench_platform(meta: dict, platform: str, repeat: int) -> dict:
    t = time.perf_counter()
    records = _solve(meta, platform, rattler.Gateway())
    cold = time.perf_counter() - t

    gateway = rattler.Gateway()
    t = time.perf_counter()
    found = asyncio.run(
        gateway.query([meta["channel_url"]], [platform, "noarch"], meta["specs"], recursive=True)
    )
    query = time.perf_counter() - t
    candidates = sum(len(r) for r in found)

    warm = []
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        _solve(meta, platform, gateway)
        warm.append(time.perf_counter() - t)

    expected = meta["expected"][platform]["packages"]
    got = {r.name.normalized: f"{r.version} {r.build}" for r in records}
    diff = {
        name: (expected.get(name), got.get(name))
        for name in sorted(set(expected) | set(got))
        if expected.get(name) != got.get(name)
    }
    return {
        "platform": platform,
        "subdir_records": meta["records"][platform]["total"],
        "noarch_records": meta["records"]["noarch"]["total"],
        "candidates": candidates,
        "solved": len(records),
        "expected": meta["expected"][platform]["count"],
        "matches_lock": not diff,
        "diff": diff,
        "cold_s": round(cold, 3),
        "query_s": round(query, 3),
        "warm_min_s": round(min(warm), 3),
        "warm_median_s": round(statistics.median(warm), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="channel directory (default: $TMPDIR/realistic-channel/...)")
    ap.add_argument("--records-per-subdir", type=int, default=30000)
    ap.add_argument("--platforms", nargs="+", default=list(rc.DEFAULT_PLATFORMS))
    ap.add_argument("--repeat", type=int, default=3, help="warm solves per platform")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="regenerate the channel")
    ap.add_argument("--json", action="store_true", help="print results as JSON")
    args = ap.parse_args(argv)

    out = Path(args.out) if args.out else default_out(args.records_per_subdir, args.seed)
    t = time.perf_counter()
    meta = rc.generate_channel(
        out,
        platforms=args.platforms,
        records_per_subdir=args.records_per_subdir,
        seed=args.seed,
        force=args.force,
    )
    gen = time.perf_counter() - t
    results = [bench_platform(meta, p, args.repeat) for p in args.platforms]

    if args.json:
        print(
            json.dumps(
                {
                    "channel": meta["channel_url"],
                    "generation_s": round(gen, 2),
                    "generation_cached": meta["cached"],
                    "specs": meta["specs"],
                    "py_rattler": getattr(rattler, "__version__", None),
                    "results": results,
                },
                indent=1,
            )
        )
    else:
        state = "reused" if meta["cached"] else "generated"
        print(f"channel {meta['channel_url']} ({state} in {gen:.2f}s)")
        print(f"specs: {', '.join(meta['specs'])}")
        head = (
            f"{'platform':<12} {'records':>13} {'candidates':>10} {'solved':>9} {'lock':>5}"
            f" {'cold':>7} {'query':>7} {'warm min':>9} {'warm med':>9}"
        )
        print(head)
        print("-" * len(head))
        for r in results:
            recs = f"{r['subdir_records']}+{r['noarch_records']}"
            same = "=" if r["matches_lock"] else "!"
            print(
                f"{r['platform']:<12} {recs:>13} {r['candidates']:>10} "
                f"{r['solved']:>5}/{r['expected']:<3} {same:>5} {r['cold_s']:>6.3f}s "
                f"{r['query_s']:>6.3f}s {r['warm_min_s']:>8.3f}s {r['warm_median_s']:>8.3f}s"
            )
        for r in results:
            if not r["matches_lock"]:
                print(f"\n{r['platform']}: differs from the lock (lock, solved):")
                for name, (want, have) in r["diff"].items():
                    print(f"  {name}: {want} -> {have}")
        total = sum(r["cold_s"] for r in results)
        print(f"\ncold solves, one after the other: {total:.3f}s total")
    return 0 if all(r["matches_lock"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
