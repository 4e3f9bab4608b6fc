"""Keep conda processes that used py-rattler from crashing at exit.

conda-rattler-solver drives py-rattler like we do, and a conda process can die
with SIGSEGV/SIGABRT during interpreter teardown after a rattler solve (see
``engine.py``). Registering ``engine.install_exit_guard`` before the command runs
makes ``atexit`` wait, before teardown, until rattler's threads have left Python.
It costs nothing when no such thread exists.
"""

from __future__ import annotations

#: conda commands that may solve or install with py-rattler, and our own. conda names a
#: command after its module (`conda env update`: main_env_update, ``env_update``;
#: `conda upgrade` is main_update) or its plugin subcommand (``doctor``, ``store``).
RUN_FOR = {"create", "install", "update", "remove", "env_create", "env_update",
           "env_remove", "export", "search", "store", "doctor"}


def guard_exit(command: str) -> None:
    """``conda_pre_commands`` action."""
    from ..engine import install_exit_guard

    install_exit_guard()
