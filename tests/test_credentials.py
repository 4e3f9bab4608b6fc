"""Credentials never reach a lockfile, a message or a log; installs put them back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_store_plugin import api
from conda_store_plugin import config as config_module
from conda_store_plugin.config import Config
from conda_store_plugin.credentials import (
    CredentialSource,
    attach_credentials,
    read_anaconda_tokens,
    redact,
    strip_credentials,
)
from conda_store_plugin.exceptions import ChannelError, CredentialsRequiredError
from conda_store_plugin.platforms import current_platform
from tests.support.channels import ARCH_SUBDIRS
from tests.test_config import NO_CONDA, ROOT

TOKEN = "abc123"
PLATFORM = current_platform()
needs_packages = pytest.mark.skipif(PLATFORM not in ARCH_SUBDIRS,
                                    reason=f"the test channel has no {PLATFORM} packages")


@pytest.mark.parametrize(("url", "clean"), [
    ("https://conda.anaconda.org/t/tk-123-456/private/linux-64/a-1-0.conda",
     "https://conda.anaconda.org/private/linux-64/a-1-0.conda"),
    ("https://user:pass@host.example:8443/prefix/t/TOKEN/ch/noarch/",
     "https://host.example:8443/prefix/ch/noarch/"),
    ("https://host.example/ch/linux-64/a.conda?token=s3cret&x=1",
     "https://host.example/ch/linux-64/a.conda"),
    ("https://host.example/ch", "https://host.example/ch"),
    ("file:///home/me/t/channel", "file:///home/me/t/channel"),  # a path, not a token
    ("conda-forge", "conda-forge"),
])
def test_strip_credentials(url, clean):
    assert strip_credentials(url) == clean


def test_attach_takes_the_longest_configured_url():
    config = Config(
        channels=("https://host.example/t/CHAN-TOKEN/private", "conda-forge"),
        channel_alias="https://alias.example/t/ALIAS-TOKEN/",
        custom_channels={"team": "https://me:pw@team.example/prefix"},
    )
    source = CredentialSource.from_config(config, environ={})
    assert source.attach("https://host.example/private/linux-64/a-1-0.conda") == \
        "https://host.example/t/CHAN-TOKEN/private/linux-64/a-1-0.conda"
    assert source.attach("https://host.example/private-not/x.conda") == \
        "https://host.example/private-not/x.conda"  # segment boundary
    assert source.attach("https://alias.example/other/noarch/b.conda") == \
        "https://alias.example/t/ALIAS-TOKEN/other/noarch/b.conda"
    assert source.attach("https://team.example/prefix/team/noarch/c.conda") == \
        "https://me:pw@team.example/prefix/team/noarch/c.conda"
    assert source.attach("https://team.example/prefix/other/c.conda") == \
        "https://team.example/prefix/other/c.conda"  # custom channel `team` only
    # already carrying credentials, or covered by nothing: unchanged
    assert source.attach("https://host.example/t/X/private/a.conda") == \
        "https://host.example/t/X/private/a.conda"
    assert source.attach("https://elsewhere.example/a.conda") == \
        "https://elsewhere.example/a.conda"
    assert attach_credentials("https://host.example/private", config) == \
        "https://host.example/t/CHAN-TOKEN/private"


def test_anaconda_login_tokens(tmp_path):
    data = tmp_path / "binstar" / "data"
    data.mkdir(parents=True)
    (data / "https%3A%2F%2Fapi.anaconda.org.token").write_text("LOGIN-TOKEN")
    environ = {"BINSTAR_CONFIG_DIR": str(tmp_path / "binstar")}
    assert read_anaconda_tokens(environ) == {"https://api.anaconda.org": "LOGIN-TOKEN",
                                             "https://conda.anaconda.org": "LOGIN-TOKEN"}
    url = "https://conda.anaconda.org/private/noarch/a-1-0.conda"
    with_token = CredentialSource.from_config(Config(), environ=environ).attach(url)
    assert with_token == "https://conda.anaconda.org/t/LOGIN-TOKEN/private/noarch/a-1-0.conda"
    no_token = CredentialSource.from_config(Config(add_anaconda_token=False), environ=environ)
    assert no_token.attach(url) == url


def test_redact_messages():
    message = ("HTTP status client error (401 Unauthorized) for url "
               "(http://127.0.0.1:1/t/abc123/ch/linux-64/repodata.json); channel t/abc123/ch; "
               "https://u:hunter2@h/x")
    out = redact(message, secrets={"abc123", "hunter2"})
    assert "abc123" not in out and "hunter2" not in out
    assert "http://127.0.0.1:1/ch/linux-64/repodata.json" in out


# --- end to end: a private channel on 127.0.0.1 -------------------------------------------


@pytest.fixture
def private(channel, make_server):
    """The default channel, served only below /t/abc123/ (like anaconda.org)."""
    return make_server(channel.path, required_token=TOKEN)


def _no_token_anywhere(*paths: Path) -> None:
    for path in paths:
        for file in [path] if path.is_file() else path.rglob("*"):
            if file.is_file():
                assert TOKEN.encode() not in file.read_bytes(), file


def _use_config(monkeypatch, config: Config) -> None:
    monkeypatch.setattr(config_module, "load_config", lambda **_: config)


@needs_packages
def test_token_in_the_spec_is_used_but_never_written(tmp_path, private, monkeypatch,
                                                     rattler_cache_dir):
    _use_config(monkeypatch, Config())
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{private.url}/t/{TOKEN}]\ndependencies: [numpylike]\n")
    result = api.lock(spec_path=spec, platforms=[PLATFORM], cache_dir=rattler_cache_dir)
    text = result.lockfile_path.read_text()
    assert TOKEN not in text
    lock = json.loads(text)
    assert lock["channels"] == [{"name": private.url, "url": private.url}]
    assert lock["spec"]["channels"] == [private.url]
    packages = lock["platforms"][PLATFORM]["packages"]
    assert all(p["url"].startswith(private.url + "/") for p in packages)
    assert all(p["channel"].rstrip("/") == private.url for p in packages)
    assert {r.status for r in private.log} == {200}  # every request carried the token
    # The lock is up to date for the very spec it came from.
    api.lock(spec_path=spec, platforms=[PLATFORM], check=True)


@needs_packages
def test_install_reattaches_configured_token(tmp_path, private, monkeypatch,
                                             rattler_cache_dir):
    tokened = Config(channels=(f"{private.url}/t/{TOKEN}",), channel_priority="strict")
    _use_config(monkeypatch, tokened)
    spec = tmp_path / "environment.yml"
    spec.write_text("dependencies: [numpylike]\n")  # channels come from the configuration
    lock = api.lock(spec_path=spec, platforms=[PLATFORM],
                    cache_dir=rattler_cache_dir).lockfile_path
    _no_token_anywhere(lock)

    # Without the token configured: a clear error, nothing installed, no token shown.
    _use_config(monkeypatch, Config())
    refused = tmp_path / "refused"
    with pytest.raises(CredentialsRequiredError) as caught:
        api.install(lockfile_path=lock, prefix=refused, pkgs_dir=tmp_path / "pkgs-a")
    assert "HTTP 401" in str(caught.value) and ".condarc" in str(caught.value)
    assert not refused.exists()

    # With it: the downloads carry the token again, the environment is made.
    _use_config(monkeypatch, tokened)
    private.reset_log()
    prefix = tmp_path / "env"
    done = api.install(lockfile_path=lock, prefix=prefix, pkgs_dir=tmp_path / "pkgs-b")
    assert done.created and len(done.downloaded) == len(done.added) > 0
    assert {r.status for r in private.log} == {200}
    _no_token_anywhere(lock, prefix / "conda-meta", tmp_path / "pkgs-b")


@needs_packages
def test_wrong_token_lock_error_does_not_show_it(tmp_path, private, monkeypatch,
                                                 rattler_cache_dir):
    _use_config(monkeypatch, Config(channels=(f"{private.url}/t/wrong-secret",)))
    spec = tmp_path / "environment.yml"
    spec.write_text("dependencies: [numpylike]\n")
    with pytest.raises(ChannelError) as caught:
        api.lock(spec_path=spec, platforms=[PLATFORM], cache_dir=rattler_cache_dir)
    assert "wrong-secret" not in str(caught.value) and "401" in str(caught.value)
    assert not (tmp_path / "conda-store.lock.json").exists()


@needs_packages
def test_netrc_is_used_for_lock_and_install(tmp_path, channel, make_server, monkeypatch,
                                            rattler_cache_dir):
    server = make_server(channel.path, required_basic_auth=("me", "netrc-pw"))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login me password netrc-pw\n")
    monkeypatch.setenv("NETRC", str(netrc))
    _use_config(monkeypatch, Config())
    spec = tmp_path / "environment.yml"
    spec.write_text(f"channels: [{server.url}]\ndependencies: [purepkg]\n")
    lock = api.lock(spec_path=spec, platforms=[PLATFORM],
                    cache_dir=rattler_cache_dir).lockfile_path
    assert "netrc-pw" not in lock.read_text()
    done = api.install(lockfile_path=lock, prefix=tmp_path / "env", pkgs_dir=tmp_path / "pkgs")
    assert done.created
    assert {r.status for r in server.log} == {200}


@needs_packages
def test_without_conda_token_comes_from_condarc(tmp_path, private):
    """Standalone: lock then install, the token only in ~/.condarc."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".condarc").write_text(f"channels: [{private.url}/t/{TOKEN}]\n")
    spec = tmp_path / "environment.yml"
    spec.write_text("dependencies: [numpylike]\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONDA")}
    environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    code = NO_CONDA + (
        "import atexit, json, sys, time\n"
        "atexit.register(time.sleep, 0.1)\n"
        "from conda_store_plugin import api\n"
        f"lock = api.lock(spec_path={str(spec)!r}, platforms=[{PLATFORM!r}],"
        f" cache_dir={str(tmp_path / 'cache')!r})\n"
        f"done = api.install(lockfile_path=lock.lockfile_path, prefix={str(tmp_path / 'env')!r},"
        f" pkgs_dir={str(tmp_path / 'pkgs')!r})\n"
        "assert 'conda' not in sys.modules\n"
        "print(json.dumps(done.to_dict()))\n")
    ran = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["created"] is True
    _no_token_anywhere(tmp_path / "conda-store.lock.json", tmp_path / "env" / "conda-meta")


@needs_packages
def test_password_of_a_custom_channel_is_reattached(tmp_path, make_channel, make_server,
                                                    monkeypatch, rattler_cache_dir):
    """`custom_channels: {ch: http://me:pw@host}` + `channels: [ch]` in the spec."""
    make_channel(name="ch")
    server = make_server(tmp_path, required_basic_auth=("me", "pass-word"))
    config = Config(custom_channels={"ch": f"http://me:pass-word@127.0.0.1:{server.port}"})
    _use_config(monkeypatch, config)
    spec = tmp_path / "environment.yml"
    spec.write_text("channels: [ch]\ndependencies: [purepkg]\n")
    lock = api.lock(spec_path=spec, platforms=[PLATFORM],
                    cache_dir=rattler_cache_dir).lockfile_path
    text = lock.read_text()
    assert "pass-word" not in text and f"{server.url}/ch/" in text
    done = api.install(lockfile_path=lock, prefix=tmp_path / "env", pkgs_dir=tmp_path / "pkgs")
    assert done.created and {r.status for r in server.log} == {200}


@needs_packages
def test_store_build_keeps_no_token_in_spec_copy_log_or_lock(tmp_path, private, monkeypatch):
    from tests.support.store import StoreSandbox

    # The token is configured (as in .condarc), so install can re-attach it.
    _use_config(monkeypatch, Config(channels=(f"{private.url}/t/{TOKEN}",)))
    sandbox = StoreSandbox(tmp_path, f"{private.url}/t/{TOKEN}")
    result = sandbox.build(["numpylike"])
    assert result.record.status == "completed"
    _no_token_anywhere(sandbox.store)
    stored_spec = (sandbox.build_dir(1) / "environment.yml").read_text()
    assert f"{private.url}" in stored_spec  # the channel is kept, its token is not
