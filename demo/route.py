"""The demo crawl's stable address: ``newswatch demo`` serves the sample outlet on whatever
port is free, but its pages, URLs and stories all say ``http://demo.newswatch.test`` (a name
reserved for tests, which never resolves). A downloader middleware sends the crawl's requests for
that host to the running server as an HTTP proxy, so a rerun on another port fetches the same
URLs, answers 304 and finds the same stories, and two demos can run at once.

    with serve_demo(public_url=DEMO_URL) as site:
        run_crawl(config, extra_settings=demo_settings(site.url, base_settings))
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

DEMO_URL = "http://demo.newswatch.test"
PROXY_SETTING = "NEWSWATCH_DEMO_PROXY"


class DemoRoute:
    """Scrapy downloader middleware: requests for the demo host go through the demo server."""

    def __init__(self, proxy: str, host: str) -> None:
        self.proxy, self.host = proxy, host

    @classmethod
    def from_crawler(cls, crawler: Any) -> DemoRoute:
        from scrapy.exceptions import NotConfigured

        proxy = crawler.settings.get(PROXY_SETTING)
        if not proxy:
            raise NotConfigured(f"{PROXY_SETTING} is not set")
        return cls(proxy, urlsplit(DEMO_URL).hostname or "")

    def process_request(self, request: Any, spider: Any = None) -> None:
        if urlsplit(request.url).hostname == self.host:
            request.meta["proxy"] = self.proxy


def demo_settings(server_url: str, middlewares: dict[str, int]) -> dict[str, Any]:
    """Extra Scrapy settings of a demo crawl: ``middlewares`` (the crawl's own) plus the route
    to the demo server at ``server_url``; before Scrapy's proxy middleware (750)."""
    return {PROXY_SETTING: server_url,
            "DOWNLOADER_MIDDLEWARES": {**middlewares, "newswatch.demo.route.DemoRoute": 100}}
