"""Solve a spec for several platforms at once with py-rattler.

One ``Gateway`` is shared, so each channel's ``noarch`` repodata is fetched
once; one solve per platform, each in its own thread so they run in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .exceptions import ChannelError, CondaStoreError, UnsatisfiableError
from .lockfile import Channel, LockedPackage
from .platforms import VirtualPackage
from .records import locked_from_record, record_from_locked

if TYPE_CHECKING:
    from .config import Config

#: Our ``channel_priority`` values -> py-rattler's ``ChannelPriority`` member names.
_PRIORITIES = {"strict": "Strict", "flexible": "Flexible", "disabled": "Disabled"}


@dataclass(frozen=True)
class SolveRequest:
    """What to solve for one platform."""

    platform: str
    virtual_packages: tuple[VirtualPackage, ...]
    #: Packages to keep at their locked version where possible (``--update``).
    locked: tuple[LockedPackage, ...] = ()


def solve_platforms(
    *,
    channels: Sequence[Channel],
    specs: Sequence[str],
    requests: Sequence[SolveRequest],
    channel_priority: str = "strict",
    cache_dir: Path | None = None,
    config: Config | None = None,
) -> dict[str, list[LockedPackage]]:
    """Solve ``specs`` for every request; returns packages per platform.

    ``config`` sets up the network (proxies, TLS, .netrc: ``http_client``), whether
    sharded repodata (CEP-16) is used where a channel has it (``repodata_use_shards``,
    on by default: the shard index and the shards of the names the solve reaches are
    fetched instead of the whole ``repodata.json``), and ``offline`` (cached repodata
    only). Channel URLs may carry credentials; error messages never show them.

    Raises:
        UnsatisfiableError: for the first platform (in request order) with no solution.
        ChannelError: a channel cannot be reached, or is empty for a platform.
    """
    from .engine import run

    # engine.run, not asyncio.run: it lets rattler's threads leave Python before we
    # return, so the process cannot crash at exit (see engine.py).
    return run(_solve_all(channels, specs, requests, channel_priority, cache_dir, config))


def make_gateway(config: Config | None, cache_dir: Path | None) -> object:
    """A py-rattler ``Gateway`` that fetches repodata the way ``config`` says."""
    from rattler import Gateway, SourceConfig

    from .config import Config as ConfigType
    from .http_client import make_client

    config = config or ConfigType()
    source = SourceConfig(sharded_enabled=config.repodata_use_shards,
                          cache_action="force-cache-only" if config.offline
                          else "cache-or-fetch")
    return Gateway(cache_dir=cache_dir, default_config=source, client=make_client(config),
                   show_progress=False)


async def _solve_all(channels, specs, requests, channel_priority, cache_dir, config):
    from .credentials import redact, secrets_of

    gateway = make_gateway(config, cache_dir)
    results = await asyncio.gather(
        *(asyncio.to_thread(_solve_in_thread, gateway, channels, specs, r, channel_priority)
          for r in requests),
        return_exceptions=True,
    )
    for request, result in zip(requests, results, strict=True):
        if isinstance(result, BaseException):
            error = await _explain(gateway, channels, request, result,
                                   offline=bool(config and config.offline))
            secrets = secrets_of(c.url for c in channels)
            if isinstance(error, CondaStoreError) and secrets:
                for attribute in ("message", "explanation", "channel"):
                    if isinstance(getattr(error, attribute, None), str):
                        setattr(error, attribute, redact(getattr(error, attribute), secrets))
                error.args = tuple(redact(str(a), secrets) for a in error.args)
            raise error
    solved = dict(zip((r.platform for r in requests), results, strict=True))
    await _refuse_empty_channels(gateway, channels, solved)
    return solved


def _solve_in_thread(gateway, channels, specs, request: SolveRequest, channel_priority):
    # One event loop per platform, each in its own thread: solves awaited together on
    # one loop run one after the other in py-rattler 0.26 (measured: 3 warm solves take
    # 3x one), in separate threads they use every core. The gateway is shared, so each
    # channel's noarch repodata is still fetched and parsed once.
    return asyncio.run(_solve_one(gateway, channels, specs, request, channel_priority))


async def _solve_one(gateway, channels, specs, request: SolveRequest, channel_priority):
    from rattler import ChannelPriority, GenericVirtualPackage, PackageName, Version, solve

    virtual = [GenericVirtualPackage(PackageName(vp.name), Version(vp.version), vp.build)
               for vp in request.virtual_packages]
    priority = getattr(ChannelPriority, _PRIORITIES.get(channel_priority, "Strict"))
    platforms = [request.platform] if request.platform == "noarch" else [
        request.platform, "noarch"]
    records = await solve(
        sources=[c.url for c in channels],
        specs=list(specs),
        gateway=gateway,
        platforms=platforms,
        virtual_packages=virtual,
        channel_priority=priority,
        locked_packages=[record_from_locked(p) for p in request.locked] or None,
    )
    return [locked_from_record(r) for r in records]


async def _explain(gateway, channels, request: SolveRequest, exc: BaseException, *,
                   offline: bool = False) -> Exception:
    """Turn an engine error into one of ours, saying which channel or spec is at fault."""
    if isinstance(exc, CondaStoreError):
        return exc
    kind = type(exc).__name__
    if kind == "SolverError":
        empty = await _empty_channels(gateway, channels, request.platform)
        if empty:
            return _empty_channel_error(empty[0], request.platform)
        return UnsatisfiableError(request.platform, str(exc))
    if kind in ("GatewayError", "FetchRepoDataError", "IoError", "InvalidChannelError"):
        failing = _channel_in_message(channels, str(exc))
        from .credentials import redact, secrets_of, strip_credentials

        urls = failing.url if failing else ", ".join(c.url for c in channels)
        return ChannelError(strip_credentials(urls) if failing else redact(urls),
                            f"cannot fetch repodata for {request.platform}: "
                            f"{redact(str(exc), secrets_of(c.url for c in channels))}",
                            hint=_OFFLINE_HINT if offline else None)
    if isinstance(exc, Exception):
        return exc
    raise exc


_OFFLINE_HINT = ("conda's configuration says `offline: true` (or CONDA_OFFLINE is set): only "
                 "cached repodata is used, and this channel's is not cached. Lock once "
                 "online, or turn offline mode off.")


def _channel_in_message(channels: Sequence[Channel], message: str) -> Channel | None:
    for channel in channels:
        if channel.url in message:
            return channel
    return None


async def _empty_channels(gateway, channels: Sequence[Channel], platform: str) -> list[Channel]:
    platforms = [platform] if platform == "noarch" else [platform, "noarch"]
    empty = []
    for channel in channels:
        try:
            names = await gateway.names([channel.url], platforms)
        except Exception:  # an unreachable channel is reported by the solve itself
            continue
        if not names:
            empty.append(channel)
    return empty


def _empty_channel_error(channel: Channel, platform: str) -> ChannelError:
    from .credentials import strip_credentials

    return ChannelError(
        strip_credentials(channel.url), f"has no packages for {platform} or noarch",
        hint="Check the channel name or URL (a typo gives an empty channel), "
             "or remove it from `channels:`.")


async def _refuse_empty_channels(gateway, channels: Sequence[Channel],
                                 solved: Mapping[str, list[LockedPackage]]) -> None:
    # A channel that gave nothing may be a typo; only ask the (costly) names
    # query for those, and fail only when it really has no packages at all.
    used = {p.channel.rstrip("/") for pkgs in solved.values() for p in pkgs}
    unused = [c for c in channels if c.url not in used and c.name not in used]
    for platform in solved:
        empty = await _empty_channels(gateway, unused, platform)
        if empty:
            raise _empty_channel_error(empty[0], platform)
