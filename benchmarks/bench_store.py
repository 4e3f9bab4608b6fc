"""Store speed: list/history on 1,000 builds, bulk archive of 500, du, recreate vs install.

Part 1 (synthetic store, records plus small prefixes): ``--envs`` environments of
``--builds-per-env`` builds each (default 10 x 100 = 1,000 builds). Every build has its
records, spec, lockfile and log, and a small prefix: ``--files`` files of which half are
hardlinks into a shared fake package cache (as real installs are) and the rest own
copies. Timed:

* ``list`` and ``history ENV`` (100 builds) through the API, and as CLI processes
  (``python -m conda_store_plugin ... --json``, interpreter start included);
* ``history`` of one environment with 1,000 builds;
* ``du`` on the whole store (with the cache);
* bulk ``archive --keep-last 50`` (500 builds): dry run, then for real;
* ``dedupe`` of the remaining builds.

Part 2 (realistic environment, ``realistic_channel.py`` with archives, linux-64): the
traces-sklearn environment (~300 packages) is built (lock + install, cold package
cache), installed again into a new prefix with a cold cache ("fresh install") and with a
warm one, then archived and recreated offline from the warm cache.

Usage: python benchmarks/bench_store.py [--envs 10] [--builds-per-env 100] [--files 20]
    [--size-scale 1.0] [--skip-realistic] [--work DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from conda_store_plugin import api  # noqa: E402
from conda_store_plugin.store import records  # noqa: E402
from conda_store_plugin.store.layout import EnvRef, StoreLayout  # noqa: E402


def timed(fn, repeat: int = 1):
    best = None
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def tiny_lockfile() -> str:
    from conda_store_plugin.lockfile import Channel, Lockfile, PlatformLock
    from conda_store_plugin.spec import EnvironmentSpec

    spec = EnvironmentSpec(name="bench", channels=("conda-forge",), dependencies=("python",))
    return Lockfile(spec=spec, channels=(Channel("conda-forge", "https://x/conda-forge"),),
                    platforms={"linux-64": PlatformLock()}, input_hash="0" * 64,
                    created_at="2025-01-01T00:00:00Z", tool_version="0.1.0").to_json()


def make_synthetic_store(root: Path, n_envs: int, per_env: int, n_files: int,
                         namespace: str = "bench") -> StoreLayout:
    """Records for ``n_envs * per_env`` completed builds, each with a small prefix."""
    layout = StoreLayout(root / "store")
    cache = root / "pkgs"
    cache.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    cached = []
    for i in range(n_files // 2):
        path = cache / f"pkg{i}" / f"file{i}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(1000, 8000)))
        cached.append(path)
    lock_text = tiny_lockfile()
    start = records.now_utc()
    records.write("store", records.StoreRecord(records.format_time(start), "0.1.0"),
                  layout.store_file)
    copy_data = rng.randbytes(4000)
    for e in range(n_envs):
        ref = EnvRef(namespace, f"env{e:03d}")
        records.write("environment", records.EnvironmentRecord(
            ref.namespace, ref.name, records.format_time(start), current_build=per_env,
            link=None), layout.env_file(ref))
        for n in range(1, per_env + 1):
            when = records.format_time(start.replace(microsecond=0)
                                       - (per_env - n) * _day())
            prefix = layout.prefix(ref, n)
            (prefix / "lib").mkdir(parents=True)
            for i, src in enumerate(cached):
                os.link(src, prefix / "lib" / src.name)
                if i == 0:
                    (prefix / "lib" / "copy.bin").write_bytes(copy_data)  # dedupe-able
            for i in range(n_files - len(cached) - 1):
                (prefix / f"own{i}.txt").write_text(f"{ref} {n} {i}\n" * 20)
            build_dir = layout.build_dir(ref, n)
            (build_dir / "environment.yml").write_text("name: bench\ndependencies: [python]\n")
            (build_dir / "conda-store.lock.json").write_text(lock_text)
            (build_dir / "build.log").write_text("synthetic\n")
            records.write("build", records.BuildRecord(
                ref.namespace, ref.name, n, "completed", "linux-64", str(prefix), when,
                records.Builder("bench", "host", 1), "0.1.0", started_at=when,
                finished_at=when, package_count=n_files, size=records.Size(1, 1)),
                layout.build_file(ref, n))
    return layout


def _day():
    import datetime

    return datetime.timedelta(days=1)


def cli_time(*argv: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "conda_store_plugin", *argv, "--json"],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def part_synthetic(work: Path, n_envs: int, per_env: int, n_files: int) -> dict:
    figures: dict = {}
    t, layout = timed(lambda: make_synthetic_store(work / "synthetic", n_envs, per_env,
                                                   n_files))
    total = n_envs * per_env
    figures["store"] = {"builds": total, "environments": n_envs, "files_per_build": n_files,
                        "generation_s": round(t, 2)}
    store = layout.root
    env0 = "bench/env000"
    t_list, listed = timed(lambda: api.list_environments(store=store), repeat=3)
    assert len(listed.environments) == n_envs
    t_hist, hist = timed(lambda: api.history(environment=env0, store=store), repeat=3)
    assert len(hist.builds) == per_env
    figures["list_api_s"] = round(t_list, 4)
    figures["history_api_s"] = round(t_hist, 4)
    figures["list_cli_s"] = round(min(cli_time("list", "--store", str(store))
                                      for _ in range(3)), 3)
    figures["history_cli_s"] = round(min(cli_time("history", env0, "--store", str(store))
                                         for _ in range(3)), 3)

    big = make_synthetic_store(work / "big", 1, total, 2)
    t_big, big_hist = timed(lambda: api.history(environment="bench/env000",
                                                store=big.root), repeat=3)
    assert len(big_hist.builds) == total
    figures["history_1000_builds_api_s"] = round(t_big, 4)
    figures["history_1000_builds_cli_s"] = round(cli_time("history", "bench/env000",
                                                          "--store", str(big.root)), 3)

    pkgs = work / "synthetic" / "pkgs"
    t_du, du = timed(lambda: api.du(store=store, pkgs_dir=pkgs))
    figures["du_s"] = round(t_du, 3)
    figures["du"] = {"apparent": du.store.apparent, "disk": du.store.disk,
                     "shared": du.store.shared,
                     "cache_shared_with_store": du.cache_shared_with_store}

    keep = per_env - 500 // n_envs
    t_dry, dry = timed(lambda: api.archive(store=store, keep_last=keep, dry_run=True))
    t_arch, arch = timed(lambda: api.archive(store=store, keep_last=keep))
    assert len(arch.archived) == len(dry.archived) == n_envs * (per_env - keep)
    figures["bulk_archive"] = {"builds": len(arch.archived), "dry_run_s": round(t_dry, 3),
                               "archive_s": round(t_arch, 3),
                               "bytes_freed": arch.bytes_freed,
                               "dry_run_bytes": dry.bytes_freed}
    t_ded, ded = timed(lambda: api.dedupe(store=store))
    figures["dedupe"] = {"s": round(t_ded, 3), "linked_files": ded.linked_files,
                         "bytes_saved": ded.bytes_saved}
    t_list2, _ = timed(lambda: api.list_environments(store=store), repeat=3)
    figures["list_after_archive_api_s"] = round(t_list2, 4)
    return figures


def part_realistic(work: Path, size_scale: float) -> dict:
    import realistic_channel as rc

    figures: dict = {}
    t_gen, meta = timed(lambda: rc.generate_channel(
        work.parent / f"realistic-channel-archives-{size_scale}", platforms=["linux-64"],
        with_archives=True, size_scale=size_scale))
    figures["channel"] = {"archives": meta["archives"], "generation_s": round(t_gen, 1),
                          "cached": meta["cached"], "size_scale": size_scale}
    spec = work / "realistic" / "environment.yml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text("\n".join(["name: sklearn", "channels:", f"  - {meta['channel_url']}",
                               "dependencies:", *[f"  - '{s}'" for s in meta["specs"]]])
                    + "\n")
    store, envs = work / "realistic" / "store", work / "realistic" / "envs"
    warm = work / "realistic" / "pkgs-warm"
    t_build, built = timed(lambda: api.build(
        spec_path=spec, store=store, envs_dir=envs, pkgs_dir=warm, platform="linux-64",
        cache_dir=work / "realistic" / "repodata"))
    record = built.record
    figures["build_cold_cache_s"] = round(t_build, 2)
    figures["packages"] = record.package_count
    figures["prefix_bytes"] = record.size.apparent if record.size else None

    def fresh(cache: Path, name: str) -> float:
        t, _ = timed(lambda: api.install(lockfile_path=built.lockfile,
                                         prefix=work / "realistic" / name,
                                         platform="linux-64", pkgs_dir=cache))
        shutil.rmtree(work / "realistic" / name)
        return t

    figures["fresh_install_cold_cache_s"] = round(
        fresh(work / "realistic" / "pkgs-cold", "fresh-cold"), 2)
    shutil.rmtree(work / "realistic" / "pkgs-cold")
    figures["install_warm_cache_new_prefix_s"] = round(fresh(warm, "fresh-warm"), 2)
    t_arch, arch = timed(lambda: api.archive(environment=f"{record.env_key}@1", force=True,
                                             store=store))
    figures["archive_s"] = round(t_arch, 3)
    figures["archive_bytes_freed"] = arch.bytes_freed
    t_rec, rec = timed(lambda: api.recreate(environment=f"{record.env_key}@1", store=store,
                                            pkgs_dir=warm, offline=True))
    assert rec.record.status == "completed"
    figures["recreate_warm_cache_offline_s"] = round(t_rec, 2)
    t_du, _ = timed(lambda: api.du(store=store, pkgs_dir=warm))
    figures["du_s"] = round(t_du, 3)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--envs", type=int, default=10)
    ap.add_argument("--builds-per-env", type=int, default=100)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--size-scale", type=float, default=1.0)
    ap.add_argument("--skip-realistic", action="store_true")
    ap.add_argument("--work", help="work folder (default: a temp folder, removed)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-store-"))
    work.mkdir(parents=True, exist_ok=True)
    run = work / f"run-{os.getpid()}"
    try:
        figures = {"synthetic": part_synthetic(run, args.envs, args.builds_per_env,
                                               args.files)}
        if not args.skip_realistic:
            figures["realistic"] = part_realistic(run, args.size_scale)
    finally:
        shutil.rmtree(run, ignore_errors=True)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_figures(figures)
    return 0


def print_figures(figures: dict) -> None:
    s = figures["synthetic"]
    print(f"Synthetic store: {s['store']['builds']} builds in {s['store']['environments']} "
          f"environments ({s['store']['files_per_build']} files per prefix)")
    print(f"  list               API {s['list_api_s'] * 1000:8.1f} ms   "
          f"CLI process {s['list_cli_s'] * 1000:7.0f} ms")
    print(f"  history (100)      API {s['history_api_s'] * 1000:8.1f} ms   "
          f"CLI process {s['history_cli_s'] * 1000:7.0f} ms")
    print(f"  history (1000)     API {s['history_1000_builds_api_s'] * 1000:8.1f} ms   "
          f"CLI process {s['history_1000_builds_cli_s'] * 1000:7.0f} ms")
    print(f"  du (store + cache)     {s['du_s'] * 1000:8.1f} ms   "
          f"disk {s['du']['disk']:,} B, shared {s['du']['shared']:,} B")
    b = s["bulk_archive"]
    print(f"  bulk archive of {b['builds']}: dry run {b['dry_run_s'] * 1000:.0f} ms, "
          f"archive {b['archive_s'] * 1000:.0f} ms, freed {b['bytes_freed']:,} B "
          f"(dry run said {b['dry_run_bytes']:,} B)")
    d = s["dedupe"]
    print(f"  dedupe of the rest: {d['s'] * 1000:.0f} ms, {d['linked_files']} files linked, "
          f"{d['bytes_saved']:,} B saved")
    print(f"  list after archive API {s['list_after_archive_api_s'] * 1000:6.1f} ms")
    r = figures.get("realistic")
    if r:
        print(f"Realistic environment: {r['packages']} packages, "
              f"{(r['prefix_bytes'] or 0) / 2**20:.0f} MiB (size scale "
              f"{r['channel']['size_scale']})")
        print(f"  build (lock + install, cold cache)   {r['build_cold_cache_s']:7.2f} s")
        print(f"  fresh install, cold cache            {r['fresh_install_cold_cache_s']:7.2f} s")
        print(f"  install, warm cache, new prefix      "
              f"{r['install_warm_cache_new_prefix_s']:7.2f} s")
        print(f"  archive                              {r['archive_s']:7.2f} s "
              f"({r['archive_bytes_freed'] / 2**20:.1f} MiB freed)")
        print(f"  recreate, warm cache, offline        {r['recreate_warm_cache_offline_s']:7.2f} s")
        print(f"  du                                   {r['du_s']:7.2f} s")


if __name__ == "__main__":
    sys.exit(main())
