"""A small local HTTP server for channel directories, with request accounting.

The server binds 127.0.0.1 on an ephemeral port and serves files below a root directory.
It records every request (thread-safe) so tests can assert how often each file was
downloaded, and it can emulate a CDN (per-request latency, per-connection bandwidth cap)
or inject failures (404/500, truncated bodies, dropped connections) per path.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CDN_PROFILE",
    "ChannelServer",
    "Failure",
    "RequestRecord",
    "serve_directory",
]

#: Rough CDN emulation for benchmarks: 30 ms per request, 200 Mbit/s per connection.
CDN_PROFILE: dict[str, Any] = {"latency_s": 0.030, "bandwidth_bytes_per_s": 25_000_000}

FailureMode = Literal["404", "500", "truncate", "reset"]
_ARCHIVE_SUFFIXES = (".conda", ".tar.bz2")
_CHUNK = 16 * 1024  # small chunks keep bandwidth throttling smooth


@dataclass(frozen=True)
class Failure:
    """How to fail requests for one path.

    Attributes:
        mode: ``"404"``/``"500"`` status, ``"truncate"`` (full Content-Length header but
            only half the body, then close) or ``"reset"`` (close without any response).
        times: Fail only this many times, then serve normally (retry tests); ``None``
            fails forever.
    """

    mode: FailureMode = "404"
    times: int | None = None


@dataclass(frozen=True)
class RequestRecord:
    """One handled request.

    Attributes:
        method: HTTP method.
        path: Path relative to the served root, without leading slash.
        status: Response status (0 when the connection was dropped without a response).
        bytes_sent: Body bytes actually written.
        complete: Whether the full body announced by Content-Length was written.
        duration_s: Time from request line to end of response.
        range: The ``Range`` header, if any.
    """

    method: str
    path: str
    status: int
    bytes_sent: int
    complete: bool
    duration_s: float
    range: str | None = None


def _norm(path: str) -> str:
    return path.lstrip("/")


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None | Literal[False]:
    """Parse a single ``bytes=`` range: ``(start, end_inclusive)``, ``None`` to ignore it,
    ``False`` if unsatisfiable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return False
            return max(size - n, 0), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a CDN and rattler's connection pool
    server_version = "ChannelServer/1"
    timeout = 30  # idle keep-alive connections end eventually
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default stderr request log."""

    def do_GET(self) -> None:  # noqa: N802
        self._serve(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        owner = self.server.owner
        t0 = time.monotonic()
        rel = _norm(urllib.parse.unquote(urllib.parse.urlsplit(self.path).path))
        range_header = self.headers.get("Range")
        status, sent, complete = 0, 0, True
        owner._begin()  # balanced by _record() in the finally below
        try:
            if owner.latency_s:
                owner._stopping.wait(owner.latency_s)
            rel, refused = owner._authorize(rel, self.headers.get("Authorization"))
            if refused:
                status = 401
                self._send_simple(status, body)
                return
            failure = owner._take_failure(rel)
            if failure is not None and failure.mode in ("404", "500"):
                status = int(failure.mode)
                self._send_simple(status, body)
                return
            if failure is not None and failure.mode == "reset":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            file = owner._resolve(rel)
            if file is None:
                status = 404
                self._send_simple(status, body)
                return
            st = file.stat()
            etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
            if etag in [t.strip() for t in self.headers.get("If-None-Match", "").split(",")]:
                status = 304
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Cache-Control", owner.cache_control)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = 0, st.st_size - 1
            rng = _parse_range(range_header, st.st_size)
            if rng is False:
                status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{st.st_size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 200 if rng is None else 206
            if rng is not None:
                start, end = rng
            length = max(end - start + 1, 0)
            self.send_response(status)
            ctype = "application/json" if rel.endswith(".json") else "application/octet-stream"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
            self.send_header("Cache-Control", owner.cache_control)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{st.st_size}")
            self.end_headers()
            if not body:
                return
            limit = length // 2 if failure is not None and failure.mode == "truncate" else length
            sent = self._send_body(file, start, limit, t0)
            complete = sent == length
            if not complete:
                self.close_connection = True  # client sees a short read
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            # Client went away (cancelled download); record what we managed to send.
            complete = False
            self.close_connection = True
        finally:
            owner._record(
                RequestRecord(
                    method=self.command,
                    path=rel,
                    status=status,
                    bytes_sent=sent,
                    complete=complete and status != 0,
                    duration_s=time.monotonic() - t0,
                    range=range_header,
                )
            )

    def _send_simple(self, status: int, body: bool) -> None:
        payload = f"{status}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def _send_body(self, file: Path, start: int, length: int, t0: float) -> int:
        owner = self.server.owner
        bw = owner.bandwidth_bytes_per_s
        sent = 0
        t_body = time.monotonic()
        with open(file, "rb") as f:
            f.seek(start)
            while sent < length:
                chunk = f.read(min(_CHUNK, length - sent))
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
                if bw:
                    # Sleep off any lead over the allowed rate; wakes early on stop().
                    ahead = sent / bw - (time.monotonic() - t_body)
                    if ahead > 0 and owner._stopping.wait(ahead):
                        break
        self.wfile.flush()
        return sent


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: ChannelServer) -> None:
        self.owner = owner
        self.open_connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)


class ChannelServer:
    """HTTP server for a directory on 127.0.0.1 with a request log.

    Args:
        root: Directory to serve (e.g. a channel root).
        latency_s: Delay added before answering each request.
        bandwidth_bytes_per_s: Body throughput cap per connection (``None``: unlimited).
        fail_paths: Paths (relative to ``root``) to fail: an iterable of paths (404), or a
            mapping ``path -> Failure | mode``.
        cache_control: ``Cache-Control`` header value; ``no-cache`` forces clients to
            revalidate (ETag -> 304), so reused ports never serve stale cached repodata.
        required_token: Emulate an anaconda.org private channel: files are served only
            below ``/t/<required_token>/`` (that prefix is removed before resolving and
            logging the path); any other request gets 401.
        required_basic_auth: ``(user, password)``: requests without that HTTP Basic
            ``Authorization`` header get 401.

    Use as a context manager or call :meth:`start`/:meth:`stop`.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        latency_s: float = 0.0,
        bandwidth_bytes_per_s: float | None = None,
        fail_paths: Iterable[str] | Mapping[str, Failure | FailureMode] | None = None,
        cache_control: str = "no-cache",
        required_token: str | None = None,
        required_basic_auth: tuple[str, str] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.required_token = required_token
        self.required_basic_auth = required_basic_auth
        self.latency_s = latency_s
        self.bandwidth_bytes_per_s = bandwidth_bytes_per_s
        self.cache_control = cache_control
        self._lock = threading.Lock()
        # Counts requests between "parsed" and "recorded": a client can finish reading a
        # response before the handler logs it, so log readers wait for in-flight ones.
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._log: list[RequestRecord] = []
        self._failures: dict[str, Failure] = {}
        self._failed: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        if isinstance(fail_paths, Mapping):
            for path, failure in fail_paths.items():
                self.set_failure(path, failure)
        else:
            for path in fail_paths or ():
                self.set_failure(path, "404")

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> ChannelServer:
        """Start serving in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ChannelServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close all connections (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
        # Kick idle keep-alive connections so their handler threads exit and close them.
        with httpd.conn_lock:
            conns = list(httpd.open_connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with httpd.conn_lock:
                if not httpd.open_connections:
                    break
            time.sleep(0.01)
        httpd.server_close()

    def __enter__(self) -> ChannelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """Bound TCP port."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, relpath: str) -> str:
        """URL of a file relative to the served root."""
        return f"{self.url}/{urllib.parse.quote(_norm(relpath))}"

    # -- failures --------------------------------------------------------------------

    def set_failure(self, path: str, failure: Failure | FailureMode | None) -> None:
        """Fail requests for ``path`` (relative to root); ``None`` clears it."""
        path = _norm(path)
        with self._lock:
            self._failed.pop(path, None)
            if failure is None:
                self._failures.pop(path, None)
            else:
                self._failures[path] = failure if isinstance(failure, Failure) else Failure(failure)

    def _take_failure(self, path: str) -> Failure | None:
        with self._lock:
            failure = self._failures.get(path)
            if failure is None:
                return None
            if failure.times is not None and self._failed[path] >= failure.times:
                return None
            self._failed[path] += 1
            return failure

    def _authorize(self, rel: str, authorization: str | None) -> tuple[str, bool]:
        """``(path without the token prefix, refused)`` for one request."""
        if self.required_basic_auth is not None:
            user, password = self.required_basic_auth
            expected = base64.b64encode(f"{user}:{password}".encode()).decode()
            if authorization != f"Basic {expected}":
                return rel, True
        if self.required_token is not None:
            prefix = f"t/{self.required_token}/"
            if not rel.startswith(prefix):
                return rel, True
            rel = rel[len(prefix):]
        return rel, False

    def _resolve(self, rel: str) -> Path | None:
        file = (self.root / rel).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return None  # also blocks ../ escapes
        return file

    # -- request log -----------------------------------------------------------------

    def _begin(self) -> None:
        with self._lock:
            self._inflight += 1

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)
            self._inflight -= 1
            self._idle.notify_all()

    @property
    def log(self) -> list[RequestRecord]:
        """Snapshot of all handled requests, in completion order.

        Waits (up to 5 s) for requests still being answered, so a response the client
        has already read is always in the log.
        """
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0, timeout=5.0)
            return list(self._log)

    def reset_log(self) -> None:
        """Forget recorded requests (not the failure configuration)."""
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0, timeout=5.0)
            self._log.clear()

    def requests(self, method: str | None = None) -> Counter[str]:
        """Number of requests per path (optionally only one method)."""
        return Counter(r.path for r in self.log if method is None or r.method == method)

    def downloads(self, archives_only: bool = False) -> Counter[str]:
        """Completed GET bodies (status 200/206) per path.

        Args:
            archives_only: Only count ``.conda``/``.tar.bz2`` files.
        """
        return Counter(
            r.path
            for r in self.log
            if r.method == "GET"
            and r.status in (200, 206)
            and r.complete
            and (not archives_only or r.path.endswith(_ARCHIVE_SUFFIXES))
        )

    def download_count(self, path: str) -> int:
        """Completed downloads of one path (relative to root)."""
        return self.downloads()[_norm(path)]

    @property
    def bytes_sent(self) -> int:
        """Total body bytes sent."""
        return sum(r.bytes_sent for r in self.log)


@contextlib.contextmanager
def serve_directory(root: Path | str, **kwargs: Any) -> Iterator[ChannelServer]:
    """Serve ``root`` over HTTP for the duration of the ``with`` block.

    Args:
        root: Directory to serve.
        **kwargs: Options of :class:`ChannelServer`.
    """
    server = ChannelServer(root, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
