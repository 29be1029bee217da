"""What one crawl run shares with its spiders and pipelines (passed as a spider argument)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from newswatch.config import Config, Outlet
from newswatch.crawler.hosts import HostLimits


@dataclass
class CrawlContext:
    config: Config
    store: Any  # storage Store
    # plan_alerts_for(outlet) -> storage's plan_alerts hook for that outlet, or None (no alerts)
    plan_alerts_for: Callable[[Outlet], Any] | None = None
    # crawler.grouping.GroupingStep: entities and events of each stored story (None: off)
    grouping: Any = None
    # per-host concurrency and robots.txt Crawl-delay across every outlet of the crawl
    hosts: HostLimits = field(init=False)
    # host -> request delay an earlier crawl settled at (the throttle starts the host there),
    # and this crawl's (saved when it ends): crawler/throttle.py
    host_paces: dict[str, float] = field(default_factory=dict)
    settled_paces: dict[str, float] = field(default_factory=dict)
    # content hashes of the texts this crawl stored, whatever the outcome: a page with one of
    # them is no new story, its lead is not encoded ahead (crawler/pipelines.py, LeadPipeline)
    stored_texts: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.hosts = HostLimits(self.config.politeness.concurrency_per_domain)

    def plan_for(self, outlet: Outlet, item: Any) -> Any:
        """Storage's ``plan_alerts`` hook for ``item`` of ``outlet`` (None: no alerts)."""
        return self.plan_alerts_for(outlet) if self.plan_alerts_for else None
    # set at the first write the database refuses (read-only, disk full): one line naming the
    # database and the cause; every spider stops, run_crawl raises it as a DatabaseError
    unwritable: str | None = None
