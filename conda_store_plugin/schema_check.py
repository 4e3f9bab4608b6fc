"""A fast yes/no JSON-schema check for the schemas this package writes.

``jsonschema`` walks a lockfile of 900 packages in about half a second, which
alone would break the "no-op install in well under a second" goal. This
compiles the subset of JSON Schema 2020-12 our schemas use into plain Python
closures (about 50x faster). It only answers valid/invalid: on "invalid",
callers run ``jsonschema`` to get the precise message. Compiling a schema that
uses any other keyword raises, so the fast check never silently ignores a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

#: Keywords that only annotate (``format`` is an annotation by default in 2020-12).
_ANNOTATIONS = {"$schema", "$id", "title", "description", "format", "$defs", "default",
                "examples", "$comment"}

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """Compile ``schema`` (with its ``$defs``) into a function ``instance -> bool``."""
    defs = schema.get("$defs", {})
    compiled: dict[str, Check] = {}

    def ref(target: str) -> Check:
        prefix = "#/$defs/"
        if not target.startswith(prefix):
            raise ValueError(f"unsupported $ref {target!r}")
        name = target[len(prefix):]

        def check(value: Any) -> bool:  # late-bound: definitions may refer to each other
            return compiled[name](value)

        return check

    def build(node: Mapping[str, Any] | bool) -> Check:
        if node is True:
            return lambda v: True
        if node is False:
            return lambda v: False
        checks: list[Check] = []
        for key, value in node.items():
            if key in _ANNOTATIONS:
                continue
            checks.append(_keyword(key, value, node, build, ref))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(check(v) for check in checks)

    for name, definition in defs.items():
        compiled[name] = build(definition)
    return build(schema)


def _keyword(key: str, value: Any, node: Mapping[str, Any], build, ref) -> Check:
    if key == "type":
        tests = [_TYPES[t] for t in ([value] if isinstance(value, str) else value)]
        return lambda v: any(t(v) for t in tests)
    if key == "const":
        return lambda v: v == value and type(v) is type(value)
    if key == "enum":
        options = list(value)
        return lambda v: any(v == o and type(v) is type(o) for o in options)
    if key == "pattern":
        search = re.compile(value).search
        return lambda v: not isinstance(v, str) or search(v) is not None
    if key == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= value
    if key == "minimum":
        return lambda v: isinstance(v, bool) or not isinstance(v, (int, float)) or v >= value
    if key == "minProperties":
        return lambda v: not isinstance(v, dict) or len(v) >= value
    if key == "required":
        names = list(value)
        return lambda v: not isinstance(v, dict) or all(n in v for n in names)
    if key == "properties":
        props = {name: build(sub) for name, sub in value.items()}
        return lambda v: not isinstance(v, dict) or all(
            props[k](item) for k, item in v.items() if k in props)
    if key == "additionalProperties":
        known = set(node.get("properties", {}))
        extra = build(value)
        return lambda v: not isinstance(v, dict) or all(
            extra(item) for k, item in v.items() if k not in known)
    if key == "items":
        each = build(value)
        return lambda v: not isinstance(v, list) or all(each(item) for item in v)
    if key == "$ref":
        return ref(value)
    raise ValueError(f"schema keyword {key!r} is not supported by the fast check")


def schema_problem(schema: Mapping[str, Any], instance: Any) -> str | None:
    """``None`` when ``instance`` is valid, else where and what the first problem is.

    The fast compiled check answers first; ``jsonschema`` only runs to explain
    a failure (and is the reference the tests compare the fast check with).
    """
    if fast_check(schema)(instance):
        return None
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema).iter_errors(instance),
                    key=lambda e: list(map(str, e.absolute_path)))
    if not errors:  # the two disagree: trust jsonschema, the reference
        return None
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"at {where}: {first.message}{more}"


_CACHE: dict[int, tuple[Mapping[str, Any], Check]] = {}


def fast_check(schema: Mapping[str, Any]) -> Check:
    """``compile_schema(schema)``, compiled once per schema object."""
    # Keyed by identity: our schemas are module-level constants.
    hit = _CACHE.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, compile_schema(schema))
        _CACHE[id(schema)] = hit
    return hit[1]
