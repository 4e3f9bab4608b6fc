"""Lock-aware ``conda create --file environment.yml``: use a fresh sibling lockfile.

``conda create -n X --file environment.yml`` (and ``conda env create -f environment.yml``,
which conda runs as the same ``create`` command) checks for a ``conda-store.lock.json``
in the same folder. When it was made from this very spec (same input hash, configured
channels unchanged if the spec names none, this machine's platform locked, PyPI lines
unchanged) conda installs the locked packages instead of solving: exactly what
``conda create --file conda-store.lock.json`` does (our environment specifier,
``lock_specifier``), no repodata, no solve. One line on stderr says which lockfile
was used. When the lockfile is out of date (or unreadable), one line on stderr says
why and conda solves environment.yml as before; the lockfile is not changed.

It stays out of the way when: ``--format``/``environment_specifier`` names a format;
several ``--file`` options or package names are given on the command line (conda cannot
combine an explicit package list with specs); ``--clone``; the file is not an
environment.yml (conda's ``cep-24``/``environment.yml`` specifiers); no lockfile is
there; or ``plugins.lock_aware_create`` is false in .condarc
(``CONDA_PLUGINS_LOCK_AWARE_CREATE=false``).

Why this hook: conda 26.7.1 picks the specifier for a file before any plugin code runs
for it. A second specifier claiming ``environment.yml`` makes every such create fail
with ``AmbiguousEnvironmentSpecPlugin`` (filename detection requires exactly one
match), content detection is never reached for that name, ``detection_supported =
False`` plugins are only used with ``--format``, and ``conda_pre_solves`` runs inside
the solver, too late to skip it and unable to change its result. The only hook that
runs after argument parsing and before conda reads the file is
``conda_pre_commands``. It gets only the command name, so it reads ``--file`` from
``context._argparse_args`` and replaces the environment.yml path in that list (the
same list object as the parsed ``args.file``) with the lockfile's path: from there on
conda handles the command exactly as if the user had typed the lockfile.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from pathlib import Path
from typing import Any

#: conda commands this runs for (``conda env create`` runs as ``create``).
RUN_FOR = frozenset({"create"})
#: Specifiers whose files we consider environment.yml files.
_ENV_YML_SPECIFIERS = ("cep-24", "environment.yml")
_ENV_YML_NAMES = ("*.yml", "*.yaml")


def pre_command(command: str) -> None:
    """``conda_pre_commands`` action: swap a fresh lockfile in for environment.yml."""
    from conda.base.context import context

    if not _enabled():
        return
    args = getattr(context, "_argparse_args", None) or {}
    files = args.get("file")
    if not isinstance(files, list) or len(files) != 1:
        return
    if args.get("environment_specifier") or args.get("packages") or args.get("clone"):
        return
    source = files[0]
    if not isinstance(source, str) or "://" in source:
        return
    decision = check(Path(source), context.subdir)
    if decision is None:
        return
    if decision.use:
        files[0] = str(decision.lockfile)
    _say(decision.message)


class Decision:
    """Whether to use the lockfile next to a spec, and what to tell the user."""

    def __init__(self, lockfile: Path, use: bool, message: str) -> None:
        self.lockfile, self.use, self.message = lockfile, use, message


def check(spec_path: Path, platform: str) -> Decision | None:
    """Decide for ``spec_path``; None when there is no lockfile to talk about."""
    from ..exceptions import CondaStoreError
    from ..lockfile import DEFAULT_FILENAME

    if not any(fnmatch.fnmatch(spec_path.name, p) for p in _ENV_YML_NAMES):
        return None
    lock_path = spec_path.parent / DEFAULT_FILENAME
    if not lock_path.is_file() or not spec_path.is_file() or not _is_environment_yml(spec_path):
        return None
    shown = _shown(lock_path)
    try:
        from .. import lockfile
        from ..spec import load_spec

        lock = lockfile.read(lock_path)
        spec = load_spec(spec_path)
        reasons = staleness_here(lock, spec, platform)
    except CondaStoreError as exc:
        return Decision(lock_path, False,
                        f"not using {shown}: {exc.message}; solving {spec_path.name} "
                        "instead.")
    if reasons:
        return Decision(lock_path, False,
                        f"{shown} is out of date for {spec_path.name} "
                        f"({'; '.join(reasons)}): solving {spec_path.name} instead. "
                        "Run `conda store lock` to update the lockfile.")
    count = len(lock.platforms[platform].packages)
    return Decision(lock_path, True,
                    f"{spec_path.name} is locked by {shown} (up to date): installing its "
                    f"{count} locked packages for {platform}, no solve.")


def staleness_here(lock: Any, spec: Any, platform: str) -> list[str]:
    """Why ``lock`` cannot stand in for ``spec`` on ``platform``; empty when it can.

    ``locking.staleness`` for this one platform, taking the lock's own virtual packages
    as the wanted ones: the lock was made for some machine, and which it was does not
    make it out of date.
    """
    from ..config import load_config
    from ..locking import LockOptions, staleness

    locked = lock.platforms.get(platform)
    options = LockOptions(
        platforms=(platform,),
        virtual_packages=tuple(locked.virtual_packages) if locked is not None else (),
        channel_priority=lock.channel_priority,
        config=load_config(),
    )
    return staleness(lock, spec, options)


def _is_environment_yml(path: Path) -> bool:
    """Whether conda would read ``path`` with its environment.yml specifiers."""
    from conda.base.context import context

    try:
        hook = context.plugin_manager.detect_environment_specifier(str(path))
    except Exception:  # noqa: BLE001 - conda reports unreadable files itself, later
        return False
    return hook.name in _ENV_YML_SPECIFIERS


def _enabled() -> bool:
    from conda.base.context import context

    value = getattr(context.plugins, "lock_aware_create", True)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "0", "off")
    return bool(value)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _say(message: str) -> None:
    print(f"conda-store: {message}", file=sys.stderr, flush=True)
