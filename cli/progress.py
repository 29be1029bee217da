"""A live per-outlet progress display for a crawl on a terminal (rich); silent otherwise."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table


class CrawlProgress:
    def __init__(self, console: Console, enabled: bool):
        self.console = console
        self.enabled = enabled
        self.live: Live | None = None

    def __enter__(self) -> CrawlProgress:
        if self.enabled:
            self.live = Live(Table(), console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
            self.live = None

    def update(self, stats_by_outlet: dict[str, dict[str, Any]]) -> None:
        if self.live is None:
            return
        table = Table(title="crawling…", box=None)
        for column in ("outlet", "requests", "fetched", "stored", "304", "skipped", "errors"):
            table.add_column(column, justify="left" if column == "outlet" else "right")
        for outlet, stats in stats_by_outlet.items():
            stored = sum(int(stats.get(f"newswatch/{k}", 0))
                         for k in ("new", "changed", "unchanged", "duplicate"))
            table.add_row(outlet, str(stats.get("downloader/request_count", 0)),
                          str(stats.get("downloader/response_count", 0)), str(stored),
                          str(stats.get("newswatch/not_modified", 0)),
                          str(stats.get("newswatch/skipped", 0)),
                          str(stats.get("newswatch/errors", 0)))
        self.live.update(table)
