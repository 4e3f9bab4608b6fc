"""Shared fixtures: real test channels (file:// and HTTP) and the ``conda`` marker skip."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

# `python -m pytest` puts the repo root on sys.path, bare `pytest` does not; tests import
# helpers as `tests.support.*`, so make that work for every invocation.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.channels import Channel, PackageSpec, build_channel  # noqa: E402
from tests.support.server import ChannelServer  # noqa: E402

CONDA_SKIP_REASON = "conda is not importable: install conda to run the conda-layer tests"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if importlib.util.find_spec("conda") is not None:
        return
    skip = pytest.mark.skip(reason=CONDA_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("conda") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    """The default channel (tests/support/channels.py:default_packages), built once per
    session (per xdist worker). Treat it as read-only; use ``make_channel`` to mutate."""
    return build_channel(tmp_path_factory.mktemp("channel") / "default")


@pytest.fixture(scope="session")
def channel_dir(channel: Channel) -> Path:
    """Root directory of the default channel."""
    return channel.path


@pytest.fixture(scope="session")
def channel_server(channel: Channel) -> Iterator[ChannelServer]:
    """HTTP server of the default channel; shared, so call ``reset_log()`` before counting."""
    with ChannelServer(channel.path) as server:
        yield server


@pytest.fixture(scope="session")
def http_channel_url(channel_server: ChannelServer) -> str:
    """``http://127.0.0.1:<port>`` URL of the default channel."""
    return channel_server.url


@pytest.fixture
def make_channel(tmp_path: Path) -> Callable[..., Channel]:
    """Factory: ``make_channel(specs, name="channel", **build_channel_kwargs) -> Channel``."""

    def make(
        specs: Iterable[PackageSpec] | None = None, name: str = "channel", **kwargs: Any
    ) -> Channel:
        return build_channel(tmp_path / name, specs, **kwargs)

    return make


@pytest.fixture
def make_server() -> Iterator[Callable[..., ChannelServer]]:
    """Factory: ``make_server(root, **ChannelServer_kwargs)``; servers stop at teardown."""
    servers: list[ChannelServer] = []

    def make(root: Path, **kwargs: Any) -> ChannelServer:
        servers.append(ChannelServer(root, **kwargs).start())
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def rattler_cache_dir(tmp_path: Path) -> Path:
    """Private rattler repodata cache dir, so tests never see another run's cache."""
    path = tmp_path / "rattler-cache"
    path.mkdir()
    return path


# --- PyPI: wheels, simple indexes and a conda channel with a python that runs ----------

from tests.support.pypi import (  # noqa: E402
    IndexServer,
    PypiIndex,
    build_index,
    python_channel_packages,
)


@pytest.fixture
def make_pypi_index(tmp_path: Path) -> Callable[..., PypiIndex]:
    """Factory: ``make_pypi_index(wheel_specs=None, name="pypi") -> PypiIndex`` (a folder;
    ``None`` builds tests/support/pypi.py:default_wheels)."""

    def make(specs: Iterable[Any] | None = None, name: str = "pypi") -> PypiIndex:
        return build_index(tmp_path / name, specs)

    return make


@pytest.fixture
def make_index_server() -> Iterator[Callable[..., IndexServer]]:
    """Factory: ``make_index_server(index_root, **ChannelServer_kwargs)``; stopped at
    teardown. The simple index is at ``server.url + "/simple"``."""
    servers: list[IndexServer] = []

    def make(root: Path, **kwargs: Any) -> IndexServer:
        servers.append(IndexServer(root, **kwargs).start())
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def pypi_index(make_pypi_index: Callable[..., PypiIndex]) -> PypiIndex:
    """The default test index (a folder), built for this test."""
    return make_pypi_index()


@pytest.fixture
def pypi_server(pypi_index: PypiIndex, make_index_server: Callable[..., IndexServer]
                ) -> IndexServer:
    """``pypi_index`` served on 127.0.0.1."""
    return make_index_server(pypi_index.root)


@pytest.fixture
def python_channel(make_channel: Callable[..., Channel]) -> Channel:
    """A conda channel whose ``python`` really runs (tests/support/pypi.py)."""
    return make_channel(python_channel_packages(), name="python-channel")
