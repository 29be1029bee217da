"""A crawl's progress on stderr, its counts named as the summary names them.

* ``live`` (stderr is a terminal): the summary's counts table, redrawn as the crawl goes.
* ``lines`` (stderr is a file or a pipe): a line per outlet every few seconds when its counts
  moved (and at least every ``heartbeat`` seconds), and one when the outlet is done.
* ``off`` (``-q``): nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from rich.console import Console
from rich.live import Live
from rich.text import Text

from newswatch.cli.tables import counts_table
from newswatch.crawler.summary import summarize

Mode = Literal["live", "lines", "off"]


def _seconds(stats: dict[str, Any], clock_start: float, now: float) -> float:
    """How long the outlet has been (or was) crawling."""
    start, finish = stats.get("start_time"), stats.get("finish_time")
    if start is not None and finish is not None:
        return (finish - start).total_seconds()
    return now - clock_start


class CrawlProgress:
    def __init__(self, console: Console, mode: Mode, every: float = 5.0, heartbeat: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.mode, self.every, self.heartbeat = console, mode, every, heartbeat
        self.clock = clock
        self.started = clock()
        self.live: Live | None = None
        self.said: dict[str, tuple[float, str]] = {}  # outlet -> (when, counts) of its last line
        self.done: set[str] = set()

    def __enter__(self) -> CrawlProgress:
        self.started = self.clock()
        if self.mode == "live":
            self.live = Live(Text("crawling…"), console=self.console, refresh_per_second=4,
                             transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
            self.live = None

    def update(self, stats_by_outlet: dict[str, dict[str, Any]]) -> None:
        """Called by the crawl a few times a second with each outlet's Scrapy stats."""
        now = self.clock()
        if self.mode == "live" and self.live is not None:
            summaries = [summarize(name, stats) for name, stats in stats_by_outlet.items()]
            self.live.update(counts_table(summaries, f"crawling… ({now - self.started:.0f} s)"))
        elif self.mode == "lines":
            for name, stats in stats_by_outlet.items():
                self._line(name, stats, now)

    def _line(self, name: str, stats: dict[str, Any], now: float) -> None:
        if name in self.done:
            return
        counts = summarize(name, stats).counts_text()
        seconds = _seconds(stats, self.started, now)
        if "finish_reason" in stats:
            self.done.add(name)
            self._say(f"crawled {name} in {seconds:.1f} s: {counts}")
            return
        when, said = self.said.get(name, (self.started, ""))
        moved = counts != said and now - when >= self.every
        if moved or now - when >= self.heartbeat:
            self.said[name] = (now, counts)
            self._say(f"crawling {name} ({seconds:.0f} s): {counts}")

    def _say(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
