"""What one crawl run shares with its spiders and pipelines (passed as a spider argument)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from newswatch.config import Config, Outlet


@dataclass
class CrawlContext:
    config: Config
    store: Any  # storage Store
    # plan_alerts_for(outlet) -> storage's plan_alerts hook for that outlet, or None (no alerts)
    plan_alerts_for: Callable[[Outlet], Any] | None = None
    # set at the first write the database refuses (read-only, disk full): one line naming the
    # database and the cause; every spider stops, run_crawl raises it as a DatabaseError
    unwritable: str | None = None
