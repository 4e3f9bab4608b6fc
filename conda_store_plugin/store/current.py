"""The current build of an environment, and its envs-dir link.

``env.json`` names the current build; a symlink ``<envs_dir>/<link name>`` points at
that build's ``prefix/``, so ``conda env list``, ``conda activate NAME`` and
``conda run -n NAME`` find it. The link is switched by making a new symlink under a
temp name and ``os.replace``-ing it over the old one: the rename is atomic, so a
process resolving the link sees the old build or the new one, never a mix (every
build is a complete prefix of its own). The record is written first, then the link;
a crash between the two is repaired by ``sync_link`` at the next verb that changes
the environment (the record is the truth).

Link name: the environment's name in the user's own (default) namespace, else
``NAMESPACE-NAME``; chosen when the environment is created and kept in ``env.json``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from ..exceptions import EnvironmentLinkError
from . import records
from .builds import clean_up, read_env, write_env
from .layout import EnvRef, StoreLayout
from .records import EnvironmentRecord


def link_name(ref: EnvRef, default_namespace: str) -> str:
    """The name conda knows the environment by."""
    return ref.name if ref.namespace == default_namespace else f"{ref.namespace}-{ref.name}"


def owns_link(layout: StoreLayout, ref: EnvRef, link: Path) -> bool:
    """Whether ``link`` is a symlink into this environment's builds (or dangling into it)."""
    if not link.is_symlink():
        return False
    target = Path(os.readlink(link))
    if not target.is_absolute():
        target = link.parent / target
    builds = layout.builds_dir(ref)
    return _is_within(target, builds) or _is_within(target, builds.resolve())


def _is_within(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.normpath(path)).relative_to(os.path.normpath(folder))
    except ValueError:
        return False
    return True


def check_link_free(layout: StoreLayout, ref: EnvRef, link: Path) -> None:
    """Refuse a link path held by something other than this environment's link."""
    if not os.path.lexists(link) or owns_link(layout, ref, link):
        return
    what = "a symlink to " + os.readlink(link) if link.is_symlink() else \
        "a folder" if link.is_dir() else "a file"
    raise EnvironmentLinkError(link, f"{what} is already there")


def point_link(link: Path, target: Path) -> None:
    """Make ``link`` a symlink to ``target``, atomically replacing any old symlink."""
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.parent / f".{link.name}.conda-store-{uuid.uuid4().hex[:12]}.tmp"
    os.symlink(target, tmp, target_is_directory=True)
    try:
        os.replace(tmp, link)
    except BaseException:
        os.unlink(tmp)
        raise


def remove_link(layout: StoreLayout, ref: EnvRef, link: Path) -> None:
    """Remove the environment's link if it is ours (never anything else)."""
    if owns_link(layout, ref, link):
        os.unlink(link)


def set_current(layout: StoreLayout, env: EnvironmentRecord,
                number: int | None) -> EnvironmentRecord:
    """Make build ``number`` current (None: no current build). Hold the env lock."""
    new = EnvironmentRecord(
        env.namespace, env.name, created_at=env.created_at, current_build=number,
        link=env.link, updated_at=records.format_time(records.now_utc()))
    write_env(layout, new)
    sync_link(layout, new)
    return new


def sync_link(layout: StoreLayout, env: EnvironmentRecord) -> None:
    """Make the link agree with ``env.json``: point at the current prefix, or go."""
    if not env.link:
        return
    ref = EnvRef(env.namespace, env.name)
    link = Path(env.link)
    if env.current_build is None:
        remove_link(layout, ref, link)
        return
    target = layout.prefix(ref, env.current_build).absolute()
    if not target.is_dir():  # archived or deleted current build: no dangling link
        remove_link(layout, ref, link)
        return
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    check_link_free(layout, ref, link)
    point_link(link, target)


def repair(layout: StoreLayout, ref: EnvRef) -> EnvironmentRecord:
    """Hold the env lock: repair crash leftovers (``clean_up``) and the link; return env."""
    clean_up(layout, ref)
    env = read_env(layout, ref)
    sync_link(layout, env)
    return env
