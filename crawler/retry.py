"""Downloader middleware: retries with exponential back-off, honouring Retry-After.

Replaces Scrapy's RetryMiddleware. 429 and 5xx answers (the codes in RETRY_HTTP_CODES) and
network errors are retried up to RETRY_TIMES; before each retry it waits Retry-After (seconds or an
HTTP date, capped at NEWSWATCH_MAX_RETRY_AFTER) or else ``RETRY_BACKOFF_BASE * 2**n`` seconds.
Waiting happens on the event loop, so other requests go on meanwhile.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class BackoffRetryMiddleware:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.max_retry_times = settings.getint("RETRY_TIMES")
        self.retry_http_codes = {int(x) for x in settings.getlist("RETRY_HTTP_CODES")}
        self.base = settings.getfloat("RETRY_BACKOFF_BASE", 0.5)
        self.cap = settings.getfloat("NEWSWATCH_MAX_RETRY_AFTER", 120.0)
        self.exceptions = tuple(load_object(x) if isinstance(x, str) else x
                                for x in settings.getlist("RETRY_EXCEPTIONS"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def _delay(self, request: Request, response: Response | None) -> float:
        if response is not None:
            after = retry_after_seconds(response.headers.get(b"Retry-After"))
            if after is not None:
                return min(after, self.cap)
        attempt = request.meta.get("retry_times", 0)
        return min(self.base * (2**attempt), self.cap)

    async def _retry(self, request: Request, reason: Any, response: Response | None) -> Request | None:
        retry = get_retry_request(
            request,
            reason=reason,
            spider=self.crawler.spider,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
        )
        if retry is not None:
            await asyncio.sleep(self._delay(request, response))
        return retry

    async def process_response(self, request: Request, response: Response) -> Any:
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        retry = await self._retry(request, response_status_message(response.status), response)
        return retry or response

    async def process_exception(self, request: Request, exception: Exception) -> Any:
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions):
            return None
        return await self._retry(request, exception, None)
