"""The download handler: Scrapy's HTTP handler for plain requests, Chromium for rendered ones.

A thin subclass of scrapy-playwright's handler that keeps the browser cheap and bounded:

* nothing starts until a request needs the browser (a crawl of static pages starts neither the
  Playwright driver nor Chromium); a missing Chromium is one warning line and the page is
  skipped (:class:`BrowserUnavailable`), never a traceback;
* at most ``browser.max_pages`` pages at once; each page has a hard deadline (navigation plus
  waiting for the article, plus a margin) after which it is closed and the request fails;
* the browser and the Playwright driver (node) are closed and relaunched after
  ``browser.restart_after`` pages (the browser alone, by scrapy-playwright, after a crash);
* the driver runs with a small V8 heap (:data:`DRIVER_NODE_OPTIONS`: -30 MB of its ~145 MB);
* the rendered DOM comes back as UTF-8 bytes, whatever the page declared.

Which requests are rendered is decided by the render policy (:mod:`crawler.render`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from newswatch.crawler.chromium import missing_browser
from newswatch.crawler.render import SETTLE, RenderPolicy
from newswatch.errors import first_line
from newswatch.spiders.page import BrowserUnavailable

log = logging.getLogger("newswatch.browser")

_CHARSET = re.compile(r";\s*charset=[^;]*", re.I)
# The driver only relays protocol messages and page HTML: a 1 MB young generation and a capped
# old one keep it ~30 MB smaller at no measurable cost in pages/s (benchmarks/render_memory.py).
DRIVER_NODE_OPTIONS = "--max-semi-space-size=1 --max-old-space-size=128"


class _OneLine(logging.Filter):
    """scrapy-playwright logs a failed page with its traceback; the spider reports it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


logging.getLogger("scrapy-playwright").addFilter(_OneLine())


class RenderTimeout(Exception):
    """A page did not finish in the browser within its deadline."""


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.crawler = crawler
        self.policy = RenderPolicy.of(crawler)
        self.browser_config = self.policy.browser
        self.deadline = 2 * self.browser_config.timeout + 10  # navigation + settle + margin
        self._slots = asyncio.Semaphore(max(1, self.browser_config.max_pages))
        self._start_lock = asyncio.Lock()
        self._restart_lock = asyncio.Lock()
        self._started = False
        self._unavailable: str | None = None
        self._in_flight = 0
        self._since_launch = 0
        self._pages: dict[int, Any] = {}

    # -------------------------------------------------------------- lazy start

    async def _maybe_launch_in_thread(self) -> None:
        """scrapy-playwright starts its driver when the engine starts; we wait for a page."""

    def _engine_started(self) -> Any:  # Scrapy < 2.14 hook: also lazy
        return None

    async def _launch(self) -> None:
        """Start the Playwright driver (node) with :data:`DRIVER_NODE_OPTIONS`."""
        with _node_options(DRIVER_NODE_OPTIONS):
            await super()._launch()

    async def _ensure_started(self) -> None:
        async with self._start_lock:
            if self._unavailable:
                raise BrowserUnavailable(self._unavailable)
            if self._started:
                return
            problem = missing_browser(self.browser_config.chromium)
            if problem:
                self._give_up(problem)
            await self._launch()
            self._started = True

    def _give_up(self, problem: str) -> None:
        self._unavailable = problem
        log.warning("%s", problem)
        self.crawler.stats.set_value("newswatch/browser_unavailable", problem)
        raise BrowserUnavailable(problem)

    async def _maybe_launch_browser(self) -> None:
        before = getattr(self, "browser", None)
        try:
            await super()._maybe_launch_browser()
        except Exception as exc:
            self._give_up(f"no browser: cannot start {self.browser_config.chromium}: "
                          f"{first_line(exc, 200)}"
                          " (apt-get install chromium, or set NEWSWATCH_CHROMIUM)")
        if self.browser is not before:
            self._since_launch = 0

    # -------------------------------------------------------------- downloads

    async def download_request(self, request: Request) -> Response:  # Scrapy >= 2.14 API
        if not self.policy.route(request):
            return await super().download_request(request)
        return await self._render(request)

    async def _render(self, request: Request) -> Response:
        await self._ensure_started()
        async with self._slots:
            await self._maybe_restart()
            self._in_flight += 1
            self._since_launch += 1
            try:
                response = await asyncio.wait_for(self._download_request(request), self.deadline)
            except TimeoutError:
                await self._close_page(request)
                raise RenderTimeout(f"no page from the browser within {self.deadline:.0f} s") from None
            finally:
                self._in_flight -= 1
                page = self._pages.pop(id(request), None)
                if page is not None and not page.is_closed():
                    await _quietly(page.close())
        return _as_utf8(response)

    async def _create_page(self, request: Request, spider: Spider) -> Any:
        page = await super()._create_page(request, spider)
        self._pages[id(request)] = page
        return page

    async def _close_page(self, request: Request) -> None:
        page = self._pages.pop(id(request), None)
        if page is not None and not page.is_closed():
            await _quietly(page.close())

    async def _apply_page_methods(self, page: Any, request: Request, spider: Spider) -> None:
        settle = request.meta.get(SETTLE)
        if settle:
            await _settle(page, *settle)
        await super()._apply_page_methods(page, request, spider)

    # -------------------------------------------------------------- restarts

    async def _maybe_restart(self) -> None:
        limit = self.browser_config.restart_after
        if not limit or self._since_launch < limit or not hasattr(self, "browser"):
            return
        async with self._restart_lock:
            if self._since_launch < limit or not hasattr(self, "browser"):
                return
            while self._in_flight:  # let the pages already open finish first
                await asyncio.sleep(0.05)
            browser = self.browser
            browser.remove_listener("disconnected", self._browser_disconnected_callback)
            for wrapper in list(self.context_wrappers.values()):
                await _quietly(wrapper.context.close())
            self.context_wrappers.clear()
            await _quietly(browser.close())
            del self.browser
            await _quietly(self.browser_provider.close())  # the driver too: it grows as well
            await self._launch()
            self._since_launch = 0
            self.crawler.stats.inc_value("newswatch/browser_restarts")
            log.info("browser restarted after %d pages", limit)


@contextlib.contextmanager
def _node_options(options: str) -> Iterator[None]:
    """NODE_OPTIONS for a driver started inside the block (Playwright copies os.environ);
    the user's own NODE_OPTIONS come after ours, so they win."""
    before = os.environ.get("NODE_OPTIONS")
    os.environ["NODE_OPTIONS"] = f"{options} {before}" if before else options
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("NODE_OPTIONS", None)
        else:
            os.environ["NODE_OPTIONS"] = before


async def _settle(page: Any, wait_for: str | None, timeout_ms: int) -> None:
    """Wait for the article: the outlet's CSS selector, else network idle; at most timeout_ms.
    A page that never settles is taken as it is (extraction then judges it)."""
    try:
        if wait_for:
            await page.wait_for_selector(wait_for, timeout=timeout_ms)
        else:
            await page.wait_for_load_state("networkidle", timeout=timeout_ms)
    except Exception as exc:  # playwright's TimeoutError, or the page went away
        log.debug("page %s did not settle: %s", page.url, exc)


def _as_utf8(response: Response) -> Response:
    if not isinstance(response, TextResponse) or response.encoding == "utf-8":
        return response
    headers = response.headers.copy()
    content_type = (headers.get(b"Content-Type") or b"text/html").decode("latin-1")
    headers[b"Content-Type"] = _CHARSET.sub("", content_type) + "; charset=utf-8"
    return response.replace(body=response.text.encode("utf-8"), headers=headers,
                            encoding="utf-8")


async def _quietly(awaitable: Any) -> None:
    try:
        await asyncio.wait_for(awaitable, 10)
    except Exception as exc:
        log.debug("ignored while closing: %s", exc)
