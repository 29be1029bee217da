"""The daemon with ``redis:`` set: each outlet's scheduled run is queued for the workers
(``newswatch worker``) instead of crawled in a child process, and finished here when the
workers are done with it.

``dispatch(outlet)`` is what the outlet's APScheduler job calls: it opens a ``crawl_runs`` row,
decides the run's first-crawl state (alerts: a first crawl records a baseline) and queues the
run (``crawler.dispatch.Dispatcher``). A run still open when the next one is due is left to
finish (that run is skipped, as ``max_instances=1`` skips an overlapping crawl child).
``collect()`` (every few seconds) writes each finished run's summed counts to its row and logs
the crawl-end line; a run open longer than the crawl timeout is closed as timed out with what
it counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from newswatch import clock
from newswatch.errors import first_line

log = logging.getLogger("newswatch.scheduler")


def _now() -> datetime:
    return datetime.now(UTC)


class FrontierRuns:
    """Queues and finishes runs on the shared frontier for one daemon."""

    def __init__(self, config: Any, store: Any, state: Any,
                 timeout: Callable[[Any], float], dispatcher: Any = None) -> None:
        from newswatch.crawler.dispatch import Dispatcher

        self.config, self.store, self.state, self.timeout = config, store, state, timeout
        self.dispatcher = dispatcher or Dispatcher(config, config.redis)
        self.started: dict[str, tuple[int, datetime]] = {}  # outlet -> (run id, started)
        self._lock = threading.Lock()

    def dispatch(self, outlet: Any) -> bool:
        """Queue a run of ``outlet``; False when its previous run is still open."""
        from newswatch.alerts.planner import first_crawl
        from newswatch.crawler.run import schedule_args

        name = outlet.name
        with self._lock:
            if self._still_open(outlet):
                log.warning("crawl %s: previous run still running, this run skipped", name)
                return False
            with self.store.reading() as session:
                first = first_crawl(session, name)
            started = _now()
            run_id = self.store.start_run([name])
            self.state.started(name, started)
            self.started[name] = (run_id, started)
            queued = self.dispatcher.start_run(
                outlet, run_id, first, schedule=schedule_args(self.store, outlet, clock.now()))
        log.info("crawl %s: queued run %d for the workers (%d request%s)", name, run_id, queued,
                 "" if queued == 1 else "s")
        return True

    def _still_open(self, outlet: Any) -> bool:
        run_id = self.dispatcher.open_run(outlet.name)
        return run_id is not None and not self._finish_if_done(outlet, run_id)

    def collect(self) -> int:
        """Finish every run that is done (or timed out); returns how many are still open."""
        still = 0
        with self._lock:
            for outlet in self.config.outlets:
                run_id = self.dispatcher.open_run(outlet.name)
                if run_id is not None and not self._finish_if_done(outlet, run_id):
                    still += 1
        return still

    def _finish_if_done(self, outlet: Any, run_id: int) -> bool:
        from newswatch.crawler.summary import summarize

        name = outlet.name
        progress = self.dispatcher.progress(name, run_id)
        started = self._started(name, run_id)
        elapsed = (_now() - started).total_seconds()
        timeout = self.timeout(outlet)
        if not progress.done and elapsed < timeout:
            return False
        summary = summarize(name, progress.stats, progress.errors)
        status = "ok" if progress.done else (
            f"timed out after {timeout:g}s ({progress.pending} request(s) left)")
        try:
            self.store.finish_run(run_id, {name: summary.as_dict()})
        except Exception as exc:  # noqa: BLE001 - the run row is gone or the database away
            log.warning("crawl %s: run %d not recorded: %s", name, run_id, first_line(exc))
        if progress.done and not summary.capped:  # the baseline ends as a crawl's does
            try:
                self.store.end_baseline([name])
            except Exception as exc:  # noqa: BLE001 - the next finished run ends it
                log.warning("crawl %s: baseline not ended: %s", name, first_line(exc))
            if summary.took_every_link:  # as a crawl does (capped was ruled out above)
                try:
                    self.store.save_page_validators(
                        name, self.dispatcher.page_validators(run_id), clock.now())
                except Exception as exc:  # noqa: BLE001 - the next run asks in full
                    log.warning("crawl %s: listing validators not saved: %s", name,
                                first_line(exc))
        self.dispatcher.close_run(name, run_id)
        self.state.ended(name, _now(), status)
        self.started.pop(name, None)
        level = logging.INFO if progress.done else logging.WARNING
        log.log(level, "crawl %s: end after %.1fs: %s: %s", name, elapsed, status,
                summary.counts_text())
        return True

    def _started(self, name: str, run_id: int) -> datetime:
        known = self.started.get(name)
        if known and known[0] == run_id:
            return known[1]
        run = self.store.get_run(run_id)  # opened by an earlier daemon
        started = run["started_at"] if run else _now()
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        self.started[name] = (run_id, started)
        return started

    def close(self) -> None:
        self.dispatcher.close()
