"""The environment specification: environment.yml read, checked and normalised.

``EnvironmentSpec`` is what a lock is made from. Its canonical form (``to_dict``)
goes into the lockfile and its hash (``input_hash``) tells whether a lockfile
still matches the spec.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import InvalidMatchSpecError, SpecError

#: Keys environment.yml may have. ``prefix`` is written by ``conda env export``;
#: it names where the env was, not what is in it, so it is accepted and ignored.
KNOWN_KEYS = ("name", "channels", "dependencies", "platforms", "variables", "prefix")

#: Version of the canonical form hashed by ``input_hash``. Bump it when
#: ``hash_payload`` changes, so old lockfiles are reported stale, not wrongly fresh.
HASH_VERSION = 1

_WHITESPACE = re.compile(r"\s+")


def normalise_spec_string(spec: str) -> str:
    """One spelling per MatchSpec string: trimmed, runs of white space made one space."""
    return _WHITESPACE.sub(" ", spec.strip())


@dataclass(frozen=True)
class EnvironmentSpec:
    """A normalised environment.yml.

    Attributes:
        name: the environment's name, if the file gives one.
        channels: channel names or URLs in priority order, as written.
        dependencies: conda MatchSpec strings, normalised.
        pip: the lines of the ``pip:`` section, as written (trimmed).
        platforms: the ``platforms:`` key (conda-lock's), empty when absent.
        variables: environment variables to set in the environment.
    """

    name: str | None = None
    channels: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The form stored in a lockfile."""
        return {
            "name": self.name,
            "channels": list(self.channels),
            "dependencies": list(self.dependencies),
            "pip": list(self.pip),
            "platforms": list(self.platforms),
            "variables": dict(sorted(self.variables.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvironmentSpec:
        """Inverse of ``to_dict``."""
        return cls(
            name=data.get("name"),
            channels=tuple(data.get("channels", ())),
            dependencies=tuple(data.get("dependencies", ())),
            pip=tuple(data.get("pip", ())),
            platforms=tuple(data.get("platforms", ())),
            variables=dict(data.get("variables", {})),
        )

    def hash_payload(self) -> bytes:
        """The canonical bytes behind ``input_hash`` (hash version 1).

        What decides the solve, and nothing else: channels in order; conda
        dependencies and pip lines de-duplicated and sorted (their order does not
        change the result); variables. The name and the platform list are left
        out: renaming an env does not change its packages, and platforms are
        checked one by one against the lockfile. Serialised as JSON with sorted
        keys, no white space, UTF-8.
        """
        payload = {
            "channels": [c.rstrip("/") for c in self.channels],
            "dependencies": sorted(set(self.dependencies)),
            "pip": sorted(set(self.pip)),
            "variables": dict(sorted(self.variables.items())),
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")

    def input_hash(self) -> str:
        """sha256 of ``hash_payload``, as hex."""
        return hashlib.sha256(self.hash_payload()).hexdigest()


def load_spec(path: str | Path) -> EnvironmentSpec:
    """Read and check an environment.yml.

    Raises:
        SpecError: the file is missing, not YAML, or not a valid spec; the message
            names the file and, where known, the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(path, "no such file",
                        hint="Pass the path of an environment.yml, or run the command "
                             "in the folder that has one.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, f"cannot read: {exc}") from exc
    return parse_spec(text, path=path)


def parse_spec(text: str, *, path: str | Path | None = None) -> EnvironmentSpec:
    """Parse environment.yml text; ``path`` is used in error messages only."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise SpecError(path, f"not valid YAML: {exc.problem}", line=line) from exc
    except YAMLError as exc:
        raise SpecError(path, f"not valid YAML: {exc}") from exc
    if data is None:
        raise SpecError(path, "the file is empty",
                        hint="Give at least a `dependencies:` list.")
    if not isinstance(data, Mapping):
        raise SpecError(path, "the top level must be a mapping of keys "
                              "(name, channels, dependencies, ...)")

    for key in data:
        if key not in KNOWN_KEYS:
            raise SpecError(path, f"unknown key {key!r}", line=_key_line(data, key),
                            hint="Known keys: " + ", ".join(KNOWN_KEYS) + ".")

    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise SpecError(path, "`name` must be a string", line=_key_line(data, "name"))

    channels = _string_list(data, "channels", path)
    platforms = _string_list(data, "platforms", path)
    dependencies, pip = _dependencies(data, path)
    variables = _variables(data, path)
    return EnvironmentSpec(
        name=name,
        channels=tuple(c.strip() for c in channels),
        dependencies=dependencies,
        pip=pip,
        platforms=tuple(p.strip() for p in platforms),
        variables=variables,
    )


def _key_line(data: Any, key: Any) -> int | None:
    try:
        return data.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _item_line(seq: Any, index: int) -> int | None:
    try:
        return seq.lc.item(index)[0] + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _string_list(data: Mapping, key: str, path: str | Path | None) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(path, f"`{key}` must be a list", line=_key_line(data, key))
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise SpecError(path, f"`{key}` entries must be non-empty strings, got {item!r}",
                            line=_item_line(value, i) or _key_line(data, key))
    return list(value)


def _dependencies(data: Mapping,
                  path: str | Path | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from rattler import MatchSpec

    deps = data.get("dependencies")
    if deps is None:
        return (), ()
    if not isinstance(deps, list):
        raise SpecError(path, "`dependencies` must be a list",
                        line=_key_line(data, "dependencies"))
    conda: list[str] = []
    pip: list[str] = []
    for i, item in enumerate(deps):
        line = _item_line(deps, i)
        if isinstance(item, Mapping):
            if set(item) != {"pip"} or not isinstance(item["pip"], list):
                raise SpecError(path, f"a mapping in `dependencies` may only be "
                                      f"`pip: [...]`, got {dict(item)!r}", line=line)
            for j, req in enumerate(item["pip"]):
                if not isinstance(req, str) or not req.strip():
                    raise SpecError(path, f"`pip` entries must be strings, got {req!r}",
                                    line=_item_line(item["pip"], j) or line)
                pip.append(req.strip())
            continue
        if not isinstance(item, str) or not item.strip():
            raise SpecError(path, f"dependency must be a string, got {item!r}", line=line)
        spec = normalise_spec_string(item)
        try:
            MatchSpec(spec)
        except Exception as exc:  # rattler raises its own InvalidMatchSpecError
            raise InvalidMatchSpecError(path, spec, str(exc), line=line) from exc
        if spec not in conda:
            conda.append(spec)
    return tuple(conda), tuple(pip)


def _variables(data: Mapping, path: str | Path | None) -> dict[str, str]:
    value = data.get("variables")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(path, "`variables` must be a mapping of NAME: value",
                        line=_key_line(data, "variables"))
    out = {}
    for key, val in value.items():
        if not isinstance(key, str) or isinstance(val, (Mapping, list)):
            raise SpecError(path, f"variable {key!r} must map a name to a plain value",
                            line=_key_line(value, key))
        out[key] = "" if val is None else str(val)
    return out

