"""What a config holds: one frozen dataclass per section, one field per key.

A field's default is the key's default; its type picks the check (bool, int, float, str), or
``metadata=check(KIND, ...)`` names another one of ``config.checker.Checker`` (``yaml=`` when
the YAML key differs from the field name). ``SECTIONS``: the top-level mapping sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newswatch.config.checker import ConfigError
from newswatch.config.database import DEFAULT_DATABASE
from newswatch.revisit import RevisitPolicy

DEFAULT_INTERVAL = "30m"
RENDER_MODES = ("auto", "never", "always")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
DEFAULT_MAX_NEW_ARTICLES = 1000


def check(kind: str, *, yaml: str | None = None, **options: Any) -> dict[str, Any]:
    """Field metadata: check the key's value as ``kind`` (a Checker method) with ``options``."""
    return {"check": kind, "yaml": yaml, "options": options}


@dataclass(frozen=True)
class Outlet:
    name: str = field(metadata=check("name"))
    start_urls: tuple[str, ...] = field(default=(), metadata=check("urls"))
    feeds: tuple[str, ...] = field(default=(), metadata=check("urls"))
    sitemaps: tuple[str, ...] = field(default=(), metadata=check("urls"))
    article_url: str = field(default=".*", metadata=check("regex"))
    render: str = field(default="auto", metadata=check("choice", choices=RENDER_MODES))
    interval_seconds: int = field(default=1800, metadata=check("duration", yaml="interval"))
    wait_for: str | None = field(default=None, metadata=check("optional"))
    spider: str | None = field(default=None, metadata=check("optional"))
    alert_on_first_crawl: bool = False
    allowed_domains: tuple[str, ...] = field(default=(), metadata=check("hosts"))
    # new article URLs (not yet stored) fetched per crawl; the rest wait for later crawls
    max_new_articles: int = field(default=DEFAULT_MAX_NEW_ARTICLES,
                                  metadata=check("integer", minimum=1))
    # when stored articles are fetched again (newswatch/revisit.py); ``revisit: always``: every crawl
    revisit: RevisitPolicy = field(default=RevisitPolicy(), metadata=check("revisit"))

    @property
    def article_pattern(self) -> re.Pattern[str]:
        return re.compile(self.article_url)


@dataclass(frozen=True)
class Politeness:
    obey_robots: bool = True
    concurrency_per_domain: int = 16
    autothrottle: bool = True
    download_delay: float = 0.0
    timeout: float = 30.0
    retries: int = 3
    max_retry_after: float = 120.0
    max_page_bytes: int = 5 * 1024 * 1024
    user_agent: str | None = field(default=None, metadata=check("optional"))


@dataclass(frozen=True)
class Browser:
    chromium: str = DEFAULT_CHROMIUM
    max_pages: int = 4
    restart_after: int = 200
    timeout: float = 20.0


@dataclass(frozen=True)
class Serve:
    """``newswatch serve`` / ``daemon --serve``: where the dashboard listens, and the token a
    client must send (``Authorization: Bearer``, or the login cookie) -- required for any
    host other than loopback."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default=None, repr=False, metadata=check("secret"))


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Digest:
    """A channel's ``digest:`` (``notify.NAME.digest``): its alerts wait and go out together,
    one message per period, at ``at`` (``"HH:MM"``, 24 h) in the time zone ``tz`` (IANA name),
    every day or, for ``weekly``, on ``weekday``. Scheduled by ``alerts/digest.py``."""

    every: str = field(metadata=check("choice", choices=("daily", "weekly")))
    at: str = field(default="08:00", metadata=check("time_of_day"))
    tz: str = field(default="UTC", metadata=check("timezone"))
    weekday: str | None = field(default=None, metadata=check("choice", choices=WEEKDAYS))

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.at.split(":")
        return int(hour), int(minute)


@dataclass(frozen=True)
class Frontier:
    """The shared Redis frontier (``redis:`` set): what ``newswatch worker`` and the daemon
    agree on. ``key_prefix`` separates deployments (and tests) sharing one Redis; ``lease``: how
    long a worker may hold a request without renewing it before another worker gets it;
    ``robots_ttl``: how long a host's robots.txt is shared by all workers before it is fetched
    again."""

    key_prefix: str = field(default="newswatch", metadata=check("name"))
    lease_seconds: int = field(default=300, metadata=check("duration", yaml="lease"))
    robots_ttl_seconds: int = field(default=86400, metadata=check("duration", yaml="robots_ttl"))


EVENT_ENCODERS = ("auto", "use", "e5", "lexical")


@dataclass(frozen=True)
class Events:
    """Grouping stories about the same news into events (docs/events.md). ``encoder``: ``auto``
    (the multilingual sentence encoder when ``newswatch[events]`` is installed, else lexical
    evidence), ``use``, ``e5`` (their packages required) or ``lexical``; ``window``: how far
    apart in time two stories of one event may be."""

    encoder: str = field(default="auto", metadata=check("choice", choices=EVENT_ENCODERS))
    window_seconds: int = field(default=72 * 3600, metadata=check("duration", yaml="window"))


SECTIONS: dict[str, type] = {"politeness": Politeness, "browser": Browser, "serve": Serve,
                             "frontier": Frontier, "events": Events}
"""Top-level mapping sections parsed field by field (``Config`` has a field of each name)."""


@dataclass
class Config:
    database: str = DEFAULT_DATABASE
    outlets: list[Outlet] = field(default_factory=list)
    politeness: Politeness = field(default_factory=Politeness)
    browser: Browser = field(default_factory=Browser)
    serve: Serve = field(default_factory=Serve)
    frontier: Frontier = field(default_factory=Frontier)
    # the shared frontier's Redis URL (config/frontier.py): None = crawl in this process
    redis: str | None = field(default=None, repr=False)
    events: Events = field(default_factory=Events)
    watches: list[dict[str, Any]] = field(default_factory=list)  # as written (validated)
    notify: dict[str, Any] = field(default_factory=dict)  # as written, ${VAR} expanded
    path: Path | None = None
    # ``watches`` / ``notify`` parsed by their owners (matching.parse_watches,
    # alerts.channels.parse_channels) when the config was loaded
    watch_rules: list[Any] = field(default_factory=list, repr=False)
    channels: dict[str, Any] = field(default_factory=dict, repr=False)
    # ``entities:`` (user additions) merged into the bundled table (entities.EntityTable);
    # None until the config is loaded (then the bundled table at least)
    entity_table: Any = field(default=None, repr=False)

    def outlet(self, name: str) -> Outlet:
        for outlet in self.outlets:
            if outlet.name == name:
                return outlet
        known = ", ".join(o.name for o in self.outlets) or "none"
        raise ConfigError(f"--outlet {name}: no such outlet (configured: {known})")

    def select(self, names: list[str] | None) -> list[Outlet]:
        return [self.outlet(n) for n in names] if names else list(self.outlets)
