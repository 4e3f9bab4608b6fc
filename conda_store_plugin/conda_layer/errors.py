"""Turn our ``CondaStoreError`` into a ``CondaError`` conda prints cleanly.

conda prints ``ClassName: message`` (and a JSON dump with ``--json``), so the
conda error carries our class name, exit code, message and hint.
"""

from __future__ import annotations

from functools import cache

from ..exceptions import CondaStoreError


@cache
def _conda_error_class(name: str, return_code: int) -> type:
    from conda import CondaError

    return type(name, (CondaError,), {"return_code": return_code,
                                      "__module__": "conda_store_plugin"})


def to_conda_error(exc: CondaStoreError):
    """A ``CondaError`` subclass instance named like ``exc``'s class."""
    cls = _conda_error_class(type(exc).__name__, exc.exit_code)
    error = cls(exc.message)
    error.hint = exc.hint  # public attributes are part of conda's --json error dump
    if exc.hint:
        error.message = f"{exc.message}\n{exc.hint}"
    return error
