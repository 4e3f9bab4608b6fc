"""conda's configuration as conda-store-plugin uses it: one ``Config``, read when asked.

``load_config()`` takes every default of every verb from conda's configuration.

Inside a conda command (conda's context is loaded), the values are conda's own
(``conda.base.context.context``), so ``conda store`` sees exactly what ``conda install``
sees. Elsewhere (the API, ``python -m conda_store_plugin``), the same keys are read
without loading conda (its context loads its plugin manager: 0.1-0.2 s) from the files
conda 26.7.1 would read, in conda's order (``conda/base/constants.py``
``SEARCH_PATH``), lowest priority first:

1. ``/etc/conda/.condarc``, ``/etc/conda/condarc``, ``/etc/conda/condarc.d/``
   (Windows: ``C:/ProgramData/conda/...`` instead of 1. and 2.)
2. ``/var/lib/conda/.condarc``, ``/var/lib/conda/condarc``, ``/var/lib/conda/condarc.d/``
3. ``$CONDA_ROOT/.condarc``, ``condarc``, ``condarc.d/`` (only when ``CONDA_ROOT`` is
   set; conda itself sets it to its own install prefix)
4. ``$XDG_CONFIG_HOME/conda/.condarc``, ``condarc``, ``condarc.d/``
5. ``~/.config/conda/.condarc``, ``condarc``, ``condarc.d/``
6. ``~/.conda/.condarc``, ``condarc``, ``condarc.d/``
7. ``~/.condarc``
8. ``$CONDA_PREFIX/.condarc``, ``condarc``, ``condarc.d/`` (the active environment; conda
   uses the ``-n``/``-p`` target instead when one is given)
9. ``$CONDARC`` (a file, or a directory)
10. environment variables ``CONDA_<KEY>`` (``CONDA_CHANNELS=a,b``,
    ``CONDA_CHANNEL_PRIORITY=strict``, ``CONDA_ENVS_DIRS=/a:/b``) and, for our plugin
    settings, ``CONDA_PLUGINS_<NAME>`` (``CONDA_PLUGINS_STORE_DIR=/x``).

As in conda, a file entry is read only when it is named ``.condarc`` or ``condarc`` or
ends in ``.yml``/``.yaml``; a ``condarc.d/`` directory contributes its ``*.yml`` and
``*.yaml`` files in name order; paths that do not exist are skipped; a file listed twice
is read once.

Merging follows conda (``conda/common/configuration.py``):

* scalars: the last source that sets the key wins;
* lists (``channels``, ``pkgs_dirs``, ``envs_dirs``, ``store_platforms`` ...): every
  source contributes, later sources first, duplicates dropped, so ``CONDA_CHANNELS=x``
  with ``channels: [a, b]`` in ``~/.condarc`` gives ``x, a, b``;
* maps (``custom_channels``, ``proxy_servers`` ...): merged key by key, later wins;
* a key marked ``#!final`` in a file (``channels: #!final``) stops the merge there:
  later files cannot change it. The per-item list markers ``#!top``/``#!bottom`` are
  not supported and are ignored.

``$VAR``/``${VAR}`` in ``channels``, ``channel_alias``, ``custom_channels``,
``custom_multichannels``, ``default_channels``, ``pkgs_dirs``, ``envs_dirs``,
``proxy_servers`` and ``ssl_verify`` values are expanded (unknown variables are kept).
Nothing is read at import time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: conda's built-in ``channel_alias``.
DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"
#: conda's ``default_channels`` (the ``defaults`` multichannel) on Unix and Windows.
DEFAULT_CHANNELS_UNIX = ("https://repo.anaconda.com/pkgs/main",
                         "https://repo.anaconda.com/pkgs/r")
DEFAULT_CHANNELS_WIN = (*DEFAULT_CHANNELS_UNIX, "https://repo.anaconda.com/pkgs/msys2")
#: conda's built-in ``custom_channels``.
DEFAULT_CUSTOM_CHANNELS = {"pkgs/pro": "https://repo.anaconda.com"}
CHANNEL_PRIORITIES = ("strict", "flexible", "disabled")

_CONDARC_NAMES = (".condarc", "condarc")
_YAML_SUFFIXES = (".yml", ".yaml")
_TRUE = frozenset({"true", "yes", "on", "y", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "0", "none", "null", ""})


def search_path(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The ``SEARCH_PATH`` templates of conda 26.7.1, ``$VARS`` not yet expanded."""
    if sys.platform == "win32":
        system = ("C:/ProgramData/conda/.condarc", "C:/ProgramData/conda/condarc",
                  "C:/ProgramData/conda/condarc.d")
    else:
        system = ("/etc/conda/.condarc", "/etc/conda/condarc", "/etc/conda/condarc.d/",
                  "/var/lib/conda/.condarc", "/var/lib/conda/condarc",
                  "/var/lib/conda/condarc.d/")
    return (*system,
            "$CONDA_ROOT/.condarc", "$CONDA_ROOT/condarc", "$CONDA_ROOT/condarc.d/",
            "$XDG_CONFIG_HOME/conda/.condarc", "$XDG_CONFIG_HOME/conda/condarc",
            "$XDG_CONFIG_HOME/conda/condarc.d/",
            "~/.config/conda/.condarc", "~/.config/conda/condarc",
            "~/.config/conda/condarc.d/",
            "~/.conda/.condarc", "~/.conda/condarc", "~/.conda/condarc.d/",
            "~/.condarc",
            "$CONDA_PREFIX/.condarc", "$CONDA_PREFIX/condarc", "$CONDA_PREFIX/condarc.d/",
            "$CONDARC")


@dataclass(frozen=True)
class Config:
    """The settings every verb takes its defaults from.

    The defaults here are conda's own defaults (what conda uses with no ``.condarc``).

    Attributes:
        channels: ``channels:``, used when the spec names none. Empty by default
            (conda 26 has no implicit ``defaults``).
        channel_alias: prefix for channel names (``conda-forge`` ->
            ``<channel_alias>/conda-forge``); may hold credentials.
        custom_channels: channel name -> the URL *prefix* it lives under.
        custom_multichannels: name -> channels (names or URLs) it stands for;
            ``defaults`` is conda's ``default_channels`` unless set here.
        migrated_channel_aliases, migrated_custom_channels: conda's settings for
            channels that moved; only the spelling of channels in history uses them.
        channel_priority: ``strict``, ``flexible`` or ``disabled`` as configured;
            ``None`` when no source sets it (locks then use ``strict``, not conda's
            ``flexible`` default: a lock should not depend on channel order luck).
        pkgs_dirs: package caches, in order (conda's defaults when not configured).
        envs_dirs: where named environments live, in order.
        proxy_servers: ``proxy_servers:`` (``http``/``https``/``scheme://host`` -> proxy URL).
        ssl_verify: True, False, a CA bundle path, or ``"truststore"``.
        offline: conda's ``offline``.
        repodata_use_shards: use sharded repodata (CEP-16) where a channel has it.
        add_anaconda_token: add tokens saved by ``anaconda login`` to anaconda.org URLs.
        store_dir: our ``plugins.store_dir`` setting; None when unset.
        store_platforms: our ``plugins.store_platforms`` setting.
        store_cuda: our ``plugins.store_cuda`` setting; None when unset.
        plugins: every setting of ``conda_layer.settings.SETTINGS`` (the three above
            included): name -> value, None (or ``()`` for lists) when unset.
        source: ``"conda"`` (read through conda), ``"condarc"`` (our own reader) or
            ``"defaults"`` (not read from anywhere).
        files: the configuration files that were read, lowest priority first (our
            own reader only).
    """

    channels: tuple[str, ...] = ()
    channel_alias: str = DEFAULT_CHANNEL_ALIAS
    custom_channels: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_CUSTOM_CHANNELS))
    custom_multichannels: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"defaults": _default_channels_for_os()})
    migrated_channel_aliases: tuple[str, ...] = ()
    migrated_custom_channels: Mapping[str, str] = field(default_factory=dict)
    channel_priority: str | None = None
    pkgs_dirs: tuple[str, ...] = ()
    envs_dirs: tuple[str, ...] = ()
    proxy_servers: Mapping[str, str] = field(default_factory=dict)
    ssl_verify: bool | str = True
    offline: bool = False
    repodata_use_shards: bool = True
    add_anaconda_token: bool = True
    store_dir: str | None = None
    store_platforms: tuple[str, ...] = ()
    store_cuda: str | None = None
    plugins: Mapping[str, Any] = field(default_factory=dict)
    source: str = "defaults"
    files: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with credentials removed from every URL."""
        from .credentials import strip_credentials

        return {
            "source": self.source,
            "files": list(self.files),
            "channels": [strip_credentials(c) for c in self.channels],
            "channel_alias": strip_credentials(self.channel_alias),
            "custom_channels": {k: strip_credentials(v)
                                for k, v in sorted(self.custom_channels.items())},
            "custom_multichannels": {k: [strip_credentials(c) for c in v]
                                     for k, v in sorted(self.custom_multichannels.items())},
            "migrated_channel_aliases": [strip_credentials(c)
                                         for c in self.migrated_channel_aliases],
            "migrated_custom_channels": {
                k: strip_credentials(v) for k, v in sorted(self.migrated_custom_channels.items())},
            "channel_priority": self.channel_priority,
            "pkgs_dirs": list(self.pkgs_dirs),
            "envs_dirs": list(self.envs_dirs),
            "proxy_servers": {k: strip_credentials(v)
                              for k, v in sorted(self.proxy_servers.items())},
            "ssl_verify": self.ssl_verify,
            "offline": self.offline,
            "repodata_use_shards": self.repodata_use_shards,
            "add_anaconda_token": self.add_anaconda_token,
            "store_dir": self.store_dir,
            "store_platforms": list(self.store_platforms),
            "store_cuda": self.store_cuda,
            "plugins": {k: list(v) if isinstance(v, tuple) else v
                        for k, v in sorted(self.plugins.items())},
        }


def _default_channels_for_os() -> tuple[str, ...]:
    return DEFAULT_CHANNELS_WIN if sys.platform == "win32" else DEFAULT_CHANNELS_UNIX


def load_config(*, use_conda: bool | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """The configuration, read now.

    Args:
        use_conda: read through conda (True), with our own ``.condarc`` reader (False),
            or (None, the default) through conda when this process has loaded conda's
            context already (a conda command, or a program that uses conda), else with
            our reader: it reads the same files in conda's order and agrees with conda
            (``test_conda_and_our_reader_agree``), without loading conda's context and
            plugin manager just for the settings (0.1-0.2 s).
        environ: environment variables for our own reader (default ``os.environ``);
            conda always reads ``os.environ``.

    Raises:
        ConfigError: a configuration file is not valid YAML, or a value has the wrong
            type (our own reader; conda raises its own errors).
    """
    if use_conda is None:
        use_conda = conda_context_loaded()
    if use_conda:
        return _from_conda()
    return read_condarc_files(environ=os.environ if environ is None else environ,
                              conda_root=sys.prefix if conda_importable() else None)


def conda_importable() -> bool:
    """Whether conda is installed in this Python (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("conda") is not None
    except (ImportError, ValueError):
        return False


def conda_context_loaded() -> bool:
    """Whether conda's context is loaded in this process (we run inside conda)."""
    module = sys.modules.get("conda.base.context")
    context = getattr(module, "context", None)
    return bool(getattr(context, "_search_path", ()))


# --- through conda --------------------------------------------------------------------


def _conda_plugin_setting(context: Any, name: str) -> Any:
    try:
        return getattr(context.plugins, name)
    except AttributeError:  # conda without our plugin registered: the default
        return None


def _from_conda() -> Config:
    from .conda_layer.settings import conda_context

    context = conda_context()
    multichannels = {name: tuple(urls)
                     for name, urls in dict(context._custom_multichannels).items()}
    multichannels.setdefault("defaults", tuple(context._default_channels))
    # Only a value some source sets counts; conda's own default (flexible) does not.
    configured = any("channel_priority" in raw for raw in context.raw_data.values())
    priority = context.channel_priority if configured else None
    plugins = {name: _plugin_value(name, _conda_plugin_setting(context, name))
               for name in _plugin_keys()}
    return Config(
        channels=tuple(context.channels),
        channel_alias=str(context._channel_alias),
        custom_channels=dict(context._custom_channels),
        custom_multichannels=multichannels,
        migrated_channel_aliases=tuple(context._migrated_channel_aliases),
        migrated_custom_channels=dict(context.migrated_custom_channels),
        channel_priority=(str(getattr(priority, "value", priority)).lower()
                          if priority is not None else None),
        pkgs_dirs=tuple(str(p) for p in context.pkgs_dirs),
        envs_dirs=tuple(str(p) for p in context.envs_dirs),
        proxy_servers={k: v for k, v in dict(context.proxy_servers).items() if v},
        ssl_verify=context.ssl_verify,
        offline=bool(context.offline),
        repodata_use_shards=bool(getattr(context, "repodata_use_shards", True)),
        add_anaconda_token=bool(context.add_anaconda_token),
        store_dir=plugins.get("store_dir"),
        store_platforms=plugins.get("store_platforms") or (),
        store_cuda=plugins.get("store_cuda"),
        plugins=plugins,
        source="conda",
        files=tuple(str(k) for k in getattr(context, "raw_data", {}) if isinstance(k, Path)),
    )


# --- our own reader -------------------------------------------------------------------

# canonical key -> (aliases, kind, env delimiter). kind: str, bool, sslverify, seq, map,
# mapseq. Every key here also accepts its canonical name.
_KEYS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "channels": (("channel",), "seq", ","),
    "channel_alias": ((), "str", ""),
    "custom_channels": ((), "map", ""),
    "custom_multichannels": ((), "mapseq", ""),
    "default_channels": ((), "seq", ","),
    "migrated_channel_aliases": ((), "seq", ","),
    "migrated_custom_channels": ((), "map", ""),
    "channel_priority": ((), "str", ""),
    "pkgs_dirs": ((), "seq", ","),
    "envs_dirs": (("envs_path",), "seq", os.pathsep),
    "root_prefix": (("root_dir",), "str", ""),
    "proxy_servers": ((), "map", ""),
    "ssl_verify": (("verify_ssl",), "sslverify", ""),
    "offline": ((), "bool", ""),
    "repodata_use_shards": ((), "bool", ""),
    "add_anaconda_token": (("add_binstar_token",), "bool", ""),
}
def _plugin_keys() -> dict[str, tuple[str, str]]:
    """Our plugin settings (``plugins:`` in .condarc): name -> (kind, env delimiter)."""
    from .conda_layer.settings import SETTINGS

    kinds = {"list": ("seq", ","), "bool": ("bool", ""), "float": ("float", "")}
    return {name: kinds.get(kind, ("str", ""))
            for name, (_description, kind, _default) in SETTINGS.items()}


def _plugin_value(name: str, value: Any) -> Any:
    """A plugin setting's value, its default when unset; ``""`` is None, lists tuples."""
    from .conda_layer.settings import SETTINGS

    if value is None:
        value = SETTINGS[name][2]
    kind = _plugin_keys()[name][0]
    if kind == "seq":
        return tuple(value or ())
    if kind == "str":
        return value or None
    return value
_EXPANDVARS = frozenset({"channels", "channel_alias", "custom_channels",
                         "migrated_custom_channels",
                         "custom_multichannels", "default_channels", "pkgs_dirs",
                         "envs_dirs", "proxy_servers", "ssl_verify"})


@dataclass(frozen=True)
class _Value:
    """One source's value for one key."""

    value: Any
    final: bool
    source: str


def read_condarc_files(*, environ: Mapping[str, str],
                       paths: Iterable[str] | None = None,
                       conda_root: str | None = None) -> Config:
    """``Config`` from ``.condarc`` files and ``CONDA_*`` variables, without conda.

    Args:
        environ: the environment variables to expand paths with and read
            ``CONDA_<KEY>`` from.
        paths: search path templates (default: conda's, see ``search_path``).
        conda_root: where conda is installed, when it is (in this Python): conda's
            root prefix unless ``root_prefix`` is configured (its ``pkgs`` and ``envs``),
            and ``$CONDA_ROOT`` unless set, as importing conda sets it.
    """
    if conda_root is not None and not environ.get("CONDA_ROOT"):
        environ = {**environ, "CONDA_ROOT": conda_root}
    files = list(condarc_files(environ, search_path(environ) if paths is None else paths))
    found: dict[str, list[_Value]] = {}
    for path in files:
        for key, value in _read_file(path).items():
            found.setdefault(key, []).append(value)
    for key, value in _read_environ(environ).items():
        found.setdefault(key, []).append(value)
    merged = {key: _merge(key, values) for key, values in found.items()}
    return _build(merged, environ, files, conda_root)


def condarc_files(environ: Mapping[str, str], templates: Iterable[str]) -> Iterator[Path]:
    """The configuration files ``templates`` name that exist, in order, each once."""
    seen: set[Path] = set()
    for template in templates:
        expanded = _expandvars(template, environ)
        if "$" in expanded:
            continue  # an unset variable: conda's path would not exist either
        path = Path(_expanduser(expanded, environ))
        for candidate in _files_at(path):
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def _files_at(path: Path) -> list[Path]:
    try:
        if path.is_file():
            ok = path.name in _CONDARC_NAMES or path.suffix in _YAML_SUFFIXES
            return [path] if ok else []
        if path.is_dir():
            return sorted((p for p in path.iterdir()
                           if p.suffix in _YAML_SUFFIXES and p.is_file()),
                          key=lambda p: p.name)
    except OSError:
        pass
    return []


def _read_file(path: Path) -> dict[str, _Value]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from .exceptions import ConfigError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read: {exc}") from exc
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(path, f"not valid YAML{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(path, "not a mapping of settings")
    out: dict[str, _Value] = {}
    for raw_key, value in data.items():
        key = _canonical(str(raw_key))
        if key is not None:
            out[key] = _Value(value, _key_is_final(data, raw_key), str(path))
    plugins = data.get("plugins")
    if isinstance(plugins, Mapping):
        for name in _plugin_keys():
            if name in plugins:
                out[f"plugins.{name}"] = _Value(plugins[name], _key_is_final(plugins, name),
                                                str(path))
    return out


def _key_is_final(mapping: Any, key: Any) -> bool:
    try:
        comment = mapping.ca.items[key][2].value
    except (AttributeError, KeyError, IndexError, TypeError):
        return False
    return comment.strip().strip("#!").strip().startswith("final")


def _canonical(name: str) -> str | None:
    for key, (aliases, _kind, _delim) in _KEYS.items():
        if name == key or name in aliases:
            return key
    return None


def _read_environ(environ: Mapping[str, str]) -> dict[str, _Value]:
    out: dict[str, _Value] = {}
    for key, (aliases, kind, delimiter) in _KEYS.items():
        for name in (key, *aliases):
            raw = environ.get(f"CONDA_{name.upper()}")
            if raw is not None and kind not in ("map", "mapseq"):
                out[key] = _env_value(raw, kind, delimiter)
                break
    for name, (kind, delimiter) in _plugin_keys().items():
        raw = environ.get(f"CONDA_PLUGINS_{name.upper()}")
        if raw is not None:
            out[f"plugins.{name}"] = _env_value(raw, kind, delimiter)
    return out


def _env_value(raw: str, kind: str, delimiter: str) -> _Value:
    final = "!important" in raw
    raw = raw.replace("!important", "")
    if kind == "seq":
        value: Any = [part.strip() for part in raw.split(delimiter) if part.strip()]
    else:
        value = raw.strip()
    return _Value(value, final, "envvars")


def _merge(key: str, values: list[_Value]) -> _Value:
    """Merge like conda: up to the first ``#!final`` source; lists later-first, deduped."""
    for index, value in enumerate(values):
        if value.final:
            values = values[: index + 1]
            break
    kind = _kind(key)
    if kind == "seq":
        merged: list[Any] = []
        for value in reversed(values):
            for item in _as_list(key, value):
                if item not in merged:
                    merged.append(item)
        return _Value(merged, False, "<merged>")
    if kind in ("map", "mapseq"):
        out: dict[str, Any] = {}
        for value in values:
            if not isinstance(value.value, Mapping):
                _type_error(key, value, "a mapping")
            out.update({str(k): v for k, v in value.value.items()})
        return _Value(out, False, "<merged>")
    return values[-1]


def _kind(key: str) -> str:
    if key.startswith("plugins."):
        return _plugin_keys()[key.split(".", 1)[1]][0]
    return _KEYS[key][1]


def _as_list(key: str, value: _Value) -> list[Any]:
    if value.value is None:
        return []
    if isinstance(value.value, str):
        return [value.value]  # conda wraps a single string
    if not isinstance(value.value, (list, tuple)):
        _type_error(key, value, "a list")
    return list(value.value)


def _type_error(key: str, value: _Value, expected: str) -> None:
    from .exceptions import ConfigError

    raise ConfigError(value.source, f"`{key}` must be {expected}, "
                                    f"not {type(value.value).__name__}: {value.value!r}")


def _build(merged: Mapping[str, _Value], environ: Mapping[str, str],
           files: list[Path], conda_root: str | None = None) -> Config:
    defaults = Config()

    def get(key: str, default: Any) -> Any:
        value = merged.get(key)
        if value is None or value.value is None:
            return default
        typed = _typed(key, value)
        if key.split(".")[-1] in _EXPANDVARS:
            typed = _expand_all(typed, environ)
        return typed

    plugins = {name: _plugin_value(name, get(f"plugins.{name}", None))
               for name in _plugin_keys()}
    root = get("root_prefix", "")
    root = _abspath(root, environ) if root else conda_root
    custom = get("custom_channels", dict(DEFAULT_CUSTOM_CHANNELS))  # conda: no merge
    multis = dict(get("custom_multichannels", {}))
    multis.setdefault("defaults", tuple(get("default_channels",
                                            list(_default_channels_for_os()))))
    priority = get("channel_priority", None)
    priority = str(priority).lower() if priority is not None else None
    if priority is not None and priority not in CHANNEL_PRIORITIES:
        from .exceptions import ConfigError

        raise ConfigError(merged["channel_priority"].source,
                          f"`channel_priority` must be one of "
                          f"{', '.join(CHANNEL_PRIORITIES)}, not {priority!r}")
    return Config(
        channels=tuple(get("channels", [])),
        channel_alias=get("channel_alias", defaults.channel_alias) or DEFAULT_CHANNEL_ALIAS,
        custom_channels=custom,
        custom_multichannels={k: tuple(v) for k, v in multis.items()},
        migrated_channel_aliases=tuple(get("migrated_channel_aliases", [])),
        migrated_custom_channels=dict(get("migrated_custom_channels", {})),
        channel_priority=priority,
        pkgs_dirs=_pkgs_dirs(get("pkgs_dirs", []), root, environ),
        envs_dirs=_envs_dirs(get("envs_dirs", []), root, environ),
        proxy_servers={k: v for k, v in get("proxy_servers", {}).items() if v},
        ssl_verify=get("ssl_verify", True),
        offline=get("offline", False),
        repodata_use_shards=get("repodata_use_shards", True),
        add_anaconda_token=get("add_anaconda_token", True),
        store_dir=plugins.get("store_dir"),
        store_platforms=plugins.get("store_platforms") or (),
        store_cuda=plugins.get("store_cuda"),
        plugins=plugins,
        source="condarc",
        files=tuple(str(p) for p in files),
    )


def _typed(key: str, value: _Value) -> Any:
    kind = _kind(key)
    raw = value.value
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (str, int)) and str(raw).strip().lower() in _TRUE | _FALSE:
            return str(raw).strip().lower() in _TRUE
        _type_error(key, value, "true or false")
    if kind == "float":
        try:
            return float(raw)
        except (TypeError, ValueError):
            _type_error(key, value, "a number")
    if kind == "sslverify":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip()
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        return text
    if kind == "str":
        if isinstance(raw, (Mapping, list, tuple)):
            _type_error(key, value, "a single value")
        return str(raw)
    if kind == "seq":
        return [str(item) for item in raw]
    if kind == "map":
        return {str(k): (None if v is None else str(v)) for k, v in raw.items()}
    if kind == "mapseq":
        return {str(k): [str(item) for item in (v if isinstance(v, (list, tuple)) else [v])]
                for k, v in raw.items() if v is not None}
    raise AssertionError(kind)  # pragma: no cover


_VAR = re.compile(r"\$(?:(?P<named>[A-Za-z_][A-Za-z0-9_]*)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\})")


def _expandvars(text: str, environ: Mapping[str, str]) -> str:
    """``$NAME``/``${NAME}`` from ``environ``; unknown names are left as written."""
    def convert(match: re.Match) -> str:
        name = match.group("named") or match.group("braced")
        return environ.get(name, match.group())

    return _VAR.sub(convert, text)


def _expand_all(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _expandvars(value, environ)
    if isinstance(value, list):
        return [_expand_all(v, environ) for v in value]
    if isinstance(value, dict):
        return {k: _expand_all(v, environ) for k, v in value.items()}
    return value


def _expanduser(text: str, environ: Mapping[str, str]) -> str:
    if text == "~" or text.startswith(("~/", "~\\")):
        home = environ.get("HOME") or environ.get("USERPROFILE") or str(Path.home())
        return home + text[1:]
    return text


def _abspath(text: str, environ: Mapping[str, str]) -> str:
    return os.path.abspath(_expanduser(_expandvars(text, environ), environ))


def _pkgs_dirs(configured: list[str], root: str | None,
               environ: Mapping[str, str]) -> tuple[str, ...]:
    if configured:
        paths = [_abspath(p, environ) for p in configured]
    else:  # conda: <root_prefix>/pkgs, ~/.conda/pkgs
        paths = ([os.path.join(root, "pkgs")] if root else []) + [
            _abspath("~/.conda/pkgs", environ)]
    return tuple(dict.fromkeys(paths))


def _envs_dirs(configured: list[str], root: str | None,
               environ: Mapping[str, str]) -> tuple[str, ...]:
    user = _abspath("~/.conda/envs", environ)
    fixed = [user]
    if root:  # conda puts the root prefix's envs first when it can write there
        root_envs = os.path.join(root, "envs")
        history = os.path.join(root, "conda-meta", "history")
        writable = os.path.isfile(history) and os.access(history, os.W_OK)
        fixed = [root_envs, user] if writable else [user, root_envs]
    paths = [_abspath(p, environ) for p in configured] + fixed
    return tuple(dict.fromkeys(paths))
