"""Politeness per host across every outlet of one crawl.

Each outlet is its own Scrapy crawler with its own downloader, so Scrapy's
``CONCURRENT_REQUESTS_PER_DOMAIN`` and download slots only hold within one outlet: two outlets
on one host would add their load up. :class:`HostLimits` (one per crawl, in the
``CrawlContext`` every spider shares) is the per-host gate they all pass, and
:class:`HostLimitMiddleware` (the last downloader middleware, right before the download)
holds a request's place from before its download until its response or error:

* at most ``politeness.concurrency_per_domain`` requests to one host are under way at once,
  whichever outlets they belong to;
* a host whose robots.txt gives a ``Crawl-delay`` (for our user agent, or ``*``) gets one
  request at a time, each starting at least that many seconds after the previous one ended
  (capped at ``MAX_CRAWL_DELAY``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

log = logging.getLogger("newswatch.crawl")

MAX_CRAWL_DELAY = 30.0
"""Seconds: a longer robots.txt Crawl-delay is taken as this (a crawl must end)."""


@dataclass
class _Gate:
    in_flight: int = 0
    last_end: float = -math.inf
    delay: float = 0.0
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class HostLimits:
    """The per-host gate of one crawl (see the module docstring). Runs on the reactor's
    asyncio loop; no locks needed."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._gates: dict[str, _Gate] = {}

    def _gate(self, host: str) -> _Gate:
        return self._gates.setdefault(host, _Gate())

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        if seconds and seconds > 0:
            gate = self._gate(host)
            gate.delay = max(gate.delay, min(float(seconds), MAX_CRAWL_DELAY))

    def crawl_delay(self, host: str) -> float:
        return self._gate(host).delay

    async def acquire(self, host: str) -> None:
        gate = self._gate(host)
        loop = asyncio.get_running_loop()
        while True:
            limit = 1 if gate.delay else self.concurrency
            if gate.in_flight < limit:
                wait = gate.last_end + gate.delay - loop.time()
                if wait <= 0:
                    gate.in_flight += 1
                    return
                await asyncio.sleep(wait)
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            gate.waiters.append(waiter)
            await waiter

    def release(self, host: str) -> None:
        gate = self._gate(host)
        gate.in_flight -= 1
        gate.last_end = asyncio.get_running_loop().time()
        waiters, gate.waiters = gate.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class HostLimitMiddleware:
    """Downloader middleware: each request passes its crawl's :class:`HostLimits` (found on
    ``spider.context.hosts``) right before it is downloaded; robots.txt's Crawl-delay is
    handed to it as each robots.txt is parsed."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.user_agent = crawler.settings.get("USER_AGENT") or "*"
        self._held: dict[int, str] = {}  # id(request) -> host, from acquire to release
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostLimitMiddleware:
        return cls(crawler)

    def _limits(self) -> HostLimits | None:
        context = getattr(self.crawler.spider, "context", None)
        return getattr(context, "hosts", None)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        limits = self._limits()
        delay = robotparser.crawl_delay(self.user_agent)
        host = urlparse_cached(request).hostname or ""
        if limits is not None and delay:
            limits.set_crawl_delay(host, delay)
            log.info("%s: robots.txt Crawl-delay %gs (one request at a time, at least %gs "
                     "apart)", host, delay, limits.crawl_delay(host))

    async def process_request(self, request: Request) -> None:
        limits = self._limits()
        if limits is None or id(request) in self._held:
            return None
        host = urlparse_cached(request).hostname or ""
        await limits.acquire(host)
        self._held[id(request)] = host
        return None

    def _release(self, request: Request) -> None:
        host = self._held.pop(id(request), None)
        limits = self._limits()
        if host is not None and limits is not None:
            limits.release(host)

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)
        return None
