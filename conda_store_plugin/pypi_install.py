"""Install the locked PyPI packages of a platform into a conda environment, with uv.

Called after the conda packages are linked (the environment's ``python`` must be
in place)::

    uv pip install --python <prefix>/bin/python -r <locked.txt>
       --no-deps --require-hashes --no-index --no-build --no-config
       [--offline]

``locked.txt`` has one ``name @ <exact locked URL> --hash=sha256:<locked>`` line
per package: no resolution, no other file, no index. uv downloads and checks
every file against its hash before it installs any of them, so a hash mismatch
or a download failure installs nothing.

Before the conda packages are linked (the environment may not even have a python
yet), :func:`fetch_pypi` downloads and checks the same files into uv's cache by
installing them into a throwaway folder for the lock's platform
(``--target <tmp> --python-platform ... --python-version ...``): a missing or
tampered file then fails the install before anything in the environment changes,
and the install after linking reads uv's cache only.

The packages land in the environment's site-packages with their ``.dist-info``, so
``pip list`` and ``conda list`` show them (channel ``pypi``).
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .exceptions import PypiChecksumMismatchError, PypiInstallError
from .lockfile import LockedPypiPackage, PlatformLock


@dataclass(frozen=True)
class PypiInstallResult:
    """What ``install_pypi`` did."""

    prefix: Path
    python: Path | None
    installed: tuple[LockedPypiPackage, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"prefix": str(self.prefix), "python": str(self.python) if self.python else None,
                "installed": [f"{p.name}=={p.version}" for p in self.installed]}


def prefix_python(prefix: Path, *, windows: bool | None = None) -> Path:
    """The interpreter of a conda environment: ``bin/python``, or ``python.exe`` on Windows."""
    windows = sys.platform == "win32" if windows is None else windows
    return prefix / "python.exe" if windows else prefix / "bin" / "python"


def _requirements_file(folder: Path, packages: Sequence[LockedPypiPackage]) -> Path:
    path = folder / "locked.txt"
    path.write_text("".join(f"{p.name} @ {p.url} --hash=sha256:{p.sha256}\n"
                            for p in sorted(packages, key=lambda p: p.name)),
                    encoding="utf-8")
    return path


_COMMON = ("--no-deps", "--require-hashes", "--no-index", "--no-build", "--no-config",
           "--no-python-downloads", "--color", "never")


def fetch_pypi(
    lock: PlatformLock,
    platform: str,
    *,
    prefix: str | Path = "the environment",
    offline: bool = False,
    cache_dir: str | Path | None = None,
) -> None:
    """Download and check ``lock.pypi`` into uv's cache; the environment is not touched.

    Args:
        lock: the platform's lock (its conda ``python`` and virtual packages give the
            target the files are checked for).
        platform: the lock's platform name.
        prefix: the environment, for error messages only.
        offline: check that uv's cache has every file, without network.
        cache_dir: uv's cache folder (default: uv's own, or ``UV_CACHE_DIR``).

    Raises:
        PypiChecksumMismatchError, PypiInstallError: as ``install_pypi``.
    """
    from .pypi_targets import locked_python, target_for
    from .uv_runner import run_uv

    if not lock.pypi:
        return
    target = target_for(platform, locked_python(platform, lock.packages),
                        lock.virtual_packages)
    with tempfile.TemporaryDirectory(prefix="conda-store-pypi-fetch-") as tmp:
        args = ["pip", "install", "-r", str(_requirements_file(Path(tmp), lock.pypi)),
                "--target", str(Path(tmp) / "target"), "--python", sys.executable,
                "--python-version", target.python_version,
                "--python-platform", target.python_platform, *_COMMON]
        if offline:
            args.append("--offline")
        done = run_uv(args, cache_dir=Path(cache_dir) if cache_dir else None,
                      env=dict(target.env))
    if done.returncode != 0:
        raise _explain(Path(prefix), done.stderr, lock.pypi, offline)


def install_pypi(
    prefix: str | Path,
    packages: Sequence[LockedPypiPackage],
    *,
    offline: bool = False,
    python: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> PypiInstallResult:
    """Install ``packages`` (a platform's ``PlatformLock.pypi``) into ``prefix``.

    Args:
        prefix: the conda environment, its conda packages already linked.
        packages: the locked PyPI packages.
        offline: use uv's cache only, no network.
        python: the environment's interpreter (default: :func:`prefix_python`).
        cache_dir: uv's cache folder (default: uv's own, or ``UV_CACHE_DIR``).

    Raises:
        PypiChecksumMismatchError: a file does not have its locked sha256; nothing installed.
        PypiInstallError: anything else uv refused; nothing installed.
    """
    from .uv_runner import run_uv

    prefix = Path(prefix)
    if not packages:
        return PypiInstallResult(prefix, None)
    interpreter = Path(python) if python else prefix_python(prefix)
    if not interpreter.exists():
        raise PypiInstallError(
            prefix, f"the environment has no python at {interpreter}",
            hint="The lockfile's conda packages must include `python`: re-lock the spec "
                 "with `python` in its dependencies.")
    with tempfile.TemporaryDirectory(prefix="conda-store-pypi-install-") as tmp:
        args = ["pip", "install", "--python", str(interpreter),
                "-r", str(_requirements_file(Path(tmp), packages)), *_COMMON]
        if offline:
            args.append("--offline")
        done = run_uv(args, cache_dir=Path(cache_dir) if cache_dir else None)
    if done.returncode != 0:
        raise _explain(prefix, done.stderr, packages, offline)
    return PypiInstallResult(prefix, interpreter, tuple(packages))


_MISMATCH = re.compile(
    r"Hash mismatch for `(?P<name>[^`\s]+)\s+@\s+(?P<url>[^`\s]+)\s*`\s+Expected:\s+"
    r"(?:sha256:)?(?P<expected>[0-9a-f]{64})\s+Computed:\s+(?:sha256:)?(?P<actual>[0-9a-f]{64})")
_DOWNLOAD = re.compile(r"Failed to (?:download|fetch|read)[^`]*`(?P<what>[^`]+)`")
_NOT_CACHED = re.compile(r"Because (?P<name>\S+) was not found in the cache")


def _explain(prefix: Path, stderr: str, packages: Sequence[LockedPypiPackage],
             offline: bool) -> PypiInstallError:
    text = "\n".join(line.rstrip() for line in stderr.splitlines()
                     if line.strip() and not line.startswith(("Using ", "Resolved ")))
    mismatch = _MISMATCH.search(text)
    if mismatch:
        return PypiChecksumMismatchError(prefix, mismatch.group("name"), mismatch.group("url"),
                                         mismatch.group("expected"), mismatch.group("actual"))
    not_cached = _NOT_CACHED.search(text)
    if offline and (not_cached or "network was disabled" in text):
        what = not_cached.group("name") if not_cached else "a locked file"
        return PypiInstallError(
            prefix, f"--offline and {what} is not in uv's cache:\n{text}",
            hint="Offline installs need the files in uv's cache: install once online "
                 "(same cache folder), or drop --offline. Nothing was installed.")
    download = _DOWNLOAD.search(text)
    if download:
        what = " ".join(download.group("what").split())
        hint = ("Offline installs need the files in uv's cache: install once online, or "
                "drop --offline." if offline else
                "Check the network and that the index still serves the locked file; nothing "
                "was installed.")
        return PypiInstallError(prefix, f"cannot download {what}:\n{text}", hint=hint)
    return PypiInstallError(prefix, text or "uv failed without a message")
