"""Command line: parse arguments, call ``api``, render the result.

Used twice: standalone (``python -m conda_store_plugin``) and as the ``conda store``
subcommand, whose parser conda builds and hands to ``configure_parser``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

#: Verb modules, in the order ``--help`` lists them. Each has HELP,
#: ``configure_parser(parser)`` and ``execute(args) -> int``.
VERBS = ("lock", "install", "convert",
         "build", "list", "history", "show", "use", "diff", "delete", "archive",
         "recreate", "du", "dedupe", "export", "import", "backup", "restore")

#: Verbs whose module name differs from the verb (``list`` would shadow the builtin
#: inside this package; ``import`` is a keyword).
MODULES = {"list": "list_", "import": "import_"}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add every verb as a sub-parser of ``parser``; a bare command prints help."""
    from importlib import import_module

    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND",
                                       dest="store_command")
    for verb in VERBS:
        module = import_module(f"{__name__}.{MODULES.get(verb, verb)}")
        sub = subparsers.add_parser(verb, help=module.HELP, description=module.HELP)
        module.configure_parser(sub)
        sub.set_defaults(func=module.execute)
    parser.set_defaults(func=None, _store_parser=parser)


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; errors propagate (the caller renders them)."""
    if getattr(args, "func", None) is None:
        args._store_parser.print_help()
        return 0
    return args.func(args)


def build_parser(prog: str = "conda-store-plugin") -> argparse.ArgumentParser:
    """The standalone parser."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Reproducible environment builds and lockfiles for conda.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    configure_parser(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: returns the exit code; errors are rendered, not raised."""
    from ..exceptions import CondaStoreError
    from .render import render_error

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except CondaStoreError as exc:
        render_error(exc, as_json=getattr(args, "json", False))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    """Console script and ``python -m``: ``main``, then exit without interpreter teardown.

    py-rattler's threads can crash a finalizing interpreter (see ``engine.py``), so
    the process ends with ``os._exit`` once output is flushed and atexit has run.
    """
    from ..engine import run_engine_then_exit

    run_engine_then_exit(main)
