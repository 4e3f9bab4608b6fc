"""Keep conda processes that used py-rattler from crashing at exit.

conda-rattler-solver drives py-rattler like we do, and a conda process can die
with SIGSEGV/SIGABRT during interpreter teardown after a rattler solve (see
``engine.py``). Registering ``engine.install_exit_guard`` before the command runs
makes ``atexit`` wait, before teardown, until rattler's threads have left Python.
It costs nothing when no such thread exists.
"""

from __future__ import annotations

#: conda commands that may solve or install with py-rattler, and our own.
RUN_FOR = {"create", "install", "update", "upgrade", "remove", "uninstall", "env", "export",
           "search", "store", "doctor"}


def guard_exit(command: str) -> None:
    """``conda_pre_commands`` action."""
    from ..engine import install_exit_guard

    install_exit_guard()
