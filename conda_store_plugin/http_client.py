"""The py-rattler HTTP client for repodata and package downloads, set up from ``Config``.

What conda's configuration gives the client:

* ``proxy_servers``: the ``http`` and ``https`` entries become rattler's proxies.
  Per-host entries (``http://host``) are not supported by rattler and are ignored;
  rattler also honours ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``.
* ``ssl_verify: false`` turns certificate checks off; ``ssl_verify: truststore`` uses the
  system's certificate store. A CA bundle path cannot be given to rattler: point
  ``SSL_CERT_FILE`` at it instead.
* credentials: rattler's authentication middleware is always on. It reads ``~/.netrc``
  (or ``$NETRC``, as conda does), rattler's credential store (the keyring,
  ``~/.rattler/credentials.json``, or ``$RATTLER_AUTH_FILE``). Tokens and passwords
  written in channel URLs travel in the URLs themselves (``credentials``).

Note: ``rattler.Gateway()`` without a client does *not* read ``.netrc``; always pass
this one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config


def rattler_config(config: Config) -> Any:
    """A ``rattler.Config`` with the networking settings of ``config``."""
    from rattler import Config as RattlerConfig

    out = RattlerConfig()
    if config.ssl_verify is False:
        out.set("tls-no-verify", "true")
    elif config.ssl_verify == "truststore":
        out.set("tls-root-certs", json.dumps("system"))
    for scheme in ("http", "https"):
        proxy = config.proxy_servers.get(scheme)
        if proxy:
            out.set(f"proxy-config.{scheme}", json.dumps(proxy))
    if not config.repodata_use_shards:
        out.set("repodata-config.disable-sharded", "true")
    return out


def make_client(config: Config) -> Any:
    """A ``rattler.networking.Client`` set up from ``config``.

    Retries, authentication (.netrc, rattler's store), OCI/S3/GCS, and the proxies and
    TLS settings of ``config``.
    """
    from rattler.networking import Client

    return Client.from_config(rattler_config(config))
