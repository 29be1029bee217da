"""``newswatch worker``: a long-running crawl process fed by the shared Redis frontier.

One Scrapy crawler per configured outlet (its spider resolves the callbacks of that outlet's
queued requests), each on :class:`crawler.frontier.FrontierScheduler`, all running the same
pipelines as ``newswatch crawl`` into the shared database. The spiders never close on their own:
the worker runs until SIGTERM/SIGINT. What this module adds to a crawl:

* ``RUN`` meta carried from each response to the requests it leads to (``RunMiddleware``);
* each run's validators and revisit schedule loaded when its first request goes out, a due
  article or a discovery page (``RunStateMiddleware``);
* each request's lease acked when it is done: its item stored (or dropped), its errback run, or
  its callback's requests queued (``RunMiddleware`` and :class:`WorkerExtension`);
* the run's counts: the crawler's stats since the last ack, summed into the run's hash in Redis
  in the same transaction as the ack, with its discovery pages' fresh validators (one outlet
  has one scheduled run at a time, so a crawler's new counts always belong to the run of the
  request being acked);
* alerts planned per run (its first-crawl state travels in ``RUN``: decided once, by the daemon).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from newswatch import clock
from newswatch.config import Config, Outlet
from newswatch.crawler import workers
from newswatch.crawler.context import CrawlContext
from newswatch.crawler.frontier import RUN, Keys, scheduler_of
from newswatch.crawler.run import schedule_args
from newswatch.crawler.settings import scrapy_settings

log = logging.getLogger("newswatch.worker")

COUNTED = ("newswatch/", "downloader/response_count")
"""The stats keys a run sums (what ``crawler.summary.summarize`` reads)."""
MAX_RUN_ERRORS = 50


def worker_settings(config: Config, redis_url: str, log_level: str = "WARNING") -> dict[str, Any]:
    """``newswatch crawl``'s settings on the shared frontier, with politeness held in Redis
    (crawler/shared_hosts.py)."""
    settings = scrapy_settings(config, log_level=log_level)
    frontier = config.frontier
    settings.update({
        "SCHEDULER": "newswatch.crawler.frontier.FrontierScheduler",
        "NEWSWATCH_REDIS_URL": redis_url,
        "NEWSWATCH_REDIS_PREFIX": frontier.key_prefix,
        "NEWSWATCH_LEASE_SECONDS": frontier.lease_seconds,
        "NEWSWATCH_ROBOTS_TTL": frontier.robots_ttl_seconds,
        "SPIDER_MIDDLEWARES": {"newswatch.crawler.worker.RunMiddleware": 1000},
    })
    settings["DOWNLOADER_MIDDLEWARES"] = {
        **settings["DOWNLOADER_MIDDLEWARES"],
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "newswatch.crawler.worker.RunStateMiddleware": 1,
        "newswatch.crawler.shared_hosts.SharedRobotsTxtMiddleware": 100,
        "newswatch.crawler.shared_hosts.HostSlotMiddleware": 950,  # last before the download
    }
    settings["EXTENSIONS"] = {**settings["EXTENSIONS"],
                              "newswatch.crawler.worker.WorkerExtension": 600}
    return settings


@dataclass
class WorkerContext(CrawlContext):
    """A worker's context: alert hooks made per run (``plan_for``), not once per crawl."""

    hook_for_run: Callable[[Outlet, bool], Any] | None = None
    _hooks: dict[tuple[str, Any], Any] = field(default_factory=dict)

    def plan_for(self, outlet: Outlet, item: Any) -> Any:
        run = item.extra.get(RUN)
        if self.hook_for_run is None:
            return None
        key = (outlet.name, run["id"] if run else None)
        if key not in self._hooks:
            if len(self._hooks) > 1000:
                self._hooks.clear()
            self._hooks[key] = self.hook_for_run(outlet, bool(run and run.get("first_crawl")))
        return self._hooks[key]


def worker_spider(cls: type) -> type:
    """``cls`` whose article items carry their run (for the alert hook), whose errbacks ack,
    and whose validators and revisit schedule are reloaded at each new run (``enter_run``)."""

    class WorkerSpider(cls):  # type: ignore[misc, valid-type]
        async def start(self) -> AsyncIterator[Any]:
            """Nothing of its own: the daemon queues each run's discovery requests."""
            return
            yield

        def page_item(self, response: Any) -> Any:
            item = super().page_item(response)
            item.extra[RUN] = response.meta.get(RUN)
            return item

        def enter_run(self, run: dict[str, Any] | None) -> None:
            """Load the state of ``run`` when its first request goes out (``RunStateMiddleware``):
            the stories stored since and the discovery pages' validators (conditional
            requests), and the revisit schedule (which listed articles are stored, which are
            due, and each one's interval). The daemon queues due articles beside the discovery
            pages, so either may come first."""
            if not run or run["id"] == getattr(self, "_entered_run", None):
                return
            self._entered_run = run["id"]
            self.validators = self.context.store.validators_for(self.outlet.name)
            schedule = schedule_args(self.context.store, self.outlet, clock.now())
            self.known, self.due_set = schedule["known"], set(schedule["due"])
            self.page_validators, self.fresh_page_validators = schedule["page_validators"], {}
            self.requested_known, self.new_urls, self.capped = set(), set(), set()

        def on_error(self, failure: Any) -> Any:
            items = super().on_error(failure)
            if not items:  # an item (a gone article's visit) is acked when it is stored
                _ack(self.crawler, failure.request)
            return items

    WorkerSpider.__name__ = WorkerSpider.__qualname__ = f"Worker{cls.__name__}"
    return WorkerSpider


def _ack(crawler: Any, request: Any) -> None:
    """Done with ``request``: sum the crawler's new counts into its run and release its lease."""
    scheduler = scheduler_of(crawler)
    ext = getattr(crawler, "_newswatch_worker", None)
    if scheduler is None or ext is None:
        return
    run = request.meta.get(RUN)
    scheduler.ack(request, before=(lambda pipe: ext.flush(pipe, run)) if run else None)


class RunStateMiddleware:
    """Downloader middleware, first in line: the spider enters a request's run before the
    request goes out (``enter_run``), so the run's validators and schedule apply to it."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> RunStateMiddleware:
        middleware = cls()
        middleware.crawler = crawler
        return middleware

    def process_request(self, request: Any) -> None:
        enter_run = getattr(self.crawler.spider, "enter_run", None)
        if enter_run is not None:
            enter_run(request.meta.get(RUN))


class RunMiddleware:
    """Spider middleware: follow-up requests inherit the response's run; a response whose
    callback gave only requests is done once they are queued (an item is done when stored)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> RunMiddleware:
        middleware = cls()
        middleware.crawler = crawler
        return middleware

    async def process_spider_output_async(self, response: Any, result: AsyncIterator[Any]
                                          ) -> AsyncIterator[Any]:
        items = 0
        async for out in result:
            items += self._follow(response, out)
            yield out
        self._done(response, items)

    def process_spider_output(self, response: Any, result: Any) -> Any:
        items = 0
        for out in result:
            items += self._follow(response, out)
            yield out
        self._done(response, items)

    @staticmethod
    def _follow(response: Any, out: Any) -> int:
        """1 for an item; a request inherits the response's run (0)."""
        if not (hasattr(out, "meta") and hasattr(out, "callback")):
            return 1
        run = response.meta.get(RUN)
        if run is not None:
            out.meta.setdefault(RUN, run)
        return 0

    def _done(self, response: Any, items: int) -> None:
        if not items:  # an item's request is done when the item is (WorkerExtension)
            _ack(self.crawler, response.request)


class WorkerExtension:
    """Acks items' requests, keeps the spider open when the queue is empty, and sums the
    crawler's counts into runs (:meth:`flush`)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.flushed: dict[str, int] = {}
        self.errors_sent = 0
        crawler._newswatch_worker = self
        for handler, signal in ((self.item_done, signals.item_scraped),
                                (self.item_done, signals.item_dropped),
                                (self.item_done, signals.item_error),
                                (self.spider_error, signals.spider_error),
                                (self.idle, signals.spider_idle),
                                (self.opened, signals.spider_opened)):
            crawler.signals.connect(handler, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WorkerExtension:
        return cls(crawler)

    def item_done(self, item: Any, response: Any, **_: Any) -> None:
        if response is not None:
            _ack(self.crawler, response.request)

    def spider_error(self, failure: Any, response: Any, **_: Any) -> None:
        _ack(self.crawler, response.request)

    def opened(self, spider: Any) -> None:
        """Say this worker is up (``<prefix>:workers``: host:pid -> start time, for operators
        and the scale-out benchmark)."""
        import os
        import socket
        import time

        scheduler = scheduler_of(self.crawler)
        if scheduler is not None:
            scheduler.server.hset(Keys(self.crawler.settings["NEWSWATCH_REDIS_PREFIX"]).workers(),
                                  f"{socket.gethostname()}:{os.getpid()}", int(time.time()))

    def idle(self, spider: Any) -> None:
        raise DontCloseSpider("waiting for the shared frontier")

    def flush(self, pipe: Any, run: dict[str, Any]) -> None:
        """Add the counts, error lines and fresh discovery-page validators gathered since the
        last flush to ``run``."""
        keys = Keys(self.crawler.settings["NEWSWATCH_REDIS_PREFIX"])
        stats = self.crawler.stats.get_stats()
        for key, value in stats.items():
            if not key.startswith(COUNTED) or not isinstance(value, int):
                continue
            delta = value - self.flushed.get(key, 0)
            if delta:
                pipe.hincrby(keys.run_stats(run["id"]), key, delta)
                self.flushed[key] = value
        spider = self.crawler.spider
        pages = getattr(spider, "fresh_page_validators", None)
        if pages:  # the daemon saves them if the run ends well (scheduler/frontier.py)
            pipe.hset(keys.run_pages(run["id"]),
                      mapping={url: json.dumps(pair) for url, pair in pages.items()})
            spider.fresh_page_validators = {}
        errors = getattr(spider, "errors", [])
        if len(errors) > self.errors_sent:
            new, self.errors_sent = errors[self.errors_sent:], len(errors)
            pipe.rpush(keys.run_errors(run["id"]), *new[:MAX_RUN_ERRORS])
            pipe.ltrim(keys.run_errors(run["id"]), 0, MAX_RUN_ERRORS - 1)


def run_worker(config: Config, redis_url: str, *, store: Any,
               hook_for_run: Callable[[Outlet, bool], Any] | None = None,
               log_level: str = "WARNING") -> None:
    """Crawl from the shared frontier into ``store`` until SIGTERM/SIGINT."""
    from scrapy.crawler import CrawlerProcess

    from newswatch.spiders import spider_class

    store.ensure_outlets([o.name for o in config.outlets])
    from newswatch.crawler.grouping import GroupingStep

    context = WorkerContext(config=config, store=store, hook_for_run=hook_for_run,
                            grouping=GroupingStep.from_config(config))
    process = CrawlerProcess(worker_settings(config, redis_url, log_level))
    for outlet in config.outlets:
        crawler = process.create_crawler(worker_spider(spider_class(outlet.spider)))
        process.crawl(crawler, outlet=outlet, context=context,
                      validators=store.validators_for(outlet.name))
    log.info("worker: %d outlet(s), frontier %s", len(config.outlets),
                config.frontier.key_prefix)
    try:
        process.start(install_signal_handlers=True)
    finally:
        workers.shutdown()
