"""Generate a realistic, deterministic benchmark conda channel from a real pixi lock.

The channel is modelled on ``/work/shared/data/traces-sklearn.pixi.lock`` (a pixi lock v6
of a conda-forge data-science environment) and its ``pixi.toml``:

* every conda record of the lock (all environments, all platforms) is kept verbatim
  (name, version, build, build_number, depends, constrains, size, sha256, md5, license,
  timestamp, noarch, track_features);
* "family noise": older versions and builds of those same packages (older builds get
  version-bumped build strings, other python variants py37..py313, older build numbers,
  and depends rewritten to the versions of their dependencies that existed at the time,
  keeping the run-export pin shape, e.g. ``libpng >=1.6.44,<1.7.0a0`` becomes
  ``libpng >=1.6.39,<1.7.0a0``).  Python 3.13.0-3.13.2 are added *newer* than the lock's
  python 3.12, with py313 builds of most extensions but not of pyarrow 17 (as on
  conda-forge): the solver has to backtrack off python 3.13 like a real solve does;
* "long tail": thousands of unrelated packages (python, R, C/C++ libraries, tools) with
  their own dependency graphs, version histories and python/R variants;
* optional real package archives (``--with-archives``) for the packages of one lock
  environment, with payload sizes close to the lock's ``size`` (times ``--size-scale``),
  valid ``info/index.json`` and ``info/paths.json``, and the repodata sha256/md5/size of
  those records rewritten to match the archives, so that installs verify;
* optional ``repodata.json.zst`` and CEP-16 sharded repodata (written by hand).

Everything is a pure function of the parameters (seeded RNGs, fixed mtimes): the same
arguments give byte-identical files.  A params stamp makes re-runs with the same
parameters a no-op (``--force`` regenerates).

Usage::

    python benchmarks/realistic_channel.py OUT_DIR [--records-per-subdir 30000]
        [--platforms linux-64 osx-arm64 win-64] [--with-archives] [--size-scale 1.0]
        [--shards] [--zst] [--seed 0] [--force]

Importable API: :func:`generate_channel`, :func:`virtual_packages`,
:func:`rattler_virtual_packages`, :func:`load_lock`, :func:`manifest_specs`.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as _dt
import functools
import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import sys
import tarfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Bump when the output for the same parameters changes (invalidates caches).
GENERATOR_VERSION = 5

DATA_DIR = Path(os.environ.get("REALISTIC_CHANNEL_DATA")
                or Path(__file__).resolve().parents[2] / "shared" / "data")
DEFAULT_LOCK = DATA_DIR / "traces-sklearn.pixi.lock"
DEFAULT_MANIFEST = DATA_DIR / "traces-sklearn.pixi.toml"
DEFAULT_PLATFORMS = ("linux-64", "osx-arm64", "win-64")

STAMP_NAME = ".realistic_channel_params.json"
META_NAME = "channel_meta.json"

# Share of the noise (records_per_subdir minus the real records) spent on older
# versions/builds of the lock's packages; the rest is the unrelated long tail.
FAMILY_FRACTION = 0.6

# Extensions that never got a python 3.13 build at the lock's version (pyarrow 18 was
# the first release with 3.13 support): this is what keeps the env on python 3.12.
NO_PY313_AT_LOCK_VERSION = frozenset({"pyarrow", "pyarrow-core"})

DAY_MS = 86_400_000
# conda-forge switched to .conda artifacts around here; older noise records are .tar.bz2.
CONDA_FORMAT_SINCE_MS = 1_667_260_800_000  # 2022-11-01


def _ms(y: int, m: int, d: int) -> int:
    return int(_dt.datetime(y, m, d, tzinfo=_dt.timezone.utc).timestamp() * 1000)


NEWEST_TAIL_MS = _ms(2025, 2, 28)
OLDEST_TAIL_MS = _ms(2017, 1, 1)

# minor, first conda-forge build, end of conda-forge builds (None: still built),
# highest patch release generated.
_PYTHONS: tuple[tuple[str, int, int | None, int], ...] = (
    ("3.7", _ms(2018, 6, 27), _ms(2023, 6, 27), 12),
    ("3.8", _ms(2019, 10, 14), _ms(2024, 10, 7), 20),
    ("3.9", _ms(2020, 10, 5), _ms(2025, 8, 1), 21),
    ("3.10", _ms(2021, 10, 4), None, 16),
    ("3.11", _ms(2022, 10, 24), None, 11),
    ("3.12", _ms(2023, 10, 2), None, 9),
    ("3.13", _ms(2024, 10, 7), None, 2),
)
_PY_FIRST = {minor: first for minor, first, _end, _p in _PYTHONS}

# R minor, first build, end of builds
_RS: tuple[tuple[str, int, int | None], ...] = (
    ("4.1", _ms(2021, 5, 18), _ms(2023, 6, 1)),
    ("4.2", _ms(2022, 4, 22), _ms(2024, 6, 1)),
    ("4.3", _ms(2023, 4, 21), None),
    ("4.4", _ms(2024, 4, 24), None),
)

_PLATFORM_INFO = {
    "linux-64": ("linux", "x86_64"),
    "linux-aarch64": ("linux", "aarch64"),
    "linux-ppc64le": ("linux", "ppc64le"),
    "osx-64": ("osx", "x86_64"),
    "osx-arm64": ("osx", "arm64"),
    "win-64": ("win", "x86_64"),
    "win-arm64": ("win", "arm64"),
}

PYTHON_FAMILY = ("python", "python_abi", "cpython")


# --------------------------------------------------------------------------- helpers


def _seed_int(*parts: object) -> int:
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "big")


def _rng(*parts: object) -> random.Random:
    return random.Random(_seed_int(*parts))


def _hash7(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:7]


def _py_tag(minor: str) -> str:
    return minor.replace(".", "")


def _pythons_at(ts: int) -> list[str]:
    return [m for m, first, end, _p in _PYTHONS if first <= ts and (end is None or ts < end)]


def _rs_at(ts: int) -> list[str]:
    return [m for m, first, end in _RS if first <= ts and (end is None or ts < end)]


def _oldest_python_at(ts: int) -> str | None:
    pys = _pythons_at(ts)
    return pys[0] if pys else None


@functools.cache
def _V(text: str):  # noqa: N802 - rattler Version, cached
    import rattler

    try:
        return rattler.Version(text)
    except Exception:  # noqa: BLE001 - any unparsable version is "unknown"
        return None


def _vlt(a: str, b: str) -> bool:
    va, vb = _V(a), _V(b)
    if va is None or vb is None:
        return False
    return va < vb


def _split_dep(dep: str) -> tuple[str, str | None, str | None]:
    parts = dep.split()
    name = parts[0]
    vt = parts[1] if len(parts) > 1 else None
    bt = " ".join(parts[2:]) if len(parts) > 2 else None
    return name, vt, bt


def _join_dep(name: str, vt: str | None, bt: str | None) -> str:
    return " ".join(p for p in (name, vt, bt) if p)


def _is_pin_of(vtoken: str, version: str) -> bool:
    v = re.escape(version)
    return bool(
        re.fullmatch(rf"(==?)?{v}(\.\*)?(=.*)?", vtoken) or re.fullmatch(rf"{v}\|{v}\.\*", vtoken)
    )


def _pin_depth(upper: str) -> int | None:
    """``1.7.0a0`` -> 2, ``4.0a0`` -> 1, ``0.8.2.0a0`` -> 3; None if not a run-export pin."""
    if not upper.endswith("a0"):
        return None
    core = upper[:-2].rstrip(".")
    if not re.fullmatch(r"\d+(\.\d+)*", core):
        return None
    comps = [int(c) for c in core.split(".")]
    depth = 1
    for i, c in enumerate(comps):
        if c:
            depth = i + 1
    return depth


def _numeric_comps(version: str) -> list[int]:
    m = re.match(r"^(\d+(?:\.\d+)*)", version)
    return [int(c) for c in m.group(1).split(".")] if m else []


def _bump(version: str, depth: int) -> str:
    comps = _numeric_comps(version) or [0]
    comps = (comps + [0] * depth)[:depth]
    comps[-1] += 1
    return ".".join(map(str, comps)) + ".0a0"


def _zstd():
    try:
        from compression import zstd  # type: ignore[import-not-found]

        return zstd
    except ImportError:
        pass
    try:
        from backports import zstd  # type: ignore[import-not-found]

        return zstd
    except ImportError:
        return None


def _zstd_compress(data: bytes, level: int) -> bytes:
    z = _zstd()
    if z is not None:
        return z.compress(data, level)
    import zstandard  # type: ignore[import-not-found]

    return zstandard.ZstdCompressor(level=level).compress(data)


# ------------------------------------------------------------------ lock & manifest


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_lock(lock_path: str | os.PathLike[str] = DEFAULT_LOCK) -> dict[str, Any]:
    """Read a pixi lock with py-rattler.

    Returns ``{"records": {subdir: {fn: record}}, "environments": {env: {platform: [fn]}}}``
    where records are repodata-style dicts (no url/channel) and environment lists hold
    ``subdir/fn`` keys.
    """
    import rattler

    lf = rattler.LockFile.from_path(str(lock_path))
    records: dict[str, dict[str, dict]] = defaultdict(dict)
    envs: dict[str, dict[str, list[str]]] = {}
    for env_name, env in lf.environments():
        per_platform: dict[str, list[str]] = {}
        for platform, recs in env.conda_repodata_records().items():
            keys = []
            for r in recs:
                rec = json.loads(r.to_json())
                fn = rec.pop("fn")
                rec.pop("url", None)
                rec.pop("channel", None)
                records[rec["subdir"]][fn] = rec
                keys.append(f"{rec['subdir']}/{fn}")
            per_platform[str(platform)] = sorted(keys)
        envs[env_name] = per_platform
    return {"records": {k: dict(v) for k, v in records.items()}, "environments": envs}


def _load_toml(path: Path) -> dict:
    text = path.read_text()
    try:
        import tomllib  # type: ignore[import-not-found]

        return tomllib.loads(text)
    except ImportError:
        pass
    try:
        import tomli  # type: ignore[import-not-found]

        return tomli.loads(text)
    except ImportError:
        pass
    # minimal fallback: [section] headers and key = "string" lines
    out: dict = {}
    cur = out
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            cur = out
            for part in line.strip("[]").split("."):
                cur = cur.setdefault(part.strip(), {})
        elif "=" in line:
            k, v = line.split("=", 1)
            v = v.strip()
            if v.startswith('"') and v.endswith('"'):
                cur[k.strip().strip('"')] = v[1:-1]
            elif v.startswith("["):
                cur[k.strip()] = re.findall(r'"([^"]*)"', v)
    return out


def _deps_to_specs(deps: Mapping[str, Any]) -> list[str]:
    specs = []
    for name, spec in deps.items():
        if isinstance(spec, Mapping):
            spec = spec.get("version", "*")
        spec = str(spec).strip()
        specs.append(name if spec in ("", "*") else f"{name} {spec}")
    return specs


def manifest_specs(
    manifest_path: str | os.PathLike[str] = DEFAULT_MANIFEST,
) -> dict[str, list[str]]:
    """Top-level specs per pixi environment: ``{"default": [...], "dev": [...], ...}``."""
    data = _load_toml(Path(manifest_path))
    default = _deps_to_specs(data.get("dependencies", {}))
    features = data.get("feature", {})
    out = {"default": default}
    for env, feats in (data.get("environments") or {}).items():
        if isinstance(feats, Mapping):
            feats = feats.get("features", [])
        specs = list(default)
        for f in feats:
            specs += _deps_to_specs(features.get(f, {}).get("dependencies", {}))
        out[env] = specs
    return out


# ------------------------------------------------------------------ virtual packages


def virtual_packages(platform: str) -> list[str]:
    """Virtual packages assumed for a platform, as ``NAME=VERSION=BUILD`` strings.

    Same defaults as ``conda_store_plugin.platforms`` (glibc 2.28, macOS 11.0).
    """
    family, arch = _PLATFORM_INFO.get(platform, (platform.split("-")[0], "x86_64"))
    if family == "linux":
        return ["__unix=0=0", "__linux=5.10=0", "__glibc=2.28=0", f"__archspec=1={arch}"]
    if family == "osx":
        return ["__unix=0=0", "__osx=11.0=0", f"__archspec=1={arch}"]
    if family == "win":
        return ["__win=0=0", f"__archspec=1={arch}"]
    return []


def rattler_virtual_packages(platform: str) -> list:
    """:func:`virtual_packages` as ``rattler.GenericVirtualPackage`` objects."""
    import rattler

    out = []
    for text in virtual_packages(platform):
        name, version, build = text.split("=")
        out.append(
            rattler.GenericVirtualPackage(
                rattler.PackageName(name), rattler.Version(version), build
            )
        )
    return out


# ---------------------------------------------------------------- platform derivation


def _derive_platform(
    records: dict[str, dict[str, dict]],
    envs: dict[str, dict[str, list[str]]],
    target: str,
) -> None:
    """Clone a platform missing from the lock from the closest one it has (in place)."""
    tfam, tarch = _PLATFORM_INFO.get(target, (target.split("-")[0], "x86_64"))
    have = [p for p in records if p != "noarch"]
    same = [p for p in have if _PLATFORM_INFO.get(p, ("?",))[0] == tfam]
    order = same + [p for p in ("linux-64", "osx-arm64", "osx-64", "win-64") if p in have]
    if not order:
        raise ValueError(f"cannot derive {target}: the lock has no platform records")
    src = order[0]
    cross = _PLATFORM_INFO.get(src, ("?",))[0] != tfam
    hash_map: dict[str, str] = {}
    for rec in records[src].values():
        for h in re.findall(r"h[0-9a-f]{7}(?=_|$)", rec["build"]):
            hash_map.setdefault(h, "h" + _hash7("derive", target, h))

    def remap(text: str) -> str:
        return re.sub(
            r"h[0-9a-f]{7}(?=_|$|\s)", lambda m: hash_map.get(m.group(0), m.group(0)), text
        )

    def fix_virtual(deps: list[str]) -> list[str]:
        if not cross:
            return deps
        had = any(d.startswith("__") for d in deps)
        out = [d for d in deps if not re.match(r"__(glibc|osx|linux|win|unix)\b", d)]
        if had and tfam == "linux":
            out.insert(0, "__glibc >=2.17,<3.0.a0")
        elif had and tfam == "osx":
            out.insert(0, "__osx >=11.0")
        return out

    new: dict[str, dict] = {}
    fn_map: dict[str, str] = {}
    for fn, rec in records[src].items():
        r = json.loads(json.dumps(rec))
        r["subdir"] = target
        r["build"] = remap(r["build"])
        r["depends"] = fix_virtual([remap(d) for d in r.get("depends", [])])
        if r.get("constrains"):
            r["constrains"] = [remap(d) for d in r["constrains"]]
        if "arch" in r:
            r["arch"] = tarch
        if "platform" in r:
            r["platform"] = tfam
        ext = ".tar.bz2" if fn.endswith(".tar.bz2") else ".conda"
        nfn = f"{r['name']}-{r['version']}-{r['build']}{ext}"
        r["sha256"] = hashlib.sha256(f"derived/{target}/{nfn}".encode()).hexdigest()
        r["md5"] = hashlib.md5(f"derived/{target}/{nfn}".encode()).hexdigest()
        new[nfn] = r
        fn_map[f"{src}/{fn}"] = f"{target}/{nfn}"
    records[target] = new
    for per_platform in envs.values():
        if src in per_platform:
            per_platform[target] = sorted(fn_map.get(k, k) for k in per_platform[src])


# ------------------------------------------------------------------- version history


def _older_sequence(key: str, version: str, max_n: int, rng_seed: object) -> list[tuple[str, int]]:
    """Deterministic descending list of (older version, age in days) below ``version``."""
    if max_n <= 0:
        return []
    rng = _rng("seq", rng_seed, key, version)
    out: list[tuple[str, int]] = []
    lm = re.fullmatch(r"(\d{4})([a-z])", version)
    if lm:  # tzdata style: 2025a, 2024b, 2024a, 2023d ...
        year, letter, age = int(lm.group(1)), lm.group(2), 0
        while len(out) < max_n and year > int(lm.group(1)) - 12:
            if letter > "a":
                letter = chr(ord(letter) - 1)
            else:
                year, letter = year - 1, rng.choice("bcdefg")
            age += rng.randint(40, 120)
            out.append((f"{year}{letter}", age))
        return out
    m = re.match(r"^(\d+(?:\.\d+)*)", version)
    if not m:
        return []
    parts = m.group(1).split(".")
    date_like = _date_versions(parts, max_n, rng)
    if date_like is not None:
        return [(v, a) for v, a in date_like if _vlt(v, version)]
    widths = [len(p) if (len(p) > 1 and p.startswith("0")) else 0 for p in parts]
    cur = [int(p) for p in parts]
    k = len(cur)
    calver = 1990 <= cur[0] <= 2100
    floor_major = max(0, cur[0] - (12 if calver else 3 if k > 1 else 25))
    seen = {version}
    age = 0
    guard = 0
    while len(out) < max_n and guard < max_n * 4:
        guard += 1
        # mostly patch releases, some minor series, rarely a new major
        r = rng.random()
        if k == 1:
            lvl = 0
        elif k == 2:
            lvl = 1 if r < 0.93 else 0
        else:
            lvl = k - 1 if r < 0.72 else (k - 2 if r < 0.985 else k - 3)
        while lvl >= 0 and cur[lvl] == 0:
            lvl -= 1
        if lvl < 0:
            break
        step = 1
        if cur[lvl] > 1000 and not (calver and lvl == 0):  # date-like builds move faster
            step = rng.randint(1, 3) if cur[lvl] < 100000 else rng.randint(1, 40)
        if lvl == 0 and cur[0] - step < floor_major:
            break
        cur[lvl] = max(0, cur[lvl] - step)
        for j in range(lvl + 1, k):
            if calver and j in (1, 2):
                cur[j] = rng.randint(1, 12 if j == 1 else 28)
                continue
            hi = rng.randint(2, 12) if j == k - 1 else rng.randint(4, 24)
            if widths[j]:
                hi = min(hi, 10 ** widths[j] - 1)
            cur[j] = rng.randint(hi // 2, hi) if j < k - 1 else rng.randint(0, hi)
        if not any(cur):
            break
        age += rng.randint(12, 50) if lvl == k - 1 else rng.randint(40, 140)
        text = ".".join(str(c).zfill(w) if w else str(c) for c, w in zip(cur, widths, strict=True))
        if text in seen or not _vlt(text, version):
            continue
        seen.add(text)
        out.append((text, age))
        if age > 11 * 365:
            break
    return out


def _date_versions(
    parts: list[str], max_n: int, rng: random.Random
) -> list[tuple[str, int]] | None:
    """Older versions for calendar versions (2025.1.31, 2024.07.02, 20240722.0), else None."""
    nums = [int(p) for p in parts]
    if len(parts[0]) == 8 and 19900101 <= nums[0] <= 21001231:  # abseil style YYYYMMDD.N
        try:
            day = _dt.date(nums[0] // 10000, nums[0] // 100 % 100, nums[0] % 100)
        except ValueError:
            return None
        out, age = [], 0
        for _ in range(max_n):
            gap = rng.randint(60, 200)
            age += gap
            day -= _dt.timedelta(days=gap)
            rest = [str(rng.choice((0, 0, 1, 2)))] if len(parts) > 1 else []
            out.append((".".join([day.strftime("%Y%m%d"), *rest]), age))
        return out
    if not (len(parts) >= 2 and 1990 <= nums[0] <= 2100 and 1 <= nums[1] <= 12):
        return None
    pad = [len(p) if (len(p) > 1 and p.startswith("0")) else 0 for p in parts]
    fmt = lambda c, w: str(c).zfill(w) if w else str(c)  # noqa: E731
    day_of = min(nums[2], 28) if len(parts) > 2 and 1 <= nums[2] <= 31 else 1
    day = _dt.date(nums[0], nums[1], max(1, day_of))
    out, age = [], 0
    for _ in range(max_n):
        gap = rng.randint(20, 75) if len(parts) > 2 else rng.randint(28, 95)
        age += gap
        day -= _dt.timedelta(days=gap)
        comps = [fmt(day.year, pad[0]), fmt(day.month, pad[1])]
        if len(parts) > 2:
            comps.append(fmt(day.day, pad[2]))
        comps += ["0"] * (len(parts) - len(comps))
        out.append((".".join(comps), age))
        if age > 11 * 365:
            break
    return out


# --------------------------------------------------------------------- build strings

_HASH_RE = re.compile(r"h[0-9a-f]{7}(?=_|$)")


def _template_bn(build: str, fallback: int) -> int:
    m = _HASH_RE.search(build)
    if m:
        mm = re.match(r"_(\d+)", build[m.end() :])
        if mm:
            return int(mm.group(1))
        mm = re.match(r"^(\d+)_", build)
        if mm:
            return int(mm.group(1))
        return fallback
    if re.fullmatch(r"\d+", build):
        return int(build)
    mm = re.match(r"^(\d+)_", build) or re.search(r"_(\d+)$", build)
    return int(mm.group(1)) if mm else fallback


def _make_build(
    template: str, *, hash_key: tuple, bn: int, tbn: int, py: str | None, keep_hash: bool
) -> str | None:
    """Build string for a variant of ``template`` (None if the template cannot vary bn)."""
    b = template
    if py is not None:
        b = re.sub(r"py3\d{1,2}(?=h|_|$)", "py" + _py_tag(py), b, count=1)
    m = _HASH_RE.search(b)
    if m:
        if not keep_hash:
            b = b[: m.start()] + "h" + _hash7(*hash_key) + b[m.end() :]
        after = b[m.end() :]
        mm = re.match(r"_(\d+)", after)
        if mm:
            return b[: m.end()] + f"_{bn}" + after[mm.end() :]
        mm = re.match(r"^(\d+)_", b)
        if mm:
            return f"{bn}" + b[mm.end() - 1 :]
        return b if bn == tbn else None
    if re.fullmatch(r"\d+", b):
        return str(bn)
    mm = re.match(r"^(\d+)_", b)
    if mm:
        return f"{bn}" + b[mm.end() - 1 :]
    mm = re.search(r"_(\d+)$", b)
    if mm:
        return b[: mm.start()] + f"_{bn}"
    return b if bn == tbn else None


# ------------------------------------------------------------------------ timelines


class _Timelines:
    """Per (subdir, name): sorted (timestamp, version) of every record, for dep pinning."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, list[tuple[int, str]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._sorted = False

    def add(self, sd: str, name: str, ts: int, version: str) -> None:
        self.data[sd][name].append((ts, version))
        self._sorted = False

    def finish(self) -> None:
        for per in self.data.values():
            for lst in per.values():
                lst.sort()
        self._sorted = True

    def find(self, sds: Sequence[str], name: str) -> list[tuple[int, str]] | None:
        for sd in sds:
            lst = self.data.get(sd, {}).get(name)
            if lst:
                return lst
        return None

    def at(self, sds: Sequence[str], name: str, ts: int) -> str | None:
        lst = self.find(sds, name)
        if not lst:
            return None
        i = bisect.bisect_right(lst, (ts, "\uffff"))
        return lst[i - 1][1] if i else lst[0][1]


# -------------------------------------------------------------- real-package analysis


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        p = self.parent.setdefault(x, x)
        if p != x:
            p = self.parent[x] = self.find(p)
        return p

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def _is_pyext(rec: dict) -> str | None:
    """Python minor of a python extension record ("3.12"), else None."""
    if rec.get("subdir") == "noarch":
        return None
    for d in rec.get("depends", []):
        n, vt, _bt = _split_dep(d)
        if n == "python_abi" and vt:
            m = re.match(r"(\d+\.\d+)", vt)
            if m:
                return m.group(1)
        if n == "python" and vt:
            m = re.match(r">=(\d+\.\d+),<\d+\.\d+", vt)
            if m:
                return m.group(1)
    return None


def _families(real: dict[str, dict[str, dict]]) -> _UnionFind:
    uf = _UnionFind()
    versions: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for sd, recs in real.items():
        for rec in recs.values():
            versions[sd][rec["name"]].add(rec["version"])
    for sd, recs in real.items():
        for rec in recs.values():
            if rec["name"] in PYTHON_FAMILY:
                continue
            uf.find(rec["name"])
            for dep in rec.get("depends", []) + rec.get("constrains", []):
                dn, vt, _bt = _split_dep(dep)
                if dn == rec["name"] or vt is None or dn in PYTHON_FAMILY:
                    continue
                if _is_pin_of(vt, rec["version"]) and any(
                    rec["version"] in versions[s].get(dn, ()) for s in (sd, "noarch")
                ):
                    uf.union(rec["name"], dn)
    return uf


def _runtime_deps(recs: Iterable[dict]) -> list[str]:
    """Deps carried by at least 30% of a subdir's compiled records (compiler runtimes)."""
    recs = [r for r in recs if r.get("subdir") != "noarch"]
    if not recs:
        return []
    count: dict[str, int] = defaultdict(int)
    for r in recs:
        for d in set(r.get("depends", [])):
            if not d.startswith("python"):
                count[d] += 1
    out = sorted(d for d, c in count.items() if c >= 0.3 * len(recs))
    # keep one spec per name (the most common)
    best: dict[str, str] = {}
    for d in sorted(out, key=lambda d: -count[d]):
        best.setdefault(_split_dep(d)[0], d)
    return sorted(best.values())


def _pin_depths(real: dict[str, dict[str, dict]]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for recs in real.values():
        for rec in recs.values():
            for d in rec.get("depends", []):
                n, vt, _ = _split_dep(d)
                if vt and (m := re.fullmatch(r">=([^,]+),<([^,]+)", vt)):
                    p = _pin_depth(m.group(2))
                    if p:
                        depth.setdefault(n, p)
    return depth


# ----------------------------------------------------------------------- record model


def _fake_digests(seed: object, sd: str, fn: str) -> tuple[str, str]:
    key = f"{seed}/{sd}/{fn}".encode()
    return hashlib.sha256(key).hexdigest(), hashlib.md5(key).hexdigest()


def _ext_for(ts: int, template_fn: str | None = None) -> str:
    if ts < CONDA_FORMAT_SINCE_MS:
        return ".tar.bz2"
    if template_fn is not None and template_fn.endswith(".tar.bz2") and ts < _ms(2023, 6, 1):
        return ".tar.bz2"
    return ".conda"


class _Emitter:
    """Collects the records of one subdir, rejecting duplicate filenames."""

    def __init__(self, sd: str, seed: int) -> None:
        self.sd = sd
        self.seed = seed
        self.records: dict[str, dict] = {}
        self.stems: set[str] = set()

    def add(self, rec: dict, ext: str, *, real: bool = False) -> bool:
        stem = f"{rec['name']}-{rec['version']}-{rec['build']}"
        if stem in self.stems:
            return False
        fn = stem + ext
        if not real:
            rec["sha256"], rec["md5"] = _fake_digests(self.seed, self.sd, fn)
        self.stems.add(stem)
        self.records[fn] = rec
        return True


# --------------------------------------------------------------------- family noise


class _DepRewriter:
    """Rewrites a real record's depends/constrains for one of its noise variants."""

    def __init__(
        self,
        *,
        sd: str,
        lookup_sds: Sequence[str],
        timelines: _Timelines,
        uf: _UnionFind,
        templates: Mapping[str, list[tuple[str, dict]]],
        seed: int,
    ) -> None:
        self.sd = sd
        self.lookup_sds = lookup_sds
        self.tl = timelines
        self.uf = uf
        self.templates = templates
        self.seed = seed

    def sibling_build(
        self, dep_name: str, version: str, bn_offset: int, py: str | None, real_same: bool
    ) -> str | None:
        tmpl = self.templates.get(dep_name)
        if not tmpl:
            return None
        _fn, t = tmpl[0]
        tbn = _template_bn(t["build"], t.get("build_number", 0))
        bn = tbn - bn_offset if real_same else bn_offset
        if bn < 0:
            return None
        tpy = _is_pyext(t)
        vpy = py if tpy else None
        keep = t["subdir"] == "noarch" or (real_same and (vpy is None or vpy == tpy))
        return _make_build(
            t["build"],
            hash_key=(self.seed, t["subdir"], dep_name, version, vpy or ""),
            bn=bn,
            tbn=tbn,
            py=vpy,
            keep_hash=keep,
        )

    def rewrite(
        self,
        deps: Sequence[str],
        *,
        rec: dict,
        version: str,
        bn: int,
        py: str | None,
        ts: int,
        older: bool,
        bn_offset: int,
    ) -> list[str] | None:
        """Return rewritten deps, or None when a sibling pin cannot be satisfied."""
        real_v = rec["version"]
        root = self.uf.find(rec["name"])
        noarch_python = rec.get("noarch") == "python"
        real_bn = _template_bn(rec["build"], rec.get("build_number", 0))
        out: list[str] = []
        for dep in deps:
            name, vt, bt = _split_dep(dep)
            if name.startswith("__") or vt is None:
                out.append(dep)
                continue
            if py is not None and name == "python" and re.fullmatch(r">=3\.\d+,<3\.\d+\.0a0", vt):
                nxt = int(py.split(".")[1]) + 1
                out.append(_join_dep(name, f">={py},<3.{nxt}.0a0", bt))
                continue
            if py is not None and name == "python_abi":
                out.append(f"python_abi {py}.* *_cp{_py_tag(py)}")
                continue
            if _is_pin_of(vt, real_v) and name != rec["name"]:
                # pinned to our own version: a sibling output of the same recipe
                new_vt = re.sub(rf"(?<![\w.]){re.escape(real_v)}(?!\w)", version, vt)
                new_bt = bt
                sib = name in self.templates and self.uf.find(name) == root
                sib_bn = None
                if sib:
                    sbuild = self.sibling_build(name, version, bn_offset, py, not older)
                    if sbuild is None:
                        return None
                    stmpl = self.templates[name][0][1]
                    if bt == stmpl["build"]:
                        new_bt = sbuild
                    sib_bn = _template_bn(sbuild, 0)
                new_num = str(
                    sib_bn if sib_bn is not None else (bn if older else real_bn - bn_offset)
                )
                if new_bt == bt and bt:
                    new_bt = re.sub(rf"(?<=_){real_bn}(?!\d)", new_num, bt)
                if "=" in new_vt[2:]:
                    head, _, glob = new_vt.rpartition("=")
                    glob = re.sub(rf"(?<=_){real_bn}(?!\d)|^{real_bn}(?=\*)", new_num, glob)
                    new_vt = f"{head}={glob}"
                out.append(_join_dep(name, new_vt, new_bt))
                continue
            if not older:
                out.append(dep)
                continue
            if noarch_python and name == "python" and (m := re.fullmatch(r">=(3\.\d+)", vt)):
                oldest = _oldest_python_at(ts)
                if oldest and _vlt(oldest, m.group(1)):
                    out.append(_join_dep(name, f">={oldest}", bt))
                else:
                    out.append(dep)
                continue
            m = re.fullmatch(r">=([^,<>=!]+),<([^,]+)", vt)
            if m and (depth := _pin_depth(m.group(2))):
                d = self.tl.at(self.lookup_sds, name, ts)
                if d and _vlt(d, m.group(1)):
                    out.append(_join_dep(name, f">={d},<{_bump(d, depth)}", bt))
                else:
                    out.append(dep)
                continue
            m = re.match(r">=([^,<>=!]+)(,.*)?$", vt)
            if m:
                d = self.tl.at(self.lookup_sds, name, ts - 400 * DAY_MS)
                if d and _vlt(d, m.group(1)):
                    out.append(_join_dep(name, f">={d}{m.group(2) or ''}", bt))
                else:
                    out.append(dep)
                continue
            out.append(dep)
        return out


def _family_plan(
    sd: str,
    real_sd: dict[str, dict],
    budget: int,
    uf: _UnionFind,
    seed: int,
) -> dict[str, list[tuple[str, int, list[int]]]]:
    """name -> [(older version, base timestamp, build numbers)] for one subdir."""
    by_name: dict[str, list[dict]] = defaultdict(list)
    for rec in real_sd.values():
        if rec["name"] not in PYTHON_FAMILY:
            by_name[rec["name"]].append(rec)
    fams: dict[str, list[str]] = defaultdict(list)
    for name in sorted(by_name):
        fams[uf.find(name)].append(name)
    weights: dict[str, float] = {}
    est_per_version: dict[str, float] = {}
    for root, members in fams.items():
        rng = _rng("famw", seed, sd, root)
        w = 0.0
        e = 0.0
        for n in members:
            pyext = _is_pyext(by_name[n][0]) is not None
            w += (2.5 if pyext else 1.0) * len(by_name[n])
            e += (3.2 if pyext else 1.0) * 1.6 * len(by_name[n])
        weights[root] = w * rng.uniform(0.4, 1.8)
        est_per_version[root] = e
    total_w = sum(weights.values()) or 1.0
    plan: dict[str, list[tuple[str, int, list[int]]]] = {}
    for root, members in sorted(fams.items()):
        n_versions = int(round(budget * weights[root] / total_w / est_per_version[root]))
        for n in members:
            top = max(by_name[n], key=lambda r: (_V(r["version"]) or 0, r.get("timestamp", 0)))
            top_ts = top.get("timestamp") or _ms(2024, 6, 1)
            seq = _older_sequence(root, top["version"], n_versions, seed)
            entries = []
            for v, age in seq:
                rng = _rng("bns", seed, root, v)
                nb = rng.choice((1, 1, 1, 2, 2, 3))
                entries.append(
                    (v, top_ts - age * DAY_MS - rng.randint(0, 86_400) * 1000, list(range(nb)))
                )
            plan[n] = entries
    return plan


def _python_family_records(
    em: _Emitter,
    sd: str,
    real_sd: dict[str, dict],
    rw: _DepRewriter,
    timelines: _Timelines,
    seed: int,
    plan_only: bool,
) -> int:
    """Older/newer pythons, python_abi and cpython (noarch) records."""
    n = 0
    tmpl = {r["name"]: (fn, r) for fn, r in sorted(real_sd.items()) if r["name"] in PYTHON_FAMILY}
    versions: list[tuple[str, str, int]] = []  # (minor, version, ts)
    for minor, first, end, last_patch in _PYTHONS:
        for patch in range(last_patch + 1):
            ts = first + patch * 61 * DAY_MS
            if end is not None:
                ts = min(ts, end - DAY_MS)
            versions.append((minor, f"{minor}.{patch}", min(ts, _ms(2025, 2, 4))))
    if "python" in tmpl:
        fn, t = tmpl["python"]
        tbn = _template_bn(t["build"], t.get("build_number", 0))
        for minor, v, ts in versions:
            if v == t["version"]:
                continue
            rng = _rng("pybn", seed, v)
            for bn in range(rng.choice((1, 2))):
                if plan_only:
                    timelines.add(sd, "python", ts, v)
                    continue
                build = _make_build(
                    t["build"],
                    hash_key=(seed, sd, "python", v),
                    bn=bn,
                    tbn=tbn,
                    py=None,
                    keep_hash=False,
                )
                deps = rw.rewrite(
                    t.get("depends", []),
                    rec=t,
                    version=v,
                    bn=bn,
                    py=None,
                    ts=ts,
                    older=True,
                    bn_offset=bn,
                )
                rec = _new_record(t, v, build, bn, ts + bn * 3 * DAY_MS, deps, seed, sd, scale=0.9)
                rec["constrains"] = [f"python_abi {minor}.* *_cp{_py_tag(minor)}"]
                n += em.add(rec, _ext_for(ts, fn))
    if "python_abi" in tmpl:
        fn, t = tmpl["python_abi"]
        for minor, first, _end, _lp in _PYTHONS:
            for bn in (4, 5):
                if minor == t["version"] and f"{bn}_cp{_py_tag(minor)}" == t["build"]:
                    continue
                ts = first + (bn - 4) * 200 * DAY_MS
                if plan_only:
                    timelines.add(sd, "python_abi", ts, minor)
                    continue
                rec = _new_record(t, minor, f"{bn}_cp{_py_tag(minor)}", bn, ts, [], seed, sd)
                rec["constrains"] = [f"python {minor}.* *_cpython"]
                n += em.add(rec, _ext_for(ts, fn))
    if "cpython" in tmpl:
        fn, t = tmpl["cpython"]
        for minor, v, ts in versions:
            if minor in ("3.7", "3.8"):
                continue
            for bn in (0, 1):
                build = f"py{_py_tag(minor)}hd8ed1ab_{bn}"
                if v == t["version"] and build == t["build"]:
                    continue
                if plan_only:
                    timelines.add(sd, "cpython", ts, v)
                    continue
                deps = [f"python {v}.*", f"python_abi * *_cp{_py_tag(minor)}"]
                rec = _new_record(t, v, build, bn, ts + bn * DAY_MS, deps, seed, sd)
                n += em.add(rec, _ext_for(ts, fn))
    return n


def _new_record(
    t: dict,
    version: str,
    build: str,
    bn: int,
    ts: int,
    depends: list[str] | None,
    seed: int,
    sd: str,
    *,
    constrains: list[str] | None = None,
    scale: float = 1.0,
) -> dict:
    rec = {
        "name": t["name"],
        "version": version,
        "build": build,
        "build_number": bn,
        "depends": list(depends or []),
        "subdir": sd,
        "timestamp": int(ts),
        "license": t.get("license") or "LicenseRef-Unknown",
    }
    for key in ("license_family", "noarch", "arch", "platform", "track_features"):
        if t.get(key):
            rec[key] = t[key]
    if constrains:
        rec["constrains"] = constrains
    rng = _rng("size", seed, sd, t["name"], version, build)
    rec["size"] = max(1000, int(t.get("size", 10000) * scale * rng.uniform(0.78, 1.04)))
    return rec


def _emit_variant(
    em: _Emitter,
    rw: _DepRewriter,
    fn: str,
    t: dict,
    *,
    version: str,
    bn: int,
    py: str | None,
    ts: int,
    older: bool,
    bn_offset: int,
    seed: int,
) -> int:
    """Emit one noise variant of the real record ``t`` (0 if it cannot be built)."""
    sd = em.sd
    tpy = _is_pyext(t)
    tbn = _template_bn(t["build"], t.get("build_number", 0))
    keep = sd == "noarch" or (not older and (py is None or py == tpy))
    build = _make_build(
        t["build"],
        hash_key=(seed, sd, t["name"], version, py or ""),
        bn=bn,
        tbn=tbn,
        py=py,
        keep_hash=keep,
    )
    if build is None:
        return 0
    kw = {"rec": t, "version": version, "bn": bn, "py": py, "ts": ts, "older": older}
    deps = rw.rewrite(t.get("depends", []), bn_offset=bn_offset, **kw)
    cons = rw.rewrite(t.get("constrains", []), bn_offset=bn_offset, **kw)
    if deps is None or cons is None:
        return 0
    t_ts = t.get("timestamp") or _ms(2024, 6, 1)
    age_scale = 0.985 ** max(0, (t_ts - ts) // (60 * DAY_MS))
    rec = _new_record(t, version, build, bn, ts, deps, seed, sd, constrains=cons, scale=age_scale)
    return em.add(rec, _ext_for(ts, fn))


def _family_records(
    em: _Emitter,
    sd: str,
    real_sd: dict[str, dict],
    plan: dict[str, list[tuple[str, int, list[int]]]],
    rw: _DepRewriter,
    seed: int,
) -> int:
    n = 0
    for fn, t in sorted(real_sd.items()):
        name = t["name"]
        if name in PYTHON_FAMILY:
            continue
        tpy = _is_pyext(t)
        tbn = _template_bn(t["build"], t.get("build_number", 0))
        t_ts = t.get("timestamp") or _ms(2024, 6, 1)
        rng = _rng("real-variants", seed, sd, fn)
        no313 = name in NO_PY313_AT_LOCK_VERSION

        # same version: other python variants (same build number) and older build numbers
        if tpy is not None:
            for py in _pythons_at(t_ts):
                if py == tpy or (py == "3.13" and no313):
                    continue
                ts = t_ts - rng.randint(0, 7200) * 1000
                n += _emit_variant(
                    em,
                    rw,
                    fn,
                    t,
                    version=t["version"],
                    bn=tbn,
                    py=py,
                    ts=ts,
                    older=False,
                    bn_offset=0,
                    seed=seed,
                )
        for k in range(1, rng.choice((0, 1, 1, 2, 3)) + 1):
            bn = tbn - k
            if bn < 0:
                break
            ts = t_ts - k * rng.randint(8, 45) * DAY_MS
            pys: list[str | None] = [None]
            if tpy is not None:
                pys = [p for p in _pythons_at(ts) if not (p == "3.13" and no313)]
            for py in pys:
                n += _emit_variant(
                    em,
                    rw,
                    fn,
                    t,
                    version=t["version"],
                    bn=bn,
                    py=py,
                    ts=ts,
                    older=False,
                    bn_offset=k,
                    seed=seed,
                )
        # older versions
        for version, base_ts, bns in plan.get(name, []):
            for bn in bns:
                ts = min(base_ts + bn * 9 * DAY_MS, t_ts - DAY_MS)
                for py in [None] if tpy is None else _pythons_at(ts):
                    n += _emit_variant(
                        em,
                        rw,
                        fn,
                        t,
                        version=version,
                        bn=bn,
                        py=py,
                        ts=ts,
                        older=True,
                        bn_offset=bn,
                        seed=seed,
                    )
    return n


# ------------------------------------------------------------------------- long tail

_WORDS = (
    "graph cache parse async batch bloom cargo chart chunk cipher cloud codec color "
    "crypt cube data delta dense diff docs draw edge event fast feed field filter flow "
    "font forge frame fuzzy gauge geo glob grid hash heap hive http image index ink "
    "jet join json kernel key lake lattice layer lens lexer link lint log loop map mesh "
    "meta mint mock model morph nano net node norm note orbit pack page panel path "
    "pipe pixel plot pool port probe proto pulse quant query queue quick radar random "
    "range raster ray record reduce regex relay render report rest ring robo route "
    "rule sample scale scan schema scope scout seq serial shape shell sign signal "
    "slice smart snap socket solver sort spark spatial spec sphere split spline sql "
    "stack stat store stream string struct style sync table tape task tensor term "
    "text thread tile time token tool topo trace track tree trend tune type unit "
    "vault vector view voxel wave web wire word work xml yaml zone zip atlas astro bio "
    "chem climate ocean genome protein cell neuro quantum finance market audio video "
    "speech vision lidar radio optic laser fluid thermo mech sim opt bayes markov "
    "monte kalman fourier wavelet sparse linalg matrix eigen poly ode pde mesh2 fem "
    "cfd gpu cuda simd arrow parquet orc avro hdf zarr netcdf grib tiff png jpeg "
    "lzo brotli snappy lz4 xz bzip sqlite duck redis kafka mqtt grpc thrift capn "
    "flat proto3 toml ini env dot conf cli tui gui qt gtk tk wx kivy dash bokeh vega"
).split()

_LICENSES = (
    ("MIT", "MIT"),
    ("BSD-3-Clause", "BSD"),
    ("Apache-2.0", "Apache"),
    ("BSD-2-Clause", "BSD"),
    ("GPL-3.0-or-later", "GPL3"),
    ("LGPL-2.1-or-later", "LGPL"),
    ("MPL-2.0", "Other"),
    ("GPL-2.0-or-later", "GPL2"),
    ("ISC", "Other"),
    ("Zlib", "Other"),
)

_POPULAR_PY = (
    "numpy",
    "pandas",
    "scipy",
    "requests",
    "matplotlib-base",
    "packaging",
    "typing_extensions",
    "attrs",
    "jinja2",
    "pyyaml",
    "tornado",
    "six",
    "python-dateutil",
    "pygments",
    "traitlets",
    "setuptools",
    "certifi",
    "idna",
    "urllib3",
    "joblib",
    "scikit-learn",
    "pyarrow",
    "jsonschema",
    "ipython",
    "platformdirs",
    "tomli",
    "click",
    "markupsafe",
    "pillow",
    "psutil",
    "httpx",
)
_POPULAR_LIBS = (
    "libzlib",
    "openssl",
    "libcurl",
    "zstd",
    "libpng",
    "libjpeg-turbo",
    "libxml2",
    "libsqlite",
    "icu",
    "libffi",
    "bzip2",
    "liblzma",
    "libiconv",
    "libexpat",
    "freetype",
    "libtiff",
    "libwebp-base",
    "libprotobuf",
    "libabseil",
    "krb5",
    "libssh2",
    "lz4-c",
    "snappy",
    "libblas",
)

# kind, probability, noarch?
_TAIL_KINDS = (
    ("pynoarch", 0.42, True),
    ("noarch", 0.04, True),
    ("rnoarch", 0.09, True),
    ("lib", 0.17, False),
    ("pyext", 0.15, False),
    ("r", 0.05, False),
    ("cli", 0.08, False),
)


class _TailPkg:
    __slots__ = (
        "name",
        "kind",
        "noarch",
        "license",
        "versions",
        "deps",
        "cpp",
        "size",
        "hash",
        "depth",
    )

    def __init__(self, **kw: Any) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def _tail_name(rng: random.Random, kind: str, taken: set[str]) -> str:
    for _ in range(50):
        w1, w2 = rng.choice(_WORDS), rng.choice(_WORDS)
        if kind == "pynoarch":
            pat = rng.choice(
                (
                    "{a}",
                    "py{a}",
                    "{a}-{b}",
                    "{a}{b}",
                    "python-{a}",
                    "pytest-{a}",
                    "sphinx-{a}",
                    "types-{a}",
                    "django-{a}",
                    "flask-{a}",
                    "jupyter-{a}",
                    "mkdocs-{a}",
                    "napari-{a}",
                    "{a}-{b}-py",
                    "azure-{a}-{b}",
                    "google-cloud-{a}",
                    "{a}kit",
                    "{a}lib",
                )
            )
        elif kind == "noarch":
            pat = rng.choice(
                ("{a}-data", "font-ttf-{a}", "{a}-{b}-schemas", "{a}-icons", "{a}-docs")
            )
        elif kind in ("rnoarch", "r"):
            pat = rng.choice(("r-{a}", "r-{a}{b}", "r-{a}.{b}", "r-{a}r", "bioconductor-{a}{b}"))
        elif kind == "lib":
            pat = rng.choice(("lib{a}", "lib{a}{b}", "{a}-cpp", "lib{a}-{b}", "{a}{b}", "lib{a}2"))
        elif kind == "pyext":
            pat = rng.choice(("py{a}", "{a}-python", "{a}{b}", "py{a}{b}", "fast{a}", "{a}-rs"))
        else:
            pat = rng.choice(
                ("{a}-tools", "{a}{b}", "{a}-cli", "ros-humble-{a}-{b}", "perl-{a}-{b}")
            )
        name = pat.format(a=w1, b=w2)
        if name not in taken:
            taken.add(name)
            return name
    name = f"{kind}-{rng.choice(_WORDS)}-{len(taken)}"
    taken.add(name)
    return name


def _tail_latest_version(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.12:
        return f"{rng.randint(2019, 2025)}.{rng.randint(1, 12)}.{rng.randint(0, 9)}"
    if r < 0.3:
        return f"{rng.randint(0, 9)}.{rng.randint(0, 40)}"
    if r < 0.36:
        return f"{rng.randint(0, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
    return (
        f"{rng.choice((0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 5))}.{rng.randint(0, 30)}.{rng.randint(0, 15)}"
    )


def _tail_variants(kind: str, ts: int) -> list[str | None]:
    if kind == "pyext":
        return list(_pythons_at(ts)) or [None]
    if kind in ("r", "rnoarch"):
        return list(_rs_at(ts)) or [None]
    return [None]


def _tail_universe(
    seed: int,
    need_noarch: int,
    need_arch: int,
    real_names: set[str],
    timelines: _Timelines,
) -> list[_TailPkg]:
    rng = _rng("tail", seed)
    taken = set(real_names)
    pkgs: list[_TailPkg] = []
    by_kind: dict[str, list[int]] = defaultdict(list)
    have_noarch = have_arch = 0
    # r-base first: the R packages pin it
    r_versions = []
    for minor, first, _end in _RS:
        for patch in range(4):
            ts = first + patch * 75 * DAY_MS
            if ts < NEWEST_TAIL_MS:
                r_versions.append((f"{minor}.{patch}", ts, 2))
    r_versions.sort(key=lambda x: -x[1])
    pkgs.append(
        _TailPkg(
            name="r-base",
            kind="lib",
            noarch=False,
            license=("GPL-2.0-or-later", "GPL2"),
            versions=r_versions,
            deps=[
                ("libcurl", "pin"),
                ("icu", "pin"),
                ("libpng", "pin"),
                ("libzlib", "pin"),
                ("readline", "pin"),
            ],
            cpp=True,
            size=26_000_000,
            hash=_hash7("tail", seed, "r-base"),
            depth=2,
        )
    )
    taken.add("r-base")
    for v, ts, _nb in r_versions:
        timelines.add("@tail", "r-base", ts, v)
    have_arch += sum(nb for _v, _t, nb in r_versions)
    kinds = [k for k, _p, _n in _TAIL_KINDS]
    probs = [p for _k, p, _n in _TAIL_KINDS]
    noarch_kind = {k: n for k, _p, n in _TAIL_KINDS}
    while have_noarch < need_noarch or have_arch < need_arch:
        kind = rng.choices(kinds, probs)[0]
        if noarch_kind[kind] and have_noarch >= need_noarch:
            continue
        if not noarch_kind[kind] and have_arch >= need_arch:
            continue
        name = _tail_name(rng, kind, taken)
        latest = _tail_latest_version(rng)
        latest_ts = rng.randint(OLDEST_TAIL_MS + 400 * DAY_MS, NEWEST_TAIL_MS)
        n_versions = min(70, int(rng.paretovariate(1.25)))
        versions = [(latest, latest_ts, rng.choice((1, 1, 2, 2, 3)))]
        for v, age in _older_sequence(name, latest, n_versions - 1, seed):
            ts = latest_ts - age * DAY_MS
            if ts < OLDEST_TAIL_MS:
                break
            versions.append((v, ts, rng.choice((1, 1, 1, 2))))
        # dependencies: earlier tail packages (hubs are preferred) and popular real ones
        deps: list[tuple[str, str]] = []
        if kind in ("pynoarch", "pyext"):
            pool = by_kind["pynoarch"] + by_kind["pyext"]
            n_tail, n_real, real_pool = (
                rng.choice((0, 1, 1, 2, 2, 3, 4, 6)),
                rng.choice((0, 0, 1, 1, 2, 3)),
                _POPULAR_PY,
            )
            mode = "lower"
        elif kind in ("r", "rnoarch"):
            pool = by_kind["r"] + by_kind["rnoarch"]
            n_tail, n_real, real_pool, mode = rng.choice((0, 1, 2, 3, 4, 6, 8)), 0, (), "lower"
        elif kind == "noarch":
            pool, n_tail, n_real, real_pool, mode = [], 0, 0, (), "any"
        else:
            pool = by_kind["lib"]
            n_tail, n_real, real_pool = (
                rng.choice((0, 0, 1, 1, 2, 3, 5)),
                rng.choice((0, 1, 1, 2, 3)),
                _POPULAR_LIBS,
            )
            mode = "pin"
        if kind == "pyext":
            deps += [
                (pkgs[i].name, "pin") for i in _pick(rng, by_kind["lib"], rng.choice((0, 0, 1, 2)))
            ]
            if rng.random() < 0.5:
                deps.append(("numpy", "lower"))
            n_real = rng.choice((0, 1, 1, 2))
            real_pool = _POPULAR_LIBS
        if kind == "r":
            deps += [
                (pkgs[i].name, "pin") for i in _pick(rng, by_kind["lib"], rng.choice((0, 1, 2)))
            ]
        deps += [
            (pkgs[i].name, mode if rng.random() < 0.7 else "any") for i in _pick(rng, pool, n_tail)
        ]
        for real in rng.sample(real_pool, min(n_real, len(real_pool))):
            if real in real_names:
                deps.append(
                    (
                        real,
                        "pin"
                        if kind in ("lib", "cli", "pyext") and real in _POPULAR_LIBS
                        else mode,
                    )
                )
        deps = list(dict.fromkeys(deps))
        lic = rng.choice(_LICENSES)
        size_med = {
            "pynoarch": 60e3,
            "noarch": 400e3,
            "rnoarch": 300e3,
            "lib": 700e3,
            "pyext": 500e3,
            "r": 1.2e6,
            "cli": 2e6,
        }[kind]
        pkg = _TailPkg(
            name=name,
            kind=kind,
            noarch=noarch_kind[kind],
            license=lic,
            versions=versions,
            deps=deps,
            cpp=rng.random() < 0.6,
            size=int(size_med * rng.lognormvariate(0, 1.0)) + 2000,
            hash=_hash7("tail", seed, name),
            depth=2 if latest.startswith("0.") else rng.choice((1, 1, 2)),
        )
        by_kind[kind].append(len(pkgs))
        pkgs.append(pkg)
        n_records = 0
        for v, ts, nb in versions:
            timelines.add("@tail", name, ts, v)
            n_records += nb * len(_tail_variants(kind, ts))
        if pkg.noarch:
            have_noarch += n_records
        else:
            have_arch += n_records
    return pkgs


def _pick(rng: random.Random, pool: list[int], n: int) -> list[int]:
    if not pool or n <= 0:
        return []
    out = []
    for _ in range(n):
        out.append(pool[int(len(pool) * rng.random() ** 2.2)])  # hubs: early packages
    return sorted(set(out))


def _tail_records(
    em: _Emitter,
    sd: str,
    budget: int,
    universe: list[_TailPkg],
    timelines: _Timelines,
    lookup_sds: Sequence[str],
    runtime: list[str],
    pin_depths: Mapping[str, int],
    seed: int,
) -> int:
    n = 0
    want_noarch = sd == "noarch"
    family = _PLATFORM_INFO.get(sd, ("?", "?"))
    sds = list(lookup_sds) + ["@tail"]
    tail_depth = {p.name: p.depth for p in universe}
    for pkg in universe:
        if n >= budget:
            break
        if pkg.noarch != want_noarch:
            continue
        for version, ts, nb in pkg.versions:
            if n >= budget:
                break
            for bn in range(nb):
                bts = ts + bn * 6 * DAY_MS
                for var in _tail_variants(pkg.kind, bts):
                    if n >= budget:
                        break
                    deps: list[str] = []
                    if not pkg.noarch:
                        deps += (
                            runtime
                            if pkg.cpp
                            else [d for d in runtime if "stdc" not in d and "cxx" not in d]
                        )
                    if pkg.kind == "pynoarch":
                        deps.append(f"python >={_oldest_python_at(bts) or '3.9'}")
                        build = f"pyh{'d8ed1ab' if int(pkg.hash, 16) % 5 else pkg.hash}_{bn}"
                    elif pkg.kind == "pyext" and var:
                        nxt = int(var.split(".")[1]) + 1
                        deps += [
                            f"python >={var},<3.{nxt}.0a0",
                            f"python_abi {var}.* *_cp{_py_tag(var)}",
                        ]
                        build = f"py{_py_tag(var)}h{_hash7(seed, sd, pkg.name, version, var)}_{bn}"
                    elif pkg.kind in ("r", "rnoarch") and var:
                        nxt = int(var.split(".")[1]) + 1
                        deps.append(f"r-base >={var},<4.{nxt}.0a0")
                        h = "c72bb7e" if pkg.noarch else _hash7(seed, sd, pkg.name, version, var)
                        build = f"r{_py_tag(var)}h{h}_{bn}"
                    else:
                        h = pkg.hash if pkg.noarch else _hash7(seed, sd, pkg.name, version)
                        build = f"h{h}_{bn}"
                    for dep, mode in pkg.deps:
                        d = None
                        if mode == "pin":
                            d = timelines.at(sds, dep, bts)
                            if d is None:
                                continue
                            depth = tail_depth.get(dep) or pin_depths.get(dep, 1)
                            deps.append(f"{dep} >={d},<{_bump(d, depth)}")
                        elif mode == "lower":
                            d = timelines.at(sds, dep, bts - 700 * DAY_MS)
                            if timelines.find(sds, dep) is None:
                                continue
                            deps.append(f"{dep} >={d}" if d else dep)
                        else:
                            if timelines.find(sds, dep) is None:
                                continue
                            deps.append(dep)
                    rec = {
                        "name": pkg.name,
                        "version": version,
                        "build": build,
                        "build_number": bn,
                        "depends": sorted(set(deps)),
                        "subdir": sd,
                        "timestamp": int(bts),
                        "license": pkg.license[0],
                        "license_family": pkg.license[1],
                        "size": max(
                            1200,
                            int(
                                pkg.size
                                * _rng("tsize", seed, sd, pkg.name, version, bn, var).uniform(
                                    0.7, 1.1
                                )
                            ),
                        ),
                    }
                    if pkg.noarch:
                        rec["noarch"] = "python" if pkg.kind == "pynoarch" else "generic"
                    else:
                        rec["arch"], rec["platform"] = family[1], family[0]
                    n += em.add(rec, _ext_for(bts))
    return n


# -------------------------------------------------------------------------- archives

_TAR_MTIME = 1_700_000_000


def _tar_bytes(files: Sequence[tuple[str, bytes]], mtime: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data in files:
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            ti.mtime = mtime
            ti.mode = 0o644
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _payload_files(rec: dict, target: int, seed: int) -> list[tuple[str, bytes]]:
    """Deterministic payload totalling about ``target`` incompressible bytes."""
    name, version, sd = rec["name"], rec["version"], rec["subdir"]
    win = sd.startswith("win")
    mod = name  # unique per package: no two packages of an environment share a file
    py = _is_pyext(rec)
    if rec.get("noarch") == "python":
        root = f"site-packages/{mod}"
        extra = []
    elif py:
        root = f"Lib/site-packages/{mod}" if win else f"lib/python{py}/site-packages/{mod}"
        extra = []
    elif sd == "noarch":
        root = f"share/{name}"
        extra = []
    elif name == "python":
        root = "Lib/_payload" if win else f"lib/python{'.'.join(version.split('.')[:2])}/_payload"
        extra = []
    else:
        root = f"Library/lib/{name}" if win else f"lib/{name}"
        extra = []
    real_size = int(rec.get("size", target))
    nfiles = max(1, min(200, round(math.sqrt(real_size / 1000))))
    rng = _rng("payload", seed, sd, name, version, rec["build"])
    weights = [rng.paretovariate(1.5) for _ in range(nfiles)]
    tw = sum(weights)
    overhead = 1500 + 120 * nfiles
    rand_total = max(0, target - overhead)
    files = list(extra)
    text = (f"{name} {version} synthetic benchmark payload. " * 40 + "\n").encode()
    files.append((f"{root}/README.txt", text * max(1, min(256, target // 40000))))
    for i, w in enumerate(weights):
        size = int(rand_total * w / tw)
        data = hashlib.shake_128(
            f"{seed}|{sd}|{name}|{version}|{rec['build']}|{i}".encode()
        ).digest(size)
        files.append((f"{root}/blob{i:03d}.bin", data))
    return sorted(files)


def _build_archive(
    rec: dict, fn: str, dest: Path, size_scale: float, seed: int
) -> tuple[str, str, int]:
    target = max(512, int(int(rec.get("size", 4096)) * size_scale))
    payload = _payload_files(rec, target, seed)
    paths = [
        {
            "_path": p,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(d).hexdigest(),
            "size_in_bytes": len(d),
        }
        for p, d in payload
    ]
    index = {
        k: rec[k]
        for k in (
            "name",
            "version",
            "build",
            "build_number",
            "depends",
            "license",
            "license_family",
            "subdir",
            "timestamp",
            "noarch",
            "arch",
            "platform",
            "constrains",
            "track_features",
        )
        if rec.get(k) not in (None, "")
    }
    index.setdefault("depends", [])
    about = {
        "summary": f"Synthetic benchmark package {rec['name']} {rec['version']}",
        "license": rec.get("license", ""),
        "channels": ["realistic-benchmark"],
    }
    info = [
        ("info/about.json", json.dumps(about, indent=2, sort_keys=True).encode()),
        ("info/files", ("\n".join(p for p, _ in payload) + "\n").encode()),
        ("info/index.json", json.dumps(index, indent=2, sort_keys=True).encode()),
        (
            "info/paths.json",
            json.dumps({"paths": paths, "paths_version": 1}, indent=2, sort_keys=True).encode(),
        ),
    ]
    if rec.get("noarch") == "python":
        info.append(
            (
                "info/link.json",
                json.dumps(
                    {"noarch": {"type": "python"}, "package_metadata_version": 1}, indent=2
                ).encode(),
            )
        )
    info.sort()
    mtime = int(rec.get("timestamp", _TAR_MTIME * 1000)) // 1000 or _TAR_MTIME
    if fn.endswith(".conda"):
        stem = fn[: -len(".conda")]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
            for member, data in (
                ("metadata.json", json.dumps({"conda_pkg_format_version": 2}).encode()),
                (f"pkg-{stem}.tar.zst", _zstd_compress(_tar_bytes(payload, mtime), 3)),
                (f"info-{stem}.tar.zst", _zstd_compress(_tar_bytes(info, mtime), 10)),
            ):
                zi = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_STORED
                zi.external_attr = 0o644 << 16
                zf.writestr(zi, data)
        blob = buf.getvalue()
    else:
        import bz2

        blob = bz2.compress(_tar_bytes(info + payload, mtime), 9)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(blob)
    os.replace(tmp, dest)
    return hashlib.sha256(blob).hexdigest(), hashlib.md5(blob).hexdigest(), len(blob)


# --------------------------------------------------------------------------- writing


def _write_repodata(sd_dir: Path, sd: str, records: dict[str, dict], zst: bool) -> int:
    repodata = {
        "info": {"subdir": sd},
        "packages": {fn: records[fn] for fn in sorted(records) if fn.endswith(".tar.bz2")},
        "packages.conda": {fn: records[fn] for fn in sorted(records) if fn.endswith(".conda")},
        "removed": [],
        "repodata_version": 1,
    }
    data = json.dumps(repodata, sort_keys=True, separators=(",", ":")).encode()
    sd_dir.mkdir(parents=True, exist_ok=True)
    (sd_dir / "repodata.json").write_bytes(data)
    if zst:
        (sd_dir / "repodata.json.zst").write_bytes(_zstd_compress(data, 9))
    return len(data)


def _write_shards(sd_dir: Path, sd: str, records: dict[str, dict]) -> int:
    """CEP-16 sharded repodata: repodata_shards.msgpack.zst + shards/<sha256>.msgpack.zst."""
    import msgpack  # type: ignore[import-not-found]

    by_name: dict[str, dict[str, dict]] = defaultdict(
        lambda: {"packages": {}, "packages.conda": {}}
    )
    for fn in sorted(records):
        rec = dict(records[fn])
        for key in ("sha256", "md5"):
            if rec.get(key):
                rec[key] = bytes.fromhex(rec[key])
        rec = {k: rec[k] for k in sorted(rec)}
        by_name[rec["name"]]["packages" if fn.endswith(".tar.bz2") else "packages.conda"][fn] = rec
    shard_dir = sd_dir / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    index: dict[str, bytes] = {}
    for name in sorted(by_name):
        shard = {
            "packages": by_name[name]["packages"],
            "packages.conda": by_name[name]["packages.conda"],
            "removed": [],
        }
        blob = _zstd_compress(msgpack.packb(shard, use_bin_type=True), 3)
        digest = hashlib.sha256(blob).digest()
        (shard_dir / f"{digest.hex()}.msgpack.zst").write_bytes(blob)
        index[name] = digest
    # same layout as rattler's own indexer (rattler.index.index_fs(write_shards=True))
    idx = {"info": {"base_url": "", "shards_base_url": "./shards/", "subdir": sd}, "shards": index}
    (sd_dir / "repodata_shards.msgpack.zst").write_bytes(
        _zstd_compress(msgpack.packb(idx, use_bin_type=True), 3)
    )
    return len(index)


# ------------------------------------------------------------------------ main entry


def _params(**kw: Any) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}


def generate_channel(
    out_dir: str | os.PathLike[str],
    *,
    platforms: Sequence[str] = DEFAULT_PLATFORMS,
    records_per_subdir: int = 30000,
    with_archives: bool = False,
    size_scale: float = 1.0,
    shards: bool = False,
    seed: int = 0,
    zst: bool = False,
    force: bool = False,
    environment: str = "default",
    family_fraction: float = FAMILY_FRACTION,
    lock_path: str | os.PathLike[str] = DEFAULT_LOCK,
    manifest_path: str | os.PathLike[str] = DEFAULT_MANIFEST,
    verbose: bool = False,
) -> dict:
    """Generate (or reuse) the benchmark channel in ``out_dir``; return its metadata.

    The metadata dict holds ``channel_url`` (``file://...``), ``platforms``, ``subdirs``,
    ``specs`` (top-level specs of ``environment`` from the pixi manifest),
    ``environment_specs`` (all manifest environments), ``virtual_packages`` per
    platform, ``expected`` per platform (``count`` and ``packages``: name -> "version
    build" of the lock's solution), ``records`` per subdir, ``archives`` (count/bytes per
    subdir when built), ``generation_seconds`` and ``cached`` (True when reused).
    """
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    kwargs = dict(
        platforms=platforms,
        records_per_subdir=records_per_subdir,
        with_archives=with_archives,
        size_scale=size_scale,
        shards=shards,
        seed=seed,
        zst=zst,
        force=force,
        environment=environment,
        family_fraction=family_fraction,
        lock_path=lock_path,
        manifest_path=manifest_path,
        verbose=verbose,
    )
    try:
        from filelock import FileLock
    except ImportError:  # concurrent generators into one directory are then unsafe
        return _generate(out, **kwargs)
    with FileLock(str(out / ".realistic_channel.lock")):
        return _generate(out, **kwargs)


def _generate(
    out_dir: str | os.PathLike[str],
    *,
    platforms: Sequence[str] = DEFAULT_PLATFORMS,
    records_per_subdir: int = 30000,
    with_archives: bool = False,
    size_scale: float = 1.0,
    shards: bool = False,
    seed: int = 0,
    zst: bool = False,
    force: bool = False,
    environment: str = "default",
    family_fraction: float = FAMILY_FRACTION,
    lock_path: str | os.PathLike[str] = DEFAULT_LOCK,
    manifest_path: str | os.PathLike[str] = DEFAULT_MANIFEST,
    verbose: bool = False,
) -> dict:
    t0 = time.perf_counter()
    out = Path(out_dir).absolute()
    lock_path, manifest_path = Path(lock_path), Path(manifest_path)
    platforms = tuple(dict.fromkeys(platforms))
    params = _params(
        generator_version=GENERATOR_VERSION,
        platforms=platforms,
        records_per_subdir=records_per_subdir,
        with_archives=with_archives,
        size_scale=size_scale if with_archives else None,
        shards=shards,
        seed=seed,
        zst=zst,
        environment=environment,
        family_fraction=family_fraction,
        lock_sha256=_sha256_file(lock_path),
        manifest_sha256=_sha256_file(manifest_path),
    )
    stamp_path, meta_path = out / STAMP_NAME, out / META_NAME
    if not force and stamp_path.exists() and meta_path.exists():
        try:
            if json.loads(stamp_path.read_text()) == params:
                meta = json.loads(meta_path.read_text())
                if all((out / sd / "repodata.json").exists() for sd in meta["subdirs"]):
                    meta["cached"] = True
                    return meta
        except (OSError, ValueError, KeyError):
            pass
    # clean what a previous run wrote (only our own subdirs)
    old_subdirs: set[str] = set()
    if meta_path.exists():
        try:
            old_subdirs = set(json.loads(meta_path.read_text()).get("subdirs", []))
        except (OSError, ValueError):
            pass
    for f in (stamp_path, meta_path):
        f.unlink(missing_ok=True)
    subdirs = list(platforms) + ["noarch"]
    for sd in old_subdirs | set(subdirs):
        if (out / sd).is_dir() and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)?", sd):
            shutil.rmtree(out / sd)
    out.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        if verbose:
            print(f"[{time.perf_counter() - t0:6.2f}s] {msg}", file=sys.stderr, flush=True)

    lock = load_lock(lock_path)
    real_all, envs = lock["records"], lock["environments"]
    if environment not in envs:
        raise ValueError(f"environment {environment!r} not in lock (has {sorted(envs)})")
    derived = []
    for p in platforms:
        if p not in real_all:
            _derive_platform(real_all, envs, p)
            derived.append(p)
    real = {sd: real_all.get(sd, {}) for sd in subdirs}
    env_specs = manifest_specs(manifest_path)
    log(f"lock loaded: {sum(len(v) for v in real.values())} records in {subdirs}")

    uf = _families(real)
    timelines = _Timelines()
    real_names = {r["name"] for recs in real_all.values() for r in recs.values()}
    templates: dict[str, dict[str, list[tuple[str, dict]]]] = {}
    for sd in subdirs:
        t: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for fn, r in sorted(real[sd].items()):
            t[r["name"]].append((fn, r))
            timelines.add(sd, r["name"], r.get("timestamp") or 0, r["version"])
        templates[sd] = t

    # phase 1: plans + timelines for every subdir
    noise = {sd: max(0, records_per_subdir - len(real[sd])) for sd in subdirs}
    plans = {}
    for sd in subdirs:
        plans[sd] = _family_plan(sd, real[sd], int(noise[sd] * family_fraction), uf, seed)
        for name, entries in plans[sd].items():
            for v, ts, _bns in entries:
                timelines.add(sd, name, ts, v)

    def lookup_sds(sd: str) -> list[str]:
        if sd == "noarch":
            return ["noarch", *platforms]
        return [sd, "noarch"]

    for sd in subdirs:
        rw = _DepRewriter(
            sd=sd,
            lookup_sds=lookup_sds(sd),
            timelines=timelines,
            uf=uf,
            templates={**templates["noarch"], **templates[sd]},
            seed=seed,
        )
        _python_family_records(
            _Emitter(sd, seed), sd, real[sd], rw, timelines, seed, plan_only=True
        )
    timelines.finish()
    log("plans done")

    # phase 2: records
    emitters: dict[str, _Emitter] = {}
    counts: dict[str, dict[str, int]] = {}
    pin_depths = _pin_depths(real)
    for sd in subdirs:
        em = _Emitter(sd, seed)
        for fn, rec in sorted(real[sd].items()):
            em.add(dict(rec), ".tar.bz2" if fn.endswith(".tar.bz2") else ".conda", real=True)
        rw = _DepRewriter(
            sd=sd,
            lookup_sds=lookup_sds(sd),
            timelines=timelines,
            uf=uf,
            templates={**templates["noarch"], **templates[sd]},
            seed=seed,
        )
        n_py = _python_family_records(em, sd, real[sd], rw, timelines, seed, plan_only=False)
        n_fam = _family_records(em, sd, real[sd], plans[sd], rw, seed)
        emitters[sd] = em
        counts[sd] = {"real": len(real[sd]), "python_family": n_py, "family": n_fam}
        log(f"{sd}: {len(real[sd])} real + {n_py} python + {n_fam} family noise")

    need_noarch = max(0, records_per_subdir - len(emitters["noarch"].records))
    need_arch = max([0] + [records_per_subdir - len(emitters[p].records) for p in platforms])
    universe = _tail_universe(
        seed, int(need_noarch * 1.05) + 50, int(need_arch * 1.05) + 50, real_names, timelines
    )
    timelines.finish()
    log(f"tail universe: {len(universe)} packages")
    for sd in subdirs:
        em = emitters[sd]
        budget = max(0, records_per_subdir - len(em.records))
        runtime = _runtime_deps(real[sd].values()) if sd != "noarch" else []
        counts[sd]["tail"] = _tail_records(
            em, sd, budget, universe, timelines, lookup_sds(sd), runtime, pin_depths, seed
        )
        counts[sd]["total"] = len(em.records)
        log(f"{sd}: tail {counts[sd]['tail']}, total {len(em.records)}")

    # archives for the environment's packages
    archives: dict[str, dict[str, int]] = {}
    if with_archives:
        wanted: set[str] = set()
        for p in platforms:
            wanted.update(envs[environment].get(p, []))
        for key in sorted(wanted):
            sd, fn = key.split("/", 1)
            rec = emitters[sd].records[fn]
            sha, md5, size = _build_archive(rec, fn, out / sd / fn, size_scale, seed)
            rec["sha256"], rec["md5"], rec["size"] = sha, md5, size
            a = archives.setdefault(sd, {"count": 0, "bytes": 0})
            a["count"] += 1
            a["bytes"] += size
        log(
            f"archives: {sum(a['count'] for a in archives.values())} files, "
            f"{sum(a['bytes'] for a in archives.values()) / 1e6:.1f} MB"
        )

    repodata_bytes = {}
    for sd in subdirs:
        repodata_bytes[sd] = _write_repodata(out / sd, sd, emitters[sd].records, zst)
        if shards:
            counts[sd]["shards"] = _write_shards(out / sd, sd, emitters[sd].records)
    log("repodata written")

    expected = {}
    for p in platforms:
        keys = envs[environment].get(p, [])
        pk = {}
        for key in keys:
            sd, fn = key.split("/", 1)
            r = emitters[sd].records[fn]
            pk[r["name"]] = f"{r['version']} {r['build']}"
        expected[p] = {"count": len(keys), "packages": dict(sorted(pk.items()))}
    meta = {
        "out_dir": str(out),
        "channel_url": out.as_uri(),
        "platforms": list(platforms),
        "derived_platforms": derived,
        "subdirs": subdirs,
        "environment": environment,
        "specs": env_specs.get(environment, env_specs["default"]),
        "environment_specs": env_specs,
        "virtual_packages": {p: virtual_packages(p) for p in platforms},
        "expected": expected,
        "records": counts,
        "repodata_bytes": repodata_bytes,
        "archives": archives,
        "params": params,
        "generation_seconds": round(time.perf_counter() - t0, 2),
        "cached": False,
    }
    meta_path.write_text(json.dumps(meta, indent=1, sort_keys=True))
    stamp_path.write_text(json.dumps(params, indent=1, sort_keys=True))
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--records-per-subdir", type=int, default=30000)
    ap.add_argument("--platforms", nargs="+", default=list(DEFAULT_PLATFORMS))
    ap.add_argument("--with-archives", action="store_true")
    ap.add_argument("--size-scale", type=float, default=1.0)
    ap.add_argument("--shards", action="store_true", help="also write CEP-16 sharded repodata")
    ap.add_argument("--zst", action="store_true", help="also write repodata.json.zst")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--environment", default="default", help="lock environment to model")
    ap.add_argument(
        "--family-fraction",
        type=float,
        default=FAMILY_FRACTION,
        help="share of the noise spent on older versions of the lock's packages",
    )
    ap.add_argument("--lock", default=str(DEFAULT_LOCK))
    ap.add_argument("--manifest", default=str(DEFAULT_MANIFEST))
    ap.add_argument("--force", action="store_true", help="regenerate even if the stamp matches")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    meta = generate_channel(
        args.out_dir,
        platforms=args.platforms,
        records_per_subdir=args.records_per_subdir,
        with_archives=args.with_archives,
        size_scale=args.size_scale,
        shards=args.shards,
        seed=args.seed,
        zst=args.zst,
        force=args.force,
        environment=args.environment,
        family_fraction=args.family_fraction,
        lock_path=args.lock,
        manifest_path=args.manifest,
        verbose=not args.quiet,
    )
    summary = {
        k: meta[k]
        for k in (
            "channel_url",
            "platforms",
            "specs",
            "records",
            "archives",
            "generation_seconds",
            "cached",
        )
    }
    summary["expected_counts"] = {p: e["count"] for p, e in meta["expected"].items()}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
