"""JSON documents with one top-level field per line, written by json's C encoder.

``json.dumps(indent=2)`` falls back to the pure-Python encoder: for conda's records
(``conda-meta/*.json`` with their file lists, ``info/repodata_record.json`` of every
cache entry) that is most of the Python time of an install. This layout keeps the head
readable and greppable (``conda_meta`` reads the identity fields of a record without
parsing its file lists) and every value goes through the C encoder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def dumps_top_level(data: Mapping[str, Any]) -> str:
    """``data`` as JSON text: ``{``, one ``"key": value`` line per field (2-space indent), ``}``."""
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in data.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"
