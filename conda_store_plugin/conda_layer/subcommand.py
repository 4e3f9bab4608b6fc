"""``conda store``: our CLI, hosted by conda's parser."""

from __future__ import annotations

import argparse

SUMMARY = "Reproducible environments: lock, install, build, history, archive, backup."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add every verb to the parser conda made for ``conda store``."""
    from ..cli import configure_parser as configure_verbs

    configure_verbs(parser)


def action(args: argparse.Namespace) -> int:
    """Run the verb; our errors become conda errors so conda renders them."""
    from ..cli import run
    from ..exceptions import CondaStoreError
    from .errors import to_conda_error

    try:
        return run(args)
    except CondaStoreError as exc:
        raise to_conda_error(exc) from exc
