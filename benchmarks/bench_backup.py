"""Backup and restore of a store with the realistic environment and 20 builds.

The store: the traces-sklearn environment of ``realistic_channel.py`` (linux-64, real
package archives, ``--size-scale`` times the lock's sizes) built ``--builds`` times, the
spec varying a little between builds (build ``i`` leaves out one of the top-level specs,
in turn; the last build has them all), then all but the last ``--keep`` builds archived.

Timed, each into a fresh store with a cold package cache:

* ``backup`` without and with ``--with-packages`` (size of each file);
* ``restore --dry-run`` of the backup with packages (verification alone: every member
  hashed, nothing written);
* ``restore`` of the backup without packages (archives copied from the ``file://``
  channel, as downloads) and with packages (seeded from the backup: nothing fetched);
* ``export`` / ``import`` of the environment alone.

Usage: python benchmarks/bench_backup.py [--size-scale 1.0] [--builds 20] [--keep 3]
    [--work DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from conda_store_plugin import api  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def make_store(work: Path, size_scale: float, builds: int, keep: int) -> dict:
    import realistic_channel as rc

    t_gen, meta = timed(lambda: rc.generate_channel(
        work.parent / f"realistic-channel-archives-{size_scale}", platforms=["linux-64"],
        with_archives=True, size_scale=size_scale))
    specs = list(meta["specs"])
    spec = work / "project" / "environment.yml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    store, envs, pkgs = work / "store", work / "envs", work / "pkgs"
    times = []
    counts = []
    droppable = [s for s in specs if not s.split()[0].startswith("python")]
    for i in range(builds):
        chosen = specs if i == builds - 1 else \
            [s for s in specs if s != droppable[i % len(droppable)]]
        spec.write_text("\n".join(["name: sklearn", "channels:",
                                   f"  - {meta['channel_url']}", "dependencies:",
                                   *[f"  - '{s}'" for s in chosen]]) + "\n")
        t, built = timed(lambda: api.build(
            spec_path=spec, store=store, envs_dir=envs, pkgs_dir=pkgs, platform="linux-64",
            cache_dir=work / "repodata"))
        times.append(t)
        counts.append(built.record.package_count)
    t_arch, arch = timed(lambda: api.archive(store=store, keep_last=keep))
    return {"store": store, "pkgs": pkgs, "channel": meta, "channel_s": t_gen,
            "build_s": times, "packages": counts, "archived": len(arch.archived),
            "archive_s": t_arch}


def run(work: Path, size_scale: float, builds: int, keep: int) -> dict:
    made = make_store(work, size_scale, builds, keep)
    store, pkgs = made["store"], made["pkgs"]
    figures: dict = {
        "size_scale": size_scale,
        "channel_archives": made["channel"]["archives"],
        "builds": builds, "archived": made["archived"],
        "packages_per_build": {"min": min(made["packages"]), "max": max(made["packages"])},
        "build_s": {"first": round(made["build_s"][0], 1),
                    "median": round(sorted(made["build_s"])[len(made["build_s"]) // 2], 1),
                    "total": round(sum(made["build_s"]), 1)},
    }
    lean, full = work / "lean.tar.zst", work / "full.tar.zst"
    t_lean, r_lean = timed(lambda: api.backup(output=lean, store=store))
    t_full, r_full = timed(lambda: api.backup(output=full, store=store, with_packages=True,
                                              pkgs_dir=pkgs))
    figures["backup"] = {
        "without_packages": {"s": round(t_lean, 3), "bytes": r_lean.bytes,
                             "builds": r_lean.builds},
        "with_packages": {"s": round(t_full, 2), "bytes": r_full.bytes,
                          "packages": r_full.packages,
                          "package_bytes": r_full.package_bytes},
    }
    t_dry, _ = timed(lambda: api.restore(source=full, store=work / "dry-store",
                                         dry_run=True, envs_dir=work / "dry-envs"))
    figures["verify_with_packages_s"] = round(t_dry, 2)

    def restore(name: str, backup: Path) -> tuple[float, object]:
        t, result = timed(lambda: api.restore(
            source=backup, store=work / name / "store", envs_dir=work / name / "envs",
            pkgs_dir=work / name / "pkgs"))
        return t, result

    t_rl, rl = restore("restore-lean", lean)
    t_rf, rf = restore("restore-full", full)
    fetched = [len(o.recreated.install.downloaded) for o in rf.imported if o.recreated]
    figures["restore"] = {
        "without_packages": {"s": round(t_rl, 2), "verified_packages": rl.verified_packages,
                             "downloaded": sum(len(o.recreated.install.downloaded)
                                               for o in rl.imported if o.recreated)},
        "with_packages": {"s": round(t_rf, 2), "verified_packages": rf.verified_packages,
                          "seeded": rf.packages_seeded, "downloaded": sum(fetched),
                          "timings": {k: round(v, 2) for k, v in rf.timings.items()}},
    }
    figures["restore"]["without_packages"]["timings"] = {
        k: round(v, 2) for k, v in rl.timings.items()}
    hist = api.history(environment="sklearn", store=work / "restore-full" / "store")
    assert len(hist.builds) == builds and hist.env.current_build == builds
    shutil.rmtree(work / "restore-lean")
    shutil.rmtree(work / "restore-full")

    doc = work / "sklearn.json"
    t_exp, exp = timed(lambda: api.export_environment(environment="sklearn", output=doc,
                                                      store=store))
    t_imp, _ = timed(lambda: api.import_environment(
        source=doc, store=work / "import" / "store", envs_dir=work / "import" / "envs",
        pkgs_dir=pkgs))
    figures["export"] = {"s": round(t_exp, 3), "bytes": exp.bytes}
    figures["import_warm_cache_s"] = round(t_imp, 2)
    return figures


def print_figures(f: dict) -> None:
    mib = 1024 * 1024
    b = f["backup"]
    r = f["restore"]
    print(f"store: realistic environment (linux-64, size scale {f['size_scale']}), "
          f"{f['builds']} builds ({f['archived']} archived), "
          f"{f['packages_per_build']['min']}-{f['packages_per_build']['max']} packages "
          f"per build; building them took {f['build_s']['total']} s")
    print(f"backup without packages: {b['without_packages']['s']:.3f} s, "
          f"{b['without_packages']['bytes'] / 1024:.0f} KiB")
    print(f"backup with packages:    {b['with_packages']['s']:.2f} s, "
          f"{b['with_packages']['bytes'] / mib:.1f} MiB "
          f"({b['with_packages']['packages']} archives, "
          f"{b['with_packages']['package_bytes'] / mib:.1f} MiB)")
    print(f"verify (restore --dry-run) of the backup with packages: "
          f"{f['verify_with_packages_s']:.2f} s")
    print(f"restore without packages (cold cache, archives from the file:// channel): "
          f"{r['without_packages']['s']:.2f} s, {r['without_packages']['downloaded']} "
          f"fetched, {r['without_packages']['verified_packages']} verified")
    print(f"restore with packages (cold cache): {r['with_packages']['s']:.2f} s, "
          f"{r['with_packages']['seeded']} seeded, {r['with_packages']['downloaded']} "
          f"fetched, {r['with_packages']['verified_packages']} verified")
    for kind in ("without_packages", "with_packages"):
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in r[kind]["timings"].items())
        print(f"  restore {kind.replace('_', ' ')}: {steps}")
    print(f"export: {f['export']['s']:.3f} s ({f['export']['bytes'] / 1024:.0f} KiB); "
          f"import (warm cache): {f['import_warm_cache_s']:.2f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-scale", type=float, default=1.0)
    ap.add_argument("--builds", type=int, default=20)
    ap.add_argument("--keep", type=int, default=3,
                    help="completed builds kept per environment; the rest are archived")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    base = args.work or Path(tempfile.mkdtemp(prefix="bench-backup-"))
    work = base / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        figures = run(work, args.size_scale, args.builds, args.keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_figures(figures)
    return 0


if __name__ == "__main__":
    from conda_store_plugin.engine import run_engine_then_exit

    run_engine_then_exit(main)
