"""When an article URL is visited again: the adaptive revisit policy, one pure function.

News is edited most in its first hours, rarely after days, almost never after weeks. So (like
StormCrawler's adaptive fetch schedule, and Miniflux's feed intervals):

* a new article is rechecked after ``min`` (1 h by default);
* each visit that finds it unchanged doubles the interval, up to ``max`` (7 days);
* the interval is never shorter than ``AGE_FRACTION`` of the article's age (time since it was
  published, else since it was first seen), capped at ``max``: an old article found today is
  not rechecked hourly;
* a visit that finds it changed sets the interval back to ``min``;
* a visit that finds its URL gone (404/410) counts as one that found no change: it backs off
  like an unchanged article and stops at ``stop_after``; its story is kept;
* once it is ``stop_after`` old (30 days) it is not visited again, unless a feed or sitemap
  announces a newer version (the crawl decides that) or a ``crawl --full`` run.

``RevisitPolicy(always=True)`` (``revisit: always`` in the config) is the old behaviour: every
article a start page, feed or sitemap lists is rechecked on every crawl.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR, DAY = 3600, 86400
AGE_FRACTION = 0.125
"""The shortest interval as a fraction of the article's age (a 2-day-old article: 6 h)."""


@dataclass(frozen=True)
class RevisitPolicy:
    """An outlet's ``revisit`` settings, in seconds; ``always``: no schedule at all."""

    min: int = HOUR
    max: int = 7 * DAY
    stop_after: int = 30 * DAY
    always: bool = False


@dataclass(frozen=True)
class Visit:
    """The next visit: ``at`` (None: never again) and the interval that led there (seconds)."""

    at: datetime | None
    interval: int


def next_visit(policy: RevisitPolicy, *, now: datetime, origin: datetime,
               previous: int | None, changed: bool) -> Visit:
    """The visit after one made ``now``. ``origin``: when the article was published (else
    first seen); ``previous``: the interval before this visit (None: the first visit);
    ``changed``: this visit found a new revision."""
    if previous is None or changed:
        interval = policy.min
    else:
        interval = previous * 2
    age = max(0.0, (now - origin).total_seconds())
    interval = int(min(policy.max, max(policy.min, interval, age * AGE_FRACTION)))
    end = origin + timedelta(seconds=policy.stop_after)
    if now >= end:
        return Visit(None, interval)
    return Visit(min(now + timedelta(seconds=interval), end), interval)
