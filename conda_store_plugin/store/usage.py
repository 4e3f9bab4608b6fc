"""When was a build last used: the rule, recording it, reading it.

The rule ("used", for ``archive --unused-for``): a build is used

* whenever it is activated: ``conda activate NAME`` and ``conda run -n NAME`` (which
  activates in a subshell), by any user of the store;
* when it becomes current (``conda store build`` succeeding, ``conda store use``,
  ``conda store recreate`` of the current build).

A build's last use is the latest of those times, else the time it was built. Merely
being current is not use: a current build is never archived unless asked, and an
old build that nobody activated since it stopped being current ages from its last use.

How it is recorded:

* Activation: every build's prefix has ``etc/conda/activate.d/~conda-store-used.sh``
  (and ``.bat``), which conda runs on each activation (also inside ``conda run``). It
  truncates ``builds/<N>/used.stamp``: one shell builtin, no process, never fails the
  activation (errors are silenced, e.g. a read-only shared store). Its mtime is the
  last activation. (conda 26's ``conda activate`` does not load plugins, so a
  ``conda_pre_commands`` hook alone would miss most activations.)
* Everything else, and the plugin's ``conda_pre_commands`` hook for ``run``/``activate``
  where it fires: ``builds/<N>/used.json`` (time and how), written atomically without
  any lock (last writer wins), through :func:`write_use` / :func:`record_use`.

:func:`read_use` reports the later of the two.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..atomic import atomic_write_text
from . import records
from .layout import (
    BUILDS_DIR,
    ENV_FILE,
    PREFIX_DIR,
    STORE_FILE,
    USED_FILE,
    EnvRef,
    StoreLayout,
)
from .records import UsageRecord

STAMP_FILE = "used.stamp"
HOOK_NAME = "~conda-store-used"


def write_use(layout: StoreLayout, ref: EnvRef, number: int, how: str) -> None:
    """Record that build ``number`` was used now."""
    record = UsageRecord(records.format_time(records.now_utc()), how)
    records.write("usage", record, layout.used_file(ref, number))


def read_use(layout: StoreLayout, ref: EnvRef, number: int) -> UsageRecord | None:
    """The build's last use (used.json or the activation stamp); None when never used."""
    return read_use_in(os.fspath(layout.build_dir(ref, number)))


def read_use_in(build_dir: str) -> UsageRecord | None:
    """``read_use`` for a build folder path."""
    try:
        recorded = records.read("usage", os.path.join(build_dir, USED_FILE))
    except Exception:  # noqa: BLE001 - missing or damaged used.json: "no record"
        recorded = None
    try:
        mtime = os.stat(os.path.join(build_dir, STAMP_FILE)).st_mtime
    except OSError:
        return recorded
    import datetime

    stamp = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
    if recorded is not None and records.parse_time(recorded.last_used_at) >= \
            stamp.replace(microsecond=0):
        return recorded
    return UsageRecord(records.format_time(stamp), "activate")


def install_activation_hook(prefix: Path, build_dir: Path) -> None:
    """Put the activate.d scripts that stamp ``build_dir/used.stamp`` into ``prefix``."""
    stamp = os.path.abspath(build_dir / STAMP_FILE)
    folder = prefix / "etc" / "conda" / "activate.d"
    header = "conda-store-plugin: records that this build was used " \
             "(`conda store archive --unused-for`)."
    quoted = "'" + stamp.replace("'", "'\\''") + "'"
    atomic_write_text(folder / f"{HOOK_NAME}.sh",
                      f"# {header}\n{{ : > {quoted}; }} 2>/dev/null || true\n")
    atomic_write_text(folder / f"{HOOK_NAME}.bat",
                      f"@REM {header}\r\n@type nul > \"{stamp}\" 2>nul\r\n")


def locate_build(prefix: str | os.PathLike[str]) -> tuple[StoreLayout, EnvRef, int] | None:
    """The store build whose prefix ``prefix`` is (directly or through a link), else None."""
    try:
        real = Path(os.path.realpath(prefix))
    except OSError:
        return None
    if real.name != PREFIX_DIR:
        return None
    build_dir = real.parent
    if not build_dir.name.isdigit() or build_dir.parent.name != BUILDS_DIR:
        return None
    env_dir = build_dir.parent.parent
    root = env_dir.parent.parent
    if not (env_dir / ENV_FILE).is_file() or not (root / STORE_FILE).is_file():
        return None
    ref = EnvRef(env_dir.parent.name, env_dir.name)
    return StoreLayout(root), ref, int(build_dir.name)


def record_use(prefix_or_name: str | os.PathLike[str], *, how: str = "activate",
               envs_dirs: list[str | os.PathLike[str]] | None = None) -> bool:
    """Record a use of the store build behind a prefix path or an environment name.

    For the ``conda_pre_commands`` hook of ``activate`` and ``run``: pass
    ``context.target_prefix`` (or the ``-n`` name with ``envs_dirs``). Returns True when
    a store build was found and recorded; never raises (a failure to record must not
    break the user's command).
    """
    try:
        candidates = [Path(prefix_or_name)]
        text = os.fspath(prefix_or_name)
        if os.sep not in text and "/" not in text:
            from .location import default_envs_dir

            dirs = [Path(d) for d in envs_dirs] if envs_dirs else [default_envs_dir()]
            candidates = [d / text for d in dirs]
        for candidate in candidates:
            found = locate_build(candidate)
            if found is not None:
                write_use(*found, how=how)
                return True
    except Exception:  # noqa: BLE001 - see docstring
        return False
    return False
