"""Cold lock of the realistic environment: sharded repodata vs repodata.json, side by side.

Generates (or reuses) the realistic benchmark channel (``realistic_channel.py``) with
both ``repodata.json`` (+ ``.zst``) and CEP-16 shards in the same directory, serves it
from 127.0.0.1 with ``tests/support/server.py`` and locks the traces-sklearn
environment for one platform through ``conda_store_plugin.locking.make_lock`` (the code
``conda store lock`` runs) with a fresh repodata cache each time, three ways:

* ``shards``: the channel as it is; the solver fetches the shard index and the shards
  of the names it reaches;
* ``json.zst``: the shard indexes answer 404 (a channel without shards); the solver
  falls back to ``repodata.json.zst``;
* ``json``: shard indexes, ``.zst`` and ``.bz2`` answer 404: plain ``repodata.json``.

For each: bytes the server sent, requests, wall time (median of ``--repeat`` cold runs),
and the ratio to ``shards``. The three locks must hold the same packages.

Usage::

    python benchmarks/bench_shards.py [--records-per-subdir 30000] [--platform linux-64]
        [--repeat 3] [--no-cdn] [--out DIR] [--json]

``--no-cdn`` serves at loopback speed; by default every request costs 30 ms and each
connection is capped at 200 Mbit/s (``CDN_PROFILE``), closer to a real CDN.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import realistic_channel as rc  # noqa: E402

from tests.support.server import CDN_PROFILE  # noqa: E402

MODES = ("shards", "json.zst", "json")


def default_out(records_per_subdir: int, seed: int) -> Path:
    base = os.environ.get("REALISTIC_CHANNEL_DIR") or os.path.join(
        tempfile.gettempdir(), "realistic-channel"
    )
    return Path(base) / f"r{records_per_subdir}-s{seed}-shards"


def _hidden(mode: str, subdirs: list[str]) -> list[str]:
    names = {"shards": [], "json.zst": ["repodata_shards.msgpack.zst"],
             "json": ["repodata_shards.msgpack.zst", "repodata.json.zst",
                      "repodata.json.bz2"]}[mode]
    return [f"{sd}/{name}" for sd in subdirs for name in names]


_SERVER_CODE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from tests.support.server import ChannelServer
root, fail, profile = sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
with ChannelServer(root, fail_paths=fail, **profile) as server:
    print(server.url, flush=True)
    sys.stdin.read()  # until the benchmark closes it
    print(json.dumps([[r.path, r.status, r.bytes_sent] for r in server.log]), flush=True)
"""


class ServerProcess:
    """``ChannelServer`` in a child process, so serving does not compete with the solver
    for this process's GIL; ``stop()`` returns the request log as (path, status, bytes)."""

    def __init__(self, root: Path, fail_paths: list[str], profile: dict) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_CODE, str(HERE.parent), str(root),
             json.dumps(fail_paths), json.dumps(profile)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def stop(self) -> list[tuple[str, int, int]]:
        out, _ = self.proc.communicate(timeout=60)
        return [tuple(r) for r in json.loads(out.strip().splitlines()[-1])]


def cold_lock(root: Path, meta: dict, platform: str, mode: str, cdn: bool) -> dict:
    from conda_store_plugin.locking import LockOptions, make_lock
    from conda_store_plugin.spec import EnvironmentSpec

    profile = CDN_PROFILE if cdn else {}
    server = ServerProcess(root, _hidden(mode, [platform, "noarch"]), profile)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-shards-cache-") as cache:
            spec = EnvironmentSpec(channels=(server.url,),
                                   dependencies=tuple(meta["specs"]))
            start = time.perf_counter()
            lock = make_lock(spec, LockOptions(platforms=(platform,)), cache_dir=Path(cache))
            wall = time.perf_counter() - start
    finally:
        log = server.stop()
    served = [r for r in log if r[1] in (200, 206)]
    return {
        "mode": mode,
        "wall_s": wall,
        "bytes": sum(r[2] for r in log),
        "requests": len(log),
        "ok_requests": len(served),
        "shards": sum(1 for r in served if "/shards/" in r[0]),
        "packages": sorted(f"{p.name}={p.version}={p.build}"
                           for p in lock.platforms[platform].packages),
    }


def run(args: argparse.Namespace) -> dict:
    out = Path(args.out) if args.out else default_out(args.records_per_subdir, args.seed)
    t = time.perf_counter()
    meta = rc.generate_channel(out, platforms=[args.platform],
                               records_per_subdir=args.records_per_subdir, seed=args.seed,
                               shards=True, zst=True, force=args.force)
    generation = time.perf_counter() - t
    results: dict[str, list[dict]] = {m: [] for m in MODES}
    for _ in range(max(1, args.repeat)):
        for mode in MODES:  # interleaved, so drift hits every mode alike
            results[mode].append(cold_lock(out, meta, args.platform, mode, not args.no_cdn))
    summary = {}
    for mode, runs in results.items():
        summary[mode] = {
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "bytes": runs[0]["bytes"],
            "requests": runs[0]["requests"],
            "ok_requests": runs[0]["ok_requests"],
            "shards": runs[0]["shards"],
            "packages": len(runs[0]["packages"]),
        }
    same = len({tuple(r["packages"]) for runs in results.values() for r in runs}) == 1
    return {
        "channel": str(out),
        "platform": args.platform,
        "records": {sd: meta["records"][sd]["total"] for sd in (args.platform, "noarch")},
        "repodata_bytes": {sd: (out / sd / "repodata.json").stat().st_size
                           for sd in (args.platform, "noarch")},
        "generation_s": round(generation, 2),
        "cdn": None if args.no_cdn else CDN_PROFILE,
        "repeat": args.repeat,
        "specs": meta["specs"],
        "same_packages": same,
        "results": summary,
    }


def _mb(n: int) -> str:
    return f"{n / 1e6:8.2f} MB"


def render(report: dict) -> str:
    base = report["results"]["shards"]
    lines = [
        f"channel {report['channel']} ({report['platform']}: "
        f"{report['records'][report['platform']]} records, noarch: "
        f"{report['records']['noarch']}; repodata.json "
        f"{report['repodata_bytes'][report['platform']] / 1e6:.1f} + "
        f"{report['repodata_bytes']['noarch'] / 1e6:.1f} MB)",
        f"network: {'loopback' if report['cdn'] is None else '30 ms/request, 200 Mbit/s'};"
        f" cold cache; median of {report['repeat']}",
        f"{'':10} {'bytes fetched':>14} {'x shards':>9} {'requests':>9} {'shards':>7}"
        f" {'wall':>8} {'x shards':>9} {'packages':>9}",
    ]
    for mode, r in report["results"].items():
        lines.append(
            f"{mode:10} {_mb(r['bytes']):>14} {r['bytes'] / base['bytes']:>8.1f}x"
            f" {r['requests']:>9} {r['shards']:>7} {r['wall_s']:>7.2f}s"
            f" {r['wall_s'] / base['wall_s']:>8.2f}x {r['packages']:>9}")
    lines.append("same packages in every lock: " + ("yes" if report["same_packages"] else "NO"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="channel directory (default: $TMPDIR/realistic-channel/...)")
    ap.add_argument("--records-per-subdir", type=int, default=30000)
    ap.add_argument("--platform", default="linux-64")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-cdn", action="store_true", help="no latency/bandwidth emulation")
    ap.add_argument("--force", action="store_true", help="regenerate the channel")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=1) if args.json else render(report))
    return 0 if report["same_packages"] else 1


if __name__ == "__main__":
    import atexit

    atexit.register(time.sleep, 0.1)  # py-rattler 0.26 may abort at exit otherwise
    sys.exit(main())
