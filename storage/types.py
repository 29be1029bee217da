"""Column types shared by the models: timezone-aware UTC datetimes on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from newswatch import clock


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (``$NEWSWATCH_NOW`` when set: ``newswatch.clock``)."""
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """DateTime(timezone=True) that only accepts aware datetimes and always returns aware UTC.

    SQLite has no time zones: values are stored as naive UTC text so they sort correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
