"""conda's explicit format (``@EXPLICIT``, CEP 23): one package URL per line, one platform.

Writing (``dumps``): conda's header comments, ``# platform: <subdir>``, the
``@EXPLICIT`` marker, then every package of the platform as ``<url>#<hash>``,
dependencies before their dependents (the order ``conda list --explicit`` uses).

Hash syntax, from conda's source (``conda/misc.py``, ``_get_url_pattern``):
conda 24.9 and later (conda/conda#14048) accept ``url#<md5>`` (32 hex digits),
``url#<sha256>`` (64 hex digits) and ``url#sha256:<sha256>``; older conda accepts
only md5 and rejects a sha256 fragment. We write the bare 64-digit sha256, which is
what ``conda list --explicit --sha256`` writes; py-rattler reads it too (64 digits
mean sha256). ``hash_kind="md5"`` writes md5 instead, for conda older than 24.9.

Reading (``parse``): URLs and hashes only. An explicit file has no dependencies,
sizes or build numbers, so it cannot be turned back into a lockfile (``read``
says so); it is installed as it is, with ``conda create --file``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ..exceptions import FormatError
from ..lockfile import Lockfile
from .common import select_platforms, split_dist, strip_archive_suffix, topological_order

NAME = "explicit"
SUFFIX = ".txt"
PER_PLATFORM = True
MARKER = "@EXPLICIT"

#: conda's own pattern (conda 26, ``conda/misc.py``) for the .conda and .tar.bz2 formats.
URL_PATTERN = re.compile(
    r"(?:(?P<url_p>.+)(?:[/\\]))?"
    r"(?P<fn>[^/\\#]+(?:\.conda|\.tar\.bz2))"
    r"(?:#("
    r"(?P<md5>[0-9a-f]{32})"
    r"|((sha256:)?(?P<sha256>[0-9a-f]{64}))"
    r"))?$"
)
_PLATFORM = re.compile(r"^#\s*platform:\s*(\S+)\s*$")


@dataclass(frozen=True)
class ExplicitEntry:
    """One package line: the URL without its fragment, and the hash it carried."""

    url: str
    fn: str
    md5: str | None = None
    sha256: str | None = None
    line: int = 0

    @property
    def name_version_build(self) -> tuple[str, str, str] | None:
        """``(name, version, build)`` read from the file name, if it has that shape."""
        dist = strip_archive_suffix(self.fn)
        return split_dist(dist) if dist else None


@dataclass(frozen=True)
class ExplicitFile:
    """A parsed explicit file: its ``# platform:`` (if any) and its packages in order."""

    platform: str | None
    entries: tuple[ExplicitEntry, ...]


def sniff(head: str) -> bool:
    """Whether the start of a file looks like an explicit file."""
    return any(line.strip() == MARKER for line in head.splitlines())


def dumps(lock: Lockfile, *, platform: str | None = None, source: str | Path = "lockfile",
          hash_kind: str = "sha256") -> str:
    """The explicit file for ``platform`` (may be omitted when only one is locked)."""
    from .. import __version__

    if platform is None:
        if len(lock.platforms) != 1:
            raise FormatError(source, f"an explicit file holds one platform and this lock "
                                      f"has {len(lock.platforms)}",
                              hint="Name one with --platform.")
        platform = next(iter(lock.platforms))
    if hash_kind not in ("sha256", "md5"):
        raise ValueError(f"hash_kind must be 'sha256' or 'md5', not {hash_kind!r}")
    plock = select_platforms(lock, platform, source).platforms[platform]
    lines = [
        "# This file may be used to create an environment using:",
        "# $ conda create --name <env> --file <this file>",
        f"# platform: {platform}",
        f"# created-by: conda-store-plugin {__version__}",
        f"# input-hash: {lock.input_hash}",
        MARKER,
    ]
    for pkg in topological_order(plock.packages):
        lines.append(f"{pkg.url}#{pkg.sha256 if hash_kind == 'sha256' else pkg.md5}")
    return "\n".join(lines) + "\n"


def parse(text: str, *, path: str | Path | None = None) -> ExplicitFile:
    """URLs and hashes of an explicit file, in file order; no dependencies (it has none)."""
    platform = None
    seen_marker = False
    entries: list[ExplicitEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _PLATFORM.match(line)
            if match:
                platform = match.group(1)
            continue
        if line == MARKER:
            seen_marker = True
            continue
        if not seen_marker:
            raise FormatError(path, f"line {number}: {line!r} comes before the {MARKER} line",
                              hint=f"An explicit file lists package URLs after a {MARKER} "
                                   "line; a list of specs is an environment spec instead.")
        match = URL_PATTERN.match(line)
        if match is None:
            raise FormatError(path, f"line {number}: not a package URL: {line!r}",
                              hint="Each line after @EXPLICIT must be a URL ending in .conda "
                                   "or .tar.bz2, optionally with #<md5> or #<sha256>.")
        url = line.split("#", 1)[0]
        entries.append(ExplicitEntry(url=url, fn=match.group("fn"), md5=match.group("md5"),
                                     sha256=match.group("sha256"), line=number))
    if not seen_marker:
        raise FormatError(path, f"no {MARKER} line", hint="This is not an explicit file.")
    return ExplicitFile(platform=platform, entries=tuple(entries))


def read(path: Path, *, environment: str | None = None) -> NoReturn:
    """Explicit files cannot become lockfiles: say why and what to do instead."""
    raise FormatError(
        path, "an explicit file lists URLs and hashes only (no dependencies, sizes or "
              "build numbers), so it cannot be converted to a lockfile",
        hint="Install it as it is with `conda create --name ENV --file FILE`, or convert "
             "the lockfile it was made from.")
