"""Glue between a crawl and the alerts package: the planner for the config's watches and
channels (checked when the config was loaded), the per-outlet alert hook for storage, and
delivery of the ledger's pending alerts (all of them, within a time budget; SIGTERM/SIGINT stop
it at once) and of the digests that are due."""

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
    planner = AlertPlanner(watches, Matcher(watches), channels, config.entity_table)
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


def run_hook_factory(alerting: Alerting | None) -> Callable[[Outlet, bool], Any] | None:
    """``(outlet, first_crawl) -> plan_alerts hook`` for a worker, whose runs each carry the
    first-crawl state the daemon decided when it queued them."""
    if alerting is None:
        return None
    return lambda outlet, first: alerting.planner.for_outlet(
        outlet.name, first_crawl=first, alert_on_first_crawl=outlet.alert_on_first_crawl)


@dataclass
class Delivered:
    """What ``deliver`` did: the sender's report and the digests' (printed as one line); the
    sender's figures (``sent``, ``left``, ``stopped`` ...) read through."""

    alerts: Any
    digests: Any = None

    def __getattr__(self, name: str) -> Any:  # only for names the dataclass lacks
        if name.startswith("__") or "alerts" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["alerts"], name)

    def __str__(self) -> str:
        if self.digests is None or not self.digests.attempted:
            return str(self.alerts)
        return f"{self.alerts}; digests: {self.digests}"


def deliver(alerting: Alerting | None, store: Any) -> Delivered | None:
    """Send every due alert of the ledger (``alerts.sender.deliver_all``: batches, within the
    delivery time budget), then the digests that are due; None without channels.

    SIGTERM/SIGINT during delivery stop it at once: the send in flight is abandoned and its
    alert left pending; the report says how many are left.
    """
    if alerting is None or not alerting.channels:
        return None
    from newswatch.alerts.digest import deliver_digests
    from newswatch.alerts.sender import deliver_all
    from newswatch.scheduler.daemon import install_stop_signals

    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        alerts = deliver_all(store, alerting.channels, stop=stop.is_set)
        digests = None if stop.is_set() else deliver_digests(store, alerting.channels)
        return Delivered(alerts, digests)
    finally:
        restore()
