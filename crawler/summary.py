"""What a crawl did, per outlet: its counts (from the crawl's Scrapy stats), skip reasons and
error lines, and the one way the counts are named wherever they are shown (the summary table's
columns, the live progress, the piped progress lines, the daemon's crawl-end line)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newswatch.capped import capped_text
from newswatch.secrets import redact

OUTCOMES = ("new", "changed", "unchanged", "duplicate", "skipped")

COUNTS: tuple[tuple[str, str], ...] = (
    ("fetched", "fetched"), ("304", "not_modified"), ("not due", "not_due"), ("new", "new"), ("changed", "changed"),
    ("unchanged", "unchanged"), ("duplicate", "duplicate"), ("rendered", "rendered"),
    ("skipped", "skipped"), ("errors", "errors"))
"""``(name, OutletSummary attribute)`` of each count, in the order they are shown."""

ALWAYS_NAMED = ("fetched", "new")
"""Counts named in words even when zero (``new 0``: nothing new was stored)."""


@dataclass
class OutletSummary:
    outlet: str
    fetched: int = 0
    not_modified: int = 0
    not_due: int = 0  # stored articles not fetched: not due for a visit (newswatch/revisit.py)
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    duplicate: int = 0
    skipped: int = 0
    rendered: int = 0
    errors: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    new_link_cap: int = 0  # the outlet's max_new_articles, when this crawl reached it
    capped: int = 0  # new article links left for later crawls (past the cap)

    @property
    def took_every_link(self) -> bool:
        """No error and no new link left for later (the max_new_articles cap): only then are
        the listings' validators kept, since a listing answered 304 gives no links."""
        return not self.errors and not self.capped

    def capped_text(self) -> str | None:
        """``"50 new article links (4950 more left for later crawls)"`` when the cap was hit."""
        return capped_text(self.new_link_cap, self.capped)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutletSummary:
        """From ``as_dict`` (a crawl run's stored stats); unknown keys are left out."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def counts(self) -> list[tuple[str, int]]:
        """``[(name, value), ...]`` in the order of :data:`COUNTS`."""
        return [(name, int(getattr(self, attribute))) for name, attribute in COUNTS]

    def counts_in_words(self) -> list[str]:
        """``["fetched 12", "304 7", "new 0", "unchanged 7"]``: the counts that are not zero,
        and those of :data:`ALWAYS_NAMED`."""
        return [f"{name} {value}" for name, value in self.counts()
                if value or name in ALWAYS_NAMED]

    def counts_text(self) -> str:
        return ", ".join(self.counts_in_words())


@dataclass
class CrawlSummary:
    run_id: int | None
    started_at: datetime
    ended_at: datetime
    outlets: list[OutletSummary]
    interrupted: bool = False  # stopped by SIGINT/SIGTERM before every outlet finished


def summarize(outlet: str, stats: dict[str, Any], error_lines: list[str] | None = None,
              ) -> OutletSummary:
    """An outlet's summary from its crawler's stats; ``error_lines``: the spider's errors, one
    line each (a host that could not be reached is one line however many URLs failed).
    Reasons and error lines are masked (``${VAR}`` values in outlet URLs): the summary is what
    the table shows and what the crawl run stores."""
    prefix = "newswatch/skipped/"
    lines = [redact(line) for line in error_lines or []]
    summary = OutletSummary(
        outlet=outlet,
        fetched=int(stats.get("downloader/response_count", 0)),
        not_modified=int(stats.get("newswatch/not_modified", 0)),
        not_due=int(stats.get("newswatch/not_due", 0)),
        rendered=int(stats.get("newswatch/rendered", 0)),
        errors=int(stats.get("newswatch/errors", 0)) or len(lines),
        skip_reasons={redact(k[len(prefix):]): int(v) for k, v in stats.items()
                      if k.startswith(prefix)},
        error_samples=lines[:20],
        new_link_cap=int(stats.get("newswatch/new_link_cap", 0)),
        capped=int(stats.get("newswatch/capped", 0)),
    )
    for outcome in OUTCOMES:
        setattr(summary, outcome, int(stats.get(f"newswatch/{outcome}", 0)))
    return summary
