"""Our lockfile -> a pinned environment.yml for one platform.

::

    # platform: linux-64
    name: demo
    channels:
    - conda-forge
    dependencies:
    - libzlib ==1.3.1 h0_0                # one channel
    - conda-forge::libzlib ==1.3.1 h0_0   # several channels: each package's channel

Pins are spelled ``name ==version build``: conda reads it exactly like
``name=version=build`` (what ``conda env export`` writes), and py-rattler's strict
MatchSpec parser, which ``conda store lock`` and the rattler solver use, accepts only
this spelling (it rejects ``=version=build`` as an invalid build string).
``style="conda-export"`` writes conda's ``name=version=build`` /
``channel::name==version=build`` instead, for tools that expect that text.

Every package of the platform is pinned to its exact build, as ``conda env export``
does, so the file solves to the same packages on that platform only (build strings
differ between platforms). With several channels each pin names its channel, so
channel priority cannot swap in a same-named build from another channel. The
spec's ``variables`` are kept; hashes are not (environment.yml has no place for them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..exceptions import FormatError
from ..lockfile import LockedPackage, Lockfile
from .common import channel_display_name, dump_yaml, select_platforms

NAME = "env"
SUFFIX = ".yml"
PER_PLATFORM = True


STYLES = ("match-spec", "conda-export")


def pin(pkg: LockedPackage, channel: str | None = None, *, style: str = "match-spec") -> str:
    """The exact pin of ``pkg``, optionally channel-qualified (see the module docstring)."""
    prefix = f"{channel}::" if channel else ""
    if style == "conda-export":
        return f"{prefix}{pkg.name}{'==' if channel else '='}{pkg.version}={pkg.build}"
    if style != "match-spec":
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    return f"{prefix}{pkg.name} =={pkg.version} {pkg.build}"


def to_document(lock: Lockfile, platform: str, *, style: str = "match-spec") -> dict[str, Any]:
    """The environment.yml mapping for ``platform`` of ``lock``."""
    names = {c.url.rstrip("/"): c.name for c in lock.channels}
    qualify = len(lock.channels) > 1
    packages = sorted(lock.platforms[platform].packages, key=lambda p: p.name)
    deps = []
    for pkg in packages:
        channel = None
        if qualify:
            url = pkg.channel.rstrip("/")
            channel = names.get(url) or channel_display_name(url)
        deps.append(pin(pkg, channel, style=style))
    doc: dict[str, Any] = {}
    if lock.spec.name:
        doc["name"] = lock.spec.name
    doc["channels"] = [c.name for c in lock.channels]
    doc["dependencies"] = deps
    if lock.spec.variables:
        doc["variables"] = dict(sorted(lock.spec.variables.items()))
    return doc


def dumps(lock: Lockfile, *, platform: str | None = None, source: str | Path = "lockfile",
          style: str = "match-spec") -> str:
    """The pinned environment.yml for ``platform`` (may be omitted when only one is locked)."""
    from .. import __version__

    if platform is None:
        if len(lock.platforms) != 1:
            raise FormatError(source, f"a pinned environment.yml holds one platform and this "
                                      f"lock has {len(lock.platforms)}",
                              hint="Name one with --platform.")
        platform = next(iter(lock.platforms))
    lock = select_platforms(lock, platform, source)
    header = (f"# platform: {platform}\n"
              f"# Pinned by conda-store-plugin {__version__} from a lockfile (input hash "
              f"{lock.input_hash});\n"
              f"# exact builds for {platform} only.\n")
    return header + dump_yaml(to_document(lock, platform, style=style))
