"""Where conda keeps package caches and named environments, computed when asked.

The configuration decides (``config.load_config``): conda's ``context`` inside a conda
command, else the ``.condarc`` files and ``CONDA_PKGS_DIRS``/``CONDA_ENVS_DIRS``
variables conda would read, with conda's defaults (``<root prefix>/pkgs``,
``~/.conda/pkgs``; ``~/.conda/envs``). Nothing here runs at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def default_pkgs_dir() -> Path:
    """The package cache conda would write to: the first writable of its ``pkgs_dirs``."""
    from .config import load_config

    dirs = [Path(p) for p in load_config().pkgs_dirs] or [Path("~/.conda/pkgs").expanduser()]
    return _first_writable(dirs)


def default_envs_dir() -> Path:
    """Where ``-n NAME`` environments go: the first writable of conda's ``envs_dirs``."""
    from .config import load_config

    dirs = [Path(p) for p in load_config().envs_dirs] or [Path("~/.conda/envs").expanduser()]
    return _first_writable(dirs)


def _first_writable(candidates: Iterable[Path]) -> Path:
    candidates = list(candidates)
    for path in candidates:
        if _writable_or_creatable(path):
            return path
    return candidates[0]


def _writable_or_creatable(path: Path) -> bool:
    for folder in (path, *path.parents):
        if folder.exists():
            return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    return False
