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
