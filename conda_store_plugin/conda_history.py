"""``conda-meta/history`` in conda's format (conda 26.7.1 ``conda/history.py``).

An entry is::

    ==> 2026-11-25 12:00:00 <==
    # cmd: conda store install conda-store.lock.json -n demo
    # conda version: 26.7.1
    -<channel>/<subdir>::name-version-build      (left the environment)
    +<channel>/<subdir>::name-version-build      (entered it)
    # remove specs: ['old']
    # update specs: ['python >=3.12', 'numpy']

conda replays the ``update``/``remove`` spec lines to know what the user asked for
(``History.get_requested_specs_map``); its solvers keep those packages and may drop
everything else. An environment whose history names no specs therefore loses *all* its
packages on ``conda remove --solver rattler PKG``. The ``+``/``-`` lines are diffs
against the state the previous entries describe; conda writes the next diff from its
own ``dist_str()`` of the records, so ours must spell the channel the same way
(``Channel.canonical_name``: ``conda-forge``, or the URL without the subdir).
"""

from __future__ import annotations

import ast
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from .lockfile import LockedPackage
from .pkgs_cache import conda_channel

_HEAD = re.compile(r"==>\s*(.+?)\s*<==")
_SPECS = re.compile(r"#\s*(\w+)\s*specs:\s*(.+)?")
_NAME = re.compile(r"^\s*([A-Za-z0-9_.\-*]+)")


def history_path(prefix: Path) -> Path:
    """``<prefix>/conda-meta/history``."""
    return Path(prefix) / "conda-meta" / "history"


def spec_name(spec: str) -> str:
    """The package name of a MatchSpec string (``conda-forge::numpy >=2`` -> ``numpy``)."""
    text = spec.rsplit("::", 1)[-1]
    match = _NAME.match(text)
    return match.group(1).lower() if match else text.strip().lower()


def _read_lines(prefix: Path) -> list[str]:
    try:
        return history_path(prefix).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def requested_specs(prefix: Path) -> dict[str, str]:
    """Name -> spec the user asked for, replaying the history like conda does."""
    specs: dict[str, str] = {}
    for line in _read_lines(prefix):
        match = _SPECS.match(line.strip())
        if not match:
            continue
        action, text = match.group(1), (match.group(2) or "").strip()
        try:
            listed = ast.literal_eval(text) if text.startswith("[") else text.split(",")
        except (ValueError, SyntaxError):
            continue
        listed = [s for s in listed if isinstance(s, str) and s and not s.endswith("@")]
        if action in ("remove", "uninstall"):
            for spec in listed:
                specs.pop(spec_name(spec), None)
        elif action in ("update", "install", "create", "neutered"):
            specs.update((spec_name(s), s) for s in listed)
    return specs


def current_state(prefix: Path) -> set[str]:
    """The set of dist strings the history says are installed (conda's ``get_state``)."""
    state: set[str] = set()
    block: list[str] | None = None
    blocks: list[list[str]] = []
    for raw in _read_lines(prefix):
        line = raw.strip()
        if not line:
            continue
        if _HEAD.match(line):
            block = []
            blocks.append(block)
        elif block is not None and not line.startswith("#"):
            block.append(line)
    for lines in blocks:
        if not any(s.startswith(("-", "+")) for s in lines):
            state = set(lines)  # a full snapshot (old conda)
            continue
        for s in lines:
            if s.startswith("-"):
                state.discard(s[1:])
            elif s.startswith("+"):
                state.add(s[1:])
    return state


def dist_str(pkg: LockedPackage, channel_name: Callable[[str], str]) -> str:
    """The ``PackageRecord.dist_str()`` conda computes for a locked package.

    ``channel_name``: from :func:`channel_namer`, made once for all the packages.
    """
    subdir_url = conda_channel(pkg)
    subdir = subdir_url.rstrip("/").rpartition("/")[2]
    return f"{channel_name(subdir_url)}/{subdir}::{pkg.dist_name}"


def channel_namer() -> Callable[[str], str]:
    """Channel URL -> conda's canonical name (``Channel.canonical_name``).

    Inside a conda command conda's own ``Channel`` answers (its context is loaded).
    Elsewhere :mod:`.channel_names` applies the same rules to the same ``.condarc``
    files, instead of loading conda's context and plugin manager for it (0.2 s);
    only the rare settings it does not model (``migrated_channel_aliases``,
    ``migrated_custom_channels``) make it ask conda, where conda is installed.
    """
    from .config import Config, conda_context_loaded, conda_importable, load_config
    from .exceptions import ConfigError

    try:
        config = None if conda_context_loaded() else load_config(use_conda=False)
    except ConfigError:  # conda itself refuses to run; spell as conda's defaults would
        config = Config()
    migrated = config is not None and bool(config.migrated_channel_aliases
                                            or config.migrated_custom_channels)
    if config is None or (migrated and conda_importable()):
        from conda.models.channel import Channel

        from .conda_layer.settings import conda_context

        conda_context()  # loaded once, if this process has not yet
        return lambda url: Channel(url).canonical_name
    from .channel_names import channel_namer as namer_for

    return namer_for(config)


def write_entry(
    prefix: Path,
    *,
    packages: Sequence[LockedPackage],
    update_specs: Iterable[str],
    remove_specs: Iterable[str] = (),
    cmd: Sequence[str] | None = None,
    now: float | None = None,
) -> None:
    """Append one entry: the diff from the history's last state to ``packages``."""
    last = current_state(prefix)
    name = channel_namer()
    current = {dist_str(p, name) for p in packages}
    lines = [
        f"==> {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))} <==",
        f"# cmd: {' '.join(cmd if cmd is not None else sys.argv)}",
    ]
    version = _conda_version()
    if version:
        lines.append(f"# conda version: {version}")
    lines += [f"-{d}" for d in sorted(last - current)]
    lines += [f"+{d}" for d in sorted(current - last)]
    if last == current:
        # Only the requested specs change. conda reads an entry without any +/- line
        # as a full snapshot of the environment (History.construct_states): give it
        # the full, unchanged package set, else the revision's state would be empty.
        lines += sorted(current)
    remove = list(remove_specs)
    update = list(update_specs)
    if remove:
        lines.append(f"# remove specs: {remove!r}")
    if update:
        lines.append(f"# update specs: {update!r}")
    path = history_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def requested_map(specs: Iterable[str], installed_names: Iterable[str]) -> dict[str, str]:
    """Name -> spec for the specs that name an installed package."""
    names = set(installed_names)
    return {spec_name(s): s for s in specs if spec_name(s) in names}


def specs_differ(prefix: Path, wanted: Mapping[str, str], names: Iterable[str]) -> bool:
    """Whether the history's requested specs, for packages in ``names``, are not ``wanted``."""
    names = set(names)
    have = {k: v for k, v in requested_specs(prefix).items() if k in names}
    return have != dict(wanted)


def _conda_version() -> str | None:
    """The version of conda (``major.minor.patch``) for the ``# conda version`` line.

    Read from conda's ``_version.py`` when conda is not loaded: ``importlib.metadata``
    costs 10-20 ms of imports.
    """
    module = sys.modules.get("conda")
    found = getattr(module, "__version__", None) if module is not None else _version_file()
    if found is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("conda")
        except PackageNotFoundError:
            return None
    return ".".join(found.split(".")[:3])


def _version_file() -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec("conda")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or ()) if spec else ():
        try:
            text = (Path(folder) / "_version.py").read_text(encoding="utf-8")
        except OSError:
            continue
        match = re.search(r"""^__version__\s*=\s*(?:version\s*=\s*)?['"]([^'"]+)['"]""",
                          text, re.M)
        if match:
            return match.group(1)
    return None
