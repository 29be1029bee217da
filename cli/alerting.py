"""Glue between a crawl and the alerts package: build the per-outlet alert planner and deliver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console

from crawler.config import Config, Outlet


def alert_planner_factory(config: Config, store: Any) -> Callable[[Outlet], Any] | None:
    """Return ``outlet -> plan_alerts hook`` or None when no watch is configured."""
    if not config.watches:
        return None
    return None  # wired when the alerts package lands


def deliver_now(config: Config, store: Any, console: Console) -> None:
    """Send the pending alerts of the ledger once (the daemon does this on a timer)."""
    return None
