"""Lock speed with a `pip:` section: what the PyPI part adds, and uv alone.

The conda part is the realistic data-science environment of ``realistic_channel.py``
(~30k records per subdir, jupyterlab + numpy/scipy/pandas/scikit-learn/matplotlib, 304
packages, python 3.12). On top of it, 10 PyPI requirements with real dependency
shapes, served from a local simple index on 127.0.0.1 (wheels built here: ~35 projects,
10 versions each, compiled ones with manylinux/macOS/Windows wheels for CPython
3.10-3.13, PEP 658 metadata):

    rich, typer, pydantic, polars, orjson, tqdm, xgboost, lightgbm, mlflow-skinny, tabulate

Many of their dependencies (requests, pyyaml, numpy, scipy, packaging, pygments,
typing-extensions, ...) are Python packages of the conda solve: our lock keeps them
from conda; ``uv pip compile`` alone resolves them from the index.

Prints (median of ``--repeat`` runs, every run cold: fresh repodata and uv caches):

* ``ours + pip``: ``api.lock`` of the env with the pip section, linux-64, osx-arm64, win-64;
* ``ours conda-only``: the same env without the pip section;
* ``uv alone``: ``uv pip compile`` of the 10 requirements for the same 3 targets (in
  parallel, as we run them), pylock output with hashes, and for one target.

The index is served by a separate process with PyPI's ``Cache-Control: max-age=600``;
``--latency-ms`` adds a per-request delay (a CDN is ~20-50 ms).

Usage: python benchmarks/bench_pypi_lock.py [--records-per-subdir 30000] [--repeat 3]
           [--latency-ms 0] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import realistic_channel as rc  # noqa: E402

from tests.support.pypi import WheelSpec, build_index  # noqa: E402

PLATFORMS = ("linux-64", "osx-arm64", "win-64")
UV_TARGETS = {"linux-64": ("x86_64-manylinux_2_28", {}),
              "osx-arm64": ("aarch64-apple-darwin", {"MACOSX_DEPLOYMENT_TARGET": "11.0"}),
              "win-64": ("x86_64-pc-windows-msvc", {})}
PYTHON = "3.12.9"
REQUIREMENTS = ["rich>=13", "typer", "pydantic>=2", "polars", "orjson", "tqdm",
                "xgboost", "lightgbm", "mlflow-skinny", "tabulate"]

#: compiled projects ship wheels for CPython 3.10-3.13, like on PyPI
CP312 = tuple(f"cp3{m}-cp3{m}-{p}" for m in (10, 11, 12, 13) for p in (
    "manylinux_2_17_x86_64.manylinux2014_x86_64", "macosx_11_0_arm64", "win_amd64"))
ABI3 = ("cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp39-abi3-macosx_11_0_arm64", "cp39-abi3-win_amd64")
PURE = ("py3-none-any",)

# project: (latest version, tags, requires of every version)
PROJECTS: dict[str, tuple[str, tuple[str, ...], list[str]]] = {
    # the 10 requested
    "rich": ("13.9.4", PURE, ["markdown-it-py>=2.2.0", "pygments>=2.13.0,<3"]),
    "typer": ("0.15.2", PURE, ["click>=8.0.0", "typing-extensions>=3.7.4.3",
                               "shellingham>=1.3.0", "rich>=10.11.0"]),
    "pydantic": ("2.10.6", PURE, ["annotated-types>=0.6.0", "pydantic-core==2.27.2",
                                  "typing-extensions>=4.12.2"]),
    "polars": ("1.24.0", ABI3, []),
    "orjson": ("3.10.15", CP312, []),
    "tqdm": ("4.67.1", PURE, ['colorama; platform_system == "Windows"']),
    "xgboost": ("2.1.4", ("py3-none-manylinux_2_28_x86_64", "py3-none-macosx_11_0_arm64",
                          "py3-none-win_amd64"), ["numpy", "scipy"]),
    "lightgbm": ("4.6.0", ("py3-none-manylinux_2_28_x86_64", "py3-none-macosx_11_0_arm64",
                           "py3-none-win_amd64"), ["numpy>=1.17.0", "scipy"]),
    "mlflow-skinny": ("2.20.3", PURE, [
        "cachetools>=5.0.0,<6", "click>=7.0,<9", "cloudpickle<4", "gitpython>=3.1.9,<4",
        "importlib-metadata>=3.7.0,!=4.7.0,<9", "packaging<25", "protobuf>=3.12.0,<6",
        "pyyaml>=5.1,<7", "requests>=2.17.3,<3", "sqlparse>=0.4.0,<1",
        "opentelemetry-api>=1.9.0,<3", "opentelemetry-sdk>=1.9.0,<3",
        "databricks-sdk>=0.20.0,<1"]),
    "tabulate": ("0.9.0", PURE, []),
    # their dependencies that conda does not provide
    "click": ("8.1.8", PURE, ['colorama; platform_system == "Windows"']),
    "shellingham": ("1.5.4", PURE, []),
    "annotated-types": ("0.7.0", PURE, []),
    "pydantic-core": ("2.27.2", CP312, ["typing-extensions>=4.6.0,!=4.7.0"]),
    "colorama": ("0.4.6", PURE, []),
    "cachetools": ("5.5.2", PURE, []),
    "cloudpickle": ("3.1.1", PURE, []),
    "gitpython": ("3.1.44", PURE, ["gitdb>=4.0.1,<5"]),
    "gitdb": ("4.0.12", PURE, ["smmap>=3.0.1,<6"]),
    "smmap": ("5.0.2", PURE, []),
    "sqlparse": ("0.5.3", PURE, []),
    "protobuf": ("5.29.3", ABI3, []),
    "opentelemetry-api": ("1.30.0", PURE, ["deprecated>=1.2.6", "importlib-metadata>=6.0,<8.7"]),
    "opentelemetry-sdk": ("1.30.0", PURE, ["opentelemetry-api==1.30.0",
                                           "opentelemetry-semantic-conventions==0.51b0",
                                           "typing-extensions>=3.7.4"]),
    "opentelemetry-semantic-conventions": ("0.51b0", PURE, ["opentelemetry-api==1.30.0",
                                                            "deprecated>=1.2.6"]),
    "deprecated": ("1.2.18", PURE, ["wrapt>=1.10,<2"]),
    "wrapt": ("1.17.2", CP312, []),
    "databricks-sdk": ("0.44.1", PURE, ["requests>=2.28.1,<3", "google-auth~=2.0"]),
    "google-auth": ("2.38.0", PURE, ["cachetools>=2.0.0,<6.0", "pyasn1-modules>=0.2.1",
                                     "rsa>=3.1.4,<5"]),
    "pyasn1-modules": ("0.4.1", PURE, ["pyasn1>=0.4.6,<0.7.0"]),
    "pyasn1": ("0.6.1", PURE, []),
    "rsa": ("4.9", PURE, ["pyasn1>=0.1.3"]),
    # Python packages that the conda solve provides (on the index for `uv alone`)
    "markdown-it-py": ("3.0.0", PURE, ["mdurl~=0.1"]),
    "mdurl": ("0.1.2", PURE, []),
    "pygments": ("2.19.1", PURE, []),
    "typing-extensions": ("4.12.2", PURE, []),
    "numpy": ("2.2.3", CP312, []),
    "scipy": ("1.15.2", CP312, ["numpy>=1.23.5,<2.5"]),
    "importlib-metadata": ("8.6.1", PURE, ["zipp>=3.20"]),
    "zipp": ("3.21.0", PURE, []),
    "packaging": ("24.2", PURE, []),
    "pyyaml": ("6.0.2", CP312, []),
    "requests": ("2.32.3", PURE, ["charset-normalizer>=2,<4", "idna>=2.5,<4",
                                  "urllib3>=1.21.1,<3", "certifi>=2017.4.17"]),
    "charset-normalizer": ("3.4.1", CP312, []),
    "idna": ("3.10", PURE, []),
    "urllib3": ("2.3.0", PURE, []),
    "certifi": ("2025.1.31", PURE, []),
}
VERSIONS_PER_PROJECT = 10


def _older(version: str, n: int) -> list[str]:
    """``n`` plausible older versions of ``version`` (lower minor/patch)."""
    parts = [int(p) if p.isdigit() else 0 for p in version.replace("b", ".").split(".")[:3]]
    while len(parts) < 3:
        parts.append(0)
    out, (major, minor, patch) = [], parts
    while len(out) < n:
        if patch > 0:
            patch -= 1
        elif minor > 0:
            minor, patch = minor - 1, 3
        else:
            major, minor, patch = major - 1, 9, 3
            if major < 0:
                break
        out.append(f"{major}.{minor}.{patch}")
    return out


def wheel_specs() -> list[WheelSpec]:
    specs = []
    for name, (latest, tags, requires) in PROJECTS.items():
        for version in [latest, *_older(latest, VERSIONS_PER_PROJECT - 1)]:
            for tag in tags:
                specs.append(WheelSpec(name, version, tag=tag, requires=requires,
                                       requires_python=">=3.8"))
    return specs


@contextlib.contextmanager
def serve(root: Path, latency_s: float):
    """The index on 127.0.0.1, served by another process (not competing for our GIL),
    with PyPI's ``Cache-Control: max-age=600`` for pages."""
    code = ("import sys; from pathlib import Path; from tests.support.pypi import IndexServer;"
            f"s = IndexServer(Path({str(root)!r}), latency_s={latency_s},"
            " cache_control='max-age=600').start(); print(s.url, flush=True);"
            " sys.stdin.read()")
    server = subprocess.Popen([sys.executable, "-c", code], cwd=HERE.parent, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        yield server.stdout.readline().strip()
    finally:
        server.stdin.close()
        server.wait()


def write_spec(folder: Path, meta: dict, index_url: str | None) -> Path:
    lines = ["name: bench", "channels:", f"  - {meta['channel_url']}", "dependencies:"]
    lines += [f"  - '{s}'" for s in meta["specs"]]
    if index_url:
        lines += ["  - pip:", f"    - --index-url {index_url}"]
        lines += [f"    - '{r}'" for r in REQUIREMENTS]
    path = folder / "environment.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


#: Seconds spent after the conda solve on the PyPI part, per lock (see ``instrument``).
AFTER_SOLVE: list[float] = []


def instrument(prefetch: bool) -> None:
    """Time what the PyPI part costs after the conda solve: waiting for the prefetch to
    end, then ``lock_pypi`` (the solve itself is timed as part of the whole lock)."""
    import conda_store_plugin.pypi_lock as pypi_lock

    real_lock, real_prefetch = pypi_lock.lock_pypi, pypi_lock.prefetch_pypi

    def timed_lock(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real_lock(*args, **kwargs)
        finally:
            AFTER_SOLVE[-1] += time.perf_counter() - start

    @contextlib.contextmanager
    def timed_prefetch(*args, **kwargs):
        AFTER_SOLVE.append(0.0)
        with (real_prefetch(*args, **kwargs) if prefetch else contextlib.nullcontext()):
            yield
            start = time.perf_counter()
        AFTER_SOLVE[-1] += time.perf_counter() - start

    pypi_lock.lock_pypi, pypi_lock.prefetch_pypi = timed_lock, timed_prefetch


def time_ours(spec: Path, work: Path) -> tuple[float, dict]:
    from conda_store_plugin import api

    cache = Path(tempfile.mkdtemp(dir=work, prefix="cache-"))
    start = time.perf_counter()
    result = api.lock(spec_path=spec, lockfile_path=work / "bench.lock.json",
                      platforms=list(PLATFORMS), cache_dir=cache)
    elapsed = time.perf_counter() - start
    return elapsed, {p: (len(pl.packages), len(pl.pypi))
                     for p, pl in result.lockfile.platforms.items()}


def time_uv_alone(index_url: str, work: Path, platforms=PLATFORMS) -> tuple[float, dict]:
    import uv

    cache = Path(tempfile.mkdtemp(dir=work, prefix="uvcache-"))
    reqs = work / "requirements.in"
    reqs.write_text("\n".join(REQUIREMENTS) + "\n")

    def one(platform: str) -> int:
        triple, extra = UV_TARGETS[platform]
        out = Path(tempfile.mkdtemp(dir=work, prefix="out-")) / "pylock.toml"
        env = {**os.environ, "UV_CACHE_DIR": str(cache), **extra}
        subprocess.run([uv.find_uv_bin(), "pip", "compile", str(reqs), "--quiet",
                        "--format", "pylock.toml", "-o", str(out), "--generate-hashes",
                        "--only-binary", ":all:", "--python-version", PYTHON,
                        "--python-platform", triple, "--index-url", index_url,
                        "--python", sys.executable, "--no-config"],
                       env=env, check=True, capture_output=True)
        return out.read_text().count("[[packages]]")

    uv.find_uv_bin()
    start = time.perf_counter()
    with ThreadPoolExecutor(len(platforms)) as pool:
        counts = list(pool.map(one, platforms))
    return time.perf_counter() - start, dict(zip(platforms, counts, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records-per-subdir", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="Added to every index request (a CDN is ~30 ms).")
    parser.add_argument("--no-prefetch", action="store_true",
                        help="Measure without warming uv's cache during the conda solve.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    instrument(prefetch=not args.no_prefetch)

    out = Path(os.environ.get("REALISTIC_CHANNEL_DIR")
               or Path(tempfile.gettempdir()) / "realistic-channel") / (
        f"r{args.records_per_subdir}-s0")
    meta = rc.generate_channel(out, platforms=PLATFORMS,
                               records_per_subdir=args.records_per_subdir)
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        index = build_index(work / "index", wheel_specs())
        with serve(index.root, args.latency_ms / 1000) as url:
            simple = url + "/simple"
            (work / "pip").mkdir()
            (work / "conda").mkdir()
            with_pip = write_spec(work / "pip", meta, simple)
            conda_only = write_spec(work / "conda", meta, None)
            ours_pip, ours_conda, uv3, uv1 = [], [], [], []
            counts = uv_counts = {}
            for _ in range(args.repeat):
                t, counts = time_ours(with_pip, work)
                ours_pip.append(t)
                ours_conda.append(time_ours(conda_only, work)[0])
                t, uv_counts = time_uv_alone(simple, work)
                uv3.append(t)
                uv1.append(time_uv_alone(simple, work, platforms=("linux-64",))[0])

    report = {
        "records_per_subdir": args.records_per_subdir,
        "index_latency_ms": args.latency_ms,
        "prefetch": not args.no_prefetch,
        "wheels_on_index": len(index.wheels),
        "packages_conda_pypi": counts,
        "uv_alone_packages": uv_counts,
        "ours_with_pip_s": round(med(ours_pip), 3),
        "ours_conda_only_s": round(med(ours_conda), 3),
        "pypi_part_s": round(med(ours_pip) - med(ours_conda), 3),
        "pypi_after_solve_s": round(med(AFTER_SOLVE), 3),
        "uv_alone_3_platforms_s": round(med(uv3), 3),
        "uv_alone_1_platform_s": round(med(uv1), 3),
        "ratio_with_pip_vs_conda_only": round(med(ours_pip) / med(ours_conda), 2),
        "ratio_after_solve_vs_uv_alone_3": round(med(AFTER_SOLVE) / med(uv3), 2),
        "ratio_pypi_part_vs_uv_alone_3": round(
            (med(ours_pip) - med(ours_conda)) / med(uv3), 2),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"realistic channel {args.records_per_subdir} records/subdir; "
          f"{len(index.wheels)} wheels on a local index "
          f"(+{args.latency_ms:g} ms per request); 10 pip requirements; "
          f"prefetch {'off' if args.no_prefetch else 'on'}")
    print(f"packages (conda, pypi) per platform: {counts}")
    print(f"uv alone locks per platform:          {uv_counts} (it also resolves what conda "
          "provides)")
    print(f"ours + pip, 3 platforms (cold, median of {args.repeat}): "
          f"{report['ours_with_pip_s']:.3f} s")
    print(f"ours conda-only, 3 platforms:                  {report['ours_conda_only_s']:.3f} s")
    print(f"  -> the PyPI part adds:                       {report['pypi_part_s']:.3f} s "
          f"(x{report['ratio_with_pip_vs_conda_only']:.2f} of conda-only)")
    print(f"     of which after the conda solve:           "
          f"{report['pypi_after_solve_s']:.3f} s (prefetch wait + uv per platform)")
    print(f"uv pip compile alone, 3 platforms in parallel: "
          f"{report['uv_alone_3_platforms_s']:.3f} s")
    print(f"uv pip compile alone, 1 platform:              "
          f"{report['uv_alone_1_platform_s']:.3f} s")
    print(f"PyPI part / uv alone (3 platforms):            "
          f"{report['ratio_pypi_part_vs_uv_alone_3']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
