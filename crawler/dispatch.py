"""The scheduler's side of the shared frontier: start a run of an outlet by queueing its
requests, and read back how far each run got.

A run is one scheduled crawl of one outlet (a ``crawl_runs`` row, as ``newswatch crawl
--outlet`` makes). :meth:`Dispatcher.start_run` queues the outlet's discovery requests (start
pages, feeds, sitemaps, built by the outlet's own spider so the workers resolve the callbacks)
plus the stored articles the revisit schedule says are due (``crawler.run.schedule_args``), each carrying
the run in its meta. Workers sum their counts (and the fresh validators of the discovery pages)
into the run in Redis; :meth:`Dispatcher.progress` says when no request of the run is queued or
leased any more, with its counts.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from newswatch.config import Config, Outlet
from newswatch.crawler.frontier import RUN, SEEN_TTL, Keys, LeasedQueue, connect


@dataclass
class RunProgress:
    run_id: int
    outlet: str
    pending: int
    stats: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.pending <= 0


class Dispatcher:
    """Queues runs into, and reads runs from, the frontier of ``config`` at ``redis_url``."""

    def __init__(self, config: Config, redis_url: str, server: Any = None) -> None:
        self.config = config
        self.server = server if server is not None else connect(redis_url)
        self.keys = Keys(config.frontier.key_prefix)

    def ping(self) -> None:
        self.server.ping()

    def open_run(self, outlet: str) -> int | None:
        """The id of ``outlet``'s run still open (queued or leased requests left), or None."""
        value = self.server.hget(self.keys.open_runs(), outlet)
        return int(value) if value is not None else None

    def start_run(self, outlet: Outlet, run_id: int, first_crawl: bool,
                  schedule: dict[str, Any] | None = None) -> int:
        """Queue run ``run_id`` of ``outlet``; returns how many requests were queued.
        ``schedule``: the revisit schedule's spider arguments (``crawler.run.schedule_args``):
        the stored articles due are queued beside the discovery requests."""
        from newswatch.spiders import spider_class

        spider = spider_class(outlet.spider)(outlet=outlet, **(schedule or {}))
        run = {"id": run_id, "outlet": outlet.name, "first_crawl": first_crawl}
        queue = LeasedQueue(self.server, spider, self.keys, outlet.name,
                            self.config.frontier.lease_seconds)
        requests = asyncio.run(_collect(spider.start()))  # discovery pages, then articles due
        queued = 0
        for request in requests:
            request.meta[RUN] = run
            queued += queue.push(request)
        # open after queueing: a run seen open always counts its requests (0 pending: done)
        self.server.hset(self.keys.open_runs(), outlet.name, run_id)
        return queued

    def progress(self, outlet: str, run_id: int) -> RunProgress:
        pipe = self.server.pipeline(transaction=True)
        pipe.get(self.keys.pending(run_id))
        pipe.hgetall(self.keys.run_stats(run_id))
        pipe.lrange(self.keys.run_errors(run_id), 0, -1)
        pending, stats, errors = pipe.execute()
        return RunProgress(
            run_id=run_id, outlet=outlet, pending=int(pending or 0),
            stats={k.decode(): int(v) for k, v in stats.items()},
            errors=[e.decode("utf-8", "replace") for e in errors])

    def page_validators(self, run_id: int) -> dict[str, tuple[str | None, str | None]]:
        """The fresh validators of the run's discovery pages (url -> (etag, last_modified)),
        read once, when the run is finished."""
        pages = self.server.hgetall(self.keys.run_pages(run_id))
        return {url.decode(): tuple(json.loads(pair)) for url, pair in pages.items()}

    def close_run(self, outlet: str, run_id: int) -> None:
        """Forget the run's bookkeeping (its stats are in the database by now). Its
        dupefilter set expires on its own: late duplicates of the run stay filtered."""
        pipe = self.server.pipeline(transaction=True)
        pipe.hdel(self.keys.open_runs(), outlet)
        pipe.delete(self.keys.pending(run_id), self.keys.run_stats(run_id),
                    self.keys.run_errors(run_id), self.keys.run_pages(run_id))
        pipe.expire(self.keys.seen(outlet, run_id), SEEN_TTL)
        pipe.execute()

    def close(self) -> None:
        self.server.close()


async def _collect(requests: Any) -> list[Any]:
    return [request async for request in requests]
