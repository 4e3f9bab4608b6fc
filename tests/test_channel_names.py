"""How conda spells channel URLs in history: our rules against conda's own ``Channel``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_store_plugin.channel_names import channel_namer
from conda_store_plugin.config import Config
from tests.support.conda import isolated_env

ROOT = Path(__file__).resolve().parents[1]

URLS = [
    "https://conda.anaconda.org/conda-forge/linux-64",
    "https://conda.anaconda.org/conda-forge/noarch",
    "https://conda.anaconda.org/t/tk-123/conda-forge/linux-64",
    "https://u:p@conda.anaconda.org/bioconda/osx-arm64",
    "https://conda.anaconda.org/conda-forge/label/dev/linux-64",
    "https://repo.anaconda.com/pkgs/main/linux-64",
    "https://repo.anaconda.com/pkgs/r/noarch",
    "https://repo.anaconda.com/pkgs/pro/linux-64",
    "https://repo.anaconda.com/pkgs/free/linux-64",
    "http://127.0.0.1:8765/chan/linux-64",
    "http://127.0.0.1:8765/linux-64",
    "http://127.0.0.1:8765/a/b/c/linux-64",
    "file:///tmp/chan/linux-64",
    "file:///tmp/a/b/noarch",
    "file:///linux-64",
    "https://priv.example/prefix/priv/linux-64",
    "https://priv.example/prefix/priv/label/x/linux-64",
    "https://priv.example/prefix/other/linux-64",
    "https://x.example/y/linux-64",
    "https://b.example/conda-forge/linux-64",
    "https://b.example/mirror/conda-forge/linux-64",
    "https://a.example/conda/mychan/linux-64",
    "https://EXAMPLE.com:8443/Chan/win-64",
    "https://prefix.dev/conda-forge/linux-64",
    "https://x.example/my%20chan/linux-64",
    "https://mirror.example/conda/conda-forge/linux-64",
]

CONDARCS = {
    "defaults": "",
    "custom": ("channel_alias: https://b.example/\n"
               "custom_channels:\n  priv: https://u:pw@priv.example/prefix\n"
               "custom_multichannels:\n  mine: [conda-forge, https://x.example/y]\n"),
    "mirror-alias": ("channel_alias: https://b.example/mirror\n"
                     "default_channels: [https://mirror.example/conda/main, r]\n"),
    "defaults-override": ("channel_alias: https://mirror.example/conda\n"
                          "custom_multichannels:\n"
                          "  defaults: [https://repo.anaconda.com/pkgs/main]\n"),
}


def test_common_spellings_without_conda():
    name = channel_namer(Config())
    assert name("https://conda.anaconda.org/conda-forge/linux-64") == "conda-forge"
    assert name("https://conda.anaconda.org/t/tk-1/conda-forge/noarch") == "conda-forge"
    assert name("https://repo.anaconda.com/pkgs/main/linux-64") == "defaults"
    assert name("http://127.0.0.1:9/chan/linux-64") == "http://127.0.0.1:9/chan"
    assert name("file:///tmp/chan/noarch") == "file:///tmp/chan"


def test_configuration_changes_the_spelling():
    name = channel_namer(Config(channel_alias="https://mirror.example/",
                                custom_channels={"priv": "https://h.example/p"},
                                custom_multichannels={"defaults": (), "mine": ("a",)}))
    assert name("https://mirror.example/conda-forge/linux-64") == "conda-forge"
    assert name("https://conda.anaconda.org/conda-forge/linux-64") == (
        "https://conda.anaconda.org/conda-forge")
    assert name("https://h.example/p/priv/label/dev/linux-64") == "priv/label/dev"
    assert name("https://mirror.example/a/linux-64") == "mine"


@pytest.mark.conda
@pytest.mark.parametrize("condarc", sorted(CONDARCS))
def test_spelling_agrees_with_condas_channel(tmp_path, condarc):
    env = isolated_env(tmp_path)
    (Path(env["HOME"]) / ".condarc").write_text(CONDARCS[condarc])
    code = ("import json, sys\n"
            "from conda_store_plugin.channel_names import channel_namer\n"
            "from conda_store_plugin.config import load_config\n"
            "ours = channel_namer(load_config(use_conda=False))\n"
            "from conda.base.context import reset_context\n"
            "reset_context()\n"
            "from conda.models.channel import Channel\n"
            "urls = json.loads(sys.argv[1])\n"
            "print(json.dumps([[u, Channel(u).canonical_name, ours(u)] for u in urls]))\n")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(URLS)], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == len(URLS)
    assert [r for r in rows if r[1] != r[2]] == []


@pytest.mark.conda
def test_settings_we_do_not_model_make_the_history_ask_conda(tmp_path):
    env = isolated_env(tmp_path)
    (Path(env["HOME"]) / ".condarc").write_text(
        "migrated_channel_aliases: [https://old.example/]\n")
    url = "https://old.example/conda-forge/linux-64"
    code = ("import json, sys\n"
            "from conda_store_plugin.conda_history import channel_namer\n"
            "from conda_store_plugin.config import load_config\n"
            "config = load_config(use_conda=False)\n"
            "name = channel_namer()(sys.argv[1])\n"
            "from conda.models.channel import Channel\n"
            "print(json.dumps([list(config.migrated_channel_aliases), name,"
            " Channel(sys.argv[1]).canonical_name]))\n")
    done = subprocess.run([sys.executable, "-c", code, url], env=env, capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    aliases, ours, condas = json.loads(done.stdout)
    assert aliases == ["https://old.example/"]
    assert ours == condas == "conda-forge"
