"""Concurrency stress harness: many real ``conda create`` processes sharing one package cache.

Used by ``tests/test_conda_concurrency.py`` (a short version) and
``benchmarks/bench_concurrency.py`` (the full one). One *round* is:

1. a fresh package cache (and fresh environments folder) under ``root/round-K``;
2. ``N`` ``python -m conda create`` processes started at once, each asking for an
   overlapping set of about 40 packages of :func:`stress_packages` from an HTTP channel;
3. optionally ``conda clean --all -y`` started while they run;
4. checks: every exit status, every environment file-by-file against the sha256 of the
   packages' ``info/paths.json``, every cache entry complete, and how often the server
   sent each archive.

Nothing here knows about the plugin: the same round runs stock conda
(``CONDA_NO_PLUGINS=true``) and conda with the plugin, so the numbers compare.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.channels import PackageSpec
from tests.support.conda import isolated_env

#: Exit statuses of a py-rattler abort at interpreter exit (see conda_store_plugin/engine.py).
RATTLER_EXIT_CRASH = (134, 139, -6, -11)


def stress_packages(count: int = 44, *, seed: int = 7, kb: tuple[int, int] = (120, 420)
                    ) -> list[PackageSpec]:
    """``count`` noarch packages in three tiers, each with a few hundred KB of payload.

    Leaves (``sNN`` for the first quarter) have no dependencies, the middle tier depends on
    two leaves, the top tier on two middle packages, so solves are real. Every fourth
    package is a ``.tar.bz2`` (the rest ``.conda``), so both extractors are exercised.
    Payloads are incompressible and deterministic (fixed seed).
    """
    rng = random.Random(seed)
    names = [f"s{i:02d}" for i in range(count)]
    leaves = names[: count // 4]
    middle = names[count // 4: count // 2]
    specs = []
    for i, name in enumerate(names):
        if name in leaves:
            depends: list[str] = []
        elif name in middle:
            depends = sorted(set(rng.sample(leaves, 2)))
        else:
            depends = sorted(set(rng.sample(middle, 2)))
        size = rng.randrange(kb[0], kb[1]) * 1024
        blob = random.Random(f"{seed}-{name}").randbytes(size)
        files = {
            f"share/{name}/data.bin": blob,
            f"share/{name}/README.txt": f"{name} stress package\n",
            f"share/{name}/nested/deeper/notes.txt": f"{name} " * 50 + "\n",
            f"etc/{name}.conf": f"name={name}\n",
        }
        specs.append(PackageSpec(name, "1.0.0", noarch="generic", depends=depends,
                                 files=files,
                                 format=".tar.bz2" if i % 4 == 3 else ".conda"))
    return specs


def build_stress_channel(root: Path, specs: Sequence[PackageSpec]) -> Path:
    """Build and index the channel; every platform subdir gets a (possibly empty) index.

    conda asks for ``<platform>/repodata.json`` as well as ``noarch``; the packages are
    all noarch, so the platform subdirs are indexed empty instead of answering 404.
    """
    from tests.support.channels import ALL_SUBDIRS, build_channel, index_channel

    channel = build_channel(root, specs, write_zst=False, write_shards=False)
    for subdir in (*ALL_SUBDIRS, "linux-aarch64", "osx-64"):
        (channel.path / subdir).mkdir(exist_ok=True)
    index_channel(channel.path, write_zst=False, write_shards=False)
    return channel.path


def request_sets(specs: Sequence[PackageSpec], processes: int, size: int = 40
                 ) -> list[list[str]]:
    """One overlapping request list per process: all names but a rotating window."""
    names = [s.name for s in specs]
    drop = max(len(names) - size, 0)
    out = []
    for i in range(processes):
        start = (i * drop) % len(names)
        dropped = {names[(start + k) % len(names)] for k in range(drop)}
        out.append([n for n in names if n not in dropped])
    return out


@dataclass
class ProcessResult:
    """One conda process of a round."""

    argv: list[str]
    returncode: int
    seconds: float
    stdout: str
    stderr: str

    @property
    def rattler_exit_crash(self) -> bool:
        """Died at interpreter exit the way py-rattler 0.26 does (counted separately)."""
        return self.returncode in RATTLER_EXIT_CRASH and "PyGILState_Release" in self.stderr


@dataclass
class RoundResult:
    """What one round did and what the checks found."""

    creates: list[ProcessResult]
    clean: ProcessResult | None
    wall_s: float
    cpu_s: float = 0.0  # CPU time of all the round's processes together
    env_problems: dict[str, list[str]] = field(default_factory=dict)
    cache_problems: list[str] = field(default_factory=list)
    downloads: Counter = field(default_factory=Counter)
    needed: set[str] = field(default_factory=set)

    @property
    def failed(self) -> list[ProcessResult]:
        """Processes that did not exit 0 (the clean included)."""
        procs = [*self.creates, *([self.clean] if self.clean else [])]
        return [p for p in procs if p.returncode != 0]

    @property
    def broken_envs(self) -> int:
        """Environments missing or not matching their packages."""
        return sum(1 for v in self.env_problems.values() if v)

    @property
    def duplicate_downloads(self) -> int:
        """Archive downloads beyond the first of each file."""
        return sum(max(n - 1, 0) for n in self.downloads.values())

    @property
    def missing_downloads(self) -> set[str]:
        """Archives the environments needed that the server never sent."""
        return {p for p in self.needed if self.downloads.get(p, 0) == 0}

    def summary(self) -> dict:
        """Plain numbers, for printing."""
        return {
            "failed": len(self.failed),
            "rattler_exit_crashes": sum(p.rattler_exit_crash for p in self.failed),
            "broken_envs": self.broken_envs,
            "broken_cache_entries": len(self.cache_problems),
            "duplicate_downloads": self.duplicate_downloads,
            "max_downloads_per_file": max(self.downloads.values(), default=0),
            "wall_s": round(self.wall_s, 2),
            "cpu_s": round(self.cpu_s, 2),
        }


def stress_env(root: Path, *, plugin: bool, solver: str = "classic",
               extra_condarc: str = "") -> dict[str, str]:
    """Environment variables of the round's conda processes (stock conda: no plugins)."""
    env = isolated_env(root, extra_condarc="repodata_fns: [repodata.json]\n" + extra_condarc)
    env["CONDA_SOLVER"] = solver
    env["CONDA_PKGS_DIRS"] = str(root / "pkgs")
    env["CONDA_ENVS_DIRS"] = str(root / "envs")
    if plugin:
        env.pop("CONDA_NO_PLUGINS", None)
    else:
        env["CONDA_NO_PLUGINS"] = "true"
    return env


def _start(argv: list[str], env: Mapping[str, str], cwd: Path) -> tuple[subprocess.Popen, float]:
    proc = subprocess.Popen([sys.executable, "-m", "conda", *argv], env=dict(env), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, time.perf_counter()


def _finish(proc: subprocess.Popen, started: float, argv: list[str],
            timeout: float) -> ProcessResult:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n[stress] killed after {timeout} s"
    # communicate() returns when the pipes close, i.e. when the process ended.
    return ProcessResult(argv, proc.returncode, time.perf_counter() - started, out, err)


def create_argv(prefix: Path, channel_url: str, names: Sequence[str]) -> list[str]:
    """``conda create`` of ``names`` into ``prefix`` from the channel only."""
    return ["create", "-y", "-q", "-p", str(prefix), "--override-channels",
            "-c", channel_url, *names]


def run_round(root: Path, *, channel_url: str, requests: Sequence[Sequence[str]],
              env: Mapping[str, str], clean: bool = False, clean_delay_s: float = 1.0,
              timeout: float = 600) -> RoundResult:
    """Start one ``conda create`` per request list at once (plus a ``clean``); wait for all."""
    root.mkdir(parents=True, exist_ok=True)
    procs = []
    cpu_before = _children_cpu()
    start = time.perf_counter()
    for i, names in enumerate(requests):
        argv = create_argv(root / "envs" / f"e{i}", channel_url, names)
        procs.append((argv, *_start(argv, env, root)))
    clean_proc = None
    if clean:
        time.sleep(clean_delay_s)
        argv = ["clean", "--all", "-y", "-q"]
        clean_proc = (argv, *_start(argv, env, root))
    creates = [_finish(p, t, argv, timeout) for argv, p, t in procs]
    clean_result = _finish(clean_proc[1], clean_proc[2], clean_proc[0], timeout) \
        if clean_proc else None
    wall = time.perf_counter() - start
    return RoundResult(creates, clean_result, wall, cpu_s=_children_cpu() - cpu_before)


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (0 where unknown)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- checks ------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_files(spec: PackageSpec) -> dict[str, str]:
    """``relpath -> sha256`` exactly as the package's ``info/paths.json`` lists them."""
    return {path: _sha256(data) for path, data in spec.payload().items()}


def verify_env(prefix: Path, specs: Mapping[str, PackageSpec],
               requested: Sequence[str]) -> list[str]:
    """Problems of one environment: missing packages, and any file that is missing or
    differs from the sha256 its package's ``paths.json`` gives."""
    meta = prefix / "conda-meta"
    if not meta.is_dir():
        return [f"{prefix}: no conda-meta (environment not created)"]
    installed = {}
    for record in meta.glob("*.json"):
        data = json.loads(record.read_text())
        installed[data["name"]] = data
    problems = [f"{prefix}: {name} not installed" for name in requested
                if name not in installed]
    for name in sorted(installed):
        spec = specs.get(name)
        if spec is None:
            problems.append(f"{prefix}: unexpected package {name}")
            continue
        for rel, digest in expected_files(spec).items():
            path = prefix / rel
            try:
                actual = _sha256(path.read_bytes())
            except OSError as exc:
                problems.append(f"{prefix}: {name}: {rel}: {exc.strerror}")
                continue
            if actual != digest:
                problems.append(f"{prefix}: {name}: {rel}: sha256 differs")
    return problems


def verify_cache(pkgs_dir: Path, specs: Mapping[str, PackageSpec],
                 archives: Mapping[str, Path]) -> list[str]:
    """Half-extracted or damaged entries of a package cache, after every process ended.

    An extracted folder must hold ``info/index.json``, ``info/repodata_record.json`` and
    every ``paths.json`` file with its sha256; an archive must be byte-identical to the
    channel's; no ``.partial`` download or private temp folder may be left over.
    """
    problems: list[str] = []
    if not pkgs_dir.is_dir():
        return problems
    by_dist = {s.dist_name: s for s in specs.values()}
    for entry in sorted(pkgs_dir.iterdir()):
        name = entry.name
        if name.endswith(".partial") or name.endswith(".c~") or name.endswith("~"):
            problems.append(f"leftover {name}")
        elif entry.is_dir() and name in by_dist:
            spec = by_dist[name]
            info = entry / "info"
            for required in ("index.json", "repodata_record.json", "paths.json"):
                if not (info / required).is_file():
                    problems.append(f"{name}: no info/{required} (half-extracted)")
            for rel, digest in expected_files(spec).items():
                try:
                    if _sha256((entry / rel).read_bytes()) != digest:
                        problems.append(f"{name}: {rel} differs")
                except OSError:
                    problems.append(f"{name}: {rel} missing (half-extracted)")
        elif entry.is_file() and name in archives:
            if entry.read_bytes() != archives[name].read_bytes():
                problems.append(f"{name}: archive differs from the channel's (truncated?)")
    tmp = pkgs_dir / ".conda-store" / "tmp"
    if tmp.is_dir():
        problems.extend(f"leftover temp {p.name}" for p in tmp.iterdir())
    return problems


def check_round(result: RoundResult, root: Path, *, specs: Sequence[PackageSpec],
                archives: Mapping[str, Path], requests: Sequence[Sequence[str]],
                downloads: Counter) -> RoundResult:
    """Fill in the round's checks (environments, cache, downloads)."""
    by_name = {s.name: s for s in specs}
    needed: set[str] = set()
    for i, names in enumerate(requests):
        prefix = root / "envs" / f"e{i}"
        result.env_problems[str(prefix)] = verify_env(prefix, by_name, names)
        meta = prefix / "conda-meta"
        if meta.is_dir():
            for record in meta.glob("*.json"):
                spec = by_name.get(json.loads(record.read_text())["name"])
                if spec is not None:
                    needed.add(spec.relpath)
    result.cache_problems = verify_cache(root / "pkgs", by_name, archives)
    result.downloads = Counter({k: v for k, v in downloads.items()
                                if k.endswith((".conda", ".tar.bz2"))})
    result.needed = needed
    return result


def environ_for_round(base: Mapping[str, str], root: Path) -> dict[str, str]:
    """``base`` with this round's own package cache and environments folder."""
    env = dict(base)
    env["CONDA_PKGS_DIRS"] = str(root / "pkgs")
    env["CONDA_ENVS_DIRS"] = str(root / "envs")
    return env


def cpu_count() -> int:
    """CPUs this process may use (for reporting)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1
