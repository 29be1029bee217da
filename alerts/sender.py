"""The outbox sender: deliver due ``alerts`` rows through their channels, with back-off.

Per row: claim it in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite) with a lease, refresh the story's URLs and outlets, send outside any
transaction, then mark it ``sent`` or ``failed`` (back-off) and commit. A row is marked sent only
after its channel accepted it, so a receiver that is down and comes back gets every alert once;
concurrent senders never pick the same row.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from newswatch.alerts.channels import Channel, DeliveryError
from newswatch.alerts.secrets import one_line
from newswatch.storage.models import Alert, Outlet, Story, StoryUrl
from newswatch.storage.sqlite import IMMEDIATE as SQLITE_IMMEDIATE  # BEGIN IMMEDIATE on SQLite
from newswatch.storage.types import utcnow

log = logging.getLogger("newswatch.alerts.sender")

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
BACKOFF_JITTER = 0.2  # each delay is shortened by up to this fraction, at random
MAX_ATTEMPTS = 20
SEND_LEASE = timedelta(minutes=15)  # a claimed row is not due again for this long (> any timeout)


def backoff(attempts_before: int, rng: random.Random | None = None,
            jitter: float = BACKOFF_JITTER) -> timedelta:
    """Wait after a failure when ``attempts_before`` earlier attempts had failed.

    ``min(30 s * 2**attempts_before, 1 h)``, minus up to ``jitter`` of it at random (never more
    than the cap, never less than ``1 - jitter`` of the nominal delay).
    """
    nominal = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** min(max(attempts_before, 0), 16)))
    cut = jitter * (rng or random).random()
    return nominal * (1 - cut)


@dataclass
class DeliveryReport:
    """What one ``deliver_pending`` pass did; ``to_dict()`` is safe for ``--json`` (redacted)."""

    sent: int = 0
    failed: int = 0  # failed this pass and will be retried
    gave_up: int = 0  # failed for the MAX_ATTEMPTS-th time: no more retries
    unknown_channel: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)  # alert_id, channel, watch, error
    sent_ids: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.gave_up

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "attempted": self.attempted}

    def __str__(self) -> str:
        parts = [f"{self.sent} sent", f"{self.failed} failed (will retry)"]
        if self.gave_up:
            parts.append(f"{self.gave_up} given up")
        for name, n in sorted(self.unknown_channel.items()):
            parts.append(f"{n} waiting for unknown channel {name}")
        return ", ".join(parts)


def session_factory_of(source: Any) -> Callable[[], Session]:
    """Accept a ``sessionmaker`` (or any ``() -> Session``), a ``Store``, or an ``Engine``."""
    for attr in ("session_factory", "sessionmaker", "Session"):
        factory = getattr(source, attr, None)
        if callable(factory):
            return factory  # type: ignore[no-any-return]
    engine = getattr(source, "engine", None)
    if engine is not None:
        return sessionmaker(engine)
    if hasattr(source, "connect") and hasattr(source, "dialect"):  # an Engine
        return sessionmaker(source)
    if callable(source):
        return source  # type: ignore[no-any-return]
    raise TypeError(f"deliver_pending: expected a session factory or a Store, got "
                    f"{type(source).__name__}")


def _due(now: datetime) -> Any:
    return or_(
        and_(Alert.status == "pending",
             or_(Alert.next_attempt_at.is_(None), Alert.next_attempt_at <= now)),
        and_(Alert.status == "failed", Alert.next_attempt_at.is_not(None),
             Alert.next_attempt_at <= now),
    )


def not_deferred(channels: Mapping[str, Any]) -> list[Any]:
    """Conditions leaving out the alerts a digest sends (alerts/digest.py): those of a channel
    with a ``digest:``, and those already put in a digest."""
    held = [name for name, ch in channels.items() if getattr(ch, "digest", None) is not None]
    return [Alert.digest_id.is_(None), *([Alert.channel.not_in(held)] if held else [])]


def story_locations(session: Session, story_id: int) -> tuple[list[str], list[str]]:
    """(urls, outlet names) of a story as the database knows them now, first-seen first."""
    return stories_locations(session, [story_id])[story_id]


def stories_locations(session: Session, story_ids: Iterable[int]
                      ) -> dict[int, tuple[list[str], list[str]]]:
    """``story_locations`` of many stories, two queries per 500 of them (a digest's)."""
    ids = list(dict.fromkeys(story_ids))
    urls: dict[int, list[str]] = {i: [] for i in ids}
    outlets: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for story_id, first in session.execute(
                select(Story.id, Outlet.name).join(Outlet, Story.outlet_id == Outlet.id)
                .where(Story.id.in_(chunk))):
            outlets[story_id].append(first)
        for story_id, url, name in session.execute(
                select(StoryUrl.story_id, StoryUrl.url, Outlet.name)
                .join(Outlet, Outlet.id == StoryUrl.outlet_id)
                .where(StoryUrl.story_id.in_(chunk))
                .order_by(StoryUrl.first_seen, StoryUrl.id)):
            urls[story_id].append(url)
            outlets[story_id].append(name)
    return {i: (urls[i], list(dict.fromkeys(outlets[i]))) for i in ids}


def payload_for_send(session: Session, alert: Alert) -> dict[str, Any]:
    """The stored payload with ``alert_id`` set and the story's URLs/outlets refreshed."""
    payload = dict(alert.payload or {})
    story = dict(payload.get("story") or {})
    urls, outlets = story_locations(session, alert.story_id)
    story["urls"] = list(dict.fromkeys([*(story.get("urls") or []), *urls]))
    story["outlets"] = list(dict.fromkeys([*(story.get("outlets") or []), *outlets]))
    payload["story"] = story
    payload["alert_id"] = alert.id
    return payload


def deliver_pending(
    source: Any,
    channels: Mapping[str, Channel],
    now: datetime | None = None,
    max_batch: int = 100,
    *,
    rng: random.Random | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> DeliveryReport:
    """Send up to ``max_batch`` due alerts, oldest first, each committed right after its send.

    ``source``: a ``Store``, a ``sessionmaker`` or an ``Engine``. ``now`` (aware UTC) fixes the
    clock for selection, ``sent_at`` and back-off (tests); default: the real clock per alert.

    Per alert: (1) a short transaction claims the row (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) by moving ``next_attempt_at`` a lease ahead, and
    builds the payload; (2) the channel sends, outside any transaction, so no lock is held during
    network I/O; (3) a second short transaction records sent/failed. If the process dies during
    (2), the row is due again when the lease ends (at-least-once, never lost).
    """
    factory = session_factory_of(source)
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    last_id = 0
    for _ in range(max_batch):
        claimed = _claim_next(factory, channels, clock, last_id, report)
        if claimed is None:
            break
        last_id, channel, payload = claimed
        if channel is None:  # unknown channel: left pending
            continue
        error = attempt(channel, payload, f"alert {last_id}")
        _record(factory, last_id, error, clock, report, rng, max_attempts)
    if report.attempted or report.unknown_channel:
        log.info("alerts: %s", report)
    return report


def attempt(channel: Channel, payload: dict[str, Any], what: str) -> str | None:
    """Send ``payload`` through ``channel``: None when it was accepted, else the one-line error
    (a channel bug is a failed attempt too, logged with ``what``, not a crash)."""
    try:
        channel.send(payload)
    except DeliveryError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a channel bug is a failed attempt, not a crash
        error = one_line(f"{type(exc).__name__}: {exc}")
        log.warning("%s: unexpected error from its channel: %s", what, error)
        return error
    return None


def _claim_next(factory: Callable[[], Session], channels: Mapping[str, Channel],
                clock: Callable[[], datetime], after_id: int,
                report: DeliveryReport) -> tuple[int, Channel | None, dict[str, Any]] | None:
    """Lock and lease the next due row after ``after_id``; None when there is none."""
    with factory() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        now = clock()
        stmt = (select(Alert).where(_due(now), Alert.id > after_id, *not_deferred(channels))
                .order_by(Alert.id).limit(1))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        alert = session.scalars(stmt).first()
        if alert is None:
            return None
        if alert.channel not in channels:
            alert.last_error = f"unknown channel {alert.channel}"
            report.unknown_channel[alert.channel] = report.unknown_channel.get(alert.channel, 0) + 1
            session.commit()
            return alert.id, None, {}
        payload = payload_for_send(session, alert)
        alert.next_attempt_at = now + SEND_LEASE
        session.commit()
        return alert.id, channels[alert.channel], payload


def _record(factory: Callable[[], Session], alert_id: int, error: str | None,
            clock: Callable[[], datetime], report: DeliveryReport,
            rng: random.Random | None, max_attempts: int) -> None:
    with factory() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        alert = session.get(Alert, alert_id)
        if alert is None:  # its story was deleted meanwhile
            return
        alert.attempts = (alert.attempts or 0) + 1
        if error is None:
            alert.status, alert.sent_at = "sent", clock()
            alert.last_error = alert.next_attempt_at = None
            report.sent += 1
            report.sent_ids.append(alert_id)
        else:
            alert.status, alert.last_error = "failed", one_line(error)
            if alert.attempts >= max_attempts:
                alert.next_attempt_at = None
                report.gave_up += 1
            else:
                alert.next_attempt_at = clock() + backoff(alert.attempts - 1, rng)
                report.failed += 1
            report.errors.append({"alert_id": alert_id, "channel": alert.channel,
                                  "watch": alert.watch, "attempts": alert.attempts,
                                  "error": alert.last_error})
        session.commit()
