"""The ``pip:`` section of environment.yml, read and checked.

Supported lines:

* requirement specifiers (PEP 508 without a URL): ``name``, ``name[extra]>=1,<2``,
  ``name==1.0; sys_platform == "win32"``;
* ``--index-url URL`` (also ``-i URL``, ``--index-url=URL``): the default index,
  ``https://pypi.org/simple`` when absent; at most one;
* ``--extra-index-url URL`` (also ``=URL``): more indexes. As with uv, an extra
  index is searched *before* the default one and a project is taken from the
  first index that has it (no mixing of files across indexes).

Refused, with what to do instead, because a lock could not reproduce them:
editable installs (``-e``), local paths and ``file:`` archives (they exist on
this machine only), VCS URLs (``git+https://...``: a checkout has no file hash
to pin; build a wheel and put it on an index), other direct URLs, and every
other pip option (``-r``, ``-c``, ``--find-links``, ``--pre``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .exceptions import PipRequirementError
from .pypi_names import normalise

DEFAULT_INDEX_URL = "https://pypi.org/simple"

_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$",
                   re.DOTALL)
_VCS = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")
_SPEC_START = ("<", ">", "=", "!", "~", ";", "(", ",")
_INDEX_OPTIONS = {"--index-url": "index", "-i": "index", "--extra-index-url": "extra"}


@dataclass(frozen=True)
class PipSection:
    """A checked ``pip:`` section.

    Attributes:
        requirements: the requirement lines, as written (trimmed).
        names: normalised project names of ``requirements``, in order.
        unconditional: names of requirements without an environment marker.
        index_url: the default index.
        extra_index_urls: the extra indexes, in order.
    """

    requirements: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    unconditional: frozenset[str] = frozenset()
    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: tuple[str, ...] = ()

    @property
    def indexes(self) -> tuple[str, ...]:
        """Every index, in the order uv searches them (extra indexes first)."""
        return (*self.extra_index_urls, self.index_url)


def parse_pip_section(lines: Iterable[str], *, path: str | Path | None = None) -> PipSection:
    """Check the ``pip:`` lines of a spec.

    Raises:
        PipRequirementError: a line that is not supported, naming it and what to do.
    """
    requirements: list[str] = []
    names: list[str] = []
    unconditional: set[str] = set()
    index_url: str | None = None
    extra: list[str] = []
    for raw in lines:
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("-"):
            kind, url = _index_option(line, path)
            if kind == "index":
                if index_url is not None and index_url != url:
                    raise PipRequirementError(
                        path, line, f"a second --index-url (the first is {index_url})",
                        hint="Keep one --index-url; add other indexes with "
                             "--extra-index-url.")
                index_url = url
            elif url not in extra:
                extra.append(url)
            continue
        name, marker = _requirement(line, path)
        requirements.append(line)
        names.append(name)
        if not marker:
            unconditional.add(name)
    return PipSection(
        requirements=tuple(requirements),
        names=tuple(dict.fromkeys(names)),
        unconditional=frozenset(unconditional),
        index_url=index_url or DEFAULT_INDEX_URL,
        extra_index_urls=tuple(extra),
    )


def _strip_comment(line: str) -> str:
    line = line.strip()
    if line.startswith("#"):
        return ""
    return re.split(r"\s+#", line, maxsplit=1)[0].strip()


def _index_option(line: str, path: str | Path | None) -> tuple[str, str]:
    if line.startswith(("-e ", "-e=", "--editable")) or line == "-e":
        raise PipRequirementError(
            path, line, "editable installs are not reproducible: they point at a folder "
                        "on this machine",
            hint="Build a wheel of the project and publish it to an index (then add it "
                 "with --extra-index-url), or install it after the environment is built.")
    parts = line.split(None, 1)
    if parts[0].startswith("--") and "=" in parts[0]:
        option, _, value = line.partition("=")
    else:
        option, value = parts[0], parts[1] if len(parts) > 1 else ""
    option, value = option.strip(), value.strip()
    if option not in _INDEX_OPTIONS:
        raise PipRequirementError(path, line, f"the option {option} is not supported")
    if not value or " " in value:
        raise PipRequirementError(path, line, f"{option} needs one URL",
                                  hint=f"Write `{option} https://host/simple`.")
    if not re.match(r"^(https?|file)://", value):
        raise PipRequirementError(path, line, f"{value!r} is not an http(s):// or file:// URL",
                                  hint=f"Write `{option} https://host/simple`.")
    return _INDEX_OPTIONS[option], value.rstrip("/")


def _requirement(line: str, path: str | Path | None) -> tuple[str, str]:
    """The normalised name and the marker text of one requirement line."""
    lowered = line.lower()
    if lowered.startswith(_VCS) or any(f"@ {v}" in lowered or f"@{v}" in lowered
                                       for v in _VCS):
        raise PipRequirementError(
            path, line, "VCS URLs are not supported: a checkout has no file hash to lock, "
                        "and the branch or tag it names can move",
            hint="Build a wheel of that commit and publish it to an index (a folder served "
                 "over HTTPS is enough), then require it by name with --extra-index-url.")
    if _looks_like_path(line):
        raise PipRequirementError(
            path, line, "local paths are not reproducible: the file or folder exists on "
                        "this machine only",
            hint="Publish the wheel to an index and require it by name, with "
                 "--extra-index-url pointing at that index.")
    if re.match(r"^[a-z][a-z0-9+.-]*://", lowered):
        raise PipRequirementError(path, line, "direct URLs are not supported",
                                  hint="Require the project by name and add its index with "
                                       "--extra-index-url.")
    match = _NAME.match(line)
    if not match:
        raise PipRequirementError(path, line, "not a requirement specifier",
                                  hint="Write it as `name`, `name>=1.0` or "
                                       "`name[extra]==1.0; python_version >= '3.10'`.")
    name, _extras, rest = match.groups()
    rest = rest.strip()
    if rest.startswith("@"):
        if _looks_like_path(rest[1:].strip()):
            raise PipRequirementError(
                path, line, "local paths are not reproducible: the file or folder exists on "
                            "this machine only",
                hint="Publish the wheel to an index and require it by name, with "
                     "--extra-index-url pointing at that index.")
        raise PipRequirementError(path, line, "direct URL references (`name @ URL`) are not "
                                              "supported",
                                  hint="Require the project by name and add its index with "
                                       "--extra-index-url.")
    if rest and not rest.startswith(_SPEC_START):
        if re.search(r"(^|\s)--?[a-z]", rest):
            raise PipRequirementError(path, line, "per-requirement options are not "
                                                  "supported")
        raise PipRequirementError(path, line, f"cannot read {rest!r} as a version "
                                              "specifier or marker")
    marker = rest.partition(";")[2].strip()
    return normalise(name), marker


def _looks_like_path(line: str) -> bool:
    head = line.split(";", 1)[0].strip()
    if head.startswith((".", "/", "~", "\\")) or head.lower().startswith("file:"):
        return True
    if re.match(r"^[A-Za-z]:[\\/]", head):
        return True
    if ("/" in head or "\\" in head) and "://" not in head:
        return True
    return head.lower().endswith(_ARCHIVES) and "://" not in head
