"""The render decision: which article pages go through the browser, and what the browser loads.

``render: auto`` (the default) fetches an article statically first; when the extracted article
is missing, a loading notice, too short, or ``Article.needs_browser`` names a sign the page
plainly needs scripts, the extract pipeline asks :func:`fall_back` to fetch the URL again through
Chromium (scrapy-playwright), and the rendered DOM flows through extract -> store like any page.
Each outlet has a :class:`RenderMemory`: after ``STREAK`` articles in a row needed the browser,
that outlet's new articles go straight to it (every ``PROBE_EVERY``-th one is still tried
statically, and one static success switches back). The memory is kept in storage between crawls
(``Store.browser_first`` / ``set_browser_first``).
``render: always`` / ``render: never`` force the choice; under ``never`` a page that needs
scripts is skipped as :data:`NEVER_REASON`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from newswatch.config import DEFAULT_CHROMIUM, Browser, Outlet

log = logging.getLogger("newswatch.render")

HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"  # Debian package chromium-headless-shell
BROWSER = "playwright"  # scrapy-playwright's meta key: this request is rendered
SETTLE = "newswatch_settle"  # (wait_for selector or None, timeout in ms)
ARTICLE = "newswatch_article"
NEVER_REASON = "needs a browser (render: never)"
FALLBACK_SKIPS = ("empty", "loading notice", "too short")
STREAK = 3
PROBE_EVERY = 10
BLOCKED_TYPES = frozenset({"image", "media", "font", "imageset", "texttrack"})
_CC_SECOND_LEVEL = frozenset({"com", "net", "org", "gov", "edu", "co", "ac", "or", "ne", "go"})


class BrowserUnavailable(IgnoreRequest):
    """The browser cannot be used (missing binary, failed launch): the page is skipped."""


def chromium_path(browser: Browser | None = None) -> str:
    """$NEWSWATCH_CHROMIUM, else the config's browser.chromium; when that is the default
    (/usr/bin/chromium), Debian's chromium-headless-shell if installed: the same Chromium
    build without the desktop browser, ~160 MB smaller in the render benchmark."""
    chosen = os.environ.get("NEWSWATCH_CHROMIUM") or (browser.chromium if browser else "") \
        or DEFAULT_CHROMIUM
    if chosen == DEFAULT_CHROMIUM and missing_browser(HEADLESS_SHELL) is None:
        return HEADLESS_SHELL
    return chosen


def missing_browser(path: str) -> str | None:
    """One line saying why ``path`` cannot be used as the browser, or None when it can."""
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return None
    return (f"no browser: {path} not found or not executable "
            "(apt-get install chromium, or set NEWSWATCH_CHROMIUM to a Chromium binary)")


def needs_rendering(article: Any) -> str | None:
    """Why a statically fetched article needs the browser, or None when it does not."""
    if article is None:
        return "no article"
    if article.needs_browser:
        return str(article.needs_browser)
    if article.skip_reason in FALLBACK_SKIPS:
        return str(article.skip_reason)
    return None


@dataclass
class RenderMemory:
    """Per outlet, per crawl: do this outlet's articles keep needing the browser?"""

    browser_first: bool = False
    streak: int = 0
    since_probe: int = 0
    changed: bool = False

    def straight_to_browser(self) -> bool:
        """For the next new article: True to skip the static fetch (every PROBE_EVERY-th is a probe)."""
        if not self.browser_first:
            return False
        self.since_probe += 1
        if self.since_probe >= PROBE_EVERY:
            self.since_probe = 0
            return False
        return True

    def needed_browser(self) -> None:
        self.streak += 1
        if self.streak >= STREAK and not self.browser_first:
            self.browser_first = self.changed = True
            self.since_probe = 0

    def static_worked(self) -> None:
        self.streak = 0
        if self.browser_first:
            self.browser_first = False
            self.changed = True


def memory_for(spider: Any) -> RenderMemory:
    """The spider's RenderMemory, loaded from storage on first use."""
    memory = getattr(spider, "render_memory", None)
    if memory is None:
        memory = RenderMemory()
        store = getattr(getattr(spider, "context", None), "store", None)
        if store is not None:
            try:
                memory.browser_first = bool(store.browser_first(spider.outlet.name))
            except Exception as exc:  # a memory we cannot read costs a static fetch, no more
                log.warning("%s: cannot read the render memory: %s", spider.outlet.name, exc)
        spider.render_memory = memory
    return memory


def browser_meta(outlet: Outlet, browser: Browser) -> dict[str, Any]:
    """Request meta that sends an article through Chromium."""
    timeout_ms = int(browser.timeout * 1000)
    return {
        BROWSER: True,
        "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded", "timeout": timeout_ms},
        SETTLE: (outlet.wait_for, timeout_ms),
        "newswatch_unconditional": True,  # a 304 in the browser would leave an empty DOM
    }


def route(spider: Any, request: Any, browser: Browser) -> bool:
    """At download time: send this article request through the browser? (mutates its meta)"""
    meta = request.meta
    if meta.get(BROWSER) or not meta.get(ARTICLE):
        return bool(meta.get(BROWSER))
    outlet: Outlet | None = getattr(spider, "outlet", None)
    if outlet is None or outlet.render == "never":
        return False
    if outlet.render == "auto":
        if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
            return False  # known page: a cheap conditional static fetch first (likely a 304)
        if not memory_for(spider).straight_to_browser():
            return False
    meta.update(browser_meta(outlet, browser))
    for name in (b"If-None-Match", b"If-Modified-Since"):
        request.headers.pop(name, None)
    return True


def fall_back(crawler: Crawler, item: Any) -> str | None:
    """After a static fetch was extracted: schedule the browser fetch when the page needs it.

    Returns "rendering" (the item is superseded by the rendered fetch), a skip reason that
    replaces the article's own (``render: never``), or None (use the static article as is).
    """
    spider = crawler.spider
    outlet: Outlet = spider.outlet
    why = needs_rendering(item.article)
    memory = memory_for(spider)
    if item.rendered:
        return None
    if why is None:
        if outlet.render == "auto":
            memory.static_worked()
        return None
    if outlet.render == "never":
        return NEVER_REASON if item.article is not None and item.article.needs_browser else None
    memory.needed_browser()
    browser = spider.context.config.browser if spider.context else Browser()
    request = spider.article_request(item.url, **browser_meta(outlet, browser))
    request = request.replace(dont_filter=True, priority=request.priority + 10)
    log.info("%s: rendering %s in the browser: %s", outlet.name, item.url, why)
    crawler.stats.inc_value("newswatch/render_fallback")
    crawler.engine.crawl(request)
    return "rendering"


def is_blocked(request: Any) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: images, media, fonts and other sites' requests are not loaded."""
    if request.resource_type in BLOCKED_TYPES:
        return True
    if request.is_navigation_request() and request.frame.parent_frame is None:
        return False  # the page itself (and its redirects)
    try:
        page_url = request.frame.page.url
    except Exception:  # a worker's or a detached frame's request
        return False
    return not same_site(urlsplit(request.url).hostname, urlsplit(page_url).hostname)


def same_site(host: str | None, page_host: str | None) -> bool:
    """Same host, or both under the same registrable domain (api.x.com.cn ~ www.x.com.cn)."""
    if not host or not page_host:
        return True  # data:, blob:, about: and the like
    host, page_host = host.lower().rstrip("."), page_host.lower().rstrip(".")
    if host == page_host:
        return True
    if _is_ip(host) or _is_ip(page_host):
        return False
    return _site(host) == _site(page_host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _site(host: str) -> str:
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _CC_SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


class RenderMemoryExtension:
    """Saves each outlet's render memory to storage when its spider closes (if it changed)."""

    def __init__(self, crawler: Crawler):
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderMemoryExtension:
        return cls(crawler)

    def spider_closed(self, spider: Any) -> None:
        memory: RenderMemory | None = getattr(spider, "render_memory", None)
        store = getattr(getattr(spider, "context", None), "store", None)
        if memory is None or not memory.changed or store is None:
            return
        try:
            store.set_browser_first(spider.outlet.name, memory.browser_first)
        except Exception as exc:
            log.warning("%s: cannot save the render memory: %s", spider.outlet.name, exc)
