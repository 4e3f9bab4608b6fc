"""``conda env update --file conda-store.lock.json``: make the environment match the lock.

conda (26.7.1) runs ``env update`` in ``conda.cli.main_env_update.execute``: it asks the
file's environment specifier for the environment (``env_for``), works out the target
(``-n``/``-p``, else the file's name, else the active environment), installs the
environment's ``requested_packages`` with a solve (``--prune`` removing the rest), runs
the installers of its ``external_packages``, writes its variables and prints the
activation hint. The ``explicit_packages`` our specifier gives are never looked at, so
on its own conda would install nothing from a lockfile.

So when conda's ``env update`` asks our specifier for the environment
(:meth:`LockfileSpec.env_for`: every pre-command has run, conda has picked our
specifier for the file and checked that the lockfile has this platform), the specifier
calls :func:`update`, which

1. works out the target exactly as conda's ``env update`` is about to (a missing
   environment is created, as conda's ``env update`` creates one), and runs conda's own
   checks on an existing one (writable; not frozen unless ``--override-frozen``);
2. prints the plan (new, removed, updated, downgraded and replaced packages, the PyPI
   packages, variables, history specs) the way conda prints a transaction;
3. with ``dry_run`` on (``CONDA_DRY_RUN=true``: ``env update`` has no ``--dry-run``
   option) stops there with conda's ``DryRunExit``; with ``--json`` the plan is the
   JSON document (``"dry_run": true``);
4. otherwise installs with ``api.install``, the engine of ``conda store install``: no
   solve, no repodata, every file checked against the lock's sha256; packages the lock
   does not have are removed, with or without ``--prune`` (a lockfile is a whole
   environment: packages it did not lock were never checked against the locked
   versions); the history entry records the lock's requested specs (and the specs it
   no longer requests as removed); the variables go into ``conda-meta/state``; the
   lock's PyPI packages are downloaded and hash-checked before anything changes and
   installed with uv after the conda packages. A new environment is registered
   (``environments.txt``) like conda registers the ones it creates.

Then the specifier returns the lock's environment without its variables (set already)
and conda finishes its command as usual: nothing is left to solve, install or write; it
prints the activation hint (``--json``: its generic success document, which cannot carry
our changes), and the post-commands run. Our errors become ``CondaError``s.

Which command is running: the ``conda_pre_commands`` hook for ``env_update``
(:func:`mark`) remembers conda's parsed arguments of that command; the specifier asks
:func:`active`, which compares them, by identity, with the ones of the command running
now. Commands that follow in the same process parse their own arguments, so a
mark cannot leak into them.

Why here, and not elsewhere: giving conda ``requested_packages`` beside the explicit
ones would send ``env update`` down conda's explicit path (``install_explicit_packages``),
but that path never removes a package, and the same environment would make
``conda create --file`` solve instead. Installing from the pre-command itself would run
before other plugins' pre-commands and before conda validated the file, and could not
end the command cleanly: conda runs ``execute`` after its pre-commands whatever they
did, ``CondaExitZero`` prints itself as an error and ``SystemExit`` skips the
post-commands. Inside ``env_for`` the install runs where conda's own would, and conda
keeps its usual ending.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

#: conda's name for ``conda env update`` in pre/post-command hooks.
RUN_FOR = frozenset({"env_update"})

_marked: list[Any] = []  # conda's parsed arguments of the running `conda env update`


def mark(command: str) -> None:
    """``conda_pre_commands`` action: this parse of the arguments is an ``env update``."""
    from conda.base.context import context

    _marked[:] = [getattr(context, "_argparse_args", None)]


def active() -> bool:
    """Whether the command running now is the ``conda env update`` :func:`mark` saw."""
    from conda.base.context import context

    args = getattr(context, "_argparse_args", None)
    return bool(_marked) and args is not None and _marked[0] is args


def update(lockfile: Path, lock: Any, platform: str, env: Any) -> Any:
    """Make conda's target environment match ``lock`` for ``platform``; see the module.

    ``env`` is the lock's conda ``Environment``; the one returned is what conda's
    ``env update`` finishes with: the same without variables, which are set already
    (so conda rewrites nothing). Does nothing and returns ``env`` when conda cannot
    tell which environment to update (conda then says so).

    Raises:
        DryRunExit: after printing the plan, when ``dry_run`` is on.
        CondaError: our errors (lockfile, checksum, download, link, PyPI, target).
    """
    from conda.base.context import context
    from conda.exceptions import DryRunExit

    prefix = target_prefix(lock)
    if prefix is None:
        return env
    check_target(prefix)
    plan = _plan(lock, prefix, platform)
    pypi = tuple(lock.platforms[platform].pypi)
    shown = not (context.json or context.quiet)
    if context.dry_run:
        if context.json:
            _print_json_plan(plan, pypi)
        elif shown:
            _print_plan(lockfile, plan, pypi, dry_run=True)
        raise DryRunExit()
    if shown:
        _print_plan(lockfile, plan, pypi, dry_run=False)
    result = _install(lockfile, prefix, platform, progress=_Steps() if shown else None)
    if result.created:
        from conda.core.envs_manager import register_env

        register_env(str(result.prefix))
    if shown and (not result.noop or pypi):
        print(f"Done: {result.prefix} matches {_shown(lockfile)} ({len(result.added)} "
              f"added, {len(result.removed)} removed, {result.unchanged} unchanged).",
              flush=True)
    return dataclasses.replace(env, variables={})


def target_prefix(lock: Any) -> str | None:
    """The prefix conda's ``env update`` will use; None when it will refuse for want of one.

    conda: ``-n``/``-p`` if given, else the file's ``name`` if any, else the active
    environment (``CONDA_DEFAULT_ENV``), else an error.
    """
    from argparse import Namespace

    from conda.base.context import context, determine_target_prefix

    args = getattr(context, "_argparse_args", None) or {}
    name, prefix = args.get("name"), args.get("prefix")
    if not (name or prefix):
        name = lock.spec.name or None
        if name is None and not os.environ.get("CONDA_DEFAULT_ENV"):
            return None
    return str(determine_target_prefix(context, Namespace(name=name, prefix=prefix)))


def check_target(prefix: str) -> None:
    """Conda's checks before ``env update`` changes an existing environment."""
    from conda.base.context import context
    from conda.core.prefix_data import PrefixData

    prefix_data = PrefixData(prefix)
    if prefix_data.is_environment():
        prefix_data.assert_writable()
        if context.protect_frozen_envs:
            prefix_data.assert_not_frozen()


def _plan(lock: Any, prefix: str, platform: str) -> Any:
    from ..exceptions import CondaStoreError
    from ..install import make_plan
    from .errors import to_conda_error

    try:
        return make_plan(lock, prefix=Path(prefix), platform=platform,
                         packages=lock.platforms[platform].packages)
    except CondaStoreError as exc:
        raise to_conda_error(exc) from exc


def _install(lockfile: Path, prefix: str, platform: str, *, progress: Any) -> Any:
    from conda.base.context import context
    from conda.core.package_cache_data import PackageCacheData

    from .. import api
    from ..exceptions import CondaStoreError
    from .errors import to_conda_error

    pkgs_dir = PackageCacheData.first_writable().pkgs_dir  # conda's, as conda would use
    try:
        return api.install(lockfile_path=lockfile, prefix=prefix, platform=platform,
                           offline=bool(context.offline), pkgs_dir=pkgs_dir,
                           progress=progress)
    except CondaStoreError as exc:
        raise to_conda_error(exc) from exc


class _Steps:
    """One line per step of ``api.install`` (stdout, like conda's transaction steps)."""

    def __call__(self, event: Any) -> None:
        if event.kind == "fetch" and event.total:
            print(f"Downloading and extracting packages: {event.total} ...", flush=True)
        elif event.kind == "link":
            print(f"Executing transaction: {event.total} change(s) ...", flush=True)


# -- what changes -----------------------------------------------------------------------


def changes(plan: Any) -> dict[str, list[tuple[Any, Any]]]:
    """The plan's package changes as conda names them: ``(before, after)`` pairs.

    Keys: ``new``, ``removed``, ``updated``, ``downgraded``, ``replaced`` (same version,
    another build or file). ``before``/``after`` is None where there is none.
    """
    from ..conda_meta import read_installed

    installed = {} if plan.new_env else read_installed(plan.prefix)
    out: dict[str, list[tuple[Any, Any]]] = {
        "new": [], "removed": [], "updated": [], "downgraded": [], "replaced": []}
    for pkg in sorted(plan.to_add, key=lambda p: p.name):
        before = installed.get(pkg.name)
        out[_kind(before, pkg)].append((before, pkg))
    out["removed"] = [(rec, None) for rec in sorted(plan.to_remove, key=lambda r: r.name)]
    return out


def _kind(before: Any, after: Any) -> str:
    if before is None:
        return "new"
    from conda.models.version import VersionOrder

    try:
        old, new = VersionOrder(before.version), VersionOrder(after.version)
    except Exception:  # noqa: BLE001 - an unparsable version is shown as replaced
        return "replaced"
    if new > old:
        return "updated"
    if new < old:
        return "downgraded"
    return "replaced"


_HEADINGS = {
    "new": "The following NEW packages will be INSTALLED:",
    "removed": "The following packages will be REMOVED (not in the lockfile):",
    "updated": "The following packages will be UPDATED:",
    "downgraded": "The following packages will be DOWNGRADED:",
    "replaced": "The following packages will be REPLACED (same version, locked build "
                "or file):",
}


def _print_plan(lockfile: Path, plan: Any, pypi: tuple[Any, ...], *, dry_run: bool) -> None:
    what = "Dry run: " if dry_run else ""
    print(f"\n## {what}conda env update from {_shown(lockfile)} ({plan.platform}): the "
          "locked packages, no solve ##\n")
    print(f"  environment location: {plan.prefix}" + ("  (new)" if plan.new_env else ""))
    print()
    if plan.noop and not pypi:
        print(f"All locked packages already installed ({len(plan.unchanged)} packages).",
              flush=True)
        return
    width = max([len(p.name) for p in plan.packages] + [4]) + 2
    for kind, pairs in changes(plan).items():
        if not pairs:
            continue
        print(_HEADINGS[kind] + "\n")
        for before, after in pairs:
            if before is None:
                line = f"{after.version}-{after.build}"
            elif after is None:
                line = f"{before.version}-{before.build}"
            else:
                line = f"{before.version}-{before.build} --> {after.version}-{after.build}"
            print(f"  {(after or before).name:<{width}} {line}")
        print()
    if pypi:
        print("The following locked PyPI packages will be installed with uv after the "
              "conda packages (hashes checked, unchanged ones kept):\n")
        for pkg in sorted(pypi, key=lambda p: p.name):
            print(f"  {pkg.name:<{width}} {pkg.version}")
        print()
    if plan.variables_changed:
        print("Environment variables to set: " + ", ".join(sorted(plan.variables)) + "\n")
    if plan.specs_changed:
        print("Requested specs for the history: " + ", ".join(plan.update_specs) + "\n")
    print(f"{len(plan.to_add)} to install, {len(plan.to_remove)} to remove, "
          f"{len(plan.unchanged)} unchanged.", flush=True)


def _print_json_plan(plan: Any, pypi: tuple[Any, ...]) -> None:
    from conda.cli.common import stdout_json

    def dist(pkg: Any) -> dict[str, Any]:
        return {"name": pkg.name, "version": pkg.version, "build": pkg.build,
                "url": pkg.url}

    link = [dist(p) for p in plan.to_add]
    found = changes(plan)
    unlink = [dist(before) for kind, pairs in found.items() if kind != "new"
              for before, _ in pairs]
    stdout_json({
        "success": True,
        "dry_run": True,
        "prefix": str(plan.prefix),
        "new_env": plan.new_env,
        "actions": {"PREFIX": str(plan.prefix), "LINK": link, "UNLINK": unlink,
                    "PYPI": [f"{p.name}=={p.version}" for p in pypi]},
        "changes": {kind: [(before or after).name for before, after in pairs]
                    for kind, pairs in found.items()},
        "unchanged": len(plan.unchanged),
        "variables": dict(plan.variables) if plan.variables_changed else {},
        "update_specs": list(plan.update_specs) if plan.specs_changed else [],
    })


def _shown(path: Path) -> str:
    """``path`` as given when relative, else relative to the cwd if below it."""
    if not path.is_absolute():
        return str(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return str(path) if relative.startswith("..") else relative
