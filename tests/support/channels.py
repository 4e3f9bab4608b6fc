"""Build real, deterministic conda packages and indexed channels for tests.

Everything here writes genuine package archives (``.conda`` and ``.tar.bz2``) with
``info/index.json``, ``info/paths.json``, ``info/files`` and real payload files, then
indexes them with py-rattler's indexer. Archives are byte-reproducible: the same
:class:`PackageSpec` always produces the same bytes (fixed mtimes/owners, sorted
members, fixed compression levels), so sha256/md5 values are stable across runs.
"""

from __future__ import annotations

import asyncio
import bz2
import dataclasses
import hashlib
import io
import json
import random
import tarfile
import threading
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

try:  # Python >= 3.14 ships zstd in the stdlib
    from compression import zstd as _zstd  # type: ignore[import-not-found]
except ImportError:  # conda-package-handling depends on the backport
    from backports import zstd as _zstd  # type: ignore[no-redef]

__all__ = [
    "ALL_SUBDIRS",
    "ARCH_SUBDIRS",
    "BASE_TIMESTAMP",
    "PREFIX_PLACEHOLDER",
    "Channel",
    "PackageSpec",
    "build_channel",
    "build_package",
    "default_packages",
    "for_subdirs",
    "index_channel",
    "package_digest",
]

PackageFormat = Literal[".conda", ".tar.bz2"]
NoArch = Literal["python", "generic"]

#: Platform subdirs of the default channel (``noarch`` is always added).
ARCH_SUBDIRS: tuple[str, ...] = ("linux-64", "osx-arm64", "win-64")
ALL_SUBDIRS: tuple[str, ...] = (*ARCH_SUBDIRS, "noarch")

#: 2024-01-01T00:00:00Z in milliseconds, the epoch of the default package set.
BASE_TIMESTAMP = 1_704_067_200_000
_DAY_MS = 86_400_000

#: conda-build's standard placeholder that installers replace with the target prefix.
PREFIX_PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"

# Fixed archive metadata so output is byte-identical across runs and machines.
_TAR_MTIME = 1_704_067_200  # seconds, must be >= 1980 for zip compatibility
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)
_ZSTD_LEVEL = 19
_BZ2_LEVEL = 9

# subdir -> (index.json "platform", index.json "arch"), as conda-build writes them.
_PLATFORM_ARCH: dict[str, tuple[str | None, str | None]] = {
    "noarch": (None, None),
    "linux-64": ("linux", "x86_64"),
    "linux-aarch64": ("linux", "aarch64"),
    "linux-ppc64le": ("linux", "ppc64le"),
    "osx-64": ("osx", "x86_64"),
    "osx-arm64": ("osx", "arm64"),
    "win-64": ("win", "x86_64"),
    "win-arm64": ("win", "arm64"),
}


@dataclass(frozen=True)
class PackageSpec:
    """Description of one package archive to build.

    Attributes:
        name: Package name.
        version: Package version string.
        build_number: Build number.
        build: Build string; defaults to ``h0_<build_number>`` (``pyh0_<n>`` for
            ``noarch: python``), like conda-build's hash-style strings.
        subdir: Target subdir, e.g. ``linux-64``, ``osx-arm64``, ``win-64``, ``noarch``.
            Forced to ``noarch`` when ``noarch`` is set.
        noarch: ``"python"``, ``"generic"`` or ``None``.
        depends: Run dependencies as match specs.
        constrains: Run constraints as match specs.
        files: Payload files ``relpath -> content``; ``None`` gives one unique file
            ``share/<name>/<name>.txt`` mentioning name, version, build and subdir.
        timestamp: Build timestamp in milliseconds (fixed for determinism).
        format: Archive format, ``.conda`` or ``.tar.bz2``.
        license: SPDX license in index.json.
        license_family: License family in index.json.
        summary: Summary written to ``info/about.json``.
        prefix_files: Payload paths containing :data:`PREFIX_PLACEHOLDER` that the
            installer must rewrite (recorded as text-mode placeholders).
        extra_index: Extra keys merged into index.json (e.g. ``track_features``).
    """

    name: str
    version: str
    build_number: int = 0
    build: str = ""
    subdir: str = "linux-64"
    noarch: NoArch | None = None
    depends: Sequence[str] = ()
    constrains: Sequence[str] = ()
    files: Mapping[str, bytes | str] | None = field(default=None, hash=False)
    timestamp: int = BASE_TIMESTAMP
    format: PackageFormat = ".conda"
    license: str | None = "BSD-3-Clause"
    license_family: str | None = "BSD"
    summary: str | None = None
    prefix_files: Sequence[str] = ()
    extra_index: Mapping[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        # Normalise so specs are hashable and comparable regardless of list/tuple input.
        set_ = object.__setattr__
        set_(self, "depends", tuple(self.depends))
        set_(self, "constrains", tuple(self.constrains))
        set_(self, "prefix_files", tuple(self.prefix_files))
        if self.noarch is not None:
            set_(self, "subdir", "noarch")
        if not self.build:
            prefix = "pyh0" if self.noarch == "python" else "h0"
            set_(self, "build", f"{prefix}_{self.build_number}")
        if self.format not in (".conda", ".tar.bz2"):
            raise ValueError(f"unknown package format {self.format!r}")
        if self.subdir not in _PLATFORM_ARCH:
            raise ValueError(f"unknown subdir {self.subdir!r}")

    @property
    def dist_name(self) -> str:
        """``name-version-build`` without extension."""
        return f"{self.name}-{self.version}-{self.build}"

    @property
    def filename(self) -> str:
        """Archive file name, e.g. ``libzlib-1.3.1-h0_0.conda``."""
        return self.dist_name + self.format

    @property
    def relpath(self) -> str:
        """Path of the archive relative to the channel root (``subdir/filename``)."""
        return f"{self.subdir}/{self.filename}"

    def payload(self) -> dict[str, bytes]:
        """Return the payload files as ``relpath -> bytes`` (sorted by path)."""
        files = self.files
        if files is None:
            text = (
                f"{self.name} {self.version} build {self.build} for {self.subdir}\n"
                "generated by tests/support/channels.py\n"
            )
            files = {f"share/{self.name}/{self.name}.txt": text}
        out = {
            path: data.encode() if isinstance(data, str) else bytes(data)
            for path, data in files.items()
        }
        for path in out:
            if path.startswith(("/", "info/")) or ".." in path.split("/"):
                raise ValueError(f"invalid payload path {path!r} in {self.dist_name}")
        missing = set(self.prefix_files) - set(out)
        if missing:
            raise ValueError(f"prefix_files not in payload: {sorted(missing)}")
        return dict(sorted(out.items()))

    def index_json(self) -> dict[str, Any]:
        """Return ``info/index.json`` content as conda-build writes it."""
        platform, arch = _PLATFORM_ARCH[self.subdir]
        index: dict[str, Any] = {
            "arch": arch,
            "build": self.build,
            "build_number": self.build_number,
            "depends": list(self.depends),
            "license": self.license,
            "license_family": self.license_family,
            "name": self.name,
            "platform": platform,
            "subdir": self.subdir,
            "timestamp": self.timestamp,
            "version": self.version,
        }
        if self.constrains:
            index["constrains"] = list(self.constrains)
        if self.noarch:
            index["noarch"] = self.noarch
        if self.license is None:
            del index["license"]
        if self.license_family is None:
            del index["license_family"]
        if self.extra_index:
            index.update(self.extra_index)
        return dict(sorted(index.items()))


def for_subdirs(spec: PackageSpec, subdirs: Iterable[str] = ARCH_SUBDIRS) -> list[PackageSpec]:
    """Replicate an arch-specific spec for several subdirs."""
    return [dataclasses.replace(spec, subdir=s) for s in subdirs]


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def _info_files(spec: PackageSpec, payload: Mapping[str, bytes]) -> dict[str, bytes]:
    """Build the ``info/`` files describing ``payload``."""
    prefix_files = set(spec.prefix_files)
    entries = []
    for path, data in payload.items():
        entry: dict[str, Any] = {
            "_path": path,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        if path in prefix_files:
            entry["file_mode"] = "text"
            entry["prefix_placeholder"] = PREFIX_PLACEHOLDER
        entries.append(entry)
    info = {
        "info/index.json": _json_bytes(spec.index_json()),
        "info/paths.json": _json_bytes({"paths": entries, "paths_version": 1}),
        "info/files": "".join(f"{p}\n" for p in payload).encode(),
        "info/about.json": _json_bytes(
            {"summary": spec.summary or f"Test package {spec.name}", "license": spec.license}
        ),
    }
    if prefix_files:
        info["info/has_prefix"] = "".join(
            f"{PREFIX_PLACEHOLDER} text {p}\n" for p in payload if p in prefix_files
        ).encode()
    if spec.noarch == "python":
        info["info/link.json"] = _json_bytes(
            {"noarch": {"type": "python"}, "package_metadata_version": 1}
        )
    return dict(sorted(info.items()))


def _tar_bytes(members: Mapping[str, bytes]) -> bytes:
    """Uncompressed tar of ``members`` with fixed, anonymous metadata."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in members.items():
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            ti.mtime = _TAR_MTIME
            # Executables keep their bit so installers produce runnable scripts.
            ti.mode = 0o755 if path.startswith(("bin/", "Scripts/")) else 0o644
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _zip_entry(name: str) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    zi.compress_type = zipfile.ZIP_STORED
    zi.create_system = 3  # unix, independent of the building host
    zi.external_attr = 0o100644 << 16
    return zi


def _write_conda(
    path: Path, spec: PackageSpec, info: Mapping[str, bytes], payload: Mapping[str, bytes]
) -> None:
    # Same layout as conda-package-handling: metadata.json, pkg-*, info-* (all STORED).
    components = {
        "metadata.json": json.dumps({"conda_pkg_format_version": 2}).encode(),
        f"pkg-{spec.dist_name}.tar.zst": _zstd.compress(_tar_bytes(payload), _ZSTD_LEVEL),
        f"info-{spec.dist_name}.tar.zst": _zstd.compress(_tar_bytes(info), _ZSTD_LEVEL),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in components.items():
            zf.writestr(_zip_entry(name), data)


def _write_tar_bz2(path: Path, info: Mapping[str, bytes], payload: Mapping[str, bytes]) -> None:
    # info/ first so readers can stop early, like conda-build does.
    members = {**info, **payload}
    path.write_bytes(bz2.compress(_tar_bytes(members), _BZ2_LEVEL))


def build_package(spec: PackageSpec, out_dir: Path) -> Path:
    """Write the archive for ``spec`` into ``out_dir`` and return its path.

    Args:
        spec: The package to build.
        out_dir: Target directory (created if needed); usually ``<channel>/<subdir>``.

    Returns:
        Path of the written ``.conda`` or ``.tar.bz2`` archive.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = spec.payload()
    info = _info_files(spec, payload)
    path = out_dir / spec.filename
    # Write-then-rename: a reader (or xdist sibling) never sees a half-written archive.
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    if spec.format == ".conda":
        _write_conda(tmp, spec, info, payload)
    else:
        _write_tar_bz2(tmp, info, payload)
    tmp.replace(path)
    return path


def package_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``sha256`` or ``md5``)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _run_coro(coro: Any) -> Any:
    """Run a coroutine even if the caller already runs an event loop (async tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[Any] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    t = threading.Thread(target=runner)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return result[0]


def index_channel(root: Path, *, write_zst: bool = True, write_shards: bool = True) -> None:
    """(Re-)index a channel directory with py-rattler, writing ``repodata.json`` per subdir.

    Args:
        root: Channel root containing subdirs (``noarch/`` is created if missing).
        write_zst: Also write ``repodata.json.zst``.
        write_shards: Also write sharded repodata (``repodata_shards.msgpack.zst``).
    """
    from rattler.index import index_fs

    root = Path(root)
    (root / "noarch").mkdir(parents=True, exist_ok=True)
    _run_coro(index_fs(root, write_zst=write_zst, write_shards=write_shards, force=True))
    # The indexer leaves an empty scratch dir behind; drop it so channel trees stay clean.
    scratch = root / ".tmp"
    if scratch.is_dir() and not any(scratch.iterdir()):
        scratch.rmdir()


@dataclass
class Channel:
    """A built and indexed channel on disk.

    Attributes:
        path: Channel root directory (resolved).
        packages: Built archives, ``spec -> archive path``.
        write_zst: Whether indexing writes ``repodata.json.zst`` (reused by :meth:`add`).
        write_shards: Whether indexing writes sharded repodata (reused by :meth:`add`).
    """

    path: Path
    packages: dict[PackageSpec, Path]
    write_zst: bool = True
    write_shards: bool = True

    @property
    def url(self) -> str:
        """``file://`` URI of the channel root (no trailing slash)."""
        return self.path.resolve().as_uri()

    @property
    def specs(self) -> list[PackageSpec]:
        """All package specs in build order."""
        return list(self.packages)

    @property
    def subdirs(self) -> list[str]:
        """Subdirs present in the channel (always includes ``noarch``)."""
        return sorted(p.name for p in self.path.iterdir() if (p / "repodata.json").is_file())

    def find(
        self,
        name: str,
        version: str | None = None,
        subdir: str | None = None,
        build: str | None = None,
        format: PackageFormat | None = None,
    ) -> list[PackageSpec]:
        """Specs matching all given (exact) fields."""
        return [
            s
            for s in self.packages
            if s.name == name
            and (version is None or s.version == version)
            and (subdir is None or s.subdir == subdir)
            and (build is None or s.build == build)
            and (format is None or s.format == format)
        ]

    def spec(
        self,
        name: str,
        version: str | None = None,
        subdir: str | None = None,
        build: str | None = None,
        format: PackageFormat | None = None,
    ) -> PackageSpec:
        """The single spec matching the filters.

        When the only ambiguity is the archive format of one ``name-version-build``,
        the ``.conda`` one is returned, as solvers prefer it.

        Raises:
            LookupError: No match, or several distinct packages match.
        """
        found = self.find(name, version, subdir, build, format)
        if len({(s.subdir, s.dist_name) for s in found}) == 1 and len(found) > 1:
            found = [s for s in found if s.format == ".conda"]
        if len(found) != 1:
            what = ", ".join(s.relpath for s in found) or "nothing"
            raise LookupError(
                f"{name} (version={version}, subdir={subdir}, build={build}, format={format}) "
                f"matched {what}; pass more filters"
            )
        return found[0]

    def archive_path(
        self,
        name: str,
        version: str | None = None,
        subdir: str | None = None,
        build: str | None = None,
        format: PackageFormat | None = None,
    ) -> Path:
        """Path of the single archive matching the filters (see :meth:`spec`)."""
        return self.packages[self.spec(name, version, subdir, build, format)]

    def archive_url(
        self,
        name: str,
        version: str | None = None,
        subdir: str | None = None,
        build: str | None = None,
        format: PackageFormat | None = None,
        base_url: str | None = None,
    ) -> str:
        """URL of the archive under ``base_url`` (default: this channel's file URL)."""
        spec = self.spec(name, version, subdir, build, format)
        return f"{(base_url or self.url).rstrip('/')}/{spec.relpath}"

    def sha256(
        self,
        name: str,
        version: str | None = None,
        subdir: str | None = None,
        build: str | None = None,
        format: PackageFormat | None = None,
    ) -> str:
        """sha256 of the single matching archive."""
        return package_digest(self.archive_path(name, version, subdir, build, format))

    def md5(
        self,
        name: str,
        version: str | None = None,
        subdir: str | None = None,
        build: str | None = None,
        format: PackageFormat | None = None,
    ) -> str:
        """md5 of the single matching archive."""
        return package_digest(self.archive_path(name, version, subdir, build, format), "md5")

    def repodata(self, subdir: str) -> dict[str, Any]:
        """Parsed ``<subdir>/repodata.json``."""
        return json.loads((self.path / subdir / "repodata.json").read_text())

    def add(self, specs: Iterable[PackageSpec]) -> list[Path]:
        """Build more packages into this channel and re-index (a "new upstream release")."""
        paths = []
        for spec in specs:
            paths.append(build_package(spec, self.path / spec.subdir))
            self.packages[spec] = paths[-1]
        self.reindex()
        return paths

    def remove(self, *specs: PackageSpec) -> None:
        """Delete archives from the channel and re-index (a "yanked" package)."""
        for spec in specs:
            self.packages.pop(spec).unlink()
        self.reindex()

    def reindex(self) -> None:
        """Re-run the indexer, e.g. after editing the channel directory by hand."""
        index_channel(self.path, write_zst=self.write_zst, write_shards=self.write_shards)


def build_channel(
    root: Path,
    specs: Iterable[PackageSpec] | None = None,
    *,
    write_zst: bool = True,
    write_shards: bool = True,
) -> Channel:
    """Build ``specs`` into ``root/<subdir>/`` and index the channel.

    Args:
        root: Channel root (created if needed).
        specs: Packages to build; ``None`` means :func:`default_packages`.
        write_zst: Also write ``repodata.json.zst`` per subdir.
        write_shards: Also write sharded repodata per subdir.

    Returns:
        The built :class:`Channel`.

    Raises:
        ValueError: Two specs would produce the same archive file.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()  # so channel.path and channel.url / record URLs agree
    specs = default_packages() if specs is None else list(specs)
    seen: dict[str, PackageSpec] = {}
    for spec in specs:
        if spec.relpath in seen:
            raise ValueError(f"duplicate package file {spec.relpath}")
        seen[spec.relpath] = spec
    packages = {spec: build_package(spec, root / spec.subdir) for spec in specs}
    index_channel(root, write_zst=write_zst, write_shards=write_shards)
    return Channel(root, packages, write_zst=write_zst, write_shards=write_shards)


def _blob(name: str, size: int) -> bytes:
    # Incompressible but deterministic: a fixed-seed PRNG stream.
    return random.Random(name).randbytes(size)


def default_packages() -> list[PackageSpec]:
    """A tiny but realistic ecosystem for linux-64, osx-arm64, win-64 and noarch.

    Timestamps grow with versions (older releases are older), so ``exclude_newer``
    style filters are testable: ``BASE_TIMESTAMP + n days``.
    """
    specs: list[PackageSpec] = []

    def ts(days: int) -> int:
        return BASE_TIMESTAMP + days * _DAY_MS

    def arch(name: str, version: str, subdirs: Iterable[str] = ARCH_SUBDIRS, **kw: Any) -> None:
        specs.extend(for_subdirs(PackageSpec(name, version, **kw), subdirs))

    def noarch(name: str, version: str, kind: NoArch = "generic", **kw: Any) -> None:
        specs.append(PackageSpec(name, version, noarch=kind, **kw))

    zlib = {"license": "Zlib", "license_family": "Other"}
    psf = {"license": "Python-2.0", "license_family": "PSF", "build": "h0_0_cpython"}

    # --- per platform (linux-64, osx-arm64, win-64) ---------------------------------
    # libzlib: leaf C library, two versions; 1.2.13 only as legacy .tar.bz2, 1.3.1 in BOTH
    # formats (like conda-forge) so dual-format repodata and "prefer .conda" are covered.
    arch("libzlib", "1.2.13", timestamp=ts(0), format=".tar.bz2", **zlib)
    arch("libzlib", "1.3.1", timestamp=ts(10), **zlib)
    arch("libzlib", "1.3.1", timestamp=ts(10), format=".tar.bz2", **zlib)
    # libfoo: mid-level library; 1.0.0 accepts the old zlib, 1.1.0 needs the new one, so
    # "lowest" and "highest" solve strategies give different environments.
    arch("libfoo", "1.0.0", timestamp=ts(1), depends=["libzlib >=1.2.13,<2.0a0"])
    arch("libfoo", "1.1.0", timestamp=ts(11), depends=["libzlib >=1.3.1,<2.0a0"])
    # python: FAKE interpreter (one text file, no executable), two minor versions, so
    # noarch: python packages get a site-packages target and python pins can vary.
    arch("python", "3.11.7", timestamp=ts(2), format=".tar.bz2",
         depends=["libzlib >=1.2.13,<2.0a0"], **psf)  # fmt: skip
    arch("python", "3.12.1", timestamp=ts(12), depends=["libzlib >=1.3.1,<2.0a0"], **psf)
    # numpylike: compiled extension with python-variant builds; 2.0.0 has py311 and py312
    # builds (the python pin picks one) and constrains purepkg (an optional dependency).
    py312 = ["python >=3.12,<3.13.0a0"]
    arch("numpylike", "1.0.0", build="py312h0_0", timestamp=ts(3), format=".tar.bz2",
         depends=[*py312, "libfoo >=1.0"])  # fmt: skip
    arch("numpylike", "1.1.0", build="py312h0_0", timestamp=ts(13),
         depends=[*py312, "libfoo >=1.0"])  # fmt: skip
    for tag, pin in (("py311", "python >=3.11,<3.12.0a0"), ("py312", py312[0])):
        arch("numpylike", "2.0.0", build=f"{tag}h0_0", timestamp=ts(20),
             depends=[pin, "libfoo >=1.1"], constrains=["purepkg >=1.1"])  # fmt: skip
    # constrainer: run_constrained only; caps libfoo <1.1, so it conflicts with numpylike 2.
    arch("constrainer", "1.0.0", timestamp=ts(5), constrains=["libfoo <1.1"])
    # conflict-a / conflict-b: each installable alone, unsatisfiable together.
    arch("conflict-a", "1.0.0", timestamp=ts(6), depends=["libzlib 1.2.*"])
    arch("conflict-b", "1.0.0", timestamp=ts(6), depends=["libzlib >=1.3"])
    # prefixpkg: several files, an executable bin/ script and text files containing the
    # prefix placeholder, for install tests of prefix replacement and file modes.
    arch("prefixpkg", "1.0.0", timestamp=ts(7),
         files={"bin/prefixpkg": f"#!/bin/sh\necho {PREFIX_PLACEHOLDER}/share/prefixpkg\n",
                "etc/prefixpkg.conf": f"prefix={PREFIX_PLACEHOLDER}\n",
                "share/prefixpkg/README.txt": "prefixpkg 1.0.0\n"},
         prefix_files=["bin/prefixpkg", "etc/prefixpkg.conf"])  # fmt: skip
    # cudapkg: needs the __cuda virtual package; not built for osx (no CUDA there).
    arch("cudapkg", "1.0.0", ("linux-64", "win-64"), timestamp=ts(8), depends=["__cuda >=12"])

    # --- noarch ---------------------------------------------------------------------
    # purepkg: noarch: python, two versions/formats. Payload deliberately has no *.py file
    # so conda does not try to byte-compile it with the fake python.
    for ver, day, fmt in (("1.0.0", 4, ".tar.bz2"), ("1.1.0", 14, ".conda")):
        dist_info = f"site-packages/purepkg-{ver}.dist-info"
        noarch("purepkg", ver, "python", timestamp=ts(day), format=fmt,
               depends=["python >=3.8"], license="MIT", license_family="MIT",
               files={"site-packages/purepkg/VERSION.txt": f"purepkg {ver}\n",
                      f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: purepkg\n"
                                               f"Version: {ver}\n",
                      f"{dist_info}/INSTALLER": "conda\n"})  # fmt: skip
    # data-pkg: noarch: generic data only, no dependencies.
    noarch("data-pkg", "0.1.0", timestamp=ts(4),
           files={"share/data-pkg/data.json": '{"answer": 42}\n'})  # fmt: skip
    # unixtool / wintool: noarch packages gated on the __unix / __win virtual packages.
    noarch("unixtool", "1.0.0", timestamp=ts(4), depends=["__unix"])
    noarch("wintool", "1.0.0", timestamp=ts(4), depends=["__win"])
    # shellwrap: conda-forge's pattern of one noarch version with a unix and a win build;
    # the solver picks a different build per platform.
    for osdep, tag in (("__unix", "unix"), ("__win", "win")):
        noarch("shellwrap", "1.0.0", "python", build=f"{tag}_pyh0_0", timestamp=ts(9),
               depends=["python >=3.8", osdep])  # fmt: skip
    # blob: 256 KiB incompressible payload for download/bandwidth/caching tests.
    noarch("blob", "1.0.0", timestamp=ts(4),
           files={"share/blob/blob.bin": _blob("blob", 256 * 1024)})  # fmt: skip
    # orphan: depends on a package that exists nowhere -> "missing dependency" errors.
    noarch("orphan", "1.0.0", timestamp=ts(4), depends=["does-not-exist >=1"])
    # stack: metapackage (no files) pulling a whole environment.
    noarch("stack", "1.0.0", timestamp=ts(21), depends=["numpylike >=1", "purepkg", "data-pkg"],
           files={})  # fmt: skip
    return specs
