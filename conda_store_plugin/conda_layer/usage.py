"""Record that ``conda run`` used a store build (the "used" rule of bulk archive).

``conda activate`` does not load plugins in conda 26, so activations are recorded by
the ``activate.d`` script each build installs; ``conda run`` does load them, and
records the use here as well, before the command runs.
"""

from __future__ import annotations

RUN_FOR = {"run"}


def record_run(command: str) -> None:
    """``conda_pre_commands`` action: never fails the user's command."""
    from conda.base.context import context

    from ..api import record_use

    record_use(prefix=context.target_prefix, how=command)
