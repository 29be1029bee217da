"""Pure timing rules of the daemon: jitter, crawl timeout, and first run times after a (re)start."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from newswatch.config import parse_duration

JITTER_FRACTION = 0.10
JITTER_MAX_SECONDS = 300.0
TIMEOUT_FACTOR = 2.0
TIMEOUT_MAX_SECONDS = 3600.0
TIMEOUT_ENV = "NEWSWATCH_CRAWL_TIMEOUT"

def jitter_seconds(interval: float, fraction: float = JITTER_FRACTION,
                   cap: float = JITTER_MAX_SECONDS) -> float:
    """Largest random delay added to each run: ``fraction`` of the interval, at most ``cap``."""
    return max(0.0, min(interval * fraction, cap))


def crawl_timeout(interval: float, override: float | None = None, factor: float = TIMEOUT_FACTOR,
                  cap: float = TIMEOUT_MAX_SECONDS) -> float:
    """How long one crawl may run: ``override`` if given, else ``factor`` x interval, at most ``cap``."""
    if override is not None:
        return override
    return min(interval * factor, cap)


def timeout_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    """``$NEWSWATCH_CRAWL_TIMEOUT`` (e.g. ``20m``) in seconds, or None when unset."""
    raw = (environ if environ is not None else os.environ).get(TIMEOUT_ENV, "").strip()
    return parse_duration(raw, f"${TIMEOUT_ENV}") if raw else None


@dataclass(frozen=True)
class OutletState:
    """What the database remembers of an outlet's runs (all times UTC-aware or None)."""

    outlet: str
    last_start: datetime | None = None
    last_end: datetime | None = None
    last_status: str | None = None
    next_run: datetime | None = None

    @property
    def unfinished(self) -> bool:
        """The last crawl started and never ended (daemon killed mid-crawl)."""
        return self.last_start is not None and (self.last_end is None or self.last_end < self.last_start)


def first_runs(outlets: Iterable[tuple[str, float, float]], states: Mapping[str, OutletState],
               now: datetime, stagger: float) -> dict[str, datetime]:
    """When each outlet runs first after a (re)start.

    ``outlets``: (name, interval, jitter) in seconds. A remembered next run in the future is kept
    (capped at interval + jitter from now, in case the interval was shortened). Outlets never crawled, overdue, or whose last crawl never ended run
    soon, most overdue first, ``stagger`` seconds apart, so a restart does not crawl all at once.
    """
    runs: dict[str, datetime] = {}
    due: list[tuple[datetime, str]] = []
    for name, interval, jitter in outlets:
        state = states.get(name)
        if state and state.next_run and state.next_run > now and not state.unfinished:
            runs[name] = min(state.next_run, now + timedelta(seconds=interval + jitter))
        else:
            since = (state.next_run or state.last_start) if state else None
            due.append((since or datetime.min.replace(tzinfo=now.tzinfo), name))
    for i, (_, name) in enumerate(sorted(due)):
        runs[name] = now + timedelta(seconds=i * stagger)
    return runs
