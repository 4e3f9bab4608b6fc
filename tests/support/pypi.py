"""Build real wheels, a PEP 503 simple index and a runnable ``python`` conda package.

Everything is written by hand (zipfile, no build backend) and deterministic: the same
:class:`WheelSpec` always gives the same bytes, so sha256 values are stable. The index
is a directory (``<root>/simple/<project>/index.html``, files in ``<root>/files/``,
PEP 658 ``.metadata`` beside every wheel) that :class:`IndexServer` serves on
127.0.0.1, or that uv reads directly through its ``file://`` URL.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import re
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.channels import PackageSpec
from tests.support.server import ChannelServer, _Handler

__all__ = [
    "IndexServer",
    "PypiIndex",
    "WheelSpec",
    "build_index",
    "build_wheel",
    "default_wheels",
    "normalise",
    "runnable_python_package",
]

_ZIP_DATE = (2024, 1, 1, 0, 0, 0)

#: Platform tags of the compiled ``fastlib`` wheels, per conda platform.
FASTLIB_TAGS: dict[str, str] = {
    "linux-64": "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "osx-arm64": "cp311-cp311-macosx_11_0_arm64",
    "win-64": "cp311-cp311-win_amd64",
}


def normalise(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class WheelSpec:
    """One wheel file to build.

    Attributes:
        name: Project name.
        version: Version.
        tag: Compatibility tag triple, e.g. ``py3-none-any`` or ``cp311-cp311-win_amd64``.
        requires: ``Requires-Dist`` lines.
        requires_python: ``Requires-Python``.
        files: Payload ``relpath -> text``; default: ``<module>/__init__.py`` that sets
            ``__version__`` and ``TAG``.
    """

    name: str
    version: str
    tag: str = "py3-none-any"
    requires: Sequence[str] = ()
    requires_python: str | None = None
    files: Mapping[str, str] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "requires", tuple(self.requires))

    @property
    def module(self) -> str:
        """The import name: the project name with ``-``/``.`` as ``_``."""
        return normalise(self.name).replace("-", "_")

    @property
    def filename(self) -> str:
        """``<name>-<version>-<tag>.whl`` with the name escaped as the spec says."""
        return f"{self.module}-{self.version}-{self.tag}.whl"

    @property
    def project(self) -> str:
        """Normalised project name (the index folder)."""
        return normalise(self.name)

    def metadata(self) -> str:
        """The ``METADATA`` file."""
        lines = ["Metadata-Version: 2.1", f"Name: {self.name}", f"Version: {self.version}",
                 f"Summary: test wheel {self.name}"]
        if self.requires_python:
            lines.append(f"Requires-Python: {self.requires_python}")
        lines += [f"Requires-Dist: {r}" for r in self.requires]
        return "\n".join(lines) + "\n"

    def payload(self) -> dict[str, str]:
        """Payload files (without ``.dist-info``)."""
        if self.files is not None:
            return dict(self.files)
        return {f"{self.module}/__init__.py":
                f"__version__ = {self.version!r}\nTAG = {self.tag!r}\n"}


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build_wheel(spec: WheelSpec, out_dir: Path) -> Path:
    """Write ``spec``'s wheel into ``out_dir`` (and its PEP 658 ``.metadata``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dist_info = f"{spec.module}-{spec.version}.dist-info"
    purelib = spec.tag.endswith("-none-any")
    files = {path: text.encode() for path, text in sorted(spec.payload().items())}
    files[f"{dist_info}/METADATA"] = spec.metadata().encode()
    files[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: tests.support.pypi\n"
        f"Root-Is-Purelib: {'true' if purelib else 'false'}\n"
        + "".join(f"Tag: {t}\n" for t in _expand_tag(spec.tag))).encode()
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    path = out_dir / spec.filename
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data)
    (out_dir / (spec.filename + ".metadata")).write_bytes(spec.metadata().encode())
    return path


def _expand_tag(tag: str) -> list[str]:
    pythons, abis, platforms = tag.split("-")
    return [f"{p}-{a}-{pl}" for p in pythons.split(".") for a in abis.split(".")
            for pl in platforms.split(".")]


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class PypiIndex:
    """A built simple index: ``root/simple/...`` and ``root/files/...``."""

    root: Path
    wheels: dict[WheelSpec, Path]

    @property
    def simple(self) -> Path:
        """The ``simple/`` folder."""
        return self.root / "simple"

    @property
    def file_url(self) -> str:
        """``file://`` URL of the simple index."""
        return self.simple.as_uri()

    def wheel(self, name: str, version: str | None = None, tag: str | None = None) -> WheelSpec:
        """The single wheel matching (project, version, tag)."""
        found = [w for w in self.wheels if w.project == normalise(name)
                 and (version is None or w.version == version)
                 and (tag is None or w.tag == tag)]
        if len(found) != 1:
            raise LookupError(f"{name} {version} {tag}: {[w.filename for w in found]}")
        return found[0]

    def sha256(self, spec: WheelSpec) -> str:
        """sha256 of a built wheel."""
        return sha256_of(self.wheels[spec])

    def add(self, specs: Iterable[WheelSpec]) -> None:
        """Build more wheels and rewrite the index pages (a new upload)."""
        for spec in specs:
            self.wheels[spec] = build_wheel(spec, self.root / "files")
        write_pages(self.root, self.wheels)


def write_pages(root: Path, wheels: Mapping[WheelSpec, Path]) -> None:
    """(Re)write ``simple/index.html`` and one page per project."""
    simple = root / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[WheelSpec]] = {}
    for spec in wheels:
        projects.setdefault(spec.project, []).append(spec)
    links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    for project, specs in projects.items():
        rows = []
        for spec in sorted(specs, key=lambda s: s.filename):
            path = wheels[spec]
            meta_sha = sha256_of(path.with_name(path.name + ".metadata"))
            attrs = (f' data-core-metadata="sha256={meta_sha}"'
                     f' data-dist-info-metadata="sha256={meta_sha}"')
            if spec.requires_python:
                attrs += f' data-requires-python="{html.escape(spec.requires_python)}"'
            rows.append(f'<a href="../../files/{path.name}#sha256={sha256_of(path)}"{attrs}>'
                        f"{path.name}</a><br/>\n")
        page = simple / project
        page.mkdir(exist_ok=True)
        (page / "index.html").write_text(
            f"<!DOCTYPE html>\n<html><body>\n<h1>{project}</h1>\n{''.join(rows)}"
            "</body></html>\n")


def build_index(root: Path, specs: Iterable[WheelSpec] | None = None) -> PypiIndex:
    """Build ``specs`` (default :func:`default_wheels`) into a simple index at ``root``."""
    root = Path(root).resolve()
    specs = default_wheels() if specs is None else list(specs)
    wheels = {spec: build_wheel(spec, root / "files") for spec in specs}
    write_pages(root, wheels)
    return PypiIndex(root, wheels)


def default_wheels() -> list[WheelSpec]:
    """The test projects.

    * ``purelib`` 1.0, 1.1: pure Python, no dependencies.
    * ``fastlib`` 1.0 (and 1.1 with :func:`fastlib_11`): compiled, one wheel per
      platform (linux-64, osx-arm64, win-64), needs ``purelib>=1.0``.
    * ``linuxonly`` 1.0: one manylinux wheel, nothing for macOS or Windows.
    * ``provided`` 2.5: also a conda package (version 2.0) in the test channel;
      ``needsprovided`` needs ``provided>=1.5``, ``needsnewprovided`` needs ``provided>=3``.
    * ``torch`` 9.9 and ``usestorch``: conda's ``pytorch`` provides ``torch``.
    """
    wheels = [
        WheelSpec("purelib", "1.0"),
        WheelSpec("purelib", "1.1"),
        *(WheelSpec("fastlib", "1.0", tag=t, requires=["purelib>=1.0"],
                    requires_python=">=3.11") for t in FASTLIB_TAGS.values()),
        WheelSpec("linuxonly", "1.0", tag=FASTLIB_TAGS["linux-64"]),
        WheelSpec("provided", "2.5"),
        WheelSpec("needsprovided", "1.0", requires=["provided>=1.5"]),
        WheelSpec("needsnewprovided", "1.0", requires=["provided>=3"]),
        WheelSpec("torch", "9.9"),
        WheelSpec("usestorch", "1.0", requires=["torch"]),
    ]
    return wheels


def fastlib_11() -> list[WheelSpec]:
    """A later ``fastlib`` release (for ``--update``), needing the newer ``purelib``."""
    return [WheelSpec("fastlib", "1.1", tag=t, requires=["purelib>=1.1"],
                      requires_python=">=3.11") for t in FASTLIB_TAGS.values()]


class _IndexHandler(_Handler):
    def send_header(self, keyword: str, value: str) -> None:
        if keyword == "Content-Type" and value == "application/octet-stream":
            path = self.path.partition("?")[0]
            if path.endswith(("/", ".html")):
                value = "text/html"
            elif path.endswith(".metadata"):
                value = "text/plain"
        super().send_header(keyword, value)


class IndexServer(ChannelServer):
    """A :class:`ChannelServer` for a simple index.

    Answers ``<dir>/`` with ``<dir>/index.html``, as ``text/html`` (uv refuses
    other content types for index pages).
    """

    def start(self) -> IndexServer:
        """Start serving; returns ``self``."""
        super().start()
        assert self._httpd is not None
        self._httpd.RequestHandlerClass = _IndexHandler
        return self

    def _resolve(self, rel: str) -> Path | None:
        file = super()._resolve(rel)
        if file is None and (rel == "" or rel.endswith("/")):
            return super()._resolve(rel + "index.html")
        return file


def runnable_python_package(subdir: str = "linux-64", *, version: str | None = None,
                            **kwargs) -> PackageSpec:
    """A conda ``python`` package that runs: a venv-style wrapper of this interpreter.

    ``bin/python`` execs the interpreter running the tests with ``argv[0]`` set to
    itself, so CPython finds ``<prefix>/pyvenv.cfg``, takes ``<prefix>`` as
    ``sys.prefix`` and uses ``<prefix>/lib/pythonX.Y/site-packages``: what pip or uv
    installs into the environment imports there. POSIX only (bash).
    """
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    info = sys.version_info
    version = version or f"{info.major}.{info.minor}.{info.micro}"
    xy = f"{info.major}.{info.minor}"
    script = f'#!/bin/bash\nexec -a "$0" {base} "$@"\n'
    files = {
        "bin/python": script,
        "bin/python3": script,
        f"bin/python{xy}": script,
        "pyvenv.cfg": (f"home = {base.parent}\ninclude-system-site-packages = false\n"
                       f"version = {info.major}.{info.minor}.{info.micro}\n"),
        f"lib/python{xy}/site-packages/README.txt": "site-packages of the test python\n",
    }
    return dataclasses.replace(
        PackageSpec("python", version, build="h0_0_cpython", subdir=subdir,
                    license="Python-2.0", license_family="PSF", files=files),
        **kwargs)


def python_channel_packages(subdirs: Sequence[str] = tuple(FASTLIB_TAGS)) -> list[PackageSpec]:
    """A conda channel for the pip-section tests.

    * ``python`` 3.X.Y (this interpreter's version): :func:`runnable_python_package`.
    * ``provided`` 2.0 (``noarch: python``): provides the PyPI project ``provided``.
    * ``pytorch`` 9.0 (per platform, depends on python): provides PyPI ``torch``.
    * ``purelib`` 0.5 (``noarch: generic``, no python): NOT a Python package, so it
      does not provide the PyPI ``purelib``.
    * ``clib`` 1.0 (``noarch: generic``): a plain conda package.
    """
    info = sys.version_info
    pin = f"python >={info.major}.{info.minor},<{info.major}.{info.minor + 1}.0a0"
    specs = [runnable_python_package(s) for s in subdirs]
    specs += [PackageSpec("provided", "2.0", noarch="python", depends=["python"],
                          files={"site-packages/provided/__init__.py": "VERSION = '2.0'\n"}),
              PackageSpec("purelib", "0.5", noarch="generic"),
              PackageSpec("clib", "1.0", noarch="generic")]
    specs += [PackageSpec("pytorch", "9.0", subdir=s, depends=[pin]) for s in subdirs]
    return specs
