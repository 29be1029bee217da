"""The generic outlet spider: start pages, feeds and sitemaps in, article pages out.

It decides only which links are articles (the outlet's ``article_url`` regex) and which of
them to fetch this crawl, and hands each fetched article page to the pipelines as a
:class:`spiders.page.PageItem`. Extraction, storage and matching happen downstream.

Which articles are fetched: discovery pages (start pages, feeds, sitemaps) every crawl,
conditionally (a 304 gives no links); article URLs not stored yet; stored ones the crawl found
due (``due``: ``Store.due_articles``, or every stored one under ``crawl --full``), whether a
discovery page lists them or not; and stored ones whose sitemap ``<lastmod>`` or feed date is
newer than their last fetch. Other stored URLs are counted as ``newswatch/not_due``. Under
``revisit: always`` every listed article is fetched (and only those: the old behaviour). Override ``article_links`` or ``page_item`` in a subclass when one
outlet needs special handling (see ``spiders/__init__.py``).
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
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
from newswatch.spiders.page import ARTICLE, GONE, LISTED, ROLE, BrowserUnavailable, PageItem

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
        *,
        known: dict[str, Any] | None = None,
        due: Iterable[str] = (),
        page_validators: dict[str, tuple[str | None, str | None]] | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=f"outlet:{outlet.name}", **kwargs)
        self.outlet = outlet
        self.context = context  # crawler.context.CrawlContext shared with the pipelines
        self.validators = validators or {}  # url -> (etag, last_modified)
        # stored article URLs -> their schedule (storage.schedule.Scheduled), and those due
        self.known: dict[str, Any] = known or {}
        self.due: list[str] = list(due)
        self.due_set = set(self.due)
        self.page_validators = page_validators or {}  # discovery page URL -> (etag, last_modified)
        self.fresh_page_validators: dict[str, tuple[str | None, str | None]] = {}  # this crawl's
        self.requested_known: set[str] = set()
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
        for url in self.due:  # stored articles due for a visit, listed or not
            if url not in self.requested_known and self.is_article_url(url):
                yield self.article_request(url)

    def _discovery_request(self, url: str, role: str, callback: Any) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=self.on_error, dont_filter=True,
            meta={ROLE: role, "handle_httpstatus_list": [304]},
        )

    def unmodified(self, response: Response) -> bool:
        """A discovery page answered 304 (no links from it this crawl); remember a fresh
        page's validators (the runner stores them if the crawl ends well)."""
        if response.status == 304:
            log.info("%s: %s %s: not modified", self.outlet.name,
                     response.meta.get(ROLE, "page"), response.url)
            return True
        etag, modified = _header(response.headers, b"ETag"), _header(response.headers,
                                                                      b"Last-Modified")
        if etag or modified:
            self.fresh_page_validators[response.url] = (etag, modified)
        return False

    def parse_listing(self, response: Response) -> Iterable[scrapy.Request]:
        if self.unmodified(response):
            return
        if not isinstance(response, TextResponse):
            self.note_error(response.url, f"listing page is not text ({_content_type(response)})")
            return
        hrefs = response.xpath("//a/@href").getall()
        yield from self.discovered(response, self.article_requests(
            response.urljoin(h.strip()) for h in hrefs
            if h.strip() and not h.strip().startswith(_SKIP_SCHEMES)))

    def parse_feed(self, response: Response) -> Iterable[scrapy.Request]:
        if self.unmodified(response):
            return
        parsed = feedparser.parse(response.body)
        if parsed.bozo and not parsed.entries:
            problem = parsed.get("bozo_exception") or "no entries"
            self.note_error(response.url, f"not a readable feed: {first_line(problem)}")
            return
        links, listed = [], {}
        for entry in parsed.entries:
            link = entry.get("link")
            if link:
                links.append(urljoin(response.url, link))
                stamp = entry.get("updated_parsed") or entry.get("published_parsed")
                if stamp:
                    listed[urldefrag(links[-1])[0]] = datetime(*stamp[:6], tzinfo=UTC)
        yield from self.discovered(response, self.article_requests(links, listed))

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        if self.unmodified(response):
            return
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
        entries = [(urljoin(response.url, entry["loc"]), entry.get("lastmod"))
                   for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            for url, _ in entries:
                yield self._discovery_request(url, "sitemap", self.parse_sitemap)
        else:
            listed = {urldefrag(url)[0]: _w3c_time(lastmod) for url, lastmod in entries}
            yield from self.discovered(response, self.article_requests(
                [url for url, _ in entries], {u: t for u, t in listed.items() if t}))

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

    def article_requests(self, urls: Iterable[str], listed: dict[str, datetime] | None = None,
                         ) -> Iterable[scrapy.Request]:
        """Requests for the article links a discovery page gave that are to be fetched this
        crawl; ``listed``: url -> the date the page gives it (sitemap lastmod, feed date)."""
        seen: set[str] = set()
        for raw in urls:
            url = urldefrag(raw)[0]
            if url in seen or not self.is_article_url(url):
                continue
            seen.add(url)
            date = (listed or {}).get(url)
            if url not in self.known:
                if url not in self.new_urls:
                    if len(self.new_urls) >= self.outlet.max_new_articles:
                        self.note_capped(url)
                        continue
                    if not self.new_urls:  # its story will need the encoder: load it now
                        self.warm_up_grouping()
                    self.new_urls.add(url)
                yield self.article_request(url)
            elif self.outlet.revisit.always or url in self.due_set:
                yield self.article_request(url)
            elif self.announced(url, date):
                yield self.article_request(url, **{LISTED: date})

    def warm_up_grouping(self) -> None:
        grouping = self.context.grouping if self.context is not None else None
        if grouping is not None:
            grouping.warm_up()

    def announced(self, url: str, date: datetime | None) -> bool:
        """Does a discovery page's date for a stored article say it changed since we last
        fetched it (or since the last such date we acted on)?"""
        if date is None or url in self.requested_known:
            return False
        known = self.known[url]
        seen = [t for t in (known.last_fetched_at, known.listed_at) if t is not None]
        return not seen or date > max(seen)

    def not_due_count(self) -> int:
        """Stored articles of the outlet this crawl did not fetch because none was due."""
        if self.outlet.revisit.always:
            return 0
        return len(self.known) - len(self.requested_known)

    def closed(self, reason: str) -> None:
        if self.crawler:
            self.crawler.stats.set_value("newswatch/not_due", self.not_due_count())

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
        if url in self.known:
            self.requested_known.add(url)
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
            extra={LISTED: response.meta[LISTED]} if response.meta.get(LISTED) else {},
        )

    # ------------------------------------------------------------------ errors

    def on_error(self, failure: Failure) -> list[PageItem] | None:
        """Count and log a failed request. A stored article whose URL answers 404/410 gives a
        ``gone`` item too: its visit is saved as one that found no change, so it backs off
        (``newswatch/revisit.py``) instead of staying due; its story is kept."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(BrowserUnavailable):
            self.note_skip(request.url, failure.getErrorMessage())
            return None
        if failure.check(IgnoreRequest) and "robots.txt" in failure.getErrorMessage():
            self.note_skip(request.url, "forbidden by robots.txt")
            return None
        if failure.check(HttpError):
            status = failure.value.response.status
            self.note_error(request.url, f"HTTP {status}")
            if status in GONE and request.meta.get(ARTICLE) and request.url in self.known:
                return [PageItem(outlet=self.outlet.name, url=request.url, status=status)]
            return None
        failed = describe(failure.type, failure.getErrorMessage())
        self.note_error(request.url, failed.reason, host_wide=failed.host_wide)
        return None

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


def _w3c_time(value: str | None) -> datetime | None:
    """A sitemap ``<lastmod>`` (W3C datetime: a date, or a date and time) as aware UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _content_type(response: Response) -> str:
    value = response.headers.get(b"Content-Type") or b""
    return value.decode("latin-1")
