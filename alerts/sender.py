"""The outbox sender: deliver due ``alerts`` rows through their channels, with back-off.

Per row: claim it in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite) with a lease, refresh the story's URLs and outlets, send outside any
transaction (in a thread of its own, bounded by the channel's ``timeout``), then mark it ``sent``
or ``failed`` (back-off) and commit. A row is marked sent only after its channel accepted it, and
a row marked sent is never sent again; concurrent senders never pick the same row. A sender that
dies mid-send leaves its row leased: it is sent again when the lease ends (at-least-once), with
the same ``alert_key`` (``Idempotency-Key``, email ``Message-ID``) so receivers can deduplicate.
``deliver_all`` takes batch after batch until nothing is due, the time budget is spent or
``stop()`` says so (SIGTERM): a send in flight is then abandoned and its row left pending.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
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
SEND_TIMEOUT = 30.0  # seconds a send may take when its channel names no timeout
SEND_LEASE_MARGIN = timedelta(seconds=30)  # lease = the channel's timeout + this (> a commit wait)
BATCH = 100
DELIVERY_BUDGET = 300.0  # seconds one run keeps taking new deliveries
BUDGET_ENV = "NEWSWATCH_DELIVERY_BUDGET"
STOP_POLL = 0.1  # seconds between looks at stop() while a send is in flight


def budget_from_env(environ: Mapping[str, str] | None = None) -> float:
    """``$NEWSWATCH_DELIVERY_BUDGET`` (e.g. ``90s``, ``10m``) in seconds, else 300."""
    from newswatch.config import parse_duration

    raw = (environ if environ is not None else os.environ).get(BUDGET_ENV, "").strip()
    return parse_duration(raw, f"${BUDGET_ENV}") if raw else DELIVERY_BUDGET


def send_timeout(channel: Any) -> float:
    """How long one send through ``channel`` may take, in seconds."""
    return float(getattr(channel, "timeout", None) or SEND_TIMEOUT)


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
    interrupted: int = 0  # sends abandoned by stop(): left pending, due again at once
    stopped: bool = False  # stop() (SIGTERM, SIGINT) ended the run
    out_of_time: bool = False  # the time budget ended the run
    left: int = 0  # alerts still due when the run ended (set by deliver_all)
    last_id: int = 0  # the cursor: the last alert id this pass looked at

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.gave_up

    def add(self, other: DeliveryReport) -> None:
        """Fold one batch's report into this (the run's) report."""
        self.sent += other.sent
        self.failed += other.failed
        self.gave_up += other.gave_up
        self.interrupted += other.interrupted
        self.stopped = self.stopped or other.stopped
        for name, n in other.unknown_channel.items():
            self.unknown_channel[name] = self.unknown_channel.get(name, 0) + n
        self.errors += other.errors
        self.sent_ids += other.sent_ids
        self.last_id = max(self.last_id, other.last_id)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "attempted": self.attempted}

    def __str__(self) -> str:
        parts = [f"{self.sent} sent", f"{self.failed} failed (will retry)"]
        if self.gave_up:
            parts.append(f"{self.gave_up} given up")
        for name, n in sorted(self.unknown_channel.items()):
            parts.append(f"{n} waiting for unknown channel {name}")
        text = ", ".join(parts)
        if self.stopped:
            text += "; stopped by a signal"
        elif self.out_of_time and self.left:
            text += "; the delivery time budget ran out"
        if self.left:
            text += ("; 1 alert still pending; it goes out on the next run" if self.left == 1
                     else f"; {self.left} alerts still pending; they go out on the next run")
        return text


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
    """The stored payload with ``alert_id`` / ``alert_uid`` set and the story's URLs/outlets
    refreshed."""
    payload = dict(alert.payload or {})
    story = dict(payload.get("story") or {})
    urls, outlets = story_locations(session, alert.story_id)
    story["urls"] = list(dict.fromkeys([*(story.get("urls") or []), *urls]))
    story["outlets"] = list(dict.fromkeys([*(story.get("outlets") or []), *outlets]))
    payload["story"] = story
    payload["alert_id"] = alert.id
    payload["alert_uid"] = alert.uid
    return payload


def count_due(source: Any, now: datetime | None = None,
              channels: Mapping[str, Any] | None = None) -> int:
    """How many alerts are due now (``pending``, or ``failed`` and due for a retry), leaving
    out those that wait for a digest of ``channels``."""
    held = not_deferred(channels) if channels is not None else []
    with session_factory_of(source)() as session:
        return int(session.scalar(select(func.count(Alert.id))
                                  .where(_due(now or utcnow()), *held)) or 0)


def deliver_all(
    source: Any,
    channels: Mapping[str, Channel],
    *,
    budget: float | None = None,
    stop: Callable[[], bool] | None = None,
    batch: int = BATCH,
    on_batch: Callable[[DeliveryReport], None] | None = None,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Deliver every due alert, batch after batch, oldest first; each row is looked at once.

    Stops taking new deliveries when ``budget`` seconds (default ``$NEWSWATCH_DELIVERY_BUDGET``,
    else 300) have passed or ``stop()`` is true; ``stop()`` also abandons a send in flight,
    leaving its row pending and due at once. ``report.left``: alerts still due at the end.
    ``on_batch(report)`` is called after each batch that did something.
    """
    deadline = time.monotonic() + (budget_from_env() if budget is None else budget)
    stop = stop or (lambda: False)
    run = DeliveryReport()
    while True:
        if stop():
            run.stopped = True
            break
        if time.monotonic() >= deadline:
            run.out_of_time = True
            break
        report = deliver_pending(source, channels, now=now, max_batch=batch, rng=rng,
                                 after_id=run.last_id, stop=stop, deadline=deadline)
        run.add(report)
        if on_batch is not None and (report.attempted or report.unknown_channel
                                     or report.interrupted):
            on_batch(report)
        if report.last_id == 0 or report.stopped:  # nothing more to look at, or stopped
            break
    if run.stopped or run.out_of_time:
        run.left = count_due(source, now, channels)
    return run


def deliver_pending(
    source: Any,
    channels: Mapping[str, Channel],
    now: datetime | None = None,
    max_batch: int = BATCH,
    *,
    rng: random.Random | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    after_id: int = 0,
    stop: Callable[[], bool] | None = None,
    deadline: float | None = None,
) -> DeliveryReport:
    """Send up to ``max_batch`` due alerts with ids above ``after_id``, oldest first, each
    committed right after its send (one batch; ``deliver_all`` runs batches until done).

    ``source``: a ``Store``, a ``sessionmaker`` or an ``Engine``. ``now`` (aware UTC) fixes the
    clock for selection, ``sent_at`` and back-off (tests); default: the real clock per alert.
    ``stop()`` / ``deadline`` (``time.monotonic()``): take no new row once true / passed.

    Per alert: (1) a short transaction claims the row (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) by moving ``next_attempt_at`` a lease ahead (the
    channel's timeout + 30 s), and builds the payload; (2) the channel sends in a thread of its
    own, outside any transaction, and is given up after the channel's timeout (a failure,
    retried); (3) a second short transaction records sent/failed. If ``stop()`` turns true
    during (2), the send is abandoned and the lease released: the row stays as it was, due
    again at once. If the process dies during (2), the row is due again when the lease ends.
    """
    factory = session_factory_of(source)
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    stop = stop or (lambda: False)
    report = DeliveryReport()
    last_id = after_id
    for _ in range(max_batch):
        if stop():
            report.stopped = True
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        claimed = _claim_next(factory, channels, clock, last_id, report)
        if claimed is None:
            break
        last_id, channel, payload, lease_from = claimed
        report.last_id = last_id
        if channel is None:  # unknown channel: left pending
            continue
        error, interrupted = _send_bounded(channel, payload, stop, last_id)
        if interrupted:
            _release(factory, last_id, lease_from)
            report.interrupted += 1
            report.stopped = True
            log.info("alert %s: send interrupted, left pending", last_id)
            break
        _record(factory, last_id, error, clock, report, rng, max_attempts)
    if report.attempted or report.unknown_channel or report.interrupted:
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


def _send_bounded(channel: Channel, payload: dict[str, Any], stop: Callable[[], bool],
                  alert_id: int) -> tuple[str | None, bool]:
    """Send in a daemon thread; ``(error or None, interrupted)``. Waits at most the channel's
    timeout (then the send is a failure) and returns at once when ``stop()`` turns true (the
    abandoned thread ends with its socket timeout, or with the process)."""
    outcome: list[str | None] = []

    def run() -> None:
        outcome.append(attempt(channel, payload, f"alert {alert_id}"))

    limit = send_timeout(channel)
    worker = threading.Thread(target=run, name=f"newswatch-send-{alert_id}", daemon=True)
    give_up = time.monotonic() + limit
    worker.start()
    while True:
        worker.join(min(STOP_POLL, max(0.0, give_up - time.monotonic())))
        if outcome:
            return outcome[0], False
        if stop():
            return None, True
        if time.monotonic() >= give_up:
            target = channel.target() if hasattr(channel, "target") else channel.name
            return one_line(f"{getattr(channel, 'kind', 'channel')} {target}: no answer within "
                            f"{limit:g}s"), False


def _claim_next(factory: Callable[[], Session], channels: Mapping[str, Channel],
                clock: Callable[[], datetime], after_id: int, report: DeliveryReport
                ) -> tuple[int, Channel | None, dict[str, Any], datetime | None] | None:
    """Lock and lease the next due row after ``after_id``; None when there is none. Returns
    (id, channel, payload, its next_attempt_at before the lease)."""
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
            return alert.id, None, {}, None
        channel = channels[alert.channel]
        payload = payload_for_send(session, alert)
        before = alert.next_attempt_at
        alert.next_attempt_at = now + timedelta(seconds=send_timeout(channel)) + SEND_LEASE_MARGIN
        session.commit()
        return alert.id, channel, payload, before


def _release(factory: Callable[[], Session], alert_id: int, before: datetime | None) -> None:
    """Give back the lease of an abandoned send: the row is as it was before the claim."""
    with factory() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        alert = session.get(Alert, alert_id)
        if alert is not None and alert.status != "sent":
            alert.next_attempt_at = before
            session.commit()


def _record(factory: Callable[[], Session], alert_id: int, error: str | None,
            clock: Callable[[], datetime], report: DeliveryReport,
            rng: random.Random | None, max_attempts: int) -> None:
    """The send's outcome on the alert row, in one transaction."""
    with factory() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
        alert = session.get(Alert, alert_id)
        if alert is None:  # its story was deleted meanwhile
            return
        record_attempt(alert, error, clock(), report, rng, max_attempts,
                       {"alert_id": alert_id, "channel": alert.channel, "watch": alert.watch})
        session.commit()


def record_attempt(row: Any, error: str | None, now: datetime, report: DeliveryReport,
                   rng: random.Random | None, max_attempts: int, about: dict[str, Any]) -> str:
    """One send's outcome on an outbox row (an ``Alert`` or a ``Digest``: ``attempts``,
    ``status``, ``sent_at``, ``last_error``, ``next_attempt_at``) and in ``report``.

    Returns ``"sent"``, ``"failed"`` (due again after a back-off) or ``"gave_up"`` (the
    ``max_attempts``-th failure: no more retries). ``about`` names the row in ``report.errors``
    (its id, channel ...); the attempt count and the one-line error follow it there.
    """
    row.attempts = (row.attempts or 0) + 1
    if error is None:
        row.status, row.sent_at, row.last_error, row.next_attempt_at = "sent", now, None, None
        report.sent += 1
        report.sent_ids.append(row.id)
        return "sent"
    row.status, row.last_error = "failed", one_line(error)
    if row.attempts >= max_attempts:
        row.next_attempt_at = None
        report.gave_up += 1
        outcome = "gave_up"
    else:
        row.next_attempt_at = now + backoff(row.attempts - 1, rng)
        report.failed += 1
        outcome = "failed"
    report.errors.append({**about, "attempts": row.attempts, "error": row.last_error})
    return outcome
