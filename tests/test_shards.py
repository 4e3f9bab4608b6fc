"""Sharded repodata (CEP-16): used where a channel has it, repodata.json otherwise."""

from __future__ import annotations

import pytest

from conda_store_plugin.config import Config
from conda_store_plugin.exceptions import ChannelError
from conda_store_plugin.locking import LockOptions, make_lock
from conda_store_plugin.spec import EnvironmentSpec
from tests.support.channels import default_packages

SPEC = EnvironmentSpec(dependencies=("numpylike",))
#: numpylike pulls python, libfoo and libzlib on linux-64; nothing from noarch.
REACHED = {"numpylike", "python", "libfoo", "libzlib"}


def _lock(server, cache, config=None):
    spec = EnvironmentSpec(channels=(server.url,), dependencies=SPEC.dependencies)
    return make_lock(spec, LockOptions(platforms=("linux-64",), config=config),
                     cache_dir=cache)


def _gets(server):
    return [r for r in server.log if r.method == "GET" and r.status == 200]


def _names(lock):
    return {p.name: (p.version, p.build, p.sha256)
            for p in lock.platforms["linux-64"].packages}


@pytest.fixture(scope="module")
def channels(tmp_path_factory):
    """The same packages indexed twice: with and without shards."""
    from tests.support.channels import build_channel

    root = tmp_path_factory.mktemp("shards")
    specs = default_packages()
    return (build_channel(root / "sharded", specs, write_shards=True),
            build_channel(root / "plain", specs, write_shards=False))


def test_sharded_channel_fetches_the_index_and_the_shards_it_needs(channels, make_server,
                                                                    tmp_path):
    sharded, _ = channels
    server = make_server(sharded.path)
    lock = _lock(server, tmp_path / "cache")
    assert set(_names(lock)) == REACHED

    paths = [r.path for r in _gets(server)]
    assert sorted(p for p in paths if p.endswith("repodata_shards.msgpack.zst")) == [
        "linux-64/repodata_shards.msgpack.zst", "noarch/repodata_shards.msgpack.zst"]
    shards = [p for p in paths if "/shards/" in p]
    assert len(shards) == len(REACHED) and all(p.startswith("linux-64/shards/") for p in shards)
    available = len(list((sharded.path / "linux-64" / "shards").iterdir()))
    assert available > len(shards)  # only the names the solve reached
    assert not [p for p in paths if "/repodata.json" in p]
    assert len(server.log) == len(paths)  # nothing else was asked for (no 404 probing)


def test_unsharded_channel_falls_back_to_repodata_json(channels, make_server, tmp_path):
    sharded, plain = channels
    server = make_server(plain.path)
    lock = _lock(server, tmp_path / "cache")

    missing = sorted(r.path for r in server.log if r.status == 404 and r.method == "GET")
    assert missing == ["linux-64/repodata_shards.msgpack.zst",
                       "noarch/repodata_shards.msgpack.zst"]
    got = sorted(r.path for r in _gets(server))
    assert got == ["linux-64/repodata.json.zst", "noarch/repodata.json.zst"]
    # Same packages as from the sharded copy.
    assert _names(lock) == _names(_lock(make_server(sharded.path), tmp_path / "cache2"))


def test_repodata_use_shards_false_skips_shards(channels, make_server, tmp_path):
    sharded, _ = channels
    server = make_server(sharded.path)
    _lock(server, tmp_path / "cache", Config(channels=(), repodata_use_shards=False))
    paths = [r.path for r in server.log]
    assert not [p for p in paths if "shards" in p]
    assert sorted(r.path for r in _gets(server)) == ["linux-64/repodata.json.zst",
                                                     "noarch/repodata.json.zst"]


def test_offline_uses_cached_repodata_only(channels, make_server, tmp_path):
    sharded, _ = channels
    server = make_server(sharded.path)
    cache = tmp_path / "cache"
    online = _lock(server, cache)
    server.reset_log()
    offline = _lock(server, cache, Config(offline=True))
    assert _names(offline) == _names(online)
    assert server.log == []  # not one request
    with pytest.raises(ChannelError, match="offline: true"):
        _lock(server, tmp_path / "empty-cache", Config(offline=True))
    assert server.log == []
