"""Glue between a crawl and the alerts package: the planner for the config's watches and
channels (checked when the config was loaded), the per-outlet alert hook for storage, and
delivery of the ledger's pending alerts (all of them, within a time budget; SIGTERM/SIGINT stop
it at once)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from newswatch.config import Config, Outlet


@dataclass
class Alerting:
    watches: list[Any]
    channels: dict[str, Any]
    planner: Any


def build_alerting(config: Config) -> Alerting | None:
    """The planner for the config's watches and channels; None when no watch is configured."""
    from newswatch.alerts.planner import AlertPlanner
    from newswatch.matching import Matcher

    watches, channels = config.watch_rules, config.channels
    if not watches:
        return None
    planner = AlertPlanner(watches, Matcher(watches), channels)
    return Alerting(watches=watches, channels=channels, planner=planner)


def alert_hooks(alerting: Alerting | None, config: Config, store: Any,
                outlets: list[Outlet]) -> Callable[[Outlet], Any] | None:
    """``outlet -> plan_alerts hook`` for storage, with each outlet's first-crawl state fixed
    before the crawl starts (a first crawl records a baseline and sends nothing)."""
    if alerting is None:
        return None
    from newswatch.alerts.planner import first_crawl

    hooks = {}
    with store.reading() as session:
        for outlet in outlets:
            hooks[outlet.name] = alerting.planner.for_outlet(
                outlet.name,
                first_crawl=first_crawl(session, outlet.name),
                alert_on_first_crawl=outlet.alert_on_first_crawl,
            )
    return lambda outlet: hooks.get(outlet.name)


def deliver(alerting: Alerting | None, store: Any, *, skip: bool = False) -> Any:
    """Send every due alert of the ledger (``alerts.sender.deliver_all``: batches, within the
    delivery time budget); returns the sender's report (or None without channels).

    SIGTERM/SIGINT during delivery stop it at once: the send in flight is abandoned and its
    alert left pending; the report says how many are left. ``skip``: send nothing (the crawl
    was stopped), only count what is left.
    """
    if alerting is None or not alerting.channels:
        return None
    from newswatch.alerts.sender import DeliveryReport, count_due, deliver_all
    from newswatch.scheduler.daemon import install_stop_signals

    if skip:
        return DeliveryReport(stopped=True, left=count_due(store))
    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        return deliver_all(store, alerting.channels, stop=stop.is_set)
    finally:
        restore()
