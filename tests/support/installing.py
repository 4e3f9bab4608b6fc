"""Helpers and fixtures of the install tests: locks against the test channel, snapshots."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from conda_store_plugin import api
from conda_store_plugin.platforms import current_platform

PLATFORM = current_platform()
BASE = ["numpylike", "prefixpkg", "purepkg", "blob"]  # 7 packages with dependencies
CHANGED = ["numpylike", "prefixpkg", "purepkg", "data-pkg"]  # -blob +data-pkg
ROOT = Path(__file__).resolve().parents[2]


# -- helpers ------------------------------------------------------------------------


def make_lock(folder: Path, channel_url: str, deps: list[str], cache: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "environment.yml"
    spec.write_text("channels:\n  - " + channel_url + "\ndependencies:\n"
                    + "".join(f"  - {d}\n" for d in deps))
    result = api.lock(spec_path=spec, platforms=[PLATFORM], cache_dir=cache)
    return result.lockfile_path


def retarget(lock: Path, old_url: str, new_url: str, dest: Path) -> Path:
    """The same lock, pointing at another server."""
    dest.write_text(lock.read_text().replace(old_url, new_url))
    return dest


def edit_lock(lock: Path, dest: Path, edit) -> Path:
    data = json.loads(lock.read_text())
    edit(data["platforms"][PLATFORM]["packages"])
    dest.write_text(json.dumps(data, indent=2))
    return dest


def package(data_packages: list[dict], name: str) -> dict:
    return next(p for p in data_packages if p["name"] == name)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path below ``root`` with its type, mode and content hash."""
    out: dict[str, tuple] = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        st = path.lstat()
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir", st.st_mode)
        else:
            out[rel] = ("file", st.st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def install(lock: Path, prefix: Path, pkgs: Path, **kwargs) -> api.InstallResult:
    return api.install(lockfile_path=lock, prefix=prefix, pkgs_dir=pkgs, **kwargs)


def archives(server) -> dict[str, int]:
    return dict(server.downloads(archives_only=True))


def make_locks(tmp_path_factory, channel_server) -> dict[str, Path]:
    """Lockfiles against the shared HTTP channel: base and changed (-blob +data-pkg)."""
    root = tmp_path_factory.mktemp("locks")
    cache = root / "rattler-cache"
    return {
        "base": make_lock(root / "base", channel_server.url, BASE, cache),
        "changed": make_lock(root / "changed", channel_server.url, CHANGED, cache),
    }
