"""The demo outlet's local HTTP server: the one local server (``newswatch.localserver``) on
127.0.0.1 answering with the demo pages, with ETag / Last-Modified validators, 304 answers,
404s, a request log for tests, and a switch to version 2 of the site.

    with serve_demo() as site:
        config = demo_config(site.url)
        ...
        site.set_version(2)
"""

from __future__ import annotations

import threading
from datetime import UTC
from email.utils import format_datetime
from types import TracebackType
from urllib.parse import unquote, urlsplit

from newswatch.demo import manifest
from newswatch.demo.config import demo_config
from newswatch.demo.render import last_modified, resource
from newswatch.localserver import LocalServer, Reply, Request, etag, not_modified

__all__ = ["DemoServer", "serve_demo", "demo_config"]

LoggedRequest = tuple[str, str, dict[str, str]]


def _plain(status: int, text: str) -> Reply:
    return Reply(status, text.encode("utf-8"), {"Content-Type": "text/plain; charset=utf-8"})


class DemoServer:
    """A running demo outlet. Use as a context manager, or call :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, version: int = 1,
                 public_url: str | None = None):
        self.set_version(version)
        self.request_log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._server = LocalServer(self._answer, host=host, port=port, name="DemoOutlet/1.0")
        self.host = host
        self.port: int = self._server.port
        self.url = self._server.url  # where it listens
        self.public_url = public_url or self.url  # the site's own address, in its pages

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

    def _answer(self, request: Request) -> Reply:
        target = urlsplit(request.path)  # absolute-form when reached as a proxy
        path_and_query = target.path + (f"?{target.query}" if target.query else "")
        self._log(request.method, path_and_query, request.headers)
        raw_path = target.path
        path = unquote(raw_path)
        version = self.version
        if path == "/":
            return Reply(302, headers={"Location": "/ai/"})
        try:
            res = resource(path, version, self.public_url)
            if res is None and not path.endswith("/") and resource(path + "/", version, self.public_url):
                return Reply(301, headers={"Location": raw_path + "/"})
        except (ValueError, KeyError, OSError) as exc:  # a broken page source, not a client error
            return _plain(500, f"500 demo page {path}: {exc}")
        if res is None:
            return _plain(404, "404 Not Found: 您访问的页面不存在")
        tag = etag(res.body, 20) if res.validators in ("both", "etag") else None
        modified = (
            last_modified(path, version, self.public_url)
            if res.validators in ("both", "last-modified")
            else None
        )
        headers: dict[str, str] = {}
        if tag:
            headers["ETag"] = tag
        if modified:
            headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
        headers["Cache-Control"] = "max-age=60"
        if not_modified(request.headers, tag, modified):
            return Reply(304, headers=headers)
        headers["Content-Type"] = res.content_type
        return Reply(200, res.body, headers)

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_demo(host: str = "127.0.0.1", port: int = 0, version: int = 1,
               public_url: str | None = None) -> DemoServer:
    """Start the demo outlet (port 0 picks a free port); returns the running server.
    ``public_url``: the address its pages give themselves (default: where it listens)."""
    return DemoServer(host, port, version, public_url)
