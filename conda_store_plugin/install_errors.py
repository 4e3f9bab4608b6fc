"""Errors of ``conda store install`` beyond the shared ones in ``exceptions.py``.

Kept apart so the install work did not have to edit the shared module; they are
``InstallError`` subclasses like the rest, and may move into ``exceptions.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .exceptions import InstallError, shown


class PrefixNotUsableError(InstallError):
    """The target prefix cannot hold an environment (a file, not writable, not an env)."""

    def __init__(self, prefix: str | Path, problem: str, *, hint: str | None = None) -> None:
        self.prefix = Path(prefix)
        super().__init__(f"cannot install into {prefix}: {problem}",
                         hint=hint or "Choose another path with -p, or a name with -n.")


class PackageDownloadError(InstallError):
    """Some locked packages could not be downloaded (HTTP error, unreachable host...)."""

    def __init__(self, failures: Sequence[tuple[str, str, str]]) -> None:
        self.failures = list(failures)  # (dist_name, url, reason)
        lines = shown((f"  {name} ({url}): {reason}" for name, url, reason in failures),
                      sep="\n")
        super().__init__(
            f"could not download {len(failures)} locked package(s):\n{lines}",
            hint="Check the network and the channel; if the channel no longer has these "
                 "files, re-lock with `conda store lock`. Nothing was installed.")

    def to_dict(self) -> dict:
        """JSON form, with every failed download."""
        return {**super().to_dict(), "failures": [
            {"package": n, "url": u, "reason": r} for n, u, r in self.failures]}


class PackagesNotCachedError(InstallError):
    """``--offline`` was asked for, and the package cache lacks some locked packages."""

    def __init__(self, pkgs_dir: str | Path, missing: Iterable[str]) -> None:
        self.pkgs_dir = Path(pkgs_dir)
        self.missing = sorted(missing)
        super().__init__(
            f"offline: {len(self.missing)} locked package(s) are not in the package cache "
            f"{pkgs_dir}: {shown(self.missing)}",
            hint="Run once without --offline to download them, or point --pkgs-dir at a "
                 "cache that has them. Nothing was installed.")

    def to_dict(self) -> dict:
        """JSON form, with every missing package."""
        return {**super().to_dict(), "missing": list(self.missing)}


class LinkError(InstallError):
    """Linking the packages into the prefix failed."""

    def __init__(self, prefix: str | Path, reason: str, *, new_env: bool) -> None:
        self.prefix = Path(prefix)
        state = ("the half-made environment was removed" if new_env
                 else "the environment may be partly updated")
        super().__init__(
            f"linking into {prefix} failed ({state}): {reason}",
            hint="Fix the cause and run the command again: it completes what is missing.")
