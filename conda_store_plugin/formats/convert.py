"""Convert a lockfile between formats: read (detecting the format), render, write.

Everything is read and rendered in memory first; files are written only when
every output rendered, each atomically, so a bad input leaves the disk as it was.
(A disk error while writing the second of several per-platform files leaves the
first one written.)

Output names: ``output`` if given (a folder gets the default file name inside
it), else the target format's default file name beside the source. Formats with
one platform per file (``explicit``, ``env``) write to that name when one platform
is converted, and to ``<stem>.<platform><suffix>`` per platform when several are
(``explicit.linux-64.txt``, ``explicit.osx-arm64.txt``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: What each target format cannot carry, reported with the result.
_LOSSES = {
    "explicit": "explicit files carry URLs and hashes only: no dependencies, sizes or "
                "virtual packages",
    "conda-lock": "conda-lock v1 has no sizes, build numbers, constrains, timestamps or "
                  "licenses; our spec and virtual packages ride in custom_metadata",
    "env": "a pinned environment.yml has exact builds but no URLs or hashes",
}


@dataclass(frozen=True)
class ConvertedFile:
    """One file ``convert`` wrote."""

    path: Path
    platform: str | None  # None: the file holds every converted platform
    packages: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": str(self.path), "platform": self.platform, "packages": self.packages}


@dataclass(frozen=True)
class ConvertResult:
    """What ``convert`` did."""

    source: Path
    source_format: str
    target_format: str
    files: tuple[ConvertedFile, ...]
    platforms: Mapping[str, int] = field(default_factory=dict)  # packages per platform
    environment: str | None = None  # the pixi environment converted
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "source": str(self.source),
            "from": self.source_format,
            "to": self.target_format,
            "environment": self.environment,
            "platforms": dict(self.platforms),
            "files": [f.to_dict() for f in self.files],
            "notes": list(self.notes),
        }


def output_paths(base: Path, platforms: list[str], *, per_platform: bool,
                 suffix: str) -> list[tuple[str | None, Path]]:
    """Where each output goes: ``base`` alone, or one ``<stem>.<platform><suffix>`` each."""
    if not per_platform:
        return [(None, base)]
    if len(platforms) == 1:
        return [(platforms[0], base)]
    stem, ext = (base.stem, base.suffix) if base.suffix else (base.name, suffix)
    return [(p, base.with_name(f"{stem}.{p}{ext}")) for p in platforms]


def convert_file(
    *,
    source: str | Path,
    output: str | Path | None = None,
    to: str = "conda-store",
    from_format: str | None = None,
    platform: str | None = None,
    environment: str | None = None,
) -> ConvertResult:
    """See ``conda_store_plugin.api.convert``."""
    from ..atomic import atomic_write_text
    from ..exceptions import CondaStoreError, FormatError
    from . import EXPORT_FORMATS, IMPORT_FORMATS, RECOGNISED, detect_format
    from .common import select_platforms

    source = Path(source)
    if to not in EXPORT_FORMATS:
        raise CondaStoreError(f"cannot convert to {to!r}",
                              hint="Use one of: " + ", ".join(EXPORT_FORMATS) + ".")
    if from_format is not None and from_format not in RECOGNISED:
        raise CondaStoreError(f"cannot read format {from_format!r}",
                              hint="Use one of: " + ", ".join(IMPORT_FORMATS) + ".")
    source_format = from_format or detect_format(source)
    if environment is not None and source_format != "pixi":
        raise CondaStoreError(f"--environment applies to pixi.lock files, and {source} is "
                              f"a {source_format} file",
                              hint="Leave out --environment.")

    lock = RECOGNISED[source_format].load().read(source, environment=environment)
    lock = select_platforms(lock, platform, source)

    target = EXPORT_FORMATS[to]
    module = target.load()
    base = Path(output) if output is not None else source.parent
    if base.is_dir():
        base = base / target.default_filename
    planned = output_paths(base, sorted(lock.platforms), per_platform=target.per_platform,
                           suffix=module.SUFFIX)
    rendered = []
    for plat, path in planned:
        if path.resolve() == source.resolve():
            raise FormatError(path, "is the file being converted; writing there would "
                                    "replace it",
                              hint="Pass another output path with -o.")
        text = module.dumps(lock, platform=plat, source=source)
        count = (len(lock.platforms[plat].packages) if plat is not None
                 else sum(len(p.packages) for p in lock.platforms.values()))
        rendered.append((ConvertedFile(path, plat, count), text))
    for converted, text in rendered:
        try:
            atomic_write_text(converted.path, text)
        except OSError as exc:
            raise CondaStoreError(f"cannot write {converted.path}: {exc.strerror or exc}",
                                  hint="Check that the folder is writable, or pass another "
                                       "path with -o.") from exc

    converted_from = dict(lock.extra_metadata.get("converted_from", {}))
    notes = []
    if converted_from.get("spec") == "reconstructed":
        notes.append(f"{source_format} records no requested specs: the spec is the channels "
                     "and the top-level packages of the lock")
    unknown = {(pkg.url, pkg.sha256) for plock in lock.platforms.values()
               for pkg in plock.packages if not pkg.size}
    if unknown and to == "conda-store":
        notes.append(f"{len(unknown)} package(s) without a size in the {source_format} file "
                     "(recorded as 0): `conda create --file` fetches them into the package "
                     "cache before planning, sha256 checked")
    if converted_from.get("skipped"):
        notes.append("left out (not category main, or optional): "
                     + ", ".join(converted_from["skipped"]))
    if to in _LOSSES:
        notes.append(_LOSSES[to])
    return ConvertResult(
        source=source,
        source_format=source_format,
        target_format=to,
        files=tuple(c for c, _ in rendered),
        platforms={p: len(pl.packages) for p, pl in sorted(lock.platforms.items())},
        environment=converted_from.get("environment"),
        notes=tuple(notes),
    )
