"""Other lockfile formats: what ``conda store convert`` reads and writes.

A small registry. Each format is one module (one per external format version)
with ``sniff(head) -> bool`` and ``read(path, *, environment=None) -> Lockfile``
(importable formats) and/or ``dumps(lock, *, platform=None, source=...) -> str``
(exportable formats). Modules are imported only when a format is used.

=============  ======  ======  ==========================================================
name           reads   writes  file
=============  ======  ======  ==========================================================
conda-store    yes     yes     ``conda-store.lock.json``, ours (all platforms)
conda-lock     yes     yes     ``conda-lock.yml``, conda-lock v1 (all platforms)
pixi           yes     no      ``pixi.lock`` v6 and v7, one environment
explicit       no      yes     ``@EXPLICIT`` URL list, one file per platform
env            no      yes     pinned ``environment.yml``, one file per platform
=============  ======  ======  ==========================================================

``detect_format`` also recognises explicit files, so converting one fails with the
reason (they have no dependencies) rather than "unknown format".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

#: How much of a file ``detect_format`` looks at.
SNIFF_CHARS = 64 * 1024


@dataclass(frozen=True)
class FormatInfo:
    """One format: its name, the module that implements it, and its default file name."""

    name: str
    module: str
    description: str
    default_filename: str
    per_platform: bool = False

    def load(self) -> ModuleType:
        """The implementing module, imported on first use."""
        from importlib import import_module

        return import_module(f"{__name__}.{self.module}")


_CONDA_STORE = FormatInfo("conda-store", "conda_store", "conda-store lockfile",
                          "conda-store.lock.json")
_CONDA_LOCK = FormatInfo("conda-lock", "conda_lock_v1", "conda-lock v1 lockfile",
                         "conda-lock.yml")
_PIXI = FormatInfo("pixi", "pixi_lock", "pixi.lock (v6, v7), one environment", "pixi.lock")
_EXPLICIT = FormatInfo("explicit", "explicit", "conda explicit file, one per platform",
                       "explicit.txt", per_platform=True)
_ENV = FormatInfo("env", "env_yaml", "pinned environment.yml, one per platform",
                  "environment.pinned.yml", per_platform=True)

#: Formats ``convert`` writes (``--to``).
EXPORT_FORMATS: dict[str, FormatInfo] = {
    f.name: f for f in (_CONDA_STORE, _EXPLICIT, _CONDA_LOCK, _ENV)}
#: Formats ``convert`` reads (``--from``).
IMPORT_FORMATS: dict[str, FormatInfo] = {f.name: f for f in (_CONDA_STORE, _CONDA_LOCK, _PIXI)}
#: Formats ``detect_format`` recognises, in the order it tries them.
RECOGNISED: dict[str, FormatInfo] = {
    f.name: f for f in (_CONDA_STORE, _EXPLICIT, _PIXI, _CONDA_LOCK)}


def read_head(path: str | Path, chars: int = SNIFF_CHARS) -> str:
    """The first ``chars`` characters of a file; a missing file is a ``FormatError``."""
    from ..exceptions import FormatError

    path = Path(path)
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.read(chars)
    except FileNotFoundError:
        raise FormatError(path, "no such file",
                          hint="Pass the path of a lockfile to convert.") from None
    except IsADirectoryError:
        raise FormatError(path, "is a folder, not a file",
                          hint="Pass the path of a lockfile to convert.") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc}") from exc


def detect_format(path: str | Path) -> str:
    """The name of the format of ``path`` (a key of ``RECOGNISED``), from its first bytes.

    Raises:
        FormatError: the file is missing or unreadable.
        UnknownFormatError: it is none of the recognised formats.
    """
    from ..exceptions import UnknownFormatError

    head = read_head(path)
    for name, info in RECOGNISED.items():
        if info.load().sniff(head):
            return name
    raise UnknownFormatError(path, IMPORT_FORMATS)
