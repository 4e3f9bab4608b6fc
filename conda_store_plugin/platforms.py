"""Target platforms and the virtual packages a lock assumes for each.

A lock is made for machines other than this one, so the virtual packages are
documented defaults per platform, never this host's detected ones: the same
spec gives the same lock wherever it is made. Users override them with
``--virtual-package`` and ``--cuda``/``--no-cuda``; the values used are written
into the lockfile.

Defaults (chosen to match what current conda-forge builds assume):

=============  ==================================================================
linux-*        ``__unix=0=0``, ``__linux=5.10=0``, ``__glibc=2.28=0``,
               ``__archspec=1=<arch>`` (x86_64, aarch64, ppc64le, s390x, ...)
osx-64         ``__unix=0=0``, ``__osx=11.0=0``, ``__archspec=1=x86_64``
osx-arm64      ``__unix=0=0``, ``__osx=11.0=0``, ``__archspec=1=arm64``
win-*          ``__win=0=0``, ``__archspec=1=<arch>``
noarch, emscripten-*, wasi-*: none
=============  ==================================================================

``__cuda`` is never assumed: pass ``--cuda 12.4`` to lock for a GPU machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .exceptions import CondaStoreError, UnknownPlatformError

DEFAULT_GLIBC = "2.28"
DEFAULT_LINUX_KERNEL = "5.10"
DEFAULT_OSX = "11.0"

_ARCHSPEC = {
    "64": "x86_64",
    "32": "x86",
    "aarch64": "aarch64",
    "arm64": "arm64",
    "ppc64le": "ppc64le",
    "ppc64": "ppc64",
    "s390x": "s390x",
    "armv6l": "armv6l",
    "armv7l": "armv7l",
    "riscv64": "riscv64",
}


@dataclass(frozen=True, order=True)
class VirtualPackage:
    """A virtual package the solver assumes present, e.g. ``__glibc=2.28=0``."""

    name: str
    version: str
    build: str = "0"

    def __str__(self) -> str:
        return f"{self.name}={self.version}={self.build}"

    def to_dict(self) -> dict[str, str]:
        """Lockfile form."""
        return {"name": self.name, "version": self.version, "build": self.build}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> VirtualPackage:
        """Inverse of ``to_dict``."""
        return cls(data["name"], data["version"], data.get("build", "0"))

    @classmethod
    def parse(cls, text: str) -> VirtualPackage:
        """Parse ``NAME=VERSION[=BUILD]`` as given to ``--virtual-package``."""
        parts = text.strip().split("=")
        if len(parts) not in (2, 3) or not parts[0].startswith("__") or not parts[1]:
            raise InvalidVirtualPackageError(text)
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else "0")


class InvalidVirtualPackageError(CondaStoreError):
    """A ``--virtual-package`` value that is not ``__NAME=VERSION[=BUILD]``."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"invalid virtual package {text!r}",
            hint="Write it as __NAME=VERSION or __NAME=VERSION=BUILD, e.g. __glibc=2.17.",
        )


def known_platforms() -> list[str]:
    """Every platform name py-rattler knows."""
    from rattler import Platform

    return sorted(str(p) for p in Platform.all())


def check_platform(name: str) -> str:
    """Return ``name`` if it is a known platform, else raise ``UnknownPlatformError``."""
    known = known_platforms()
    if name not in known:
        raise UnknownPlatformError(name, known)
    return name


def current_platform() -> str:
    """The platform of this machine, computed when asked (never at import)."""
    from rattler import Platform

    return str(Platform.current())


def default_virtual_packages(platform: str) -> list[VirtualPackage]:
    """Documented defaults for ``platform`` (see the module docstring)."""
    os_name, _, arch = platform.partition("-")
    archspec = _ARCHSPEC.get(arch, arch)
    if os_name == "linux":
        return [
            VirtualPackage("__unix", "0"),
            VirtualPackage("__linux", DEFAULT_LINUX_KERNEL),
            VirtualPackage("__glibc", DEFAULT_GLIBC),
            VirtualPackage("__archspec", "1", archspec),
        ]
    if os_name == "osx":
        return [
            VirtualPackage("__unix", "0"),
            VirtualPackage("__osx", DEFAULT_OSX),
            VirtualPackage("__archspec", "1", archspec),
        ]
    if os_name == "win":
        return [VirtualPackage("__win", "0"), VirtualPackage("__archspec", "1", archspec)]
    return []


def virtual_packages_for(
    platform: str,
    *,
    overrides: Iterable[VirtualPackage] = (),
    cuda: str | None = None,
) -> list[VirtualPackage]:
    """The virtual packages to solve ``platform`` with.

    ``overrides`` replace the default of the same name (or add one); ``cuda``
    adds ``__cuda``. Sorted by name, so the lockfile is deterministic.
    """
    if platform == "noarch":
        return []
    by_name = {vp.name: vp for vp in default_virtual_packages(platform)}
    for vp in overrides:
        by_name[vp.name] = vp
    if cuda is not None:
        by_name["__cuda"] = VirtualPackage("__cuda", cuda)
    return sorted(by_name.values())
