"""The demo outlet's local HTTP server: a threaded ``http.server`` on 127.0.0.1 in a daemon
thread, with ETag / Last-Modified validators, 304 answers, 404s, a request log for tests, and a
switch to version 2 of the site.

    with serve_demo() as site:
        config = demo_config(site.url)
        ...
        site.set_version(2)
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import unquote, urlsplit

from newswatch.demo import manifest
from newswatch.demo.config import demo_config
from newswatch.demo.render import Resource, last_modified, resource

__all__ = ["DemoServer", "serve_demo", "demo_config", "mutate"]

LoggedRequest = tuple[str, str, dict[str, str]]


def etag_of(res: Resource) -> str:
    return '"' + hashlib.sha1(res.body).hexdigest()[:20] + '"'


def _not_modified(headers, etag: str | None, modified: datetime | None) -> bool:
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


class _Handler(BaseHTTPRequestHandler):
    server_version = "DemoOutlet/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def demo(self) -> DemoServer:
        return self.server.demo  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        pass  # tests read DemoServer.request_log instead

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self._answer(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        demo = self.demo
        demo._log(self.command, self.path, dict(self.headers.items()))
        raw_path = urlsplit(self.path).path
        path = unquote(raw_path)
        version = demo.version
        if path == "/":
            return self._redirect("/ai/", 302)
        try:
            res = resource(path, version, demo.url)
            if res is None and not path.endswith("/") and resource(path + "/", version, demo.url):
                return self._redirect(raw_path + "/", 301)
        except (ValueError, KeyError, OSError) as exc:  # a broken page source, not a client error
            return self._plain(500, f"500 demo page {path}: {exc}", send_body)
        if res is None:
            return self._plain(404, "404 Not Found: 您访问的页面不存在", send_body)
        etag = etag_of(res) if res.validators in ("both", "etag") else None
        modified = (
            last_modified(path, version, demo.url)
            if res.validators in ("both", "last-modified")
            else None
        )
        status = 304 if _not_modified(self.headers, etag, modified) else 200
        self.send_response(status)
        if etag:
            self.send_header("ETag", etag)
        if modified:
            self.send_header("Last-Modified", format_datetime(modified.astimezone(UTC), usegmt=True))
        self.send_header("Cache-Control", "max-age=60")
        if status == 304:
            self.end_headers()
            return
        self.send_header("Content-Type", res.content_type)
        self.send_header("Content-Length", str(len(res.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(res.body)

    def _redirect(self, location: str, status: int) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _plain(self, status: int, text: str, send_body: bool) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class DemoServer:
    """A running demo outlet. Use as a context manager, or call :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, version: int = 1):
        self.version = version
        self.set_version(version)
        self.request_log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.demo = self  # type: ignore[attr-defined]
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"demo-outlet:{self.port}", daemon=True
        )
        self._thread.start()

    def set_version(self, version: int) -> None:
        """Switch the whole site to another version (1 or 2); takes effect on the next request."""
        if version not in manifest.VERSION_TIMES:
            raise ValueError(f"site version {version}: no such version (have {manifest.VERSIONS})")
        self.version = version

    def _log(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.request_log.append((method, path, headers))

    def requests_for(self, path: str) -> list[LoggedRequest]:
        """Logged requests whose path (query included) equals ``path``."""
        with self._lock:
            return [r for r in self.request_log if r[1] == path]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_demo(host: str = "127.0.0.1", port: int = 0, version: int = 1) -> DemoServer:
    """Start the demo outlet (port 0 picks a free port); returns the running server."""
    return DemoServer(host, port, version)


def mutate(site: DemoServer, step: int) -> None:
    """Move the demo site to version ``step`` (the change tests' hook)."""
    site.set_version(step)
