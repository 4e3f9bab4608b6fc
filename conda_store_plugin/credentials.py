"""Keep credentials out of lockfiles, logs and backups; put them back to download.

A channel URL may carry credentials three ways, all of which conda accepts:
``https://user:password@host/...``, an anaconda.org-style token path segment
``https://host/t/<TOKEN>/channel`` and a query string (``?token=...``). Lockfiles record
URLs with all three removed (``strip_credentials``); installs put them back from the
configuration (``attach_credentials``): every credential-carrying URL of ``channels``,
``custom_channels``, ``custom_multichannels`` and ``channel_alias``, plus the tokens
``anaconda login`` saved (conda's ``add_anaconda_token``). A URL gets the credentials of
the longest configured URL it lies under. ``.netrc`` and rattler's own credential store
are applied by the HTTP client itself (``http_client``), so they never appear in URLs.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from .config import Config

_TOKEN = re.compile(r"/t/([^/?#]*)")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{},]+")


@dataclass(frozen=True)
class _Split:
    """A URL cut into its credential-free form and the credentials it carried."""

    clean: str
    userinfo: str | None = None
    token: str | None = None
    token_at: int = 0  # where ``/t/<token>`` goes back into ``clean``
    query: str | None = None

    @property
    def has_credentials(self) -> bool:
        return bool(self.userinfo or self.token or self.query)


def _split(url: str) -> _Split:
    scheme_end = url.find("://")
    if scheme_end < 0 or url[:scheme_end].lower() == "file":
        return _Split(url)  # local paths carry no credentials (and may contain /t/)
    start = scheme_end + 3
    rest = url[start:]
    query = None
    for mark in ("#", "?"):
        if mark in rest:
            rest, _, tail = rest.partition(mark)
            if mark == "?":
                query = tail.split("#", 1)[0] or None
    slash = rest.find("/")
    netloc, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    userinfo = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
    token = None
    token_at = 0
    match = _TOKEN.search(path)
    if match:
        token = match.group(1)
        path = path[: match.start()] + path[match.end():]
    head = url[:start] + netloc
    if match:
        token_at = len(head) + match.start()
    return _Split(head + path, userinfo or None, token, token_at, query)


def strip_credentials(url: str) -> str:
    """``url`` without ``user:password@``, ``/t/<token>`` and query string.

    >>> strip_credentials("https://u:p@host/t/tk-1/chan/linux-64/x.conda?token=abc")
    'https://host/chan/linux-64/x.conda'
    """
    if not url or "://" not in url:
        return url
    return _split(url).clean


def has_credentials(url: str) -> bool:
    """Whether ``url`` carries a user/password, a ``/t/`` token or a query string."""
    return bool(url) and "://" in url and _split(url).has_credentials


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` (an error message, a log line) without credentials.

    Credentials are removed from its URLs, and every one of ``secrets`` (e.g.
    ``secrets_of(urls)``) is replaced by ``***``.
    """
    if not text:
        return text
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: strip_credentials(m.group()), text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def secrets_of(urls: Iterable[str]) -> set[str]:
    """The tokens, passwords and query strings the URLs carry (for ``redact``)."""
    found: set[str] = set()
    for url in urls:
        if not url or "://" not in url:
            continue
        split = _split(url)
        if split.token:
            found.add(split.token)
        if split.userinfo:
            found.add(split.userinfo)
            found.add(split.userinfo.partition(":")[2])
        if split.query:
            found.add(split.query)
    return {s for s in found if s}


class CredentialSource:
    """Where the credentials of configured URLs come from; ``attach`` puts them back.

    Build it once (``from_config``) and call ``attach`` for many URLs.
    """

    def __init__(self, urls: Iterable[str]) -> None:
        splits = [_split(u) for u in urls if u and "://" in u]
        with_credentials = [s for s in splits if s.has_credentials]
        # longest configured prefix first; among equals the first configured wins
        self._splits = sorted(with_credentials, key=lambda s: -len(s.clean.rstrip("/")))

    @classmethod
    def from_config(cls, config: Config, *,
                    environ: Mapping[str, str] | None = None) -> CredentialSource:
        """The credential-carrying URLs of ``config`` and of ``anaconda login``."""
        urls = list(configured_urls(config))
        if config.add_anaconda_token:
            tokens = read_anaconda_tokens(os.environ if environ is None else environ)
            urls += [f"{base.rstrip('/')}/t/{token}" for base, token in tokens.items()]
        return cls(urls)

    def attach(self, url: str) -> str:
        """``url`` with the credentials of the longest configured URL it lies under.

        A URL that already carries credentials, or that no configured URL covers, is
        returned unchanged.
        """
        if not url or "://" not in url or has_credentials(url):
            return url
        for split in self._splits:
            base = split.clean.rstrip("/")
            if url != base and not url.startswith(base + "/"):
                continue
            out = url
            if split.token:
                at = min(split.token_at, len(out))
                out = f"{out[:at]}/t/{split.token}{out[at:]}"
            if split.userinfo:
                head, sep, tail = out.partition("://")
                out = f"{head}{sep}{split.userinfo}@{tail}"
            if split.query:
                out = f"{out}?{split.query}"
            return out
        return url

    def __bool__(self) -> bool:
        return bool(self._splits)


def attach_credentials(url: str, config: Config | None = None) -> str:
    """``url`` with credentials re-attached from the configuration.

    ``config`` defaults to ``load_config()``. For many URLs build a ``CredentialSource``
    once instead.
    """
    if config is None:
        from .config import load_config

        config = load_config()
    return CredentialSource.from_config(config).attach(url)


def configured_urls(config: Config) -> list[str]:
    """Every URL of the configuration that can carry credentials, in priority order."""
    urls = [c for c in config.channels if "://" in c]
    for name, prefix in config.custom_channels.items():
        split = _split(prefix)
        if split.has_credentials:
            # the channel lives at <prefix>/<name>: give the credentials to that URL
            urls.append(_join(prefix, name))
    for members in config.custom_multichannels.values():
        urls += [c for c in members if "://" in c]
    urls.append(config.channel_alias)
    return urls


def _join(prefix: str, name: str) -> str:
    base, sep, query = prefix.partition("?")
    return f"{base.rstrip('/')}/{name}" + (f"?{query}" if sep else "")


def read_anaconda_tokens(environ: Mapping[str, str]) -> dict[str, str]:
    """Tokens saved by ``anaconda login``: base URL -> token.

    As conda's ``conda/gateways/anaconda_client.py``: ``<dir>/<quote_plus(url)>.token``
    files, each also valid for the URL with its first ``api`` replaced by ``conda``.
    """
    folder = _anaconda_token_dir(environ)
    tokens: dict[str, str] = {}
    try:
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return tokens
    for entry in entries:
        if not entry.name.endswith(".token") or not entry.is_file():
            continue
        try:
            token = entry.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if not token:
            continue
        url = unquote_plus(entry.name[: -len(".token")])
        tokens[url] = token
        tokens[re.sub(r"([./])api([./]|$)", r"\1conda\2", url, count=1)] = token
    return tokens


def _anaconda_token_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("BINSTAR_CONFIG_DIR"):
        return Path(environ["BINSTAR_CONFIG_DIR"]) / "data"
    home = Path(environ.get("HOME") or Path.home())
    if sys.platform == "win32":
        local = environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / "ContinuumIO" / "binstar"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "binstar"
    config_home = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config_home) / "binstar"
