"""Where a package cache's lock files live: ``<pkgs_dir>/.conda-store/locks/``.

conda only looks at top-level entries of a package cache that hold ``info/index.json``
or end in ``.conda`` / ``.tar.bz2``, and py-rattler only at ``<dist>/`` and
``<dist>.lock``, so this hidden folder is invisible to both. (py-rattler's own
``<dist>.lock`` files are metadata, not locks, and must never be opened by
``filelock``, which may truncate or delete them.)
"""

from __future__ import annotations

import os
from pathlib import Path

#: Our private folder inside a package cache.
PRIVATE_DIR = ".conda-store"

#: File names inside the locks folder.
SQLITE_FILE = "cache.rwlock"
SOFT_FILE = "cache.softlock"
KIND_FILE = "KIND"
HOLDERS_DIR = "holders"


def locks_path(pkgs_dir: Path) -> Path:
    """``<pkgs_dir>/.conda-store/locks``, not created (for readers)."""
    return Path(pkgs_dir) / PRIVATE_DIR / "locks"


def locks_dir(pkgs_dir: Path) -> Path:
    """``<pkgs_dir>/.conda-store/locks``, created on demand."""
    path = locks_path(pkgs_dir)
    if not os.path.isdir(path):  # a stat, not a failing mkdir, for every package
        path.mkdir(parents=True, exist_ok=True)
    return path


def entry_lock_file(folder: Path, dist_name: str) -> Path:
    """The lock file of one cache entry inside the locks ``folder``."""
    return folder / f"{dist_name}.lock"
