"""The one local HTTP server: threaded HTTP/1.1 on 127.0.0.1, in a daemon thread of its own.

It serves whatever ``respond(request) -> Reply`` answers; the demo outlet
(``newswatch.demo.server``), the tests' sites and webhook receivers (``tests/``) and the
benchmarks' sites are all this server with their own ``respond``. :func:`etag` is the validator
such a ``respond`` offers for a body, :func:`not_modified` the RFC 9110 conditional-request rule.

    with LocalServer(lambda request: Reply(body=b"hello")) as server:
        urllib.request.urlopen(server.url + "/")
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["LocalServer", "Reply", "Request", "etag", "not_modified"]


@dataclass
class Request:
    method: str
    path: str  # as requested, query included
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def etag(body: bytes, length: int = 16) -> str:
    """A strong ETag for ``body``: its SHA-1, cut to ``length`` hex digits, quoted."""
    return '"' + hashlib.sha1(body).hexdigest()[:length] + '"'


def not_modified(headers: Mapping[str, str], etag: str | None, modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match wins; If-Modified-Since is only looked at without it."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        if etag is None:
            return False
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = headers.get("If-Modified-Since")
    if ims is None or modified is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified.replace(microsecond=0) <= since


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # a receiver stopped and started again keeps its port


class LocalServer:
    """``LocalServer(respond, port=0)``: started on construction (``start=False`` to wait);
    ``url``, ``port``, ``stop()``, usable as a context manager. ``keep_alive=False`` closes
    every connection after its answer, so a stopped server really answers nothing more."""

    def __init__(self, respond: Callable[[Request], Reply], *, host: str = "127.0.0.1",
                 port: int = 0, name: str = "newswatch-local", keep_alive: bool = True,
                 start: bool = True) -> None:
        self.respond = respond
        self.host, self.port, self.name, self.keep_alive = host, port, name, keep_alive
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalServer:
        self._httpd = _Server((self.host, self.port), self._handler())
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name=f"{self.name}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = server.name

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # the respond callables keep their own request logs

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                self._answer()

            def do_HEAD(self) -> None:  # noqa: N802
                self._answer(send_body=False)

            def do_POST(self) -> None:  # noqa: N802
                self._answer()

            def _answer(self, send_body: bool = True) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = server.respond(Request(self.command, self.path,
                                               dict(self.headers.items()), body))
                bodyless = reply.status == 304 or reply.status < 200
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if not bodyless:
                        self.send_header("Content-Length", str(len(reply.body)))
                    if not server.keep_alive:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    if send_body and not bodyless:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        return Handler
