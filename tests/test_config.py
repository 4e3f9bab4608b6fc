"""conda's configuration: our .condarc reader, conda's context, and their agreement."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_store_plugin.config import Config, load_config, search_path
from conda_store_plugin.exceptions import ConfigError
from tests.support.conda import isolated_env

ROOT = Path(__file__).resolve().parents[1]

#: Prepended to ``python -c`` code: makes ``import conda`` fail, as where conda is absent.
NO_CONDA = """
import sys
class _NoConda:
    def find_spec(self, name, path=None, target=None):
        if name == "conda" or name.startswith("conda."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoConda())
"""


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), **extra}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_no_files_gives_condas_defaults(tmp_path):
    environ = _environ(tmp_path)
    config = load_config(use_conda=False, environ=environ)
    home = environ["HOME"]
    assert config.source == "condarc" and config.files == ()
    assert config.channels == ()  # conda 26: no implicit `defaults`
    assert config.channel_alias == "https://conda.anaconda.org"
    assert config.channel_priority is None  # unset: locks use strict
    assert config.custom_channels == {"pkgs/pro": "https://repo.anaconda.com"}
    assert config.custom_multichannels["defaults"][0] == "https://repo.anaconda.com/pkgs/main"
    # Where conda is installed in this Python, its root prefix is this Python's prefix.
    root = (sys.prefix,) if importlib.util.find_spec("conda") else ()
    assert config.pkgs_dirs == (*(f"{r}/pkgs" for r in root), f"{home}/.conda/pkgs")
    assert set(config.envs_dirs) == {*(f"{r}/envs" for r in root), f"{home}/.conda/envs"}
    assert (config.ssl_verify, config.offline, config.repodata_use_shards) == (True, False, True)
    assert (config.store_dir, config.store_platforms, config.store_cuda) == (None, (), None)


def test_files_are_read_in_condas_order_and_merged_like_conda(tmp_path):
    environ = _environ(tmp_path)
    home = Path(environ["HOME"])
    condarc = _write(tmp_path / "explicit" / "condarc", (
        "channels: [c]\n"
        "channel_priority: disabled\n"
        "custom_channels: {two: 'https://two.example'}\n"))
    environ.update(CONDARC=str(condarc), CONDA_CHANNELS="x,a",
                   CONDA_PLUGINS_STORE_PLATFORMS="osx-arm64")
    _write(home / ".condarc", (
        "channels: [a, b]\n"
        "channel_priority: strict\n"
        "channel_alias: https://user.example/\n"
        "custom_channels: {one: 'https://one.example', two: 'https://old.example'}\n"
        "plugins:\n  store_dir: ~/store\n  store_platforms: [linux-64]\n"))
    _write(home / ".config" / "conda" / "condarc.d" / "20-b.yml", "channels: [d2]\n")
    _write(home / ".config" / "conda" / "condarc.d" / "10-a.yaml", "channels: [d1]\n")
    _write(home / ".config" / "conda" / "condarc.d" / "notes.txt", "channels: [never]\n")

    config = load_config(use_conda=False, environ=environ)
    # lists: later sources first (env vars last of all), duplicates dropped
    assert config.channels == ("x", "a", "c", "b", "d2", "d1")
    # scalars: the last source wins; maps merge key by key
    assert config.channel_priority == "disabled"
    assert config.channel_alias == "https://user.example/"
    assert config.custom_channels == {"one": "https://one.example", "two": "https://two.example"}
    assert config.store_platforms == ("osx-arm64", "linux-64")
    assert config.store_dir == "~/store"
    assert config.files == (
        str(home / ".config/conda/condarc.d/10-a.yaml"),
        str(home / ".config/conda/condarc.d/20-b.yml"),
        str(home / ".condarc"), str(condarc))


def test_final_key_stops_later_files(tmp_path):
    environ = _environ(tmp_path)
    home = Path(environ["HOME"])
    _write(home / ".conda" / ".condarc", (
        "channel_alias: https://locked.example/  #!final\n"
        "channels:  #!final\n  - admin\n"))
    _write(home / ".condarc", "channel_alias: https://user.example/\nchannels: [mine]\n")
    config = load_config(use_conda=False, environ=environ)
    assert config.channel_alias == "https://locked.example/"
    assert config.channels == ("admin",)


def test_only_condarc_names_and_yaml_files_are_read(tmp_path):
    environ = _environ(tmp_path)
    rc = _write(tmp_path / "rc", "channels: [ignored]\n")  # conda skips it too
    assert load_config(use_conda=False, environ={**environ, "CONDARC": str(rc)}).channels == ()
    yml = _write(tmp_path / "settings.yml", "channels: [read]\n")
    assert load_config(use_conda=False, environ={**environ, "CONDARC": str(yml)}).channels \
        == ("read",)


def test_paths_and_variables(tmp_path):
    environ = _environ(tmp_path, CACHE=str(tmp_path / "cache"), CONDA_ROOT_PREFIX=str(tmp_path),
                       CONDA_ENVS_DIRS=os.pathsep.join(["/e1", "/e2"]),
                       CONDA_PKGS_DIRS="/p1,/p2")
    _write(Path(environ["HOME"]) / ".condarc",
           "pkgs_dirs: [$CACHE/pkgs, '${CACHE}/more']\nchannels: [$CACHE/chan, $NOPE/x]\n")
    config = load_config(use_conda=False, environ=environ)
    cache = environ["CACHE"]
    assert config.pkgs_dirs == ("/p1", "/p2", f"{cache}/pkgs", f"{cache}/more")
    assert config.channels == (f"{cache}/chan", "$NOPE/x")  # unknown variables stay
    # conda appends ~/.conda/envs and <root_prefix>/envs (root not writable: last)
    assert config.envs_dirs == ("/e1", "/e2", f"{environ['HOME']}/.conda/envs",
                                f"{tmp_path}/envs")


def test_environment_variables_are_typed(tmp_path):
    environ = _environ(tmp_path, CONDA_OFFLINE="yes", CONDA_SSL_VERIFY="/etc/ca.pem",
                       CONDA_REPODATA_USE_SHARDS="false", CONDA_CHANNEL_PRIORITY="Strict",
                       CONDA_PLUGINS_STORE_CUDA="12.4")
    config = load_config(use_conda=False, environ=environ)
    assert config.offline is True and config.repodata_use_shards is False
    assert config.ssl_verify == "/etc/ca.pem" and config.channel_priority == "strict"
    assert config.store_cuda == "12.4"


@pytest.mark.parametrize(("text", "expected"), [
    ("channels: [a\n", "not valid YAML at line 2"),
    ("- just\n- a list\n", "not a mapping"),
    ("channels: {a: 1}\n", "`channels` must be a list"),
    ("channel_priority: sometimes\n", "`channel_priority` must be one of"),
    ("offline: maybe\n", "`offline` must be true or false"),
])
def test_bad_files_are_config_errors_naming_the_file(tmp_path, text, expected):
    environ = _environ(tmp_path)
    rc = _write(Path(environ["HOME"]) / ".condarc", text)
    with pytest.raises(ConfigError) as caught:
        load_config(use_conda=False, environ=environ)
    assert str(rc) in str(caught.value) and expected in str(caught.value)


def test_to_dict_never_shows_credentials():
    config = Config(channels=("https://u:secretpw@h.example/t/tok-123/ch",),
                    channel_alias="https://h.example/t/tok-123/",
                    proxy_servers={"https": "http://me:proxypw@proxy:3128"})
    text = json.dumps(config.to_dict())
    assert "tok-123" not in text and "secretpw" not in text and "proxypw" not in text


def test_nothing_is_read_at_import(tmp_path):
    broken = _write(tmp_path / "condarc", "channels: [\n")  # reading it would fail
    environ = {**os.environ, "CONDARC": str(broken)}
    code = NO_CONDA + (
        "import conda_store_plugin.config, conda_store_plugin.credentials\n"
        "import conda_store_plugin.http_client, conda_store_plugin.channels\n"
        "try:\n"
        "    conda_store_plugin.config.load_config()\n"
        "except conda_store_plugin.exceptions.ConfigError as e:\n"
        "    print('read when called:', type(e).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "read when called: ConfigError"


def test_without_conda_load_config_reads_the_condarc_files(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONDA")}
    environ.update(_environ(tmp_path))
    _write(Path(environ["HOME"]) / ".condarc",
           "channels: [conda-forge]\nchannel_priority: strict\n"
           "plugins:\n  store_platforms: [linux-64, win-64]\n")
    code = NO_CONDA + (
        "import json, sys\n"
        "from conda_store_plugin.config import load_config\n"
        "config = load_config()\n"
        "assert 'conda' not in sys.modules\n"
        "print(json.dumps(config.to_dict()))\n")
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["source"] == "condarc"
    assert got["channels"] == ["conda-forge"] and got["channel_priority"] == "strict"
    assert got["store_platforms"] == ["linux-64", "win-64"]


@pytest.mark.conda
def test_search_path_is_condas():
    from conda.base.constants import SEARCH_PATH

    assert search_path() == tuple(SEARCH_PATH)


def _other_plugin_settings() -> str:
    """A non-default value for every bool/number plugin setting, as .condarc lines."""
    from conda_store_plugin.conda_layer.settings import SETTINGS

    values = {"bool": lambda d: str(not d).lower(), "float": lambda d: str(int(d) + 7)}
    return "".join(f"  {name}: {values[kind](default)}\n"
                   for name, (_, kind, default) in SETTINGS.items() if kind in values)


@pytest.mark.conda
def test_conda_and_our_reader_agree(tmp_path):
    """The same files and variables, read by conda and by us, give the same Config."""
    env = isolated_env(tmp_path)
    home = Path(env["HOME"])
    _write(home / ".condarc", (
        "channels:\n  - http://127.0.0.1:9/t/abc123/ch\n  - conda-forge\n"
        "channel_alias: https://b.example/\n"
        "channel_priority: strict\n"
        "custom_channels:\n  priv: https://u:pw@priv.example/prefix\n"
        "custom_multichannels:\n  mine: [conda-forge, https://x.example/y]\n"
        "proxy_servers:\n  https: http://proxy.example:3128\n"
        "ssl_verify: false\n"
        "repodata_use_shards: false\n"
        "pkgs_dirs: [~/pk1, $HOME/pk2]\n"
        "envs_dirs: [~/ev1]\n"
        "plugins:\n  store_dir: /srv/store\n  store_platforms: [linux-64]\n"
        + _other_plugin_settings()))
    xdg = home / ".config" / "conda"
    _write(xdg / ".condarc", "channel_alias: https://a.example/  #!final\noffline: true\n")
    _write(xdg / "condarc.d" / "10-a.yml", "channels: [dir-chan]\n")
    env.update(CONDA_CHANNELS="envchan", CONDA_PLUGINS_STORE_PLATFORMS="osx-arm64")
    code = ("import json\n"
            "from conda_store_plugin.config import load_config\n"
            "print(json.dumps([load_config(use_conda=True).to_dict(),"
            " load_config(use_conda=False).to_dict()]))\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    by_conda, ours = json.loads(done.stdout)
    assert by_conda.pop("source") == "conda" and ours.pop("source") == "condarc"
    assert by_conda == ours
    assert ours["channels"] == ["envchan", "http://127.0.0.1:9/ch", "conda-forge", "dir-chan"]
    assert ours["channel_alias"] == "https://a.example/"  # #!final
    assert ours["store_platforms"] == ["osx-arm64", "linux-64"]


@pytest.mark.conda
def test_lock_takes_channels_and_priority_from_condarc(tmp_path, channel):
    """A spec without `channels:` locks against conda's configured channels."""
    env = isolated_env(tmp_path / "conda")
    _write(Path(env["HOME"]) / ".condarc",
           f"channels: [{channel.url}]\nchannel_priority: disabled\n")
    spec = _write(tmp_path / "environment.yml", "dependencies: [purepkg]\n")
    code = ("import json\n"
            "from conda_store_plugin import api\n"
            f"result = api.lock(spec_path={str(spec)!r}, platforms=['linux-64'])\n"
            "print(json.dumps(result.lockfile.to_dict()))\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lock = json.loads(done.stdout)
    assert lock["channels"] == [{"name": channel.url, "url": channel.url}]
    assert lock["spec"]["channels"] == []
    assert lock["options"]["channel_priority"] == "disabled"
    names = {p["name"] for p in lock["platforms"]["linux-64"]["packages"]}
    assert "purepkg" in names
    # The configured channels are part of what --check compares.
    _write(Path(env["HOME"]) / ".condarc", f"channels: [{channel.url}, conda-forge]\n")
    check = ("from conda_store_plugin import api\n"
             f"api.lock(spec_path={str(spec)!r}, platforms=['linux-64'], check=True)\n")
    stale = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True,
                           text=True, cwd=ROOT)
    assert stale.returncode == 1 and "configured channels changed" in stale.stderr


def test_flexible_locks_strict_until_the_format_records_it():
    from conda_store_plugin.locking import lock_channel_priority

    assert lock_channel_priority("strict") == "strict"
    assert lock_channel_priority("disabled") == "disabled"
    assert lock_channel_priority("flexible") in ("strict", "flexible")
    assert lock_channel_priority(None) == "strict"


def test_channel_names_resolve_through_the_configuration():
    from conda_store_plugin.channels import resolve_channels

    config = Config(
        channel_alias="https://mirror.example/conda",
        custom_channels={"priv": "https://t.example/prefix"},
        custom_multichannels={"defaults": ("https://repo.example/pkgs/main", "r"),
                              "both": ("conda-forge", "priv")},
    )
    got = [(c.name, c.url) for c in resolve_channels(
        ["priv/label/dev", "defaults", "conda-forge", "both", "https://x.example/y"],
        config=config)]
    assert got == [
        ("priv/label/dev", "https://t.example/prefix/priv/label/dev"),
        ("defaults", "https://repo.example/pkgs/main"),
        ("defaults", "https://mirror.example/conda/r"),
        ("conda-forge", "https://mirror.example/conda/conda-forge"),
        ("both", "https://t.example/prefix/priv"),  # conda-forge: already listed
        ("https://x.example/y", "https://x.example/y"),
    ]


def test_install_follows_configured_offline(tmp_path, channel, make_server, monkeypatch,
                                            rattler_cache_dir):
    from conda_store_plugin import api
    from conda_store_plugin import config as config_module
    from conda_store_plugin.install_errors import PackagesNotCachedError

    server = make_server(channel.path)
    monkeypatch.setattr(config_module, "load_config", lambda **_: Config())
    spec = _write(tmp_path / "environment.yml",
                  f"channels: [{server.url}]\ndependencies: [data-pkg]\n")
    lock = api.lock(spec_path=spec, platforms=["noarch"], cache_dir=rattler_cache_dir)
    monkeypatch.setattr(config_module, "load_config", lambda **_: Config(offline=True))
    server.reset_log()
    with pytest.raises(PackagesNotCachedError):
        api.install(lockfile_path=lock.lockfile_path, prefix=tmp_path / "env",
                    platform="noarch", pkgs_dir=tmp_path / "pkgs")
    assert server.log == []


@pytest.mark.conda
def test_defaults_agree_with_conda_installed_here_without_loading_it(tmp_path):
    """Nothing configured: conda's root prefix (this Python) gives pkgs and envs dirs.

    Outside a conda command load_config() reads the files itself, conda stays unloaded.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONDA", "_CONDA", "XDG_"))}
    env.update(_environ(tmp_path))
    code = ("import json, sys\n"
            "from conda_store_plugin.config import load_config\n"
            "ours = load_config().to_dict()\n"
            "loaded = 'conda.base.context' in sys.modules\n"
            "print(json.dumps([load_config(use_conda=True).to_dict(), ours, loaded]))\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    by_conda, ours, loaded = json.loads(done.stdout)
    assert not loaded
    assert by_conda.pop("source") == "conda" and ours.pop("source") == "condarc"
    assert by_conda == ours
    assert ours["pkgs_dirs"][0] == os.path.join(sys.prefix, "pkgs")


def test_condas_root_prefix_gives_its_condarc_and_dirs(tmp_path):
    """Where conda is installed (its root prefix), `<root>/.condarc` is read, as
    importing conda sets `CONDA_ROOT`; and `<root>/pkgs` is the first package cache."""
    from conda_store_plugin.config import read_condarc_files

    root = tmp_path / "miniforge"
    _write(root / ".condarc", "channels: [conda-forge]\n")
    environ = _environ(tmp_path)
    config = read_condarc_files(environ=environ, conda_root=str(root))
    assert config.channels == ("conda-forge",)
    assert config.files == (str(root / ".condarc"),)
    assert config.pkgs_dirs[0] == str(root / "pkgs")
    # A CONDA_ROOT that is set wins, as in conda.
    other = tmp_path / "other"
    _write(other / ".condarc", "channels: [bioconda]\n")
    config = read_condarc_files(environ={**environ, "CONDA_ROOT": str(other)},
                                conda_root=str(root))
    assert config.channels == ("bioconda",)
