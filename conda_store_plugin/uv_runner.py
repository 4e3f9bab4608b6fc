"""Run the ``uv`` executable (a dependency) with a controlled environment.

uv reads many ``UV_*`` environment variables that change what it resolves
(``UV_INDEX_URL``, ``UV_CONSTRAINT``, ``UV_EXCLUDE_NEWER``, ...). A lock must
depend on the spec only, so the child process gets this process's environment
minus every ``UV_*`` variable except those about the network, the cache and
credentials (:data:`KEPT_UV_VARIABLES`, ``UV_INDEX_<NAME>_USERNAME``/``_PASSWORD``).
uv config files are ignored (``--no-config``) for the same reason. Our own
``os.environ`` is never changed: the environment is passed to the child.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from .exceptions import UvNotFoundError

#: ``UV_*`` variables passed on to uv: network, TLS, cache, credentials, output.
KEPT_UV_VARIABLES = frozenset({
    "UV_CACHE_DIR", "UV_NO_CACHE", "UV_OFFLINE", "UV_HTTP_TIMEOUT", "UV_HTTP_RETRIES",
    "UV_REQUEST_TIMEOUT", "UV_CONCURRENT_DOWNLOADS", "UV_CONCURRENT_BUILDS",
    "UV_CONCURRENT_INSTALLS", "UV_NATIVE_TLS", "UV_SYSTEM_CERTS", "UV_INSECURE_HOST",
    "UV_KEYRING_PROVIDER", "UV_LINK_MODE", "UV_NO_PROGRESS", "UV_LOG_CONTEXT",
})
_INDEX_CREDENTIAL = re.compile(r"^UV_INDEX_[A-Z0-9_]+_(USERNAME|PASSWORD)$")


@functools.lru_cache(maxsize=1)
def uv_binary() -> str:
    """Path of the uv executable shipped with the ``uv`` package.

    Found once per process: ``uv.find_uv_bin`` reads ``sysconfig``, whose first use
    is not thread-safe, so callers that run uv from threads call this first.
    """
    try:
        from uv import find_uv_bin
    except ImportError as exc:
        raise UvNotFoundError(f"the `uv` package is not installed ({exc})") from exc
    try:
        return find_uv_bin()
    except FileNotFoundError as exc:
        raise UvNotFoundError(str(exc)) from exc


def uv_environment(*, cache_dir: Path | None = None,
                   extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a uv child process (see the module docstring)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("UV_") or k in KEPT_UV_VARIABLES or _INDEX_CREDENTIAL.match(k)}
    env["UV_NO_PROGRESS"] = "1"
    env["COLUMNS"] = "10000"  # uv wraps its error messages at the terminal width
    if cache_dir is not None:
        env["UV_CACHE_DIR"] = str(cache_dir)
    env.update(extra or {})
    return env


def run_uv(args: Sequence[str], *, cache_dir: Path | None = None,
           env: Mapping[str, str] | None = None, input: str | None = None,
           cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``uv ARGS`` and return the finished process (never raises on exit code)."""
    command = [uv_binary(), *args]
    return subprocess.run(command, input=input, capture_output=True, text=True,
                          env=uv_environment(cache_dir=cache_dir, extra=env), cwd=cwd,
                          check=False)
