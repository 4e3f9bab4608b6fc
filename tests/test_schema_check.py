"""The fast schema check must agree with jsonschema, the reference, on every verdict."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from conda_store_plugin import lockfile
from conda_store_plugin.schema_check import compile_schema
from tests.test_lockfile_format import sample_lock


def mutations():
    base = sample_lock().to_dict()
    pkg = ("platforms", "linux-64", "packages", 0)
    yield "valid", base
    edits = [
        (pkg, "sha256", "ZZ"), (pkg, "size", -1), (pkg, "size", True), (pkg, "size", 1.5),
        (pkg, "build_number", "0"), (pkg, "noarch", "java"), (pkg, "fn", "a.zip"),
        (pkg, "depends", "a"), (pkg, "depends", [1]), (pkg, "name", ""), (pkg, "extra", 1),
        (pkg, "noarch", "python"), (pkg, "timestamp", 0), (pkg, "license", None),
        ((), "format", "other"), ((), "version", "2.0"), ((), "version", 1),
        ((), "platforms", {}), ((), "channels", "c"), (("metadata",), "input_hash", {}),
        (("metadata", "input_hash"), "hash_version", 0),
        (("metadata", "input_hash"), "algorithm", "md5"), (("spec",), "name", None),
        (("spec",), "name", 3), (("spec", "variables"), "A", 1),
        (("platforms", "linux-64", "virtual_packages", 0), "name", "unix"),
        (("platforms", "linux-64"), "pypi", [{"name": "x", "version": "1", "url": "u",
                                             "sha256": "0" * 64, "index_url": "i"}]),
        (("platforms", "linux-64"), "pypi", [{"name": "x"}]),
    ]
    for where, key, value in edits:
        data = copy.deepcopy(base)
        node = data
        for step in where:
            node = node[step]
        node[key] = value
        yield f"{'/'.join(map(str, where))}/{key}={value!r}", data
    for where, key in [(pkg, "url"), ((), "metadata"), (("spec",), "dependencies")]:
        data = copy.deepcopy(base)
        node = data
        for step in where:
            node = node[step]
        del node[key]
        yield f"drop {key}", data


@pytest.mark.parametrize(("label", "data"), list(mutations()), ids=lambda x: str(x)[:40])
def test_fast_check_agrees_with_jsonschema(label, data):
    reference = Draft202012Validator(lockfile.SCHEMA).is_valid(data)
    assert compile_schema(lockfile.SCHEMA)(json.loads(json.dumps(data))) is reference


def test_unknown_keyword_is_refused_not_ignored():
    with pytest.raises(ValueError, match="oneOf"):
        compile_schema({"oneOf": [{"type": "string"}]})
