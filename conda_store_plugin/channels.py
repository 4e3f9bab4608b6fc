"""Resolve the channels a spec names to URLs, in priority order."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .lockfile import Channel

DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org/"


def _is_url(text: str) -> bool:
    return "://" in text


def _is_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or text in (".", "..") or (
        len(text) > 2 and text[1] == ":" and text[2] in "/\\")  # C:\ on Windows


def resolve_channel(text: str, *, base_dir: Path | None = None,
                    channel_alias: str = DEFAULT_CHANNEL_ALIAS) -> Channel:
    """A ``Channel`` for a name, URL or local path as written in a spec.

    Relative paths are taken relative to ``base_dir`` (the spec's folder), so
    ``conda store lock some/dir/environment.yml`` works from anywhere. Names
    are joined to ``channel_alias`` as conda does.
    """
    from rattler import Channel as RattlerChannel
    from rattler import ChannelConfig

    name = text.strip()
    if _is_path(name) and not _is_url(name):
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        target = path.resolve().as_uri()
    else:
        target = name
    config = ChannelConfig(channel_alias=channel_alias)
    url = RattlerChannel(target, config).base_url.rstrip("/")
    return Channel(name=name, url=url)


def resolve_channels(names: Iterable[str], *, base_dir: Path | None = None,
                     channel_alias: str = DEFAULT_CHANNEL_ALIAS) -> tuple[Channel, ...]:
    """``resolve_channel`` for each name, de-duplicated by URL, order kept."""
    out: dict[str, Channel] = {}
    for name in names:
        channel = resolve_channel(name, base_dir=base_dir, channel_alias=channel_alias)
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
