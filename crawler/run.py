"""Run one crawl of some outlets, in this process, and return its per-outlet summary.

One Scrapy crawler per outlet, all in one CrawlerProcess, so one outlet failing (DNS, 500s,
timeouts, garbage) never stops the others. Each spider gets its outlet's stored article URLs
with their schedule and the ones due now (``Store.due_articles``; all of them with ``full``)
and its discovery pages' validators; those a crawl saw are stored at its end, only when the
outlet's crawl finished without errors (so an article that failed is found again next time). Twisted's reactor cannot restart, so a process runs
at most one crawl: the daemon starts a child process per crawl (see ``scheduler/``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from newswatch import clock
from newswatch.config import Config, Outlet
from newswatch.crawler import workers
from newswatch.crawler.context import CrawlContext
from newswatch.crawler.grouping import GroupingStep
from newswatch.crawler.settings import scrapy_settings
from newswatch.crawler.summary import CrawlSummary, OutletSummary, summarize
from newswatch.crawler.throttle import PACE_MEMORY
from newswatch.storage.errors import DatabaseError

__all__ = ["CrawlSummary", "OutletSummary", "run_crawl", "summarize"]

log = logging.getLogger("newswatch.crawl")


def run_crawl(
    config: Config,
    outlet_names: list[str] | None = None,
    *,
    store: Any = None,
    plan_alerts_for: Callable[[Outlet], Any] | None = None,
    on_progress: Callable[[dict[str, dict[str, Any]]], None] | None = None,
    log_level: str = "WARNING",
    extra_settings: dict[str, Any] | None = None,
    full: bool = False,
) -> CrawlSummary:
    """Crawl the named outlets (all when None) into ``store`` (opened from the config, and
    closed again, if None). ``full``: fetch every stored article, due or not."""
    from scrapy.crawler import CrawlerProcess

    from newswatch.spiders import spider_class
    from newswatch.storage.db import connect

    outlets = config.select(outlet_names)
    if store is None:
        with connect(config.database) as own_store:
            return run_crawl(config, outlet_names, store=own_store,
                             plan_alerts_for=plan_alerts_for, on_progress=on_progress,
                             log_level=log_level, extra_settings=extra_settings, full=full)
    now = clock.now()
    started = datetime.now(UTC)
    with refused_writes(store):
        store.ensure_outlets([o.name for o in config.outlets])
        run_id = store.start_run([o.name for o in outlets])
    context = CrawlContext(config=config, store=store, plan_alerts_for=plan_alerts_for,
                           grouping=GroupingStep.from_config(config),
                           host_paces=store.host_paces(now - PACE_MEMORY))

    workers.browser_paced(all(outlet.render == "always" for outlet in outlets))
    validators = {outlet.name: store.validators_for(outlet.name) for outlet in outlets}
    if not all(validators.values()):  # an outlet's first crawl: every article gets extracted
        # and stored new: the workers start now, while Scrapy starts, their fork server loading
        # the encoder's model for them all, and each new story's lead is encoded in a worker
        workers.start_early(encoder=context.grouping.encoder_name)
        context.grouping.warm_up(in_workers=True)
    settings = scrapy_settings(config, log_level=log_level)
    if all(o.render == "never" for o in outlets):  # no page goes through the browser: Scrapy's
        settings.pop("DOWNLOAD_HANDLERS")  # own handler, without importing Playwright (~0.4 s)
    settings.update(extra_settings or {})
    process = CrawlerProcess(settings)
    crawlers = []
    for outlet in outlets:
        crawler = process.create_crawler(spider_class(outlet.spider))
        crawlers.append((outlet, crawler))
        process.crawl(crawler, outlet=outlet, context=context,
                      validators=validators[outlet.name], **schedule_args(store, outlet, now, full))

    if on_progress is not None:
        _report_progress_every(0.25, lambda: on_progress(_live_stats(crawlers)))

    try:
        process.start(install_signal_handlers=True)
    finally:
        workers.shutdown()
    if on_progress is not None:  # the last state: every outlet finished
        on_progress(_live_stats(crawlers))

    summaries = []
    for outlet, crawler in crawlers:
        spider = crawler.spider
        errors = spider.error_lines() if spider else ["spider did not start"]
        summaries.append(summarize(outlet.name, crawler.stats.get_stats(), errors))
        if (spider and crawler.stats.get_value("finish_reason") == "finished"
                and summaries[-1].took_every_link and not context.unwritable):
            store.save_page_validators(outlet.name, spider.fresh_page_validators, now)
    if not context.unwritable:
        with refused_writes(store):
            store.save_host_paces(context.settled_paces, now)
    ended = datetime.now(UTC)
    # Scrapy's own SIGINT/SIGTERM handler stops every crawler with this reason
    reasons = [crawler.stats.get_value("finish_reason") if crawler.stats is not None else None
               for _, crawler in crawlers]
    interrupted = "shutdown" in reasons
    if context.unwritable:
        raise DatabaseError(context.unwritable)
    with refused_writes(store):
        store.finish_run(run_id, {s.outlet: s.as_dict() for s in summaries},
                         status="interrupted" if interrupted else "finished")
        # a first crawl is a baseline until a crawl of the outlet finishes: one that was
        # stopped (SIGTERM, SIGINT, a timeout) or killed, or that left new links for later (the
        # max_new_articles cap), leaves the next crawl in the baseline too
        store.end_baseline(summary.outlet for summary, reason in zip(summaries, reasons, strict=True)
                           if reason == "finished" and not summary.capped)
    return CrawlSummary(run_id=run_id, started_at=started, ended_at=ended, outlets=summaries,
                        interrupted=interrupted)


def schedule_args(store: Any, outlet: Outlet, now: datetime, full: bool = False) -> dict[str, Any]:
    """The spider arguments that say which stored articles it fetches (spiders/outlet.py): a
    crawl's, and each run the daemon queues for the workers and the workers' spiders."""
    known = store.article_schedule(outlet.name)
    if outlet.revisit.always:  # the old behaviour: every discovery page in full, every
        # article it lists fetched (conditionally), stored articles it does not list left alone
        return {"known": known, "due": list(known) if full else [], "page_validators": {}}
    due = list(known) if full else store.due_articles(outlet.name, now)
    return {"known": known, "due": due, "page_validators": store.page_validators(outlet.name)}


@contextlib.contextmanager
def refused_writes(store: Any) -> Iterator[None]:
    """A write the database refuses (read-only, disk full) as one-line DatabaseError naming the
    database and the cause."""
    from newswatch.storage.db import refused_write

    try:
        yield
    except Exception as exc:
        refused = refused_write(store.engine.url, exc)
        if refused is None:
            raise
        raise DatabaseError(refused) from None


def _live_stats(crawlers: list[tuple[Outlet, Any]]) -> dict[str, dict[str, Any]]:
    return {outlet.name: dict(crawler.stats.get_stats()) for outlet, crawler in crawlers
            if crawler.stats is not None}


def _report_progress_every(seconds: float, tick: Callable[[], None]) -> None:
    from twisted.internet import task

    loop = task.LoopingCall(tick)
    loop.start(seconds, now=False)
