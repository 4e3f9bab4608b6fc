"""Helpers the format modules share: names from URLs, specs of imported locks, ordering.

Pure functions on our lockfile model; nothing here reads or writes files.
"""

from __future__ import annotations

import datetime
import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..exceptions import PlatformNotLockedError
from ..lockfile import Channel, LockedPackage, Lockfile, PlatformLock
from ..spec import EnvironmentSpec

#: Where a bare channel name like ``conda-forge`` lives (conda's default alias).
CHANNEL_ALIAS = "https://conda.anaconda.org/"

ARCHIVE_SUFFIXES = (".conda", ".tar.bz2")

_NAME = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*)$")
_BUILD_NUMBER = re.compile(r"_(\d+)$")


def strip_archive_suffix(fn: str) -> str | None:
    """``name-version-build`` of an archive file name, ``None`` if not a conda archive."""
    for suffix in ARCHIVE_SUFFIXES:
        if fn.endswith(suffix):
            return fn[: -len(suffix)]
    return None


def split_dist(dist: str) -> tuple[str, str, str] | None:
    """``(name, version, build)`` of ``name-version-build``; names may contain dashes."""
    parts = dist.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def build_number_from_build(build: str) -> int:
    """The build number conda-build puts at the end of a build string (``h0_3`` -> 3).

    A guess for formats that do not record it (conda-lock v1); 0 when the build
    string does not end in ``_<digits>``.
    """
    match = _BUILD_NUMBER.search(build)
    return int(match.group(1)) if match else 0


def url_parts(url: str) -> tuple[str, str, str]:
    """``(channel URL with trailing slash, subdir, file name)`` of a package URL."""
    head, _, fn = url.split("#", 1)[0].rpartition("/")
    channel, _, subdir = head.rpartition("/")
    return channel + "/", subdir, fn


def channel_display_name(url: str) -> str:
    """``conda-forge`` for ``https://conda.anaconda.org/conda-forge/``, else the URL."""
    url = url.rstrip("/")
    if url.startswith(CHANNEL_ALIAS):
        rest = url[len(CHANNEL_ALIAS):]
        if rest and "/" not in rest:
            return rest
    return url


def channel_from_written(text: str) -> Channel:
    """A lockfile ``Channel`` for a channel as another tool wrote it (name or URL)."""
    text = text.strip()
    if "://" in text:
        url = text.rstrip("/")
        return Channel(name=channel_display_name(url), url=url)
    return Channel(name=text, url=CHANNEL_ALIAS + text.strip("/"))


def dependency_name(spec: str) -> tuple[str, str]:
    """``(name, rest)`` of a MatchSpec string such as ``libzlib >=1.3,<2``."""
    match = _NAME.match(spec)
    if not match:
        return spec.strip(), ""
    return match.group(1), match.group(2).strip()


def root_names(packages: Iterable[LockedPackage]) -> set[str]:
    """Names of packages no other package of the set depends on."""
    packages = list(packages)
    needed = {dependency_name(d)[0] for p in packages for d in p.depends}
    return {p.name for p in packages} - needed


def topological_order(packages: Sequence[LockedPackage]) -> list[LockedPackage]:
    """Dependencies before dependents, ties by name; a cycle is broken by name.

    The order conda writes explicit files in (``conda list --explicit``), so a
    reader that links in file order links each package after what it needs.
    """
    by_name = {p.name: p for p in packages}
    needs: dict[str, set[str]] = {
        p.name: {n for n in (dependency_name(d)[0] for d in p.depends)
                 if n in by_name and n != p.name}
        for p in packages
    }
    users: dict[str, set[str]] = {name: set() for name in by_name}
    for name, deps in needs.items():
        for dep in deps:
            users[dep].add(name)
    remaining = {name: len(deps) for name, deps in needs.items()}
    ready = [name for name, left in remaining.items() if left == 0]
    heapq.heapify(ready)
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(by_name):
        if not ready:  # only cycles are left: release the first name on one
            ready.append(_first_on_cycle(min(n for n in by_name if n not in done),
                                         needs, done))
        name = heapq.heappop(ready)
        if name in done:
            continue
        done.add(name)
        order.append(name)
        for user in users[name]:
            if user not in done:
                remaining[user] -= 1
                if remaining[user] == 0:
                    heapq.heappush(ready, user)
    return [by_name[name] for name in order]


def _first_on_cycle(start: str, needs: Mapping[str, set[str]], done: set[str]) -> str:
    # Every package left has a dependency left, so walking them must come back round.
    path: list[str] = []
    node = start
    while node not in path:
        path.append(node)
        node = min(d for d in needs[node] if d not in done)
    return min(path[path.index(node):])


def select_platforms(lock: Lockfile, platform: str | None, path: str | Path) -> Lockfile:
    """``lock`` cut down to ``platform`` (all when ``None``)."""
    if platform is None:
        return lock
    if platform not in lock.platforms:
        raise PlatformNotLockedError(path, platform, sorted(lock.platforms))
    return lock.with_platforms({platform: lock.platforms[platform]})


def reconstructed_spec(*, name: str | None, channels: Sequence[Channel],
                       platforms: Mapping[str, PlatformLock]) -> EnvironmentSpec:
    """A spec for a lock that came without one: its channels and its top-level packages.

    Formats such as pixi.lock and conda-lock v1 do not record what was asked
    for. The packages nothing else depends on (on any platform) are the best
    stand-in: re-locking them gives the same environment, give or take versions.
    """
    roots: set[str] = set()
    for plock in platforms.values():
        roots |= root_names(plock.packages)
    return EnvironmentSpec(
        name=name,
        channels=tuple(c.name for c in channels),
        dependencies=tuple(sorted(roots)),
        platforms=tuple(sorted(platforms)),
    )


def now_utc() -> str:
    """The lockfile's ``created_at`` form of the current time."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def assemble(*, spec: EnvironmentSpec, channels: Sequence[Channel],
             platforms: Mapping[str, PlatformLock], converted_from: Mapping[str, Any],
             created_at: str | None = None) -> Lockfile:
    """Our ``Lockfile`` for packages read from another format, marked as converted."""
    from .. import __version__

    return Lockfile(
        spec=spec,
        channels=tuple(channels),
        platforms=dict(sorted(platforms.items())),
        input_hash=spec.input_hash(),
        created_at=created_at or now_utc(),
        tool_version=__version__,
        extra_metadata={"converted_from": dict(converted_from)},
    )


def load_yaml(text: str, *, path: str | Path | None, what: str) -> Any:
    """Parse YAML with the safe loader; errors name the file, the line and ``what`` it is."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from ..exceptions import FormatError

    try:
        return YAML(typ="safe").load(text)
    except MarkedYAMLError as exc:
        line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise FormatError(path, f"not valid YAML{line}: {exc.problem}",
                          hint=f"Fix or regenerate the {what}.") from exc
    except YAMLError as exc:
        raise FormatError(path, f"not valid YAML: {exc}",
                          hint=f"Fix or regenerate the {what}.") from exc


def dump_yaml(data: Any) -> str:
    """Block-style YAML, keys in the order given, strings quoted only when needed."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


_TOP_LEVEL = re.compile(r"^([A-Za-z_][\w-]*):[ \t]*(.*?)[ \t]*$")


def top_level_keys(head: str) -> dict[str, str]:
    """Top-level ``key: value`` lines of the start of a YAML file (values unquoted).

    A cheap sniff for format detection that never parses a whole (large) file.
    """
    keys: dict[str, str] = {}
    for line in head.splitlines():
        match = _TOP_LEVEL.match(line)
        if match:
            keys.setdefault(match.group(1), match.group(2).strip("'\""))
    return keys


def read_text(path: str | Path, *, what: str) -> str:
    """The text of ``path``; a missing or unreadable file is a ``FormatError``."""
    from ..exceptions import FormatError

    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(path, "no such file", hint=f"Pass the path of a {what}.") from None
    except IsADirectoryError:
        raise FormatError(path, "is a folder, not a file",
                          hint=f"Pass the path of a {what}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(path, f"cannot read: {exc}", hint=f"Pass the path of a {what}.") from exc
