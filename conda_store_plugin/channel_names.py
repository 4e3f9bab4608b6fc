"""How conda spells a channel URL (``Channel(url).canonical_name``), without loading conda.

conda writes ``<canonical name>/<subdir>::<dist>`` into ``conda-meta/history`` and
diffs its next entry against ours, so we must spell channels exactly as it does:
``conda-forge`` for a channel under the channel alias, ``defaults`` for a member of
the ``defaults`` multichannel, the name of a custom channel, else the URL without the
subdir. Asking conda costs 0.2 s outside a conda command (loading its context loads
its plugin manager); this is the same algorithm over our :class:`~.config.Config`
(conda 26.7.1: ``conda/models/channel.py`` ``_read_channel_configuration``,
``make_simple_channel`` and ``canonical_name``; ``conda/base/context.py``
``custom_multichannels`` and ``custom_channels``). ``tests/test_channel_names.py``
checks it against conda's own ``Channel`` for many URLs and configurations.

Not modelled: ``migrated_channel_aliases`` and ``migrated_custom_channels`` (rare; when
they are set, ``conda_history.channel_namer`` asks conda instead) and the ``local``
(conda-bld) multichannel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from .config import Config

#: conda's ``KNOWN_SUBDIRS``: path segments conda strips from a channel URL.
KNOWN_SUBDIRS = ("noarch", "emscripten-wasm32", "wasi-wasm32", "freebsd-64", "linux-32",
                 "linux-64", "linux-aarch64", "linux-armv6l", "linux-armv7l", "linux-ppc64",
                 "linux-ppc64le", "linux-riscv64", "linux-s390x", "osx-64", "osx-arm64",
                 "win-32", "win-64", "win-arm64", "zos-z")

_TOKEN = re.compile(r"/t/([a-zA-Z0-9-]*)")
_SUBDIR = re.compile(r"/({})(?:/|$)".format("|".join(KNOWN_SUBDIRS)), re.IGNORECASE)
_SCHEME = re.compile(r"[a-z][a-z0-9]{0,11}://")


@dataclass(frozen=True)
class _Channel:
    scheme: str | None
    location: str  # host[:port][/path], no scheme
    name: str


def channel_namer(config: Config) -> Callable[[str], str]:
    """A function from channel URL (with or without subdir) to conda's canonical name.

    The configuration is prepared once; the names are remembered per URL.
    """
    alias = _alias(config.channel_alias)
    multichannels = {name: tuple(_simple(alias, member) for member in members)
                     for name, members in config.custom_multichannels.items()}
    custom = {channel.name: channel for channel in chain(
        chain.from_iterable(multichannels.values()),
        (_simple(alias, url, name) for name, url in config.custom_channels.items()))}
    by_length = sorted(custom.values(), key=lambda c: len(c.name), reverse=True)
    seen: dict[str, str] = {}

    def name_of(url: str) -> str:
        if url not in seen:
            seen[url] = _canonical(_from_url(url, alias, by_length), alias, multichannels,
                                   custom)
        return seen[url]

    return name_of


def _canonical(channel: _Channel, alias: _Channel,
               multichannels: dict[str, tuple[_Channel, ...]],
               custom: dict[str, _Channel]) -> str:
    for multiname, members in multichannels.items():
        if any(channel.name == member.name for member in members):
            return multiname
    for that_name in custom:
        if channel.name and _startswith(channel.name.split("/"), that_name.split("/")):
            return channel.name
    if alias.location == channel.location:
        return channel.name
    if channel.scheme:
        return f"{channel.scheme}://{_join(channel.location, channel.name)}"
    return _join(channel.location, channel.name).lstrip("/")


def _from_url(url: str, alias: _Channel, custom: Iterable[_Channel]) -> _Channel:
    """Conda's ``parse_conda_channel_url`` + ``_read_channel_configuration``."""
    cleaned, _ = _split_token(url)
    match = _SUBDIR.search(cleaned)
    if match:
        cleaned = cleaned.replace("/" + match.group(1), "", 1).rstrip("/")
    parts = _urlparse(cleaned)
    scheme, host, port = parts.scheme or None, parts.hostname, parts.port
    path = parts.path.rstrip("/")
    if not path:
        return _Channel(scheme or "https", _url(host, port).rstrip("/"), "")
    test_url = _url(host, port, path)
    for channel in custom:
        that = _join(channel.location, channel.name)
        if _startswith(test_url.split("/"), that.split("/")):
            subname = test_url.replace(that, "", 1).strip("/")
            return _Channel(scheme or "https", channel.location,
                            unquote(_join(channel.name, subname)))
    if alias.location and _startswith(test_url.split("/"), alias.location.split("/")):
        name = test_url.replace(alias.location, "", 1).strip("/")
        return _Channel(scheme or "https", alias.location, unquote(name))
    if host is None:  # file:// URLs
        location, name = test_url.rsplit("/", 1)
        return _Channel("file", location or "/", unquote(name))
    bump, segments = None, path.strip("/").split("/")
    if segments[0] == "conda":  # Anaconda Enterprise Repository layout
        bump, path = "conda", "/".join(segments[1:])
    return _Channel(scheme or "https", _url(host, port, bump).rstrip("/"),
                    unquote(path.strip("/")))


def _alias(channel_alias: str) -> _Channel:
    location, scheme = _split_scheme(channel_alias)
    return _Channel(scheme, location, "")


def _simple(alias: _Channel, channel_url: str, name: str | None = None) -> _Channel:
    """Conda's ``Channel.make_simple_channel``."""
    test_url, scheme = _split_scheme(channel_url)
    if name and scheme:
        return _Channel(scheme, test_url, name.strip("/"))
    if scheme:
        if alias.location and test_url.startswith(alias.location):
            location, found = alias.location, test_url.replace(alias.location, "", 1)
        else:
            parts = _urlparse(test_url)
            location, found = _url(parts.hostname, parts.port), parts.path or ""
        return _Channel(scheme, location, found.strip("/"))
    return _Channel(alias.scheme, alias.location,
                    (name and name.strip("/")) or channel_url.strip("/"))


def _split_scheme(url: str) -> tuple[str, str | None]:
    """Conda's ``split_scheme_auth_token``: (location, scheme), credentials dropped."""
    cleaned, _ = _split_token(url)
    parts = _urlparse(cleaned)
    location = _url(parts.hostname, parts.port, parts.path, parts.query)
    return location, parts.scheme or None


def _split_token(url: str) -> tuple[str, str | None]:
    match = _TOKEN.search(url)
    token = match.group(1) if match else None
    cleaned = url.replace("/t/" + token, "", 1) if token is not None else url
    return cleaned.rstrip("/"), token


def _urlparse(url: str):
    return urlsplit(url if _SCHEME.match(url) else "//" + url)


def _url(host: str | None, port: int | None, path: str | None = None,
         query: str | None = None) -> str:
    """``str(conda.common.url.Url(hostname=..., port=..., path=..., query=...))``."""
    if path and not path.startswith("/"):
        path = "/" + path
    out = (host.lower() if host else "") + (f":{port}" if port else "") + (path or "")
    return out + (f"?{query}" if query else "")


def _join(*parts: str) -> str:
    start = "/" if not parts[0] or parts[0].startswith("/") else ""
    return start + "/".join(y for y in (x.strip("/") for x in parts if x) if y)


def _startswith(test: list[str], prefix: list[str]) -> bool:
    # conda's tokenized_startswith: zip stops at the shorter list.
    return all(t == p for t, p in zip(test, prefix, strict=False))
