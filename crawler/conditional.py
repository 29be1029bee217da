"""Downloader middleware: conditional requests for article URLs and discovery pages already
fetched.

Before a crawl the runner loads each article URL's ETag and Last-Modified from storage into the
spider (``spider.validators``), and those of its start pages, feeds and sitemaps
(``spider.page_validators``); this middleware sends them as If-None-Match / If-Modified-Since.
A 304 answer then reaches the spider: an unchanged article, or a discovery page with no new
links this crawl.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from newswatch.spiders.page import ARTICLE, DISCOVERY_ROLES, ROLE, UNCONDITIONAL


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.meta.get(UNCONDITIONAL):
            return None
        if request.meta.get(ARTICLE):
            kind = "validators"
        elif request.meta.get(ROLE) in DISCOVERY_ROLES:
            kind = "page_validators"
        else:
            return None
        validators: dict[str, tuple[str | None, str | None]] = getattr(
            self.crawler.spider, kind, {}
        )
        etag, last_modified = validators.get(request.url, (None, None))
        if etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = etag
        if last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = last_modified
        return None

    def process_response(self, request: Request, response: Response) -> Any:
        if response.status == 304:
            self.crawler.stats.inc_value("newswatch/not_modified")
        return response
