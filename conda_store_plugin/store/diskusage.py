"""Space used by builds, environments, namespaces, the store and the package cache.

Three numbers for every unit (a build's prefix, an environment, a namespace, the store):

``apparent``
    sum of ``st_size`` over every regular file and symlink *path* (a file hardlinked
    twice counts twice), like ``du --apparent-size -l``;
``disk``
    bytes allocated (``st_blocks * 512``) by the unit's distinct inodes (files,
    symlinks, folders), each counted once however many paths it has, like ``du``;
``shared``
    the part of ``disk`` held by file inodes that also have links outside the unit
    (another build, the package cache, ...): removing the unit would not free it.
    ``disk - shared`` (``exclusive``) is what removing the unit frees.

Inodes are identified by ``(st_dev, st_ino)``; a link count ``st_nlink`` higher than
the number of paths seen inside the unit means a link elsewhere. Folders are never
shared (their ``st_nlink`` counts subfolders, not hardlinks).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Key = tuple[int, int]


@dataclass(frozen=True)
class SpaceUsage:
    """``apparent``, ``disk`` and ``shared`` bytes of one unit (see the module doc)."""

    apparent: int = 0
    disk: int = 0
    shared: int = 0

    @property
    def exclusive(self) -> int:
        """Bytes that removing the unit would free."""
        return self.disk - self.shared

    def to_dict(self) -> dict[str, int]:
        """JSON form."""
        return {"apparent": self.apparent, "disk": self.disk, "shared": self.shared,
                "exclusive": self.exclusive}


@dataclass
class Tree:
    """What one scan of a folder found: files by inode, folders' bytes, apparent bytes."""

    apparent: int = 0
    dir_disk: int = 0
    #: inode -> [bytes on disk, link count, paths seen in this tree]
    inodes: dict[Key, list[int]] = field(default_factory=dict)
    files: int = 0

    def usage(self) -> SpaceUsage:
        """This tree alone as a unit."""
        return combine([self])


def scan(root: Path) -> Tree:
    """Walk ``root`` without following symlinks; a missing root is an empty tree."""
    tree = Tree()
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        return tree
    if not stat.S_ISDIR(st.st_mode):
        _add(tree, st)
        return tree
    tree.dir_disk += st.st_blocks * 512
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                tree.dir_disk += st.st_blocks * 512
                stack.append(entry.path)
            else:
                _add(tree, st)
    return tree


def _add(tree: Tree, st: os.stat_result) -> None:
    tree.files += 1
    if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
        tree.apparent += st.st_size
    key = (st.st_dev, st.st_ino)
    seen = tree.inodes.get(key)
    if seen is None:
        tree.inodes[key] = [st.st_blocks * 512, st.st_nlink, 1]
    else:
        seen[2] += 1


def combine(trees: Iterable[Tree]) -> SpaceUsage:
    """Usage of the union of ``trees`` taken as one unit."""
    apparent = dir_disk = 0
    merged: dict[Key, list[int]] = {}
    for tree in trees:
        apparent += tree.apparent
        dir_disk += tree.dir_disk
        for key, (disk, nlink, count) in tree.inodes.items():
            seen = merged.get(key)
            if seen is None:
                merged[key] = [disk, nlink, count]
            else:
                seen[2] += count
    disk = dir_disk + sum(v[0] for v in merged.values())
    shared = sum(v[0] for v in merged.values() if v[1] > v[2])
    return SpaceUsage(apparent, disk, shared)


# --- the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class BuildUsage:
    """One build: its prefix's usage, and its records/log/lockfile bytes on disk."""

    number: int
    status: str
    current: bool
    usage: SpaceUsage
    metadata_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"build": self.number, "status": self.status, "current": self.current,
                **self.usage.to_dict(), "metadata_bytes": self.metadata_bytes}


@dataclass(frozen=True)
class EnvironmentUsage:
    """One environment: its builds together, and each build."""

    key: str
    usage: SpaceUsage
    builds: tuple[BuildUsage, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"environment": self.key, **self.usage.to_dict(),
                "builds": [b.to_dict() for b in self.builds]}


@dataclass(frozen=True)
class NamespaceUsage:
    """One namespace: its environments together, and each environment."""

    name: str
    usage: SpaceUsage
    environments: tuple[EnvironmentUsage, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"namespace": self.name, **self.usage.to_dict(),
                "environments": [e.to_dict() for e in self.environments]}


@dataclass(frozen=True)
class DiskUsageReport:
    """``conda store du``: the store, its namespaces, and the package cache.

    ``cache_shared_with_store`` is the bytes on disk of package-cache files that builds
    hardlink to (counted in both ``store.shared`` and ``cache.shared``).
    """

    store_dir: Path
    store: SpaceUsage
    namespaces: tuple[NamespaceUsage, ...]
    pkgs_dir: Path | None
    cache: SpaceUsage | None
    cache_shared_with_store: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "store": {"path": str(self.store_dir), **self.store.to_dict()},
            "namespaces": [n.to_dict() for n in self.namespaces],
            "package_cache": None if self.cache is None else {
                "path": str(self.pkgs_dir), **self.cache.to_dict(),
                "shared_with_store": self.cache_shared_with_store},
        }


def report(store_dir: Path, builds: Mapping[str, Mapping[int, tuple[str, bool, Path, Path]]],
           pkgs_dir: Path | None) -> DiskUsageReport:
    """Scan every build and the cache.

    ``builds`` maps ``NS/NAME`` to ``{number: (status, current, build_dir, prefix)}``.
    """
    prefix_trees: dict[str, dict[int, Tree]] = {}
    env_usages: dict[str, EnvironmentUsage] = {}
    all_trees: list[Tree] = []
    for key in sorted(builds):
        per_build = []
        trees = {}
        for number in sorted(builds[key]):
            status, current, build_dir, prefix = builds[key][number]
            tree = scan(prefix)
            trees[number] = tree
            per_build.append(BuildUsage(number, status, current, tree.usage(),
                                        _metadata_bytes(build_dir, prefix)))
        prefix_trees[key] = trees
        all_trees.extend(trees.values())
        env_usages[key] = EnvironmentUsage(key, combine(trees.values()), tuple(per_build))
    namespaces = []
    for ns in sorted({k.split("/", 1)[0] for k in builds}):
        keys = [k for k in sorted(builds) if k.split("/", 1)[0] == ns]
        usage = combine(t for k in keys for t in prefix_trees[k].values())
        namespaces.append(NamespaceUsage(ns, usage, tuple(env_usages[k] for k in keys)))
    store_usage = combine(all_trees)
    cache = cache_usage = None
    shared_with_store = 0
    if pkgs_dir is not None and Path(pkgs_dir).is_dir():
        cache = scan(Path(pkgs_dir))
        cache_usage = cache.usage()
        store_inodes: set[Key] = set()
        for tree in all_trees:
            store_inodes.update(tree.inodes)
        shared_with_store = sum(v[0] for k, v in cache.inodes.items() if k in store_inodes)
    return DiskUsageReport(Path(store_dir), store_usage, tuple(namespaces),
                           Path(pkgs_dir) if pkgs_dir else None, cache_usage,
                           shared_with_store)


def _metadata_bytes(build_dir: Path, prefix: Path) -> int:
    total = 0
    try:
        with os.scandir(build_dir) as it:
            for entry in it:
                if entry.name == prefix.name or entry.is_dir(follow_symlinks=False):
                    continue
                try:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
                except FileNotFoundError:
                    pass
    except FileNotFoundError:
        pass
    return total
