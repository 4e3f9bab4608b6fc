"""Resolve the channels a spec names to URLs, in priority order."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .lockfile import Channel

if TYPE_CHECKING:
    from .config import Config

DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org/"


def _is_url(text: str) -> bool:
    return "://" in text


def _is_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or text in (".", "..") or (
        len(text) > 2 and text[1] == ":" and text[2] in "/\\")  # C:\ on Windows


def resolve_channel(text: str, *, base_dir: Path | None = None,
                    channel_alias: str = DEFAULT_CHANNEL_ALIAS,
                    config: Config | None = None) -> Channel:
    """A ``Channel`` for a name, URL or local path as written in a spec.

    Relative paths are taken relative to ``base_dir`` (the spec's folder), so
    ``conda store lock some/dir/environment.yml`` works from anywhere. Names
    are joined to ``channel_alias`` as conda does. With ``config``, its
    ``channel_alias`` is used instead, and a name of ``custom_channels`` (or one
    below it: ``name/label/dev``) lives under that channel's URL. URLs keep any
    credentials they carry (``credentials.strip_credentials`` removes them).
    """
    from rattler import Channel as RattlerChannel
    from rattler import ChannelConfig

    name = text.strip()
    if _is_path(name) and not _is_url(name):
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        url = RattlerChannel(path.resolve().as_uri(), ChannelConfig()).base_url.rstrip("/")
        return Channel(name=name, url=url)
    target = name
    if config is not None:
        channel_alias = config.channel_alias
        if not _is_url(name):
            custom = _custom_channel_url(name, config)
            if custom is not None:
                target = custom
    alias = channel_alias if channel_alias.endswith("/") else channel_alias + "/"
    url = RattlerChannel(target, ChannelConfig(channel_alias=alias)).base_url.rstrip("/")
    return Channel(name=name, url=url)


def _custom_channel_url(name: str, config: Config) -> str | None:
    """``<custom_channels[prefix]>/<name>`` for the longest configured prefix of ``name``."""
    parts = name.strip("/").split("/")
    for end in range(len(parts), 0, -1):
        key = "/".join(parts[:end])
        prefix = config.custom_channels.get(key)
        if prefix:
            return f"{prefix.rstrip('/')}/{name.strip('/')}"
    return None


def resolve_channels(names: Iterable[str], *, base_dir: Path | None = None,
                     channel_alias: str = DEFAULT_CHANNEL_ALIAS,
                     config: Config | None = None) -> tuple[Channel, ...]:
    """``resolve_channel`` for each name, de-duplicated by URL, order kept.

    With ``config``, a name of ``custom_multichannels`` (``defaults`` is one) stands
    for all its channels, in their order.
    """
    out: dict[str, Channel] = {}
    for name in names:
        members = (config.custom_multichannels.get(name.strip())
                   if config is not None else None)
        if members:
            resolved = [Channel(name=name.strip(), url=resolve_channel(
                m, base_dir=base_dir, channel_alias=channel_alias, config=config).url)
                for m in members]
        else:
            resolved = [resolve_channel(name, base_dir=base_dir,
                                        channel_alias=channel_alias, config=config)]
        for channel in resolved:
            out.setdefault(channel.url, channel)
    return tuple(out.values())


def channels_named_in_specs(specs: Iterable[str]) -> list[str]:
    """Channels that ``channel::name`` specs name, in order of first use."""
    from rattler import MatchSpec

    seen: list[str] = []
    for spec in specs:
        if "::" not in spec:
            continue
        channel = MatchSpec(spec).channel
        if channel is not None:
            name = spec.split("::", 1)[0].strip()
            if name not in seen:
                seen.append(name)
    return seen
