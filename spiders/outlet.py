"""The generic outlet spider: start pages, feeds and sitemaps in, article pages out.

It decides only which links are articles (the outlet's ``article_url`` regex) and hands each
fetched article page to the pipelines as a :class:`spiders.page.PageItem`. Extraction, storage
and matching happen downstream. Override ``article_links`` or ``page_item`` in a subclass when one
outlet needs special handling (see ``spiders/__init__.py``).
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import feedparser
import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.python.failure import Failure

from newswatch.config import Outlet
from newswatch.errors import first_line
from newswatch.spiders.failures import describe
from newswatch.spiders.page import ARTICLE, ROLE, BrowserUnavailable, PageItem

log = logging.getLogger("newswatch.crawl")

_SKIP_SCHEMES = ("mailto:", "javascript:", "tel:", "data:", "#")


class OutletSpider(scrapy.Spider):
    """Crawl one configured outlet."""

    name = "outlet"
    custom_settings: dict[str, Any] = {}

    def __init__(
        self,
        outlet: Outlet,
        context: Any = None,
        validators: dict[str, tuple[str | None, str | None]] | None = None,
        known: set[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=f"outlet:{outlet.name}", **kwargs)
        self.outlet = outlet
        self.context = context  # crawler.context.CrawlContext shared with the pipelines
        self.validators = validators or {}  # url -> (etag, last_modified)
        self.known = set(known or ()) | set(self.validators)  # story URLs already stored
        self.new_urls: set[str] = set()  # new article URLs requested in this crawl
        self.capped: set[str] = set()  # new article URLs past max_new_articles: not requested
        self.article_pattern = outlet.article_pattern
        self.allowed_hosts = {d.lower() for d in outlet.allowed_domains}
        self.errors: list[str] = []  # "url: reason" of each failed page of a reachable host
        self.host_failures: dict[tuple[str, str], int] = {}  # (host, reason) -> failed URLs

    # ------------------------------------------------------------------ discovery

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.outlet.start_urls:
            yield self._discovery_request(url, "listing", self.parse_listing)
        for url in self.outlet.feeds:
            yield self._discovery_request(url, "feed", self.parse_feed)
        for url in self.outlet.sitemaps:
            yield self._discovery_request(url, "sitemap", self.parse_sitemap)

    def _discovery_request(self, url: str, role: str, callback: Any) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=self.on_error, meta={ROLE: role}, dont_filter=True
        )

    def parse_listing(self, response: Response) -> Iterable[scrapy.Request]:
        if not isinstance(response, TextResponse):
            self.note_error(response.url, f"listing page is not text ({_content_type(response)})")
            return
        hrefs = response.xpath("//a/@href").getall()
        yield from self.discovered(response, self.article_requests(
            response.urljoin(h.strip()) for h in hrefs
            if h.strip() and not h.strip().startswith(_SKIP_SCHEMES)))

    def parse_feed(self, response: Response) -> Iterable[scrapy.Request]:
        parsed = feedparser.parse(response.body)
        if parsed.bozo and not parsed.entries:
            problem = parsed.get("bozo_exception") or "no entries"
            self.note_error(response.url, f"not a readable feed: {first_line(problem)}")
            return
        links = []
        for entry in parsed.entries:
            link = entry.get("link")
            if link:
                links.append(urljoin(response.url, link))
        yield from self.discovered(response, self.article_requests(links))

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = self.gunzipped(response)
            if body is None:
                return
        if response.url.endswith("/robots.txt"):
            urls = list(sitemap_urls_from_robots(response.text, base_url=response.url))
            for url in urls:
                yield self._discovery_request(url, "sitemap", self.parse_sitemap)
            return
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml raises several kinds on garbage
            problem = first_line(str(exc)) or f"no XML document ({type(exc).__name__})"
            self.note_error(response.url, f"not a readable sitemap: {problem}")
            return
        locs = [urljoin(response.url, entry["loc"]) for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            for url in locs:
                yield self._discovery_request(url, "sitemap", self.parse_sitemap)
        else:
            yield from self.discovered(response, self.article_requests(locs))

    def gunzipped(self, response: Response) -> bytes | None:
        """A ``.xml.gz`` sitemap's body decompressed, at most the page-size limit
        (``DOWNLOAD_MAXSIZE``: ``politeness.max_page_bytes``); None (and an error saying why)
        when it is larger or not gzip."""
        limit = int(response.meta.get("download_maxsize")
                    or (self.crawler.settings.getint("DOWNLOAD_MAXSIZE") if self.crawler else 0))
        try:
            return gunzip(response.body, max_size=limit)
        except ValueError:  # scrapy's _DecompressionMaxSizeExceeded: stopped at the limit
            self.note_error(response.url, f"sitemap larger than {limit} bytes when decompressed")
        except (OSError, EOFError, struct.error, zlib.error) as exc:
            self.note_error(response.url, f"bad gzip sitemap: {first_line(exc)}")
        return None

    def discovered(self, response: Response, requests: Iterable[scrapy.Request]
                   ) -> list[scrapy.Request]:
        """The article requests a start page, feed or sitemap gave (logged with -v)."""
        found = list(requests)
        log.info("%s: %s %s: %d article link%s", self.outlet.name,
                 response.meta.get(ROLE, "page"), response.url, len(found),
                 "" if len(found) == 1 else "s")
        return found

    def is_article_url(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        if self.allowed_hosts and (parts.hostname or "").lower() not in self.allowed_hosts:
            return False
        return bool(self.article_pattern.search(url))

    def article_requests(self, urls: Iterable[str]) -> Iterable[scrapy.Request]:
        """Requests for the article links among ``urls``; new ones (not stored yet) only up to
        the outlet's ``max_new_articles`` in this crawl, the others are counted as capped."""
        seen: set[str] = set()
        for raw in urls:
            url = urldefrag(raw)[0]
            if url in seen or not self.is_article_url(url):
                continue
            seen.add(url)
            if url not in self.known and url not in self.new_urls:
                if len(self.new_urls) >= self.outlet.max_new_articles:
                    self.note_capped(url)
                    continue
                self.new_urls.add(url)
            yield self.article_request(url)

    def note_capped(self, url: str) -> None:
        """A new article link past the cap: counted once (the summary says so), left for a
        later crawl."""
        if not self.capped:
            log.info("%s: %d new article links reached: the others wait for a later crawl",
                     self.outlet.name, self.outlet.max_new_articles)
        self.capped.add(url)
        if self.crawler:
            self.crawler.stats.set_value("newswatch/new_link_cap", self.outlet.max_new_articles)
            self.crawler.stats.set_value("newswatch/capped", len(self.capped))

    def article_request(self, url: str, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            meta={ROLE: "article", ARTICLE: True, "handle_httpstatus_list": [304], **meta},
        )

    # ------------------------------------------------------------------ articles

    def parse_article(self, response: Response) -> Iterable[PageItem]:
        yield self.page_item(response)

    def page_item(self, response: Response) -> PageItem:
        headers = response.headers
        content_type = _content_type(response)
        charset = None
        if "charset=" in content_type.lower():
            charset = content_type.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'")
        return PageItem(
            outlet=self.outlet.name,
            url=response.request.url if response.request else response.url,
            status=response.status,
            body=response.body if response.status != 304 else b"",
            header_charset=charset or None,
            content_type=content_type or None,
            etag=_header(headers, b"ETag"),
            last_modified=_header(headers, b"Last-Modified"),
            rendered=bool(response.meta.get("playwright")),
        )

    # ------------------------------------------------------------------ errors

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(BrowserUnavailable):
            self.note_skip(request.url, failure.getErrorMessage())
            return
        if failure.check(IgnoreRequest) and "robots.txt" in failure.getErrorMessage():
            self.note_skip(request.url, "forbidden by robots.txt")
            return
        if failure.check(HttpError):
            self.note_error(request.url, f"HTTP {failure.value.response.status}")
            return
        failed = describe(failure.type, failure.getErrorMessage())
        self.note_error(request.url, failed.reason, host_wide=failed.host_wide)

    def note_skip(self, url: str, reason: str) -> None:
        log.info("%s: skipped %s: %s", self.outlet.name, url, reason)
        if self.crawler:
            self.crawler.stats.inc_value("newswatch/skipped")
            self.crawler.stats.inc_value(f"newswatch/skipped/{reason}")

    def note_error(self, url: str, reason: str, host_wide: bool = False) -> None:
        """Count and log an error. ``host_wide``: the host is out of reach (DNS, refused): one
        warning per host, its other URLs only in the verbose log and as a count."""
        reason = " ".join(str(reason).split())[:300]
        if self.crawler:
            self.crawler.stats.inc_value("newswatch/errors")
        if not host_wide:
            self.errors.append(f"{url}: {reason}")
            log.warning("%s: %s: %s", self.outlet.name, url, reason)
            return
        host = urlsplit(url).netloc
        first = not any(h == host for h, _ in self.host_failures)
        self.host_failures[(host, reason)] = self.host_failures.get((host, reason), 0) + 1
        if first:
            log.warning("%s: %s: %s (%s)", self.outlet.name, host, reason, url)
        else:
            log.info("%s: %s: %s", self.outlet.name, url, reason)

    def error_lines(self) -> list[str]:
        """The crawl's errors, one line each; a host out of reach is one line with the number
        of its URLs that failed."""
        hosts = [f"{host}: {reason} ({n} URL{'s' if n > 1 else ''})"
                 for (host, reason), n in self.host_failures.items()]
        return hosts + self.errors


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def _content_type(response: Response) -> str:
    value = response.headers.get(b"Content-Type") or b""
    return value.decode("latin-1")
