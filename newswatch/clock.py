"""The one clock of a crawl: now in UTC, or the time ``$NEWSWATCH_NOW`` names.

Tests and benchmarks move time by setting ``NEWSWATCH_NOW`` (an ISO time; without a zone it is
UTC) instead of sleeping: the revisit schedule (``newswatch/revisit.py``) and the times a crawl
stores read it here. A value that is not an ISO time is a one-line ValueError naming it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

NOW_ENV = "NEWSWATCH_NOW"


def now() -> datetime:
    """Now (UTC, aware), or ``$NEWSWATCH_NOW`` when set."""
    raw = os.environ.get(NOW_ENV, "").strip()
    if not raw:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"${NOW_ENV}: not an ISO time: {raw!r} "
                         "(e.g. 2026-11-29T08:00:00+00:00)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
