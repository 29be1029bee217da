"""The render policy: which article pages go through the browser. One object per crawl,
``RenderPolicy.of(crawler)``, asked at the two moments that decide:

* :meth:`RenderPolicy.route`, at download time (the download handler, ``crawler/browser.py``):
  does this request go to Chromium, and with which meta?
* :meth:`RenderPolicy.after_extraction`, after a static fetch was extracted (the extract
  pipeline): does the page need the browser after all? Then the browser fetch is scheduled.

``render: auto`` (the default) fetches an article statically first; when the extracted article
is missing, a loading notice, too short, or ``Article.needs_browser`` names a sign the page
plainly needs scripts, the URL is fetched again through Chromium (scrapy-playwright) and the
rendered DOM flows through extract -> store like any page. Each outlet has a
:class:`RenderMemory`: after ``STREAK`` articles in a row needed the browser, that outlet's new
articles go straight to it (every ``PROBE_EVERY``-th one is still tried statically, and one
static success switches back). The memory is kept in storage between crawls
(``Store.browser_first`` / ``set_browser_first``), saved when the spider closes.
``render: always`` / ``render: never`` force the choice; under ``never`` a page that needs
scripts is skipped as :data:`NEVER_REASON`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from newswatch.config import Browser, Outlet
from newswatch.crawler.chromium import chromium_path
from newswatch.spiders.page import ARTICLE, UNCONDITIONAL, PageItem

log = logging.getLogger("newswatch.render")

BROWSER = "playwright"  # scrapy-playwright's meta key: this request is rendered
SETTLE = "newswatch_settle"  # (wait_for selector or None, timeout in ms)
NEVER_REASON = "needs a browser (render: never)"
FALLBACK_SKIPS = ("empty", "loading notice", "too short")
STREAK = 3
PROBE_EVERY = 10


def needs_rendering(article: Any) -> str | None:
    """Why a statically fetched article needs the browser, or None when it does not."""
    if article is None:
        return "no article"
    if article.needs_browser:
        return str(article.needs_browser)
    if article.skip_reason in FALLBACK_SKIPS:
        return str(article.skip_reason)
    return None


def browser_meta(outlet: Outlet, browser: Browser) -> dict[str, Any]:
    """Request meta that sends an article through Chromium."""
    timeout_ms = int(browser.timeout * 1000)
    return {
        BROWSER: True,
        "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded", "timeout": timeout_ms},
        SETTLE: (outlet.wait_for, timeout_ms),
        UNCONDITIONAL: True,  # a 304 in the browser would leave an empty DOM
    }


def browser_from_settings(settings: BaseSettings) -> Browser:
    """The crawl's ``browser:`` config, as ``crawler/settings.py`` put it into the settings."""
    return Browser(
        chromium=settings.get("NEWSWATCH_CHROMIUM") or chromium_path(),
        max_pages=settings.getint("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT", 4),
        restart_after=settings.getint("NEWSWATCH_BROWSER_RESTART_AFTER", 200),
        timeout=settings.getfloat("NEWSWATCH_BROWSER_TIMEOUT", 20.0),
    )


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


class RenderPolicy:
    """The crawl's render decisions and per-outlet memory (a Scrapy extension: enabled in
    ``crawler/settings.py`` so the memory is saved when the spider closes)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.browser = browser_from_settings(crawler.settings)
        self.memories: dict[str, RenderMemory] = {}
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> RenderPolicy:
        """The one policy of this crawler (made on first use)."""
        policy = getattr(crawler, "_newswatch_render_policy", None)
        if policy is None:
            policy = cls(crawler)
            crawler._newswatch_render_policy = policy  # type: ignore[attr-defined]
        return policy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderPolicy:
        return cls.of(crawler)

    # ---------------------------------------------------------------- the two decisions

    def route(self, request: Any) -> bool:
        """At download time: send this article request through the browser? (sets its meta)"""
        meta = request.meta
        if meta.get(BROWSER) or not meta.get(ARTICLE):
            return bool(meta.get(BROWSER))
        spider = self.crawler.spider
        outlet: Outlet | None = getattr(spider, "outlet", None)
        if outlet is None or outlet.render == "never":
            return False
        if outlet.render == "auto":
            if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
                return False  # known page: a cheap conditional static fetch first (likely a 304)
            if not self.memory(spider).straight_to_browser():
                return False
        meta.update(browser_meta(outlet, self.browser))
        for name in (b"If-None-Match", b"If-Modified-Since"):
            request.headers.pop(name, None)
        return True

    def after_extraction(self, item: PageItem) -> str | None:
        """After a static fetch was extracted: schedule the browser fetch when the page needs it.

        Returns "rendering" (the item is superseded by the rendered fetch), a skip reason that
        replaces the article's own (``render: never``), or None (use the static article as is).
        """
        spider = self.crawler.spider
        outlet: Outlet = spider.outlet
        why = needs_rendering(item.article)
        memory = self.memory(spider)
        if item.rendered:
            return None
        if why is None:
            if outlet.render == "auto":
                memory.static_worked()
            return None
        if outlet.render == "never":
            return NEVER_REASON if item.article is not None and item.article.needs_browser else None
        memory.needed_browser()
        request = spider.article_request(item.url, **browser_meta(outlet, self.browser))
        request = request.replace(dont_filter=True, priority=request.priority + 10)
        log.info("%s: rendering %s in the browser: %s", outlet.name, item.url, why)
        self.crawler.stats.inc_value("newswatch/render_fallback")
        self.crawler.engine.crawl(request)
        return "rendering"

    # ---------------------------------------------------------------- the memory

    def memory(self, spider: Any) -> RenderMemory:
        """The outlet's RenderMemory, loaded from storage on first use."""
        name = spider.outlet.name
        memory = self.memories.get(name)
        if memory is None:
            memory = self.memories[name] = RenderMemory()
            store = _store_of(spider)
            if store is not None:
                try:
                    memory.browser_first = bool(store.browser_first(name))
                except Exception as exc:  # a memory we cannot read costs a static fetch, no more
                    log.warning("%s: cannot read the render memory: %s", name, exc)
        return memory

    def spider_closed(self, spider: Any) -> None:
        store = _store_of(spider)
        outlet = getattr(spider, "outlet", None)
        memory = self.memories.get(outlet.name) if outlet is not None else None
        if memory is None or not memory.changed or store is None:
            return
        try:
            store.set_browser_first(outlet.name, memory.browser_first)
        except Exception as exc:
            log.warning("%s: cannot save the render memory: %s", outlet.name, exc)


def _store_of(spider: Any) -> Any:
    return getattr(getattr(spider, "context", None), "store", None)
