"""Lock the ``pip:`` section of a spec for every platform, after the conda solve, with uv.

For each platform, one ``uv pip compile`` (all platforms at once, in parallel
processes)::

    uv pip compile requirements.in --format pylock.toml -o pylock.toml
       --python-version <locked conda python> --python-platform <target>
       --only-binary :all: --generate-hashes --index-url ... [--extra-index-url ...]
       --find-links <stubs> --constraints <conda pins> --no-emit-package <conda names>
       --no-config --no-python-downloads --python <this interpreter>

* Target: :mod:`.pypi_targets` (the conda python's version, manylinux/macOS
  versions from the virtual packages).
* Python packages of the conda solve (:mod:`.pypi_names`) take part as if
  installed: each gets a stub wheel ``NAME-VERSION+conda-py3-none-any.whl`` (no
  files, no dependencies) and the constraint ``NAME==VERSION+conda``, so uv
  checks every requirement on them against conda's version, never takes them
  from an index and never pulls in their dependencies; ``--no-emit-package``
  keeps them out of the result. (PEP 440 ignores local labels when matching
  ``>=``/``==`` specifiers, so ``2.0+conda`` satisfies ``>=1.5``.) A conda version
  that is not PEP 440 is excluded from the resolution instead (``--excludes``),
  unchecked.
* Wheels only: an sdist would be built on the target machine, which is not
  reproducible; a project without a wheel for a platform fails the lock naming
  both.
* The file: uv's pylock lists the wheels of the chosen version that fit the
  target; the one with the best tag (pip's order) is locked with its URL and
  sha256. With several indexes, a second, offline ``uv pip compile
  --emit-index-annotation`` (requirements.txt format, the first result as
  preferences) tells which index each project came from.
* While the conda solve runs, :func:`prefetch_pypi` warms uv's cache with a guessed
  resolution, so the real ones mostly read the cache.
* No credentials in the lockfile: ``user:password@`` is dropped from URLs (uv finds
  them again at install time in its own settings, ``.netrc`` or keyring).
* ``--update``: the previous lock's versions (minus the named packages) are given
  to uv as preferences (an existing ``pylock.toml`` output), so only the named
  ones move unless a requirement forces more.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import subprocess
import sys
import tempfile
import urllib.parse
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import (
    CondaStoreError,
    PypiIndexError,
    PypiLockError,
    PypiNoWheelError,
    PypiResolutionError,
)
from .lockfile import LockedPackage, LockedPypiPackage, PlatformLock
from .platforms import VirtualPackage
from .pypi_names import normalise, pep440_version, provided_by_conda
from .pypi_requirements import PipSection
from .pypi_targets import PypiTarget, best_wheel, locked_python, target_for, uv_platform
from .spec import EnvironmentSpec

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PypiLockRequest:
    """What to lock for one platform.

    Attributes:
        platform: the conda platform.
        conda_packages: the platform's conda solve.
        virtual_packages: the virtual packages it was solved with.
        preferred: PyPI packages to keep at their version where possible (``--update``).
    """

    platform: str
    conda_packages: tuple[LockedPackage, ...]
    virtual_packages: tuple[VirtualPackage, ...] = ()
    preferred: tuple[LockedPypiPackage, ...] = ()


@dataclass
class _Job:
    request: PypiLockRequest
    target: PypiTarget
    folder: Path
    provided: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)


def lock_pypi(section: PipSection, requests: Sequence[PypiLockRequest], *,
              cache_dir: Path | None = None) -> dict[str, tuple[LockedPypiPackage, ...]]:
    """Lock ``section`` for every request; returns PyPI packages per platform.

    Raises:
        PypiNoPythonError: a platform's conda solve has no usable ``python``.
        PypiNoWheelError: a project has no wheel for a platform.
        PypiIndexError: an index cannot be read.
        PypiResolutionError: the requirements conflict (with each other or with conda).
    """
    if not section.requirements:
        return {r.platform: () for r in requests}
    targets = {}
    for request in requests:
        python = locked_python(request.platform, request.conda_packages)
        targets[request.platform] = target_for(request.platform, python,
                                               request.virtual_packages)
    from .uv_runner import uv_binary

    uv_binary()  # found before the threads start (see its docstring)
    with tempfile.TemporaryDirectory(prefix="conda-store-pypi-") as tmp:
        stubs = Path(tmp) / "conda-provided"  # shared: most stubs are the same everywhere
        jobs = [_prepare(section, r, targets[r.platform], Path(tmp) / r.platform, stubs)
                for r in requests]
        with ThreadPoolExecutor(max_workers=max(len(jobs), 1)) as pool:
            results = list(pool.map(lambda job: _run_safely(job, section, cache_dir), jobs))
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return {job.request.platform: result for job, result in zip(jobs, results, strict=True)}


def _prepare(section: PipSection, request: PypiLockRequest, target: PypiTarget,
             folder: Path, stubs: Path) -> _Job:
    folder.mkdir(parents=True)
    (folder / "requirements.in").write_text("".join(f"{r}\n" for r in section.requirements),
                                            encoding="utf-8")
    job = _Job(request, target, folder,
               provided=provided_by_conda(request.conda_packages))
    args = ["pip", "compile", str(folder / "requirements.in"),
            "--no-config", "--no-header", "--quiet", "--color", "never",
            "--python", sys.executable, "--no-python-downloads",
            "--python-version", target.python_version,
            "--python-platform", target.python_platform,
            "--only-binary", ":all:", "--index-url", section.index_url]
    for url in section.extra_index_urls:
        args += ["--extra-index-url", url]
    pins, unchecked = [], []
    for name, version in sorted(job.provided.items()):
        public = pep440_version(version)
        if public is None:
            unchecked.append(name)
            continue
        local = f"{public}.conda" if "+" in public else f"{public}+conda"
        _write_stub_wheel(stubs, name, local)
        pins.append(f"{name}=={local}")
        args += ["--no-emit-package", name]
    if pins:
        (folder / "conda-provided.txt").write_text("\n".join(pins) + "\n", encoding="utf-8")
        args += ["--find-links", str(stubs), "--constraints",
                 str(folder / "conda-provided.txt")]
    if unchecked:
        (folder / "conda-unchecked.txt").write_text("\n".join(unchecked) + "\n",
                                                    encoding="utf-8")
        args += ["--excludes", str(folder / "conda-unchecked.txt")]
    if request.preferred:
        (folder / "pylock.toml").write_text(_preferences_toml(request.preferred),
                                            encoding="utf-8")
    job.args = args
    return job


def _write_stub_wheel(folder: Path, name: str, version: str) -> None:
    """An empty wheel that only declares ``name`` ``version`` (a conda-provided project)."""
    module = name.replace("-", "_")
    path = folder / f"{module}-{version}-py3-none-any.whl"
    if path.exists():
        return
    folder.mkdir(exist_ok=True)
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: conda-store-plugin\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},sha256={_b64sha(text.encode())},{len(text.encode())}\n"
                     for path, text in files.items())
    files[f"{dist_info}/RECORD"] = record + f"{dist_info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for path, text in files.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=_ZIP_DATE), text)


def _b64sha(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _preferences_toml(packages: Sequence[LockedPypiPackage]) -> str:
    lines = ['lock-version = "1.0"', 'created-by = "conda-store-plugin"', ""]
    for p in sorted(packages, key=lambda p: p.name):
        lines += ["[[packages]]", f'name = "{p.name}"', f'version = "{p.version}"', ""]
    return "\n".join(lines)


def _run_safely(job: _Job, section: PipSection,
                cache_dir: Path | None) -> tuple[LockedPypiPackage, ...] | BaseException:
    try:
        return _run(job, section, cache_dir)
    except CondaStoreError as exc:
        return exc


def _run(job: _Job, section: PipSection, cache_dir: Path | None) -> tuple[LockedPypiPackage, ...]:
    from .uv_runner import run_uv

    platform = job.request.platform
    env = dict(job.target.env)
    done = run_uv([*job.args, "--format", "pylock.toml", "--generate-hashes",
                   "-o", str(job.folder / "pylock.toml")],
                  cache_dir=cache_dir, env=env, cwd=job.folder)
    if done.returncode != 0:
        raise explain_uv_failure(platform, done.stderr, section)
    chosen = _read_pylock(job, (job.folder / "pylock.toml").read_text(encoding="utf-8"))
    if len(section.indexes) == 1:
        indexes = {name: section.index_url for name in chosen}
    else:
        indexes = _index_of_each(job, section, cache_dir, env, chosen)
    return tuple(
        LockedPypiPackage(name=name, version=version, url=_without_userinfo(url),
                          sha256=sha256, index_url=_without_userinfo(indexes[name]),
                          requested=name in section.names)
        for name, (version, url, sha256) in sorted(chosen.items()))


def _read_pylock(job: _Job, text: str) -> dict[str, tuple[str, str, str]]:
    """Name -> (version, wheel URL, sha256) from uv's pylock.toml output."""
    platform = job.request.platform
    data = _toml_loads(text)
    chosen = {}
    for package in data.get("packages", []):
        name = normalise(package["name"])
        if name in job.provided:
            continue
        wheels = package.get("wheels") or []
        if not wheels or "version" not in package:
            raise PypiNoWheelError(platform, name, "only a source distribution or a direct "
                                                   "reference was found")
        filenames = [w.get("name") or _url_filename(w.get("url", "")) for w in wheels]
        index = best_wheel(filenames, job.target.tags)
        if index is None:
            raise PypiNoWheelError(platform, name, "uv offered " + ", ".join(filenames))
        wheel = wheels[index]
        sha256 = (wheel.get("hashes") or {}).get("sha256")
        url = wheel.get("url")
        if not url or not sha256:
            raise PypiLockError(platform, f"the index gave no URL or no sha256 for "
                                          f"{filenames[index]}",
                                hint="Use an index that publishes sha256 hashes (PEP 503 "
                                     "`#sha256=` fragments or the JSON API).")
        chosen[name] = (str(package["version"]), url, sha256.lower())
    return chosen


def _index_of_each(job: _Job, section: PipSection, cache_dir: Path | None,
                   env: Mapping[str, str], chosen: Mapping[str, tuple[str, str, str]]
                   ) -> dict[str, str]:
    """Which index each chosen project came from (only asked when there are several)."""
    from .uv_runner import run_uv

    platform = job.request.platform
    out = job.folder / "requirements.txt"
    out.write_text("".join(f"{name}=={version}\n"
                           for name, (version, _, _) in sorted(chosen.items())),
                   encoding="utf-8")
    done = run_uv([*job.args, "--format", "requirements.txt", "--emit-index-annotation",
                   "--no-annotate", "--offline", "-o", str(out)],
                  cache_dir=cache_dir, env=env, cwd=job.folder)
    if done.returncode != 0:
        raise explain_uv_failure(platform, done.stderr, section)
    found: dict[str, str] = {}
    current = None
    for line in out.read_text(encoding="utf-8").splitlines():
        pin = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if pin:
            current = normalise(pin.group(1))
            if current in chosen and chosen[current][0] != pin.group(2):
                raise PypiLockError(platform, f"the index changed while locking "
                                              f"({current} {chosen[current][0]} -> "
                                              f"{pin.group(2)})", hint="Lock again.")
            continue
        origin = re.match(r"^\s+# from (\S+)", line)
        if origin and current:
            found[current] = _matching_index(origin.group(1), section)
    missing = sorted(set(chosen) - set(found))
    if missing:
        raise PypiLockError(platform, f"cannot tell which index {', '.join(missing)} came "
                                      "from", hint="Lock again; if it persists, use one index.")
    return found


def _matching_index(url: str, section: PipSection) -> str:
    for index in section.indexes:
        if url.rstrip("/") == index.rstrip("/"):
            return index
    return url.rstrip("/")


def _url_filename(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


_NO_WHEEL = re.compile(
    r"Because (?:all versions of )?(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*?)(?:==\S+|[<>=!~]\S*)?"
    r" (?:has|have) no (?:usable wheels|wheels with a matching [^\n]*?tag)")
_FETCH = re.compile(r"Failed to (?:fetch|read|download)[^\n]*?(?P<url>(?:https?|file)://[^\s`'\"]+)")


def explain_uv_failure(platform: str, stderr: str, section: PipSection) -> PypiLockError:
    """Turn uv's error output into one of our errors."""
    text = _clean(stderr)
    no_wheel = _NO_WHEEL.search(text)
    if no_wheel:
        return PypiNoWheelError(platform, normalise(no_wheel.group("name")), text)
    fetch = _FETCH.search(text)
    if fetch or re.search(r"error sending request|Connection refused|dns error|timed out",
                          text):
        url = fetch.group("url") if fetch else ""
        index = next((i for i in section.indexes if url.startswith(i)), None)
        if index is None:
            index = next((i for i in section.indexes
                          if urllib.parse.urlsplit(i).netloc
                          and urllib.parse.urlsplit(i).netloc in text),
                         url or ", ".join(section.indexes))
        return PypiIndexError(platform, index, text)
    return PypiResolutionError(platform, text)


def _clean(stderr: str) -> str:
    lines = [line.rstrip() for line in stderr.splitlines()
             if line.strip() and not line.startswith(("Using ", "Resolved "))]
    return "\n".join(lines)


def pypi_staleness(spec: EnvironmentSpec, platform: str, lock: PlatformLock) -> list[str]:
    """Why a platform's PyPI packages no longer match the spec's pip section (no network).

    Every requirement without a marker must be locked, or provided by a conda package.
    """
    from .exceptions import PipRequirementError
    from .pypi_requirements import parse_pip_section

    try:
        section = parse_pip_section(spec.pip)
    except PipRequirementError as exc:
        return [f"the pip section cannot be locked: {exc.message}"]
    have = {p.name for p in lock.pypi} | set(provided_by_conda(lock.packages))
    missing = sorted(section.unconditional - have)
    if not missing:
        return []
    return [f"pip requirement(s) {', '.join(missing)} not locked for {platform}"]


@contextlib.contextmanager
def prefetch_pypi(section: PipSection, platform: str,
                  virtual_packages: Sequence[VirtualPackage], *, dependencies: Sequence[str] = (),
                  cache_dir: Path | None = None) -> Iterator[None]:
    """Warm uv's cache for ``section`` while the ``with`` body (the conda solve) runs.

    The locked python and the conda-provided packages are not known before the conda
    solve, so this resolution is a guess (the spec's ``python X.Y`` pin, else this
    interpreter's version; ``platform``; nothing from conda): its result is thrown
    away, but the index pages and wheel metadata it fetched are in uv's cache when
    the real per-platform resolutions run. Best effort: its failures are ignored.
    On normal exit it is waited for; when the body raises, it is stopped.
    """
    from .uv_runner import uv_binary, uv_environment

    try:
        triple, env, _ = uv_platform(platform, virtual_packages)
    except PypiLockError:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="conda-store-pypi-prefetch-") as tmp:
        folder = Path(tmp)
        (folder / "requirements.in").write_text(
            "".join(f"{r}\n" for r in section.requirements), encoding="utf-8")
        args = [uv_binary(), "pip", "compile", str(folder / "requirements.in"),
                "-o", str(folder / "requirements.txt"), "--no-config", "--quiet",
                "--python", sys.executable, "--no-python-downloads",
                "--python-version", _python_guess(dependencies),
                "--python-platform", triple, "--only-binary", ":all:",
                "--index-url", section.index_url]
        for url in section.extra_index_urls:
            args += ["--extra-index-url", url]
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, cwd=folder,
                                   env=uv_environment(cache_dir=cache_dir, extra=dict(env)))
        try:
            yield
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.wait()


def _python_guess(dependencies: Sequence[str]) -> str:
    for dep in dependencies:
        match = re.match(r"^python(?:\s*[= ]\s*|\s*==\s*|\s*>=\s*)(3\.\d+)", dep.strip())
        if match:
            return match.group(1)
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``: a lockfile never holds credentials."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
