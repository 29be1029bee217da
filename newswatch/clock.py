"""The clock that schedules digests, and that tests can move: ``$NEWSWATCH_NOW``.

``now()`` is the real time (aware UTC), or, when ``NEWSWATCH_NOW`` holds an ISO 8601 time with a
UTC offset (``2026-01-05T08:00:30+08:00``, ``2026-01-05T00:00:30Z``), that fixed instant. It
decides which digest period is due (``alerts/digest.py``); a child process started with the
variable sees the same instant, so a test never sleeps until 08:00. ``check_env()`` validates the
variable up front (the CLI calls it) with a one-line error naming it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

__all__ = ["ENV", "check_env", "now", "parse_instant"]

ENV = "NEWSWATCH_NOW"


def parse_instant(raw: str, name: str = ENV) -> datetime:
    """An aware UTC datetime from ISO 8601 text with an offset; ValueError (one line) naming
    ``name`` otherwise."""
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: expected an ISO 8601 time with a UTC offset, e.g. "
                         f"2026-01-05T08:00:00+08:00 or 2026-01-05T00:00:00Z, got {raw!r}")
    return value.astimezone(UTC)


def check_env() -> None:
    """Raise ValueError (one line) when ``$NEWSWATCH_NOW`` is set but not a usable time."""
    raw = os.environ.get(ENV)
    if raw:
        parse_instant(raw)


def now() -> datetime:
    """The current time (aware UTC): ``$NEWSWATCH_NOW`` when set, else the system clock."""
    raw = os.environ.get(ENV)
    return parse_instant(raw) if raw else datetime.now(UTC)
