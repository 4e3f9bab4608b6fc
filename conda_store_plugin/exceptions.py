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


def shown(items: Iterable[str], *, limit: int = 10, sep: str = ", ") -> str:
    """``items`` joined, at most ``limit`` of them, then how many more (``--json`` has all)."""
    items = list(items)
    text = sep.join(items[:limit])
    if len(items) > limit:
        text += f"{sep}... and {len(items) - limit} more"
    return text


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


class FormatError(CondaStoreError):
    """A file in another lockfile format cannot be read, or cannot be converted."""

    def __init__(self, path: str | Path | None, problem: str, *,
                 hint: str | None = None) -> None:
        self.path = path
        where = str(path) if path is not None else "input"
        super().__init__(
            f"{where}: {problem}",
            hint=hint or "Check that the file is complete and was written by the tool "
                         "it claims, or pass --from FORMAT.",
        )


class UnknownFormatError(FormatError):
    """A file that is none of the formats ``conda store convert`` reads."""

    def __init__(self, path: str | Path, known: Iterable[str]) -> None:
        self.known = tuple(known)
        super().__init__(
            path, "not a file format conda store convert recognises",
            hint="Readable formats: " + ", ".join(self.known) + ". If the file is one of "
                 "them, name it with --from FORMAT.",
        )


class UnsupportedLockContentError(FormatError):
    """A lockfile holds packages we cannot carry over yet (PyPI, source builds)."""

    def __init__(self, path: str | Path, what: str, names: Iterable[str], *,
                 hint: str | None = None) -> None:
        self.names = tuple(sorted(set(names)))
        shown = ", ".join(self.names[:8]) + (" ..." if len(self.names) > 8 else "")
        super().__init__(
            path, f"{len(self.names)} {what} ({shown}): not supported yet",
            hint=hint or "Only conda packages can be converted for now; remove the others "
                         "from the source lock, or install them separately after the "
                         "conda environment.",
        )


class LockEnvironmentNotFoundError(FormatError):
    """A pixi lock file has no environment of the requested name."""

    def __init__(self, path: str | Path, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = tuple(sorted(available))
        super().__init__(
            path, f"has no environment named {name!r} "
                  f"(it has: {', '.join(self.available) or 'none'})",
            hint="Pick one with --environment NAME.",
        )


# --- environment store (conda_store_plugin/store/) ------------------------------------


class StoreError(CondaStoreError):
    """Base of the errors of the environment store."""


class StoreVersionError(StoreError):
    """The store (or one of its records) was written by a newer conda-store-plugin."""

    def __init__(self, path: str | Path, found: str, supported: str) -> None:
        self.path = path
        super().__init__(
            f"{path} has store format {found}, newer than this conda-store-plugin "
            f"understands ({supported}); nothing was changed",
            hint="Upgrade conda-store-plugin, or point --store at another directory.",
        )


class StoreRecordError(StoreError):
    """A store record that cannot be read (not JSON, or not valid)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: {problem}",
            hint="The store was edited by hand or its disk is damaged: restore the file "
                 "from a backup, or remove that build's folder.",
        )


class InvalidStoreNameError(StoreError):
    """A namespace, environment name or build reference that is not valid."""

    def __init__(self, what: str, value: str, rule: str) -> None:
        self.value = value
        super().__init__(f"invalid {what} {value!r}: {rule}",
                         hint="Use letters, digits, '_', '.' and '-', e.g. 'data-science' "
                              "or 'team/data-science@3'.")


class UnknownEnvironmentError(StoreError):
    """No environment of that name in the store."""

    def __init__(self, ref: str, known: Iterable[str], store: str | Path) -> None:
        self.ref = ref
        self.known = tuple(sorted(known))
        listing = ", ".join(self.known[:20]) + (" ..." if len(self.known) > 20 else "")
        super().__init__(
            f"no environment {ref!r} in the store {store}",
            hint=(f"Known environments: {listing}." if self.known else
                  "The store has no environments yet: create one with "
                  "`conda store build environment.yml -n NAME`."),
        )


class UnknownBuildError(StoreError):
    """The environment has no build of that number."""

    def __init__(self, env: str, build: object, known: Iterable[int]) -> None:
        self.env = env
        self.build = build
        self.known = tuple(sorted(known))
        super().__init__(
            f"environment {env} has no build {build}",
            hint=(f"Its builds are: {', '.join(map(str, self.known))} "
                  f"(see `conda store history {env}`)." if self.known else
                  f"It has no builds yet: run `conda store build -n {env.split('/')[-1]}`."),
        )


class BuildStateError(StoreError):
    """The build is not in a state that allows the operation."""

    def __init__(self, env: str, build: int, status: str, operation: str, *,
                 hint: str | None = None) -> None:
        self.env = env
        self.build = build
        self.status = status
        super().__init__(f"cannot {operation} {env}@{build}: its status is {status}",
                         hint=hint or f"See `conda store show {env}@{build}`.")


class BuildInProgressError(BuildStateError):
    """The build is being built (its builder process is alive)."""

    def __init__(self, env: str, build: int, operation: str) -> None:
        super().__init__(env, build, "building", operation,
                         hint="Wait for the build to finish (or stop its process), "
                              "then run the command again.")


class CurrentBuildError(StoreError):
    """A verb that would remove the current build of an environment, without --force."""

    def __init__(self, env: str, build: int, operation: str) -> None:
        self.env = env
        self.build = build
        super().__init__(
            f"{env}@{build} is the current build; not {operation} it",
            hint=f"Switch first with `conda store use {env} OTHER_BUILD`, or pass --force "
                 f"(the environment then has no usable current build).",
        )


class EnvironmentLinkError(StoreError):
    """The envs-dir path for the environment's link is taken by something else."""

    def __init__(self, link: str | Path, problem: str) -> None:
        self.link = link
        super().__init__(
            f"cannot link the environment at {link}: {problem}",
            hint="Remove or rename what is there (e.g. `conda env remove -p PATH`), or "
                 "build under another name with -n NAME.",
        )


class BuildFailedError(StoreError):
    """A build failed; the previous build (if any) stays current."""

    def __init__(self, env: str, build: int, log: str | Path, reason: str) -> None:
        self.env = env
        self.build = build
        self.log = log
        self.reason = reason
        super().__init__(
            f"build {env}@{build} failed: {reason}",
            hint=f"The previous build stays current. The full log is {log}; fix the "
                 "cause and run `conda store build` again.",
        )

    def to_dict(self) -> dict:
        """JSON form, with the build number and log path."""
        return {**super().to_dict(), "environment": self.env, "build": self.build,
                "log": str(self.log)}


class CorruptBuildLockfileError(StoreError):
    """An archived build cannot be recreated: its lockfile is missing or invalid."""

    def __init__(self, env: str, build: int, path: str | Path, problem: str, *,
                 operation: str = "recreate") -> None:
        self.env = env
        self.build = build
        self.path = path
        super().__init__(
            f"cannot {operation} {env}@{build}: its lockfile {path} is unusable ({problem}); "
            "nothing was changed",
            hint=f"Restore the lockfile from a backup, or make a new build from its spec: "
                 f"`conda store build {Path(path).parent / 'environment.yml'} "
                 f"-n {env.split('/')[-1]}`.",
        )


class RecreateMismatchError(StoreError):
    """The re-installed package set differs from the build's lockfile."""

    def __init__(self, env: str, build: int, differences: Iterable[str]) -> None:
        self.differences = tuple(differences)
        super().__init__(
            f"recreating {env}@{build} did not give the locked packages: "
            + "; ".join(self.differences[:5]),
            hint="The build stays archived. Check the package cache for tampered files "
                 "(`conda clean --packages`) and try again.",
        )


class InvalidDurationError(StoreError):
    """A duration such as ``90d`` that cannot be parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"invalid duration {text!r}",
                         hint="Write a number and a unit: 90d, 12h, 30m, 45s or 2w.")


# --- PyPI packages (the `pip:` section): lock and install ------------------------------


class PipRequirementError(SpecError):
    """A line of the ``pip:`` section that cannot be locked reproducibly."""

    def __init__(self, path: str | Path | None, line: str, problem: str, *,
                 hint: str | None = None) -> None:
        self.requirement = line
        super().__init__(
            path, f"pip requirement {line!r}: {problem}",
            hint=hint or "Supported in `pip:` are requirement specifiers (`name[extra] "
                         ">=1.0; marker`), `--index-url URL` and `--extra-index-url URL`.",
        )


class PypiLockError(CondaStoreError):
    """Locking the PyPI packages of one platform failed; nothing was written."""

    def __init__(self, platform: str, message: str, *, hint: str | None = None) -> None:
        self.platform = platform
        super().__init__(
            f"cannot lock the pip section for {platform}: {message}",
            hint=hint or "Fix the `pip:` section of the spec and lock again.",
        )


class PypiNoPythonError(PypiLockError):
    """The spec has a ``pip:`` section but the conda solve has no usable ``python``."""

    def __init__(self, platform: str, problem: str = "the conda packages have no `python`") -> None:
        super().__init__(
            platform, problem,
            hint="Add `python` (e.g. `python 3.12.*`) to the conda dependencies: PyPI "
                 "packages are installed into the environment's own CPython.")


class PypiNoWheelError(PypiLockError):
    """A PyPI project has no wheel for a target platform (sdists are not locked)."""

    def __init__(self, platform: str, package: str, detail: str = "") -> None:
        self.package = package
        super().__init__(
            platform, f"no wheel of {package} fits {platform}"
                      + (f"\n{detail.rstrip()}" if detail else ""),
            hint=f"Pin a version of {package} that has a wheel for {platform}, install it "
                 f"from a conda channel instead, or lock without {platform}. If its wheels "
                 "need a newer OS than the lock assumes, raise it, e.g. `--virtual-package "
                 "__osx=12.0` or `__glibc=2.34`. Source distributions are not locked: they "
                 "would be built on the target machine.")


class PypiIndexError(PypiLockError):
    """A package index cannot be reached (or answered with an error)."""

    def __init__(self, platform: str, index_url: str, detail: str) -> None:
        self.index_url = index_url
        super().__init__(
            platform, f"cannot read the package index {index_url}:\n{detail.rstrip()}",
            hint="Check the index URL (`--index-url`/`--extra-index-url` in the pip "
                 "section) and your network, then lock again.")


class PypiResolutionError(PypiLockError):
    """uv found no set of PyPI packages that meets the pip section."""

    def __init__(self, platform: str, explanation: str) -> None:
        self.explanation = explanation
        super().__init__(
            platform, f"no solution:\n{explanation.rstrip()}",
            hint="Relax the pip requirements. Python packages of the conda solve take "
                 "part as fixed versions written `NAME==VERSION+conda`: change the conda "
                 "pin, or drop the pip requirement that conflicts with it.")


class UvNotFoundError(CondaStoreError):
    """The ``uv`` executable (a dependency) cannot be found."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"cannot find the uv executable: {detail}",
                         hint="Reinstall conda-store-plugin with its dependencies "
                              "(`pip install uv`).")


class PypiInstallError(InstallError):
    """Installing the locked PyPI packages failed; none of them was installed."""

    def __init__(self, prefix: str | Path, message: str, *, hint: str | None = None) -> None:
        self.prefix = prefix
        super().__init__(
            f"cannot install the PyPI packages into {prefix}: {message}",
            hint=hint or "None of the PyPI packages was installed; the conda packages are "
                         "in place. Fix the cause and install again.")


class PypiChecksumMismatchError(PypiInstallError):
    """A downloaded wheel does not have the locked sha256; nothing was installed."""

    def __init__(self, prefix: str | Path, package: str, url: str, expected: str,
                 actual: str) -> None:
        self.package = package
        self.url = url
        self.expected = expected
        self.actual = actual
        super().__init__(
            prefix, f"sha256 mismatch for {package} ({url}): locked {expected}, got {actual}",
            hint="The file on the index changed or the download was tampered with; no PyPI "
                 "package was installed. Re-lock (`conda store lock --update "
                 f"{package}`) if the change is expected, else check the index.")


# --- configuration (.condarc) and credentials ------------------------------------------


class ConfigError(CondaStoreError):
    """A configuration file (.condarc) or setting that cannot be used."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        super().__init__(f"{source}: {problem}",
                         hint="Fix the setting (see `conda config --show-sources`) and run "
                              "the command again.")


class CredentialsRequiredError(InstallError):
    """A channel refused a download for lack of credentials (HTTP 401/403)."""

    def __init__(self, failures: Iterable[tuple[str, str, str]]) -> None:
        self.failures = list(failures)  # (dist_name, url without credentials, reason)
        lines = shown((f"  {name} ({url}): {reason}" for name, url, reason in self.failures),
                      sep="\n")
        super().__init__(
            f"the channel refused {len(self.failures)} download(s) for lack of "
            f"credentials:\n{lines}",
            hint="Lockfiles never hold credentials: configure them where conda reads them "
                 "(a channel URL with its token, e.g. `https://host/t/<TOKEN>/channel`, in "
                 "`channels:` or `custom_channels:` of .condarc; `anaconda login`; or "
                 "~/.netrc), then install again. Nothing was installed.")

    def to_dict(self) -> dict:
        """JSON form, with every refused download."""
        return {**super().to_dict(), "failures": [
            {"package": n, "url": u, "reason": r} for n, u, r in self.failures]}


# --- package cache locks (cache_lock.py, conda_layer/cache_locks.py) -------------------


class CacheLockError(CondaStoreError):
    """A package cache (or one of its entries) cannot be locked."""


class CacheLockTimeoutError(CacheLockError):
    """Another process held a package cache (or entry) lock for longer than the timeout."""

    exit_code = 2

    def __init__(self, what: str, timeout: float, holders: Iterable[str], *,
                 exclusive: bool) -> None:
        self.what = what
        self.timeout = timeout
        self.holders = tuple(holders)
        held_by = "; ".join(self.holders) or "a process that could not be identified"
        use = "exclusive use of" if exclusive else "the package cache"
        super().__init__(
            f"timed out after {timeout:g} s waiting for {use} {what} (held by {held_by})",
            hint="Let that process finish (a `conda clean` or an install using the cache) "
                 "and run the command again, or allow a longer wait: "
                 "`conda config --set plugins.cache_lock_timeout 1800` (seconds; -1 waits "
                 "forever).")


class PackageCacheEntryError(CondaStoreError):
    """A package could not be put into the package cache (its archive is damaged)."""

    def __init__(self, package: str, archive: str | Path, problem: str) -> None:
        self.package = package
        self.archive = archive
        super().__init__(
            f"cannot extract {package} from {archive}: {problem}",
            hint="The archive was downloaded afresh and still fails: the package on the "
                 "channel is broken. Report it to the channel, or pin another build.")


# --- transfer files, backup and restore (transfer.py, store/exporter.py, ----------------
# --- store/importer.py, safe_tar.py, backup/) -------------------------------------------


class TransferFileError(StoreError):
    """An environment transfer file (``conda store export``) cannot be read or used."""

    def __init__(self, path: str | Path, problem: str, *, hint: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"{path}: {problem}; nothing was changed",
            hint=hint or "Export the environment again with `conda store export ENV -o "
                         "FILE` (files written by hand or by another tool are refused).")


class EnvironmentExistsError(StoreError):
    """An import or restore would overwrite an environment that is already in the store."""

    def __init__(self, environment: str, store: str | Path) -> None:
        self.environment = environment
        super().__init__(
            f"the store {store} already has an environment {environment}; nothing was "
            "changed",
            hint="Import it under another name (--name NAME or --namespace NS), or replace "
                 "the existing environment and all its builds with --force.")


class ArchiveIntegrityError(StoreError):
    """A backup archive is damaged, truncated, or was changed after it was made."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"{path}: {problem}; it was refused before anything was written",
            hint="Use another copy of the backup (compare its size and sha256 with the "
                 "original), or make a new one with `conda store backup`.")


class UnsafeArchiveMemberError(ArchiveIntegrityError):
    """An archive member that extraction would place outside its folder, or not a file."""

    def __init__(self, path: str | Path, member: str, reason: str) -> None:
        self.member = member
        self.reason = reason
        super().__init__(path, f"unsafe member {member!r}: {reason}")


class BackupFormatError(StoreError):
    """A file that is not a conda-store backup, or one this version cannot read."""

    def __init__(self, path: str | Path, problem: str, *, hint: str | None = None) -> None:
        self.path = str(path)
        super().__init__(
            f"{path}: {problem}; nothing was changed",
            hint=hint or "Give a file made by `conda store backup` (a .tar.zst whose first "
                         "member is manifest.json).")


class RestoreConflictError(StoreError):
    """A restore would overwrite environments that already exist in the target store."""

    exit_code = 2

    def __init__(self, conflicts: Iterable[str], store: str | Path) -> None:
        self.conflicts = tuple(sorted(conflicts))
        listing = ", ".join(self.conflicts[:20]) + (" ..." if len(self.conflicts) > 20
                                                     else "")
        super().__init__(
            f"the store {store} already has {len(self.conflicts)} of the backup's "
            f"environments: {listing}; nothing was changed",
            hint="Choose what to do with them: --on-conflict skip (keep the store's), or "
                 "--on-conflict replace (the backup's replace them, with all their builds); "
                 "--dry-run shows the plan.")

    def to_dict(self) -> dict:
        """JSON form, with the conflicting environments."""
        return {**super().to_dict(), "conflicts": list(self.conflicts)}


class RestoreFailedError(StoreError):
    """Some environments of a backup could not be restored (the others were)."""

    def __init__(self, failures: Iterable[tuple[str, str]], report: dict | None = None) -> None:
        self.failures = tuple(failures)
        self.report = report
        lines = "\n".join(f"  {env}: {reason}" for env, reason in self.failures)
        super().__init__(
            f"{len(self.failures)} environment(s) could not be restored (each was left as "
            f"it was before the restore):\n{lines}",
            hint="Fix the cause (e.g. the network, for a backup made without "
                 "--with-packages) and run the restore again with --on-conflict skip: the "
                 "environments already restored are kept.")

    def to_dict(self) -> dict:
        """JSON form, with the failures and what was restored."""
        return {**super().to_dict(),
                "failures": [{"environment": e, "reason": r} for e, r in self.failures],
                "report": self.report}
