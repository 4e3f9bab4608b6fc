"""The Python API: one function per verb, the one door the CLI goes through.

Every function takes keyword-only arguments, returns a plain data object with
``to_dict()`` (what ``--json`` prints), never prints and never exits. Failures
raise ``CondaStoreError`` subclasses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lockfile import DEFAULT_FILENAME, Lockfile
from .locking import PackageChange

DEFAULT_SPEC_FILENAME = "environment.yml"


@dataclass(frozen=True)
class LockResult:
    """What ``lock`` did."""

    lockfile_path: Path
    lockfile: Lockfile | None
    written: bool
    up_to_date: bool | None = None  # set by check
    reasons: tuple[str, ...] = ()  # why it is out of date (check)
    changes: tuple[PackageChange, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        from .locking import platform_summary

        return {
            "lockfile": str(self.lockfile_path),
            "written": self.written,
            "up_to_date": self.up_to_date,
            "reasons": list(self.reasons),
            "platforms": dict(platform_summary(self.lockfile)) if self.lockfile else {},
            "input_hash": self.lockfile.input_hash if self.lockfile else None,
            "changes": [c.to_dict() for c in self.changes],
        }


def lock(
    *,
    spec_path: str | Path | None = None,
    lockfile_path: str | Path | None = None,
    platforms: Sequence[str] = (),
    cuda: str | None = None,
    no_cuda: bool = False,
    virtual_packages: Sequence[str] = (),
    check: bool = False,
    update: Sequence[str] = (),
    cache_dir: str | Path | None = None,
) -> LockResult:
    """Lock an environment.yml for one or more platforms.

    Args:
        spec_path: the environment.yml; default ``environment.yml`` in the cwd.
        lockfile_path: where to write; default ``conda-store.lock.json`` beside the spec.
        platforms: target platforms; default the spec's ``platforms:``, else this machine's.
        cuda: lock for machines with this CUDA driver version (adds ``__cuda``).
        no_cuda: lock without ``__cuda`` even if an override names it.
        virtual_packages: ``__NAME=VERSION[=BUILD]`` overrides of the defaults.
        check: write nothing; report whether the lockfile still matches the spec.
        update: re-solve these packages, keeping the others at their locked versions.
        cache_dir: repodata cache folder (py-rattler's default when None).

    Raises:
        LockfileOutOfDateError: with ``check``, when the lockfile does not match.
    """
    from . import lockfile as lockfile_io
    from .exceptions import CondaStoreError, LockfileOutOfDateError
    from .locking import LockOptions, check_update_names, diff_locks, make_lock, staleness
    from .platforms import VirtualPackage
    from .spec import load_spec, require_no_pip

    spec_file = Path(spec_path) if spec_path else Path.cwd() / DEFAULT_SPEC_FILENAME
    out = Path(lockfile_path) if lockfile_path else spec_file.parent / DEFAULT_FILENAME
    if check and update:
        raise CondaStoreError("--check and --update cannot be used together",
                              hint="Run --check alone, or --update alone.")
    spec = load_spec(spec_file)
    options = LockOptions(
        platforms=tuple(platforms), cuda=cuda, no_cuda=no_cuda,
        virtual_packages=tuple(VirtualPackage.parse(v) for v in virtual_packages),
    )

    if check:
        existing = lockfile_io.read(out)
        reasons = staleness(existing, spec, options)
        if reasons:
            raise LockfileOutOfDateError(out, reasons)
        return LockResult(out, existing, written=False, up_to_date=True)

    require_no_pip(spec, spec_file)
    previous = _read_previous(out, required=bool(update))
    if update:
        check_update_names(previous, update)
    new = make_lock(spec, options, spec_path=spec_file, previous=previous, update=update,
                    cache_dir=Path(cache_dir) if cache_dir else None)
    lockfile_io.write(new, out)
    return LockResult(out, new, written=True, changes=tuple(diff_locks(previous, new)))


def _read_previous(path: Path, *, required: bool) -> Lockfile | None:
    from . import lockfile as lockfile_io
    from .exceptions import LockfileError

    if not path.exists():
        if required:
            raise LockfileError(path, "no such file; --update needs an existing lockfile",
                                hint="Run `conda store lock` first.")
        return None
    try:
        return lockfile_io.read(path)
    except LockfileError:
        if required:
            raise
        return None  # a broken old lockfile is replaced, not a reason to fail
