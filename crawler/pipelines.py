"""Item pipelines: extract each fetched page, then store it.

``ExtractPipeline`` turns a PageItem's bytes into an ``extraction.Article`` in the worker pool.
``LeadPipeline`` has the page's lead encoded there too when the page is likely a new story (an
outlet's first crawl).
``StorePipeline`` hands the article to storage (which decides the story's identity) on one
database thread, with the crawl's grouping step (``crawler.grouping``: entities and events) and
alert hook, saves the page's validators for the next conditional request and its next visit
(``crawler/visits.py``) in the article's transaction, and counts the outcome in the crawl stats
as ``newswatch/<outcome>`` (and in the verbose log: one line per page).
A page that is not an article is counted as skipped and the crawl log says why.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scrapy.crawler import Crawler

from newswatch import clock
from newswatch.crawler import workers
from newswatch.crawler.render import RenderPolicy
from newswatch.crawler.visits import save_visit, visit_args
from newswatch.spiders.page import PageItem

log = logging.getLogger("newswatch.crawl")  # -v: one line per page and its outcome

_TEXTUAL = ("html", "xml", "text/plain")
_db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-db")


def _is_textual(content_type: str | None) -> bool:
    return not content_type or any(kind in content_type.lower() for kind in _TEXTUAL)


class _Pipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    @property
    def spider(self) -> Any:
        return self.crawler.spider

    def count(self, key: str) -> None:
        self.crawler.stats.inc_value(f"newswatch/{key}")

    def skip(self, item: PageItem, reason: str) -> PageItem:
        item.outcome = "skipped"
        item.body = b""
        self.spider.note_skip(item.url, reason)
        return item


class ExtractPipeline(_Pipeline):
    async def process_item(self, item: PageItem) -> PageItem:
        if item.status == 304 or item.gone or item.article is not None:
            return item
        if not item.body:
            return self.skip(item, "empty")
        if not _is_textual(item.content_type):
            return self.skip(item, f"not html ({item.content_type})")
        try:
            item.article, item.extra["fingerprint"] = await workers.run_in_pool(
                workers.extract_for_storage, item.body, item.url, item.header_charset
            )
        except Exception as exc:  # a worker crash must not stop the crawl
            self.spider.note_error(item.url, f"extraction failed: {type(exc).__name__}: {exc}")
            return self.skip(item, "extraction failed")
        verdict = RenderPolicy.of(self.crawler).after_extraction(item)  # the browser fallback
        if verdict == "rendering":
            item.outcome, item.body = "rendering", b""
        elif verdict:
            return self.skip(item, verdict)
        return item


class LeadPipeline(_Pipeline):
    """In a crawl whose grouping asked for it (an outlet's first: ``GroupingStep.lead_encoder``),
    a page likely to be a new story -- an article URL the outlet has not stored, whose text this
    crawl has not stored either -- gets its title and lead encoded for event grouping in the
    worker pool (``workers.encode_lead``), so that the database thread, which every story waits
    for, only decides. A copy taken for new costs a worker one encoding (~5 ms); a new story
    taken for a copy is encoded on the database thread, as in other crawls."""

    async def process_item(self, item: PageItem) -> PageItem:
        context = self.spider.context
        fingerprint = item.extra.get("fingerprint")
        if (item.outcome is not None or fingerprint is None or context.grouping is None
                or item.url in getattr(self.spider, "known", ())
                or fingerprint.content_hash in context.stored_texts):
            return item
        encoder = context.grouping.lead_encoder()
        if encoder is None:
            return item
        try:
            item.extra["lead"] = await workers.run_in_pool(
                workers.encode_lead, encoder, item.article.title or "", item.article.text)
        except Exception as exc:  # the database thread encodes it instead
            log.debug("%s: lead not encoded ahead: %s: %s", item.url, type(exc).__name__, exc)
        return item


class StorePipeline(_Pipeline):
    async def process_item(self, item: PageItem) -> PageItem:
        if item.outcome in ("skipped", "rendering"):  # "rendering": the browser fetch follows
            return item
        context = self.spider.context
        loop = asyncio.get_running_loop()
        if item.status == 304:
            self.count("unchanged")
            log.info("%s: 304 %s: unchanged", item.outlet, item.url)
            return await self._visited(item, "unchanged")
        if item.gone:  # counted and logged as an error by the spider: its visits back off
            return await self._visited(item, "gone")
        article = item.article
        if article is None or article.skip_reason:
            return self.skip(item, article.skip_reason if article else "no article")
        plan = context.plan_for(self.spider.outlet, item)
        lead = item.extra.pop("lead", None)
        group = context.grouping.for_outlet(item.outlet, lead) if context.grouping else None
        fingerprint = item.extra.get("fingerprint")
        try:
            result = await loop.run_in_executor(
                _db_thread, self._record, context.store, self.spider, item, plan, group
            )
        except Exception as exc:  # storage errors roll back that page only
            item.outcome = "error"
            if self._refused(context, exc):
                return item
            self.spider.note_error(item.url, f"not stored: {type(exc).__name__}: {exc}")
            return item
        item.outcome = result.outcome
        item.body = b""
        if fingerprint is not None:  # a page with this text next is no new story (LeadPipeline)
            context.stored_texts.add(fingerprint.content_hash)
        self.count(result.outcome)
        if item.rendered:
            self.count("rendered")
        log.info("%s: fetched %s%s: %s", item.outlet, item.url,
                 " (rendered)" if item.rendered else "", result.outcome)
        return item

    async def _visited(self, item: PageItem, outcome: str) -> PageItem:
        """A visit that stored no page (304, gone): only its next visit is saved, as a visit
        that found no change."""
        item.outcome = outcome
        try:
            await asyncio.get_running_loop().run_in_executor(
                _db_thread, save_visit, self.spider.context.store, self.spider, item,
                "unchanged", clock.now())
        except Exception as exc:  # the schedule stays as it was: the URL stays due
            self.spider.note_error(item.url, f"visit not saved: {type(exc).__name__}: {exc}")
        return item

    def _refused(self, context: Any, exc: Exception) -> bool:
        """When the database refuses every write (read-only, disk full): note it once for the
        crawl and stop this outlet's spider (each page would fail the same way)."""
        from newswatch.storage.db import refused_write

        refused = refused_write(context.store.engine.url, exc)
        if refused is None:
            return False
        context.unwritable = context.unwritable or refused
        if not getattr(self.spider, "_closing_unwritable", False):
            self.spider._closing_unwritable = True
            self._closing = asyncio.ensure_future(
                self.crawler.engine.close_spider_async(reason="database unwritable"))
        return True

    @staticmethod
    def _record(store: Any, spider: Any, item: PageItem, plan: Any, group: Any) -> Any:
        now = clock.now()
        return store.record_article(
            outlet=item.outlet,
            url=item.url,
            article=item.article,
            fetched_at=now,
            plan_alerts=plan,
            fingerprint=item.extra.pop("fingerprint", None),
            group=group,
            **visit_args(spider, item, now),
        )
