"""A real HTTP site on 127.0.0.1 for crawl tests (the one local server, newswatch.localserver):
pages are set per path, requests are logged.

Each page is a ``Page`` (status, headers, body). ETag/Last-Modified are added for 200 pages and
conditional requests get a real 304, so tests see exactly what a crawler would on the web.
``peak``: the most requests the site was answering at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from newswatch.localserver import LocalServer, Reply, Request, etag


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    validators: bool = True


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    status: int
    at: float = 0.0  # when the answer was ready (time.monotonic())
    started: float = 0.0  # when the request arrived


class LocalSite:
    LAST_MODIFIED = "Tue, 01 Sep 2026 08:00:00 GMT"

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.hits: list[Hit] = []
        self.sequences: dict[str, list[Page]] = {}
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.server = LocalServer(self._serve, name="test-site")
        self.url = self.server.url

    def set(self, path: str, page: Page | bytes | str, **kwargs: object) -> None:
        if isinstance(page, str):
            page = page.encode("utf-8")
        if isinstance(page, bytes):
            page = Page(body=page, **kwargs)  # type: ignore[arg-type]
        self.pages[path] = page

    def set_sequence(self, path: str, pages: list[Page]) -> None:
        """Serve these pages in turn to successive requests for ``path``; the last one repeats."""
        self.sequences[path] = list(pages)

    def requests_for(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def _serve(self, request: Request) -> Reply:
        started = time.monotonic()
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            return self._answer(request, started)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, request: Request, started: float) -> Reply:
        path = request.path
        with self._lock:
            sequence = self.sequences.get(path)
            page = sequence.pop(0) if sequence and len(sequence) > 1 else (
                sequence[0] if sequence else self.pages.get(path))
        if page is None and path == "/robots.txt":
            page = Page(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
        if page is None:
            page = Page(body=b"not found", status=404, content_type="text/plain")
        if page.delay:
            time.sleep(page.delay)
        status, body = page.status, page.body
        headers = dict(page.headers)
        if page.content_type:
            headers["Content-Type"] = page.content_type
        if status == 200 and page.validators:
            headers.setdefault("ETag", etag(body))
            headers.setdefault("Last-Modified", self.LAST_MODIFIED)
            if request.headers.get("If-None-Match") == headers["ETag"]:
                status, body = 304, b""
        with self._lock:
            self.hits.append(Hit(request.method, path, request.headers, status, time.monotonic(),
                                 started))
        return Reply(status, body, headers)

    def close(self) -> None:
        self.server.stop()
