"""Digests: a digest channel's alerts go out together, one message per period, exactly once.

A channel with ``digest: {every: daily|weekly, at: "HH:MM", tz: ZONE, weekday: ...}`` (see
``config.Digest``) keeps its alerts pending: the planner still decides which alerts exist, the
sender leaves them alone (``alerts.sender`` skips digest channels), and ``deliver_digests`` sends
them at the period boundary:

1. **assemble** (one short transaction per channel): when the latest boundary at or before now
   (``newswatch.clock``) has no ``digests`` row for the channel yet and alerts created before it
   wait, insert the row (unique per channel and period) and point those alerts at it. An empty
   period inserts nothing and sends nothing; a second run in the same period finds the row.
2. **send** each due digest row like the sender sends an alert: claim it with a lease
   (``FOR UPDATE SKIP LOCKED`` / ``BEGIN IMMEDIATE``), build the message listing each story once
   (its watches, terms and events merged, the latest title and URL), send outside any
   transaction, then mark the digest and its alerts sent, or failed with back-off. A process
   killed mid-send leaves the row pending; it is due again when the lease ends and goes out with
   the same ``key`` (the webhook's ``Idempotency-Key``, the email's ``Message-ID``).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newswatch.alerts.channels import Channel
from newswatch.alerts.payload import iso
from newswatch.alerts.sender import (
    MAX_ATTEMPTS,
    SEND_LEASE_MARGIN,
    DeliveryReport,
    attempt,
    record_attempt,
    send_timeout,
    session_factory_of,
    stories_locations,
)
from newswatch.config import Digest as DigestRule
from newswatch.config.model import WEEKDAYS
from newswatch.storage.models import Alert, Digest
from newswatch.storage.sqlite import IMMEDIATE as SQLITE_IMMEDIATE
from newswatch.storage.types import utcnow

log = logging.getLogger("newswatch.alerts.digest")

KEY_PREFIX = "newswatch-digest-"


@dataclass(frozen=True)
class Period:
    """One digest period of a channel: ``start`` < ``end`` (aware UTC); ``name`` is unique per
    channel (``daily 2026-01-05T08:00+08:00``: the rule and the boundary it ends at)."""

    name: str
    start: datetime
    end: datetime


def _boundaries(rule: DigestRule, now: datetime) -> list[datetime]:
    """The rule's two latest boundaries at or before ``now`` (aware UTC), latest first.

    A boundary is the wall-clock time ``rule.at`` in ``rule.tz`` (on ``rule.weekday`` when
    weekly), so it stays at 08:00 local across daylight-saving changes.
    """
    tz = ZoneInfo(rule.tz)
    hour, minute = rule.hour_minute
    weekday = WEEKDAYS.index(rule.weekday) if rule.weekday else None
    day: date = now.astimezone(tz).date() + timedelta(days=1)
    found: list[datetime] = []
    while len(found) < 2:
        day -= timedelta(days=1)
        if weekday is not None and day.weekday() != weekday:
            continue
        at = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
        if at <= now:
            found.append(at)
    return found


def period_at(rule: DigestRule, now: datetime) -> Period:
    """The period whose digest is due at ``now``: the one ending at the latest boundary."""
    end, start = _boundaries(rule, now)
    local = end.astimezone(ZoneInfo(rule.tz)).isoformat(timespec="minutes")
    return Period(f"{rule.every} {local}", start, end)


def digest_key(channel: str, period: str) -> str:
    """The digest's stable id, from its channel and period only (same on every retry)."""
    digest = hashlib.sha256(f"{channel}\n{period}".encode()).hexdigest()[:32]
    return KEY_PREFIX + digest


def digest_channels(channels: Mapping[str, Any]) -> dict[str, DigestRule]:
    """``{name: rule}`` of the channels whose alerts go out as digests."""
    return {name: ch.digest for name, ch in channels.items()
            if getattr(ch, "digest", None) is not None}


def deliver_digests(source: Any, channels: Mapping[str, Channel], now: datetime | None = None,
                    *, rng: random.Random | None = None,
                    max_attempts: int = MAX_ATTEMPTS) -> DeliveryReport:
    """Assemble the due period's digest of every digest channel, then send every due digest;
    the report counts digests (``sent_ids``: digest ids, ``errors``: by digest key).

    ``source``: a ``Store``, a ``sessionmaker`` or an ``Engine``; ``now`` (aware UTC) fixes the
    clock (default ``storage.types.utcnow``, which follows ``$NEWSWATCH_NOW``).
    """
    factory = session_factory_of(source)
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    for name, rule in digest_channels(channels).items():
        _assemble(factory, name, rule, clock())
    done: set[int] = set()
    while (claimed := _claim_next(factory, channels, clock, done)) is not None:
        digest_id, key, channel, payload = claimed
        done.add(digest_id)
        if channel is None:
            continue
        error = attempt(channel, payload, f"digest {key}")
        _record(factory, digest_id, error, clock, report, rng, max_attempts)
    if report.attempted:
        log.info("digests: %s", report)
    return report


def _waiting(channel: str) -> Any:
    """The channel's alerts not yet in a digest and not sent (nor given up)."""
    return and_(Alert.channel == channel, Alert.digest_id.is_(None),
                or_(Alert.status == "pending",
                    and_(Alert.status == "failed", Alert.next_attempt_at.is_not(None))))


def _assemble(factory: Callable[[], Session], channel: str, rule: DigestRule,
              now: datetime) -> bool:
    """Create the due period's digest when alerts created before its end wait; True if made."""
    period = period_at(rule, now)
    with factory() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        exists = session.scalar(select(Digest.id).where(Digest.channel == channel,
                                                        Digest.period == period.name))
        if exists is not None:
            return False
        waiting = and_(_waiting(channel), Alert.created_at < period.end)
        if session.scalar(select(Alert.id).where(waiting).limit(1)) is None:
            return False  # an empty period: nothing to send
        row = Digest(channel=channel, period=period.name, period_start=period.start,
                     period_end=period.end, key=digest_key(channel, period.name),
                     status="pending", attempts=0, next_attempt_at=None, created_at=now)
        session.add(row)
        try:
            session.flush()
        except IntegrityError:  # another process assembled it first
            session.rollback()
            return False
        session.execute(update(Alert).where(waiting).values(digest_id=row.id))
        session.commit()
        log.info("digest %s for %s (%s) assembled", row.key, channel, period.name)
        return True


def _due(now: datetime) -> Any:
    return or_(
        and_(Digest.status == "pending",
             or_(Digest.next_attempt_at.is_(None), Digest.next_attempt_at <= now)),
        and_(Digest.status == "failed", Digest.next_attempt_at.is_not(None),
             Digest.next_attempt_at <= now),
    )


def _claim_next(factory: Callable[[], Session], channels: Mapping[str, Channel],
                clock: Callable[[], datetime], done: set[int]
                ) -> tuple[int, str, Channel | None, dict[str, Any]] | None:
    """Lock and lease the next due digest of a configured channel; None when there is none."""
    with factory() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        now = clock()
        stmt = (select(Digest).where(_due(now), Digest.channel.in_(list(channels)))
                .order_by(Digest.id).limit(1))
        if done:
            stmt = stmt.where(Digest.id.not_in(done))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        row = session.scalars(stmt).first()
        if row is None:
            return None
        payload = digest_payload(session, row, channels[row.channel].digest)
        if not payload["stories"]:  # its stories were deleted meanwhile: nothing to send
            row.status, row.last_error, row.next_attempt_at = "sent", "no alerts left", None
            session.commit()
            return row.id, row.key, None, payload
        channel = channels[row.channel]  # leased for one send: its timeout and a margin
        row.next_attempt_at = now + timedelta(seconds=send_timeout(channel)) + SEND_LEASE_MARGIN
        session.commit()
        return row.id, row.key, channels[row.channel], payload


def digest_payload(session: Session, row: Digest, rule: DigestRule | None = None
                   ) -> dict[str, Any]:
    """The digest's webhook body: each story once, its alerts' watches, terms and events merged,
    its latest title, URL and excerpt, and every URL and outlet the database knows now."""
    alerts = session.scalars(select(Alert).where(Alert.digest_id == row.id)
                             .order_by(Alert.id)).all()
    stories: dict[int, dict[str, Any]] = {}
    for alert in alerts:
        latest = dict((alert.payload or {}).get("story") or {})
        entry = stories.setdefault(alert.story_id, {"watches": [], "terms": [], "events": [],
                                                    "alert_ids": []})
        entry.update({k: v for k, v in latest.items() if k not in ("urls", "outlets")})
        entry["id"] = alert.story_id
        entry["watches"] = list(dict.fromkeys([*entry["watches"], alert.watch]))
        entry["terms"] = list(dict.fromkeys([*entry["terms"],
                                             *((alert.payload or {}).get("terms") or [])]))
        entry["events"] = list(dict.fromkeys([*entry["events"], alert.event]))
        entry["alert_ids"].append(alert.id)
        entry.setdefault("_urls", []).extend(latest.get("urls") or [])
        entry.setdefault("_outlets", []).extend(latest.get("outlets") or [])
    known = stories_locations(session, stories)
    for story_id, entry in stories.items():
        urls, outlets = known[story_id]
        entry["urls"] = list(dict.fromkeys([*entry.pop("_urls"), *urls]))
        entry["outlets"] = list(dict.fromkeys([*entry.pop("_outlets"), *outlets]))
    return {
        "event": "digest",
        "digest": {
            "id": row.key,
            "channel": row.channel,
            "every": rule.every if rule else row.period.split(" ", 1)[0],
            "tz": rule.tz if rule else "UTC",
            "period": row.period,
            "from": iso(row.period_start),
            "until": iso(row.period_end),
        },
        "idempotency_key": row.key,
        "stories": list(stories.values()),
        "alert_ids": [a.id for a in alerts],
    }


def _record(factory: Callable[[], Session], digest_id: int, error: str | None,
            clock: Callable[[], datetime], report: DeliveryReport,
            rng: random.Random | None, max_attempts: int) -> None:
    """The send's outcome on the digest row and on each of its alerts, in one transaction."""
    with factory() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        row = session.get(Digest, digest_id)
        if row is None:
            return
        now = clock()
        outcome = record_attempt(row, error, now, report, rng, max_attempts,
                                 {"digest": row.key, "channel": row.channel})
        mine = update(Alert).where(Alert.digest_id == digest_id)
        if outcome == "sent":
            session.execute(mine.values(status="sent", sent_at=now, last_error=None,
                                        next_attempt_at=None, attempts=Alert.attempts + 1))
        elif outcome == "gave_up":
            session.execute(mine.values(status="failed", next_attempt_at=None,
                                        last_error=f"digest: {row.last_error}"))
        else:
            session.execute(mine.values(last_error=f"digest: {row.last_error}"))
        session.commit()
