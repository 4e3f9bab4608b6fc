"""Our own lockfile as a convert source and target (``conda-store.lock.json``).

The format itself lives in ``conda_store_plugin.lockfile``; this is the adapter
that gives it the same ``read``/``dumps`` shape as the other formats.
"""

from __future__ import annotations

from pathlib import Path

from ..lockfile import DEFAULT_FILENAME, Lockfile
from .common import select_platforms

NAME = "conda-store"
SUFFIX = ".json"
PER_PLATFORM = False


def sniff(head: str) -> bool:
    """Whether the start of a file looks like our lockfile."""
    return head.lstrip().startswith("{") and '"conda-store-lock"' in head


def read(path: Path, *, environment: str | None = None) -> Lockfile:
    """Read and validate ``path`` (``environment`` does not apply)."""
    from .. import lockfile

    return lockfile.read(path)


def dumps(lock: Lockfile, *, platform: str | None = None,
          source: str | Path = DEFAULT_FILENAME) -> str:
    """The lockfile text, optionally for one platform; validated against the schema.

    ``source`` names the file the lock came from, in error messages.
    """
    from ..lockfile import validate_dict

    lock = select_platforms(lock, platform, source)
    validate_dict(lock.to_dict(), path=source)
    return lock.to_json()
