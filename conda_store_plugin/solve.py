"""Solve a spec for several platforms at once with py-rattler.

One ``Gateway`` is shared, so each channel's ``noarch`` repodata is fetched
once; one solve per platform, all awaited together so they run in parallel in
py-rattler's own threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .exceptions import ChannelError, CondaStoreError, UnsatisfiableError
from .lockfile import Channel, LockedPackage
from .platforms import VirtualPackage
from .records import locked_from_record, record_from_locked


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
) -> dict[str, list[LockedPackage]]:
    """Solve ``specs`` for every request; returns packages per platform.

    Raises:
        UnsatisfiableError: for the first platform (in request order) with no solution.
        ChannelError: a channel cannot be reached, or is empty for a platform.
    """
    return asyncio.run(_solve_all(channels, specs, requests, channel_priority, cache_dir))


async def _solve_all(channels, specs, requests, channel_priority, cache_dir):
    from rattler import Gateway

    gateway = Gateway(cache_dir=cache_dir, show_progress=False)
    results = await asyncio.gather(
        *(_solve_one(gateway, channels, specs, r, channel_priority) for r in requests),
        return_exceptions=True,
    )
    for request, result in zip(requests, results):
        if isinstance(result, BaseException):
            raise await _explain(gateway, channels, request, result)
    solved = dict(zip((r.platform for r in requests), results))
    await _refuse_empty_channels(gateway, channels, solved)
    return solved


async def _solve_one(gateway, channels, specs, request: SolveRequest, channel_priority):
    from rattler import ChannelPriority, GenericVirtualPackage, PackageName, Version, solve

    virtual = [GenericVirtualPackage(PackageName(vp.name), Version(vp.version), vp.build)
               for vp in request.virtual_packages]
    priority = (ChannelPriority.Strict if channel_priority == "strict"
                else ChannelPriority.Disabled)
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


async def _explain(gateway, channels, request: SolveRequest, exc: BaseException) -> Exception:
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
        return ChannelError(failing.url if failing else ", ".join(c.url for c in channels),
                            f"cannot fetch repodata for {request.platform}: {exc}")
    if isinstance(exc, Exception):
        return exc
    raise exc


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
    return ChannelError(
        channel.url, f"has no packages for {platform} or noarch",
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
