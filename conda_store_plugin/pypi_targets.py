"""What PyPI wheels a conda platform takes: uv's target and the wheel tags.

For each platform of a lock, the target is made from the lock itself, never from
this machine:

* the Python version is the locked conda ``python`` (CPython only);
* the platform tags come from the conda subdir and its virtual packages:
  ``__glibc`` gives the highest ``manylinux_2_X`` (default 2.28), ``__osx`` the
  highest macOS version (default 11.0; passed to uv as ``MACOSX_DEPLOYMENT_TARGET``).

=============  ================================  ==========================================
conda          uv ``--python-platform``          wheel platform tags, best first
=============  ================================  ==========================================
linux-64       ``x86_64-manylinux_2_X``          manylinux_2_X .. _2_5 (and legacy aliases)
linux-aarch64  ``aarch64-manylinux_2_X``         manylinux_2_X .. _2_17
osx-64         ``x86_64-apple-darwin``           macosx_V .. 10_4 (x86_64, universal2, ...)
osx-arm64      ``aarch64-apple-darwin``          macosx_V .. 11_0 (arm64, universal2)
win-64         ``x86_64-pc-windows-msvc``        win_amd64
win-arm64      ``aarch64-pc-windows-msvc``       win_arm64
win-32         ``i686-pc-windows-msvc``          win32
=============  ================================  ==========================================

uv only offers manylinux targets 2_17, 2_28 and 2_31..2_40: a glibc between them
uses the next lower one. uv resolves; :func:`best_wheel` then picks, among the
wheels uv lists for a package, the one with the best tag in the order pip and
``packaging.tags`` use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .exceptions import PypiLockError, PypiNoPythonError
from .lockfile import LockedPackage
from .platforms import DEFAULT_GLIBC, DEFAULT_OSX, VirtualPackage

_UV_MANYLINUX = (17, 28, *range(31, 41))
_LINUX_ARCH = {"linux-64": "x86_64", "linux-aarch64": "aarch64"}
_WINDOWS = {"win-64": ("x86_64-pc-windows-msvc", "win_amd64"),
            "win-arm64": ("aarch64-pc-windows-msvc", "win_arm64"),
            "win-32": ("i686-pc-windows-msvc", "win32")}
_MAC = {"osx-64": ("x86_64-apple-darwin", "x86_64"),
        "osx-arm64": ("aarch64-apple-darwin", "arm64")}
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


@dataclass(frozen=True)
class PypiTarget:
    """The PyPI view of one locked platform."""

    platform: str
    python_version: str  # e.g. "3.11.7"
    python_platform: str  # uv's --python-platform
    env: tuple[tuple[str, str], ...] = ()  # extra environment for uv
    tags: tuple[str, ...] = field(default=(), repr=False)  # best first

    @property
    def python_tag(self) -> str:
        """``cpXY``."""
        major, minor = self.python_version.split(".")[:2]
        return f"cp{major}{minor}"


def locked_python(platform: str, packages: Iterable[LockedPackage]) -> LockedPackage:
    """The ``python`` conda package of a platform's lock.

    Raises:
        PypiNoPythonError: no ``python``, or one PyPI wheels cannot target.
    """
    python = next((p for p in packages if p.name == "python"), None)
    if python is None:
        raise PypiNoPythonError(platform)
    if "pypy" in python.build:
        raise PypiNoPythonError(platform, f"the locked python is PyPy ({python.version} "
                                          f"{python.build}); the pip section needs CPython")
    if re.search(r"_cp3\d+t(_|$)", python.build):
        raise PypiNoPythonError(platform, f"the locked python is a free-threaded build "
                                          f"({python.version} {python.build}), which the "
                                          "pip section does not support yet")
    if not re.match(r"^3\.\d+(\.\d+)?$", python.version):
        raise PypiNoPythonError(platform, f"python {python.version} is not a CPython "
                                          "3.X.Y release that PyPI wheels can target")
    return python


def target_for(platform: str, python: LockedPackage,
               virtual_packages: Sequence[VirtualPackage]) -> PypiTarget:
    """The uv target and the wheel tags for ``platform`` with the locked ``python``.

    Raises:
        PypiLockError: a platform PyPI locking does not support.
    """
    major, minor = (int(x) for x in python.version.split(".")[:2])
    triple, env, platforms = uv_platform(platform, virtual_packages)
    return PypiTarget(platform, python.version, triple, env=env,
                      tags=_tags(major, minor, platforms))


def uv_platform(platform: str, virtual_packages: Sequence[VirtualPackage]
                ) -> tuple[str, tuple[tuple[str, str], ...], list[str]]:
    """The uv ``--python-platform``, the environment it needs, and the platform tags.

    Raises:
        PypiLockError: a platform PyPI locking does not support.
    """
    vps = {vp.name: vp.version for vp in virtual_packages}
    if platform in _LINUX_ARCH:
        arch = _LINUX_ARCH[platform]
        glibc = _version_pair(vps.get("__glibc", DEFAULT_GLIBC))
        if glibc < (2, 17):
            raise PypiLockError(platform, f"__glibc {glibc[0]}.{glibc[1]} is older than "
                                          "manylinux2014 (glibc 2.17), the oldest uv targets",
                                hint="Lock with --virtual-package __glibc=2.17 or newer.")
        uv_minor = max(m for m in _UV_MANYLINUX if m <= glibc[1]) if glibc[0] == 2 else 40
        return f"{arch}-manylinux_2_{uv_minor}", (), _manylinux(arch, uv_minor)
    if platform in _MAC:
        triple, arch = _MAC[platform]
        osx = _version_pair(vps.get("__osx", DEFAULT_OSX))
        return triple, (("MACOSX_DEPLOYMENT_TARGET", f"{osx[0]}.{osx[1]}"),), _mac(arch, osx)
    if platform in _WINDOWS:
        triple, tag = _WINDOWS[platform]
        return triple, (), [tag]
    raise PypiLockError(platform, "PyPI packages can be locked for linux-64, linux-aarch64, "
                                  "osx-64, osx-arm64, win-64, win-arm64 and win-32 only",
                        hint="Lock this platform without a pip section, or drop it.")


def _version_pair(text: str) -> tuple[int, int]:
    parts = [int(p) for p in re.findall(r"\d+", text)[:2]]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def _manylinux(arch: str, glibc_minor: int) -> list[str]:
    lowest = 5 if arch == "x86_64" else 17
    out = []
    for minor in range(glibc_minor, lowest - 1, -1):
        out.append(f"manylinux_2_{minor}_{arch}")
        if minor in _LEGACY_MANYLINUX:
            out.append(f"{_LEGACY_MANYLINUX[minor]}_{arch}")
    out.append(f"linux_{arch}")
    return out


def _mac(arch: str, version: tuple[int, int]) -> list[str]:
    formats = (["arm64", "universal2"] if arch == "arm64" else
               ["x86_64", "intel", "fat64", "fat32", "universal2", "universal"])
    out = []
    for major in range(version[0], 10, -1):
        out += [f"macosx_{major}_0_{f}" for f in formats]
    if version[0] == 10:
        top = version[1]
    else:
        top = 16
    for minor10 in range(top, 3, -1):
        if arch == "arm64":
            out.append(f"macosx_10_{minor10}_universal2")
        else:
            out += [f"macosx_10_{minor10}_{f}" for f in formats]
    return out


def _tags(major: int, minor: int, platforms: Sequence[str]) -> tuple[str, ...]:
    """Tags in ``packaging.tags.sys_tags`` order for CPython ``major.minor``."""
    cp = f"cp{major}{minor}"
    tags = [f"{cp}-{cp}-{p}" for p in platforms]
    tags += [f"{cp}-abi3-{p}" for p in platforms]
    tags += [f"{cp}-none-{p}" for p in platforms]
    for older in range(minor - 1, 1, -1):
        tags += [f"cp{major}{older}-abi3-{p}" for p in platforms]
    pys = [f"py{major}{minor}", f"py{major}"] + [f"py{major}{m}" for m in range(minor - 1, -1, -1)]
    for py in pys:
        tags += [f"{py}-none-{p}" for p in platforms]
    tags.append(f"{cp}-none-any")
    tags += [f"{py}-none-any" for py in pys]
    return tuple(tags)


def wheel_tags(filename: str) -> list[str]:
    """Every tag of a wheel file name (compressed tag sets expanded)."""
    parts = filename[:-4].split("-") if filename.endswith(".whl") else []
    if len(parts) < 5:
        return []
    pythons, abis, platforms = parts[-3:]
    return [f"{p}-{a}-{pl}" for p in pythons.split(".") for a in abis.split(".")
            for pl in platforms.split(".")]


def best_wheel(filenames: Sequence[str], tags: Sequence[str]) -> int | None:
    """Index of the wheel in ``filenames`` with the best tag, ``None`` if none fits."""
    rank = {tag: i for i, tag in enumerate(tags)}
    best: tuple[int, str] | None = None
    chosen = None
    for i, name in enumerate(filenames):
        ranks = [rank[t] for t in wheel_tags(name) if t in rank]
        if not ranks:
            continue
        key = (min(ranks), name)
        if best is None or key < best:
            best, chosen = key, i
    return chosen
