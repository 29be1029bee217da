"""The outbox sender on a real SQLite file (and PostgreSQL when configured) with real receivers."""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, sessionmaker

from newswatch.alerts.channels import parse_channels
from newswatch.alerts.payload import build_payload
from newswatch.alerts.sender import MAX_ATTEMPTS, backoff, deliver_pending
from newswatch.storage.db import create_engine_for
from newswatch.storage.models import Alert, Base, Outlet, Revision, Story, StoryUrl
from tests.receivers import WebhookReceiver, free_port

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SECRET = "sender-hook-secret-1"


@pytest.fixture
def db(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'alerts.db'}")
    Base.metadata.create_all(engine)
    yield sessionmaker(engine)
    engine.dispose()


def add_story(factory, n_alerts=1, channel="hook", outlet="example-cn", url="https://a.cn/1"):
    """One story with one revision and ``n_alerts`` pending outbox rows; returns alert ids."""
    with factory() as s, s.begin():
        o = s.scalar(select(Outlet).where(Outlet.name == outlet)) or Outlet(name=outlet)
        s.add(o)
        s.flush()
        st = Story(outlet_id=o.id, title="大模型新闻", first_seen=T0, last_changed=T0)
        s.add(st)
        s.flush()
        s.add(StoryUrl(url=url, story_id=st.id, outlet_id=o.id, first_seen=T0))
        rev = Revision(story_id=st.id, content_hash=uuid.uuid4().hex * 2, text="大模型。",
                       title="大模型新闻", first_seen=T0)
        s.add(rev)
        s.flush()
        alerts = []
        for i in range(n_alerts):
            p = build_payload(event="new", watch=f"w{i}", terms=["大模型"], story_id=st.id,
                              title="大模型新闻", url=url, outlets=[outlet], first_seen=T0,
                              text="大模型。")
            a = Alert(story_id=st.id, revision_id=rev.id, watch=f"w{i}", channel=channel,
                      event="new", payload=p, next_attempt_at=None, created_at=T0)
            s.add(a)
            alerts.append(a)
        s.flush()
        return st.id, [a.id for a in alerts]


def rows(factory) -> list[Alert]:
    with factory() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def hook_channels(url: str, secret: str = SECRET, **extra):
    return parse_channels({"hook": {"webhook": url, "secret": secret, "timeout": 5, **extra}})


def test_sends_once_and_refreshes_story_locations(db):
    story_id, ids = add_story(db, n_alerts=2)
    with db() as s, s.begin():  # a republished copy found after the alert was planned
        other = Outlet(name="mirror")
        s.add(other)
        s.flush()
        s.add(StoryUrl(url="https://mirror.com/9", story_id=story_id, outlet_id=other.id,
                       first_seen=T0 + timedelta(minutes=5)))
    with WebhookReceiver(secret=SECRET) as hook:
        report = deliver_pending(db, hook_channels(hook.url), now=T0)
        again = deliver_pending(db, hook_channels(hook.url), now=T0 + timedelta(days=1))
    assert (report.sent, report.failed, report.sent_ids) == (2, 0, ids)
    assert again.attempted == 0 and hook.received[2:] == []
    assert all(r.signature_ok for r in hook.received)
    bodies = [r.json for r in hook.received]
    assert [b["alert_id"] for b in bodies] == ids
    assert [r.headers["X-Newswatch-Alert-Id"] for r in hook.received] == [str(i) for i in ids]
    assert bodies[0]["story"]["urls"] == ["https://a.cn/1", "https://mirror.com/9"]
    assert bodies[0]["story"]["outlets"] == ["example-cn", "mirror"]
    assert [(r.status, r.sent_at, r.attempts, r.last_error) for r in rows(db)] == [
        ("sent", T0, 1, None)] * 2


def test_receiver_down_then_up_gets_every_alert_exactly_once(db):
    _, ids = add_story(db, n_alerts=5)
    port = free_port()
    chans = hook_channels(f"http://127.0.0.1:{port}/hook")
    down = deliver_pending(db, chans, now=T0, rng=random.Random(1))
    assert (down.sent, down.failed) == (0, 5)
    for r in rows(db):
        assert r.status == "failed" and r.attempts == 1 and "ConnectionError" in r.last_error
        assert T0 + timedelta(seconds=24) <= r.next_attempt_at <= T0 + timedelta(seconds=30)
    assert deliver_pending(db, chans, now=T0 + timedelta(seconds=10)).attempted == 0  # not due
    with WebhookReceiver(secret=SECRET, port=port) as hook:
        up = deliver_pending(db, chans, now=T0 + timedelta(seconds=31))
        later = deliver_pending(db, chans, now=T0 + timedelta(hours=5))
    assert (up.sent, later.attempted) == (5, 0)
    assert Counter(r.json["alert_id"] for r in hook.received) == Counter(ids)
    assert all(r.signature_ok for r in hook.received)
    assert {(r.status, r.attempts, r.last_error, r.next_attempt_at) for r in rows(db)} == {
        ("sent", 2, None, None)}


def test_backoff_schedule():
    nominal = [backoff(n, jitter=0).total_seconds() for n in range(10)]
    assert nominal == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert backoff(10_000, jitter=0) == timedelta(hours=1)
    rng = random.Random(7)
    for n in range(12):
        d = backoff(n, rng).total_seconds()
        assert 0.8 * nominal[min(n, 9)] <= d <= nominal[min(n, 9)]
    assert len({backoff(3, rng) for _ in range(20)}) > 1  # jitter spreads retries


def test_retries_follow_backoff_then_give_up_for_good(db):
    _, [alert_id] = add_story(db)
    with WebhookReceiver(status=503) as hook:
        chans = hook_channels(hook.url)
        now, delays = T0, []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report = deliver_pending(db, chans, now=now, rng=random.Random(attempt))
            assert report.attempted == 1, attempt
            [r] = rows(db)
            assert (r.status, r.attempts) == ("failed", attempt)
            assert r.last_error.startswith(f"webhook http://127.0.0.1:{hook.port}/***: HTTP 503")
            if attempt < MAX_ATTEMPTS:
                delays.append((r.next_attempt_at - now).total_seconds())
                assert deliver_pending(db, chans, now=r.next_attempt_at - timedelta(seconds=1)
                                       ).attempted == 0
                now = r.next_attempt_at
        assert r.next_attempt_at is None and report.gave_up == 1
        assert deliver_pending(db, chans, now=now + timedelta(days=30)).attempted == 0
    assert len(hook.received) == MAX_ATTEMPTS
    for n, d in enumerate(delays):
        top = min(30 * 2**n, 3600)
        assert 0.8 * top <= d <= top, (n, d)


def test_unknown_channel_is_left_pending_then_sent_when_configured(db):
    _, [a1] = add_story(db, channel="gone")
    _, [a2] = add_story(db, channel="hook", url="https://a.cn/2")
    with WebhookReceiver(secret=SECRET) as hook:
        report = deliver_pending(db, hook_channels(hook.url), now=T0)
        assert report.unknown_channel == {"gone": 1} and report.sent_ids == [a2]
        r1 = rows(db)[0]
        assert (r1.status, r1.attempts, r1.last_error) == ("pending", 0, "unknown channel gone")
        assert "unknown channel gone" in str(report)
        chans = {**hook_channels(hook.url), "gone": hook_channels(hook.url)["hook"]}
        assert deliver_pending(db, chans, now=T0).sent_ids == [a1]
    assert [r.json["alert_id"] for r in hook.received] == [a2, a1]


def test_max_batch(db):
    _, ids = add_story(db, n_alerts=5)
    with WebhookReceiver() as hook:
        chans = parse_channels({"hook": {"webhook": hook.url}})
        assert deliver_pending(db, chans, now=T0, max_batch=2).sent_ids == ids[:2]
        assert deliver_pending(db, chans, now=T0, max_batch=10).sent_ids == ids[2:]


def test_secrets_never_reach_errors_reports_or_logs(db, caplog):
    add_story(db)
    add_story(db, channel="closed", url="https://a.cn/2")
    token = "tok-in-path-8f3a9c"
    closed = f"http://127.0.0.1:{free_port()}/hook/{token}?key=qs-secret-77"
    with WebhookReceiver(status=500) as hook:
        chans = parse_channels({
            "hook": {"webhook": f"{hook.url}/{token}?key=qs-secret-77", "secret": "hook-secret-xyz"},
            "closed": {"webhook": closed, "secret": "hook-secret-xyz"}})
        with caplog.at_level(logging.DEBUG):
            report = deliver_pending(db, chans, now=T0)
    r, r2 = rows(db)
    visible = "\n".join([r.last_error, r2.last_error, json.dumps(report.to_dict()), str(report),
                         caplog.text, json.dumps([c.describe() for c in chans.values()])])
    assert "HTTP 500" in r.last_error and "\n" not in r.last_error
    assert "ConnectionError" in r2.last_error and "\n" not in r2.last_error
    for secret in (token, "qs-secret-77", "hook-secret-xyz"):
        assert secret not in visible
    assert hook.received[0].path.endswith(f"/{token}?key=qs-secret-77")  # but it was used


def test_channel_bug_counts_as_failed_attempt(db):
    _, [alert_id] = add_story(db)

    class Broken:
        name, kind = "hook", "broken"

        def send(self, payload):
            raise KeyError("oops")

    report = deliver_pending(db, {"hook": Broken()}, now=T0)
    [r] = rows(db)
    assert report.failed == 1 and r.status == "failed" and r.last_error == "KeyError: 'oops'"


def _concurrent_exactly_once(factory, n_alerts=30, n_senders=4):
    _, ids = add_story(factory, n_alerts=n_alerts)
    with WebhookReceiver(secret=SECRET) as hook:
        chans = hook_channels(hook.url)
        reports = []
        threads = [threading.Thread(target=lambda: reports.append(
            deliver_pending(factory, chans, now=T0))) for _ in range(n_senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(r.sent for r in reports) == n_alerts
    assert Counter(r.json["alert_id"] for r in hook.received) == Counter(ids)
    assert {r.status for r in rows(factory)} == {"sent"}


def test_concurrent_senders_sqlite(db):
    _concurrent_exactly_once(db)


@pytest.fixture
def pg():
    url = os.environ.get("NEWSWATCH_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("NEWSWATCH_TEST_POSTGRES_URL is not set")
    schema = f"alerts_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine_for(url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine_for(url, connect_args={"options": f"-csearch_path={schema}"})
    Base.metadata.create_all(engine)
    try:
        yield sessionmaker(engine)
    finally:
        engine.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_concurrent_senders_postgres_skip_locked(pg):
    with pg() as s:
        engine = s.get_bind()
        assert isinstance(s, Session) and engine.dialect.name == "postgresql"
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, stmt, *a: seen.append(stmt))
    _concurrent_exactly_once(pg, n_alerts=40, n_senders=6)
    assert any("FOR UPDATE SKIP LOCKED" in stmt for stmt in seen)
