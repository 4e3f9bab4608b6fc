"""Rendering results and errors for people (text) and programs (``--json``)."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(data: Any) -> None:
    """Write ``data`` to stdout as indented JSON."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def render_error(exc: Exception, *, as_json: bool) -> None:
    """Print an error: JSON on stdout with ``--json``, else text on stderr."""
    if as_json and hasattr(exc, "to_dict"):
        print_json(exc.to_dict())
        return
    sys.stderr.write(f"error: {exc}\n")


def add_json_flag(parser) -> None:
    """The ``--json`` option every verb has."""
    parser.add_argument("--json", action="store_true",
                        help="Print the result as JSON on stdout.")
