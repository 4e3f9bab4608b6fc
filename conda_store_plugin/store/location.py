"""Where the store lives, who the default namespace is, where environment links go.

Everything is computed when called, never at import time.

Store directory, first match wins:

1. the ``--store DIR`` option (``store=`` in the API);
2. the ``CONDA_STORE_DIR`` environment variable;
3. the setting ``store_dir`` (``.condarc``: ``plugins: {store_dir: ...}``), read through
   conda where it is installed and from the same files without it (``config.py``);
4. ``~/.conda/store``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Name of the environment variable that sets the store directory.
STORE_DIR_ENV_VAR = "CONDA_STORE_DIR"
#: Name of the conda setting (``context.plugins.store_dir``).
SETTING_NAME = "store_dir"


def store_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store directory (absolute; it need not exist yet)."""
    candidate = explicit or os.environ.get(STORE_DIR_ENV_VAR) or _conda_setting_value()
    if candidate:
        return Path(os.path.expandvars(os.fspath(candidate))).expanduser().absolute()
    return Path.home() / ".conda" / "store"


def _conda_setting_value() -> str | None:
    # load_config reads conda's context inside conda, else the same .condarc files
    # conda would read: `plugins: {store_dir: ...}` works either way.
    from ..config import load_config

    value = load_config().store_dir
    return str(value) if value else None


def default_namespace() -> str:
    """The user's name, made a valid namespace name; ``default`` if it cannot be found."""
    import getpass
    import re

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        user = ""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", user).lstrip(".-")
    return cleaned or "default"


def default_envs_dir() -> Path:
    """Folder where the ``NAME`` link of each environment is made.

    ``conda_store_plugin.conda_dirs.default_envs_dir`` when that module exists; else
    conda's first writable envs dir when conda's context is loaded; else
    ``~/.conda/envs``, which conda always lists in ``envs_dirs``.
    """
    try:
        from .. import conda_dirs  # written by the install engine, may be absent
    except ImportError:
        conda_dirs = None
    if conda_dirs is not None and hasattr(conda_dirs, "default_envs_dir"):
        return Path(conda_dirs.default_envs_dir())
    if "conda.base.context" in sys.modules:
        try:
            from conda.gateways.disk.create import first_writable_envs_dir

            return Path(first_writable_envs_dir())
        except Exception:  # noqa: BLE001 - fall back to the user's folder
            pass
    return Path.home() / ".conda" / "envs"
