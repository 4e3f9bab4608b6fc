"""Which lock kind suits a folder: ``soft`` on network filesystems, else ``sqlite``.

SQLite locking is unreliable on network filesystems, so there the cache lock falls
back to ``filelock``'s soft (heartbeat file) locks. The filesystem type comes from
``/proc/self/mounts`` (Linux only; elsewhere every folder counts as local).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Filesystem types (``/proc/self/mounts``) on which the soft kind is chosen.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smbfs", "smb3", "fuse.sshfs", "sshfs", "lustre", "gpfs",
    "afs", "9p", "ceph", "fuse.ceph", "glusterfs", "fuse.glusterfs", "beegfs",
    "fuse.s3fs", "davfs", "fuse.rclone", "ncpfs", "panfs", "pvfs2", "orangefs",
})


def filesystem_type(path: Path, *, mounts: str | Path = "/proc/self/mounts") -> str | None:
    """Type of the filesystem ``path`` lives on, from ``/proc/self/mounts`` (Linux only)."""
    try:
        with open(mounts, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    target = os.path.realpath(_existing_ancestor(Path(path)))
    best, best_type = "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = _unescape_mount(fields[1])
        if (target == mount or target.startswith(mount.rstrip("/") + "/")) \
                and len(mount) >= len(best):
            best, best_type = mount, fields[2]
    return best_type


def _unescape_mount(text: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    for escaped, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(escaped, char)
    return text


def _existing_ancestor(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def detect_kind(path: Path) -> str:
    """``soft`` when ``path`` is on a network filesystem, else ``sqlite``."""
    return "soft" if filesystem_type(path) in NETWORK_FILESYSTEMS else "sqlite"
