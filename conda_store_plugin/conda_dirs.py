"""Where conda keeps package caches and named environments, computed when asked.

With conda importable, its ``context`` decides (``pkgs_dirs``, ``envs_dirs``: condarc,
``CONDA_PKGS_DIRS``, ``CONDA_ENVS_PATH``...). Without conda, the same environment
variables are read, else the per-user defaults ``~/.conda/pkgs`` and ``~/.conda/envs``.
Nothing here runs at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def default_pkgs_dir() -> Path:
    """The package cache conda would write to: the first writable of its ``pkgs_dirs``."""
    candidates = _from_conda("pkgs_dirs")
    if candidates is None:
        candidates = _env_list("CONDA_PKGS_DIRS") or [Path("~/.conda/pkgs").expanduser()]
    return _first_writable(candidates)


def default_envs_dir() -> Path:
    """Where ``-n NAME`` environments go: the first writable of conda's ``envs_dirs``."""
    candidates = _from_conda("envs_dirs")
    if candidates is None:
        candidates = (_env_list("CONDA_ENVS_DIRS") or _env_list("CONDA_ENVS_PATH")
                      or [Path("~/.conda/envs").expanduser()])
    return _first_writable(candidates)


def _from_conda(attribute: str) -> list[Path] | None:
    try:
        from conda.base.context import context
    except ImportError:
        return None
    return [Path(p) for p in getattr(context, attribute)]


def _env_list(variable: str) -> list[Path]:
    value = os.environ.get(variable, "")
    parts = value.replace(os.pathsep, ",").split(",") if value else []
    return [Path(os.path.expandvars(p.strip())).expanduser() for p in parts if p.strip()]


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
