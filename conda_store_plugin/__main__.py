"""``python -m conda_store_plugin``: the same verbs as ``conda store``, without conda."""

from __future__ import annotations

from .cli import entry

if __name__ == "__main__":
    entry()
