"""Run real conda, isolated from the user's configuration, in tests.

Only used by tests marked ``conda`` (skipped where conda is not importable).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONDARC = """\
channels: []
default_channels: []
solver: rattler
number_channel_notices: 0
notify_outdated_conda: false
auto_update_conda: false
shortcuts: false
register_envs: false
always_yes: true
aggressive_update_packages: []
"""

#: Variables that would leak the developer's own conda setup into a test.
_LEAKY = ("CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_SHLVL", "CONDA_EXE", "_CE_M", "_CE_CONDA",
          "CONDA_PKGS_DIRS", "CONDA_ENVS_DIRS", "CONDA_ENVS_PATH", "CONDARC", "CONDA_STORE_DIR")


def isolated_env(root: Path, *, extra_condarc: str = "") -> dict[str, str]:
    """Environment variables for a conda that sees only ``root``."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    (root / "condarc").write_text(CONDARC + extra_condarc)
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        CONDARC=str(root / "condarc"),
        CONDA_ROOT=str(root / "base"),
        CONDA_ROOT_PREFIX=str(root / "base"),
        CONDA_PKGS_DIRS=str(root / "pkgs"),
        CONDA_ENVS_DIRS=str(root / "envs"),
        RATTLER_CACHE_DIR=str(root / "rattler-cache"),
    )
    return env


def run_conda(*args: str, env: dict[str, str], cwd: Path | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m conda ARGS`` in a subprocess (pip-installed conda has no usable script)."""
    return subprocess.run([sys.executable, "-m", "conda", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
