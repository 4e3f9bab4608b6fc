"""conda plugin hooks: registration only.

conda imports every plugin on every command, so this module imports nothing
heavy: each hook imports what it needs when conda calls it.
"""

from __future__ import annotations

from conda.plugins import hookimpl


@hookimpl
def conda_subcommands():
    """``conda store ...``."""
    from conda.plugins.types import CondaSubcommand

    from .conda_layer.subcommand import SUMMARY, action, configure_parser

    yield CondaSubcommand(name="store", summary=SUMMARY, action=action,
                          configure_parser=configure_parser)


@hookimpl
def conda_settings():
    """Our settings, under ``plugins:`` in .condarc (``conda config --show``)."""
    from .conda_layer.settings import settings

    yield from settings()


@hookimpl
def conda_pre_commands():
    """Lock the package caches for commands that install from them or clean them."""
    from conda.plugins.types import CondaPreCommand

    from .conda_layer.cache_locks import EXCLUSIVE_COMMANDS, SHARED_COMMANDS, pre_command

    yield CondaPreCommand(name="conda-store-cache-locks", action=pre_command,
                          run_for=set(SHARED_COMMANDS | EXCLUSIVE_COMMANDS))
    # conda's rattler solver has the same exit crash as our engine; guard every command.
    from .conda_layer.exit_guard import RUN_FOR, guard_exit

    yield CondaPreCommand(name="conda-store-exit-guard", action=guard_exit, run_for=RUN_FOR)
    from .conda_layer import usage

    yield CondaPreCommand(name="conda-store-usage", action=usage.record_run,
                          run_for=usage.RUN_FOR)
    # `conda create --file environment.yml` next to an up-to-date conda-store.lock.json.
    from .conda_layer.lock_aware import RUN_FOR as LOCK_AWARE_RUN_FOR
    from .conda_layer.lock_aware import pre_command as lock_aware

    yield CondaPreCommand(name="conda-store-lock-aware-create", action=lock_aware,
                          run_for=set(LOCK_AWARE_RUN_FOR))
    # Forget what an earlier failed command of this process left for the post-command.
    from .conda_layer.lock_specifier import POST_COMMANDS, clear_pending

    yield CondaPreCommand(name="conda-store-lockfile-reset", action=clear_pending,
                          run_for=set(POST_COMMANDS))
    # `conda env update --file conda-store.lock.json`: our specifier installs the lock.
    from .conda_layer.lock_env_update import RUN_FOR as ENV_UPDATE_RUN_FOR
    from .conda_layer.lock_env_update import mark

    yield CondaPreCommand(name="conda-store-lock-env-update", action=mark,
                          run_for=set(ENV_UPDATE_RUN_FOR))


@hookimpl
def conda_post_commands():
    """Release the package cache locks (at exit if the command failed)."""
    from conda.plugins.types import CondaPostCommand

    from .conda_layer.cache_locks import EXCLUSIVE_COMMANDS, SHARED_COMMANDS, post_command

    yield CondaPostCommand(name="conda-store-cache-locks", action=post_command,
                           run_for=set(SHARED_COMMANDS | EXCLUSIVE_COMMANDS))
    # After `conda create/install --file conda-store.lock.json`: PyPI packages, variables
    # and the history's requested specs, which conda's explicit install leaves out.
    from .conda_layer.lock_specifier import POST_COMMANDS, after_command

    yield CondaPostCommand(name="conda-store-lockfile", action=after_command,
                           run_for=set(POST_COMMANDS))


@hookimpl
def conda_package_extractors():
    """The .conda/.tar.bz2 extractor, under entry locks and into staging."""
    from .conda_layer.cache_locks import enabled_quietly

    if not enabled_quietly():
        return
    from conda.plugins.types import CondaPackageExtractor

    from .conda_layer.extractor import EXTENSIONS, NAME, extract

    yield CondaPackageExtractor(name=NAME, extensions=list(EXTENSIONS), extract=extract)


@hookimpl
def conda_health_checks():
    """``conda doctor``: half-extracted or leftover package cache entries."""
    from conda.plugins.types import CondaHealthCheck

    from .conda_layer.health import FIX, NAME, SUMMARY, check, fixer

    yield CondaHealthCheck(name=NAME, action=check, fixer=fixer, summary=SUMMARY, fix=FIX)


@hookimpl
def conda_environment_specifiers():
    """``conda create --file conda-store.lock.json``: the locked packages, no solve."""
    from conda.plugins.types import CondaEnvironmentSpecifier, EnvironmentFormat

    from .conda_layer.lock_specifier import (
        ALIASES,
        DEFAULT_FILENAMES,
        DESCRIPTION,
        NAME,
        LockfileSpec,
    )

    yield CondaEnvironmentSpecifier(name=NAME, aliases=ALIASES, environment_spec=LockfileSpec,
                                    default_filenames=DEFAULT_FILENAMES,
                                    description=DESCRIPTION,
                                    environment_format=EnvironmentFormat.lockfile)


@hookimpl
def conda_environment_exporters():
    """``conda export --format conda-store-lock-v1``: our lockfile, any ``--platform``."""
    from conda.plugins.types import CondaEnvironmentExporter, EnvironmentFormat

    from .conda_layer.lock_exporter import ALIASES, DEFAULT_FILENAMES, DESCRIPTION, NAME, export

    yield CondaEnvironmentExporter(name=NAME, aliases=ALIASES,
                                   default_filenames=DEFAULT_FILENAMES,
                                   multiplatform_export=export, description=DESCRIPTION,
                                   environment_format=EnvironmentFormat.lockfile)
