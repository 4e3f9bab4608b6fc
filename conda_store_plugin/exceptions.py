"""Every user-facing failure of conda-store-plugin.

Each class builds its message in ``__init__``: what went wrong, then what to do next.
Core modules raise these; the CLI renders them; the conda plugin layer turns them
into ``CondaError`` so conda prints them cleanly and ``--json`` carries them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CondaStoreError(Exception):
    """Base class of every error this package raises on purpose."""

    #: Process exit code the CLI uses for this error.
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message}\n{hint}" if hint else message)

    def to_dict(self) -> dict:
        """Plain-data form, for ``--json`` output."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
        }


class SpecError(CondaStoreError):
    """The environment specification (environment.yml) cannot be used."""

    def __init__(self, path: str | Path | None, problem: str, *, line: int | None = None,
                 hint: str | None = None) -> None:
        where = str(path) if path is not None else "environment spec"
        if line is not None:
            where += f", line {line}"
        self.path = path
        self.line = line
        super().__init__(f"{where}: {problem}",
                         hint=hint or "Fix the file and run the command again.")


class UnsupportedSpecFeatureError(SpecError):
    """A spec feature that is recognised but not supported yet."""


class InvalidMatchSpecError(SpecError):
    """A dependency line that is not a valid conda MatchSpec."""

    def __init__(self, path: str | Path | None, spec: str, reason: str, *,
                 line: int | None = None) -> None:
        self.spec = spec
        super().__init__(
            path, f"invalid package spec {spec!r}: {reason}", line=line,
            hint="Write it as a conda MatchSpec, e.g. 'numpy >=1.26' or 'conda-forge::numpy'.",
        )


class UnknownPlatformError(CondaStoreError):
    """A platform name conda does not know."""

    def __init__(self, platform: str, known: Iterable[str]) -> None:
        self.platform = platform
        super().__init__(
            f"unknown platform {platform!r}",
            hint="Use one of: " + ", ".join(sorted(known)),
        )


class ChannelError(CondaStoreError):
    """A channel cannot be reached, or has nothing for the platform."""

    def __init__(self, channel: str, problem: str, *, hint: str | None = None) -> None:
        self.channel = channel
        super().__init__(
            f"channel {channel}: {problem}",
            hint=hint or "Check the channel URL and your network, or remove the channel "
                         "from the spec.",
        )


class UnsatisfiableError(CondaStoreError):
    """The solver found no set of packages that meets the spec."""

    def __init__(self, platform: str, explanation: str) -> None:
        self.platform = platform
        self.explanation = explanation
        super().__init__(
            f"cannot solve the environment for {platform}:\n{explanation.rstrip()}",
            hint="Relax or remove the conflicting specs, or add a channel that has them.",
        )


class LockfileError(CondaStoreError):
    """A lockfile that cannot be read, or that is not valid."""

    def __init__(self, path: str | Path | None, problem: str, *,
                 hint: str | None = None) -> None:
        self.path = path
        where = str(path) if path is not None else "lockfile"
        super().__init__(
            f"{where}: {problem}",
            hint=hint or "Regenerate it with `conda store lock`.",
        )


class LockfileOutOfDateError(CondaStoreError):
    """``lock --check`` found that the lockfile no longer matches the spec."""

    def __init__(self, path: str | Path, reasons: Iterable[str]) -> None:
        self.path = path
        self.reasons = list(reasons)
        super().__init__(
            f"{path} is out of date: " + "; ".join(self.reasons),
            hint="Run `conda store lock` to update it.",
        )


class InstallError(CondaStoreError):
    """Installing a locked environment failed; the target was left as it was."""


class ChecksumMismatchError(InstallError):
    """A downloaded archive does not have the locked sha256."""

    def __init__(self, package: str, url: str, expected: str, actual: str) -> None:
        self.package = package
        self.url = url
        super().__init__(
            f"sha256 mismatch for {package} ({url}): locked {expected}, got {actual}",
            hint="The channel content changed or the download was tampered with: "
                 "re-lock, or check the channel.",
        )


class PlatformNotLockedError(CondaStoreError):
    """The lockfile has no entry for the requested platform."""

    def __init__(self, path: str | Path, platform: str, locked: Iterable[str]) -> None:
        self.platform = platform
        super().__init__(
            f"{path} has no packages for {platform} (locked: {', '.join(locked) or 'none'})",
            hint=f"Lock for it: `conda store lock --platform {platform}`.",
        )
