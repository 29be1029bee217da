"""Digests (issue 15 item 5) on real SQLite and PostgreSQL with a real SMTP server (aiosmtpd) and
a real webhook receiver: alerts across a day go out as one message at the boundary, each story
once; a second run in the same period sends nothing; a process killed mid-send sends the digest
once afterwards under the same id; weekly periods follow the weekday in the configured zone; the
other channels are unchanged. Time is moved with ``$NEWSWATCH_NOW`` (newswatch.clock)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from newswatch import clock
from newswatch.alerts.digest import deliver_digests, digest_key, period_at
from newswatch.alerts.planner import AlertPlanner
from newswatch.alerts.sender import deliver_pending
from newswatch.config import Digest as DigestRule
from newswatch.config import parse_config
from newswatch.localserver import Reply, Request
from newswatch.matching import Matcher
from newswatch.storage.models import Alert, Digest
from tests.conftest import ROOT
from tests.receivers import SmtpSink, WebhookReceiver
from tests.storage_samples import Art

pytest_plugins = ["tests.storage_fixtures"]

SHANGHAI = "Asia/Shanghai"
WATCHES = [{"name": "llm", "terms": ["大模型"]},
           {"name": "deepseek", "terms": ["深度求索", "DeepSeek"]}]
BODY_A = "今天，深度求索发布了新一代大模型。该模型在多项评测中表现优异。"
BODY_B = "某公司发布大模型应用平台。平台面向企业开放。"


def config(smtp_port: int, hook_url: str, digest_hook_url: str | None = None,
           database: str = "sqlite:///unused.db"):
    notify = {
        "desk": {"email": ["desk@example.com"], "smtp": f"smtp://127.0.0.1:{smtp_port}",
                 "from": "newswatch@example.com",
                 "digest": {"every": "daily", "at": "08:00", "tz": SHANGHAI}},
        "hook": {"webhook": hook_url},  # not a digest channel: unchanged
    }
    if digest_hook_url:
        notify["digest-hook"] = {"webhook": digest_hook_url,
                                 "digest": {"every": "daily", "at": "08:00", "tz": SHANGHAI}}
    return {"database": database, "watches": WATCHES, "notify": notify}


def at(monkeypatch: pytest.MonkeyPatch, when: str) -> datetime:
    monkeypatch.setenv(clock.ENV, when)
    return clock.now()


def record(store, cfg, url: str, art: Art, fetched_at: datetime, outlet: str = "news-a"):
    planner = AlertPlanner(cfg.watch_rules, Matcher(cfg.watch_rules), cfg.channels)
    return store.record_article(outlet=outlet, url=url, article=art, fetched_at=fetched_at,
                                plan_alerts=planner.for_outlet(outlet))


def ledger(store) -> list[tuple[str, str, str, str, bool]]:
    with store.reading() as s:
        return [(a.watch, a.channel, a.event, a.status, a.digest_id is not None)
                for a in s.scalars(select(Alert).order_by(Alert.id))]


def digests(store) -> list[Digest]:
    with store.reading() as s:
        return list(s.scalars(select(Digest).order_by(Digest.id)))


def test_a_day_of_alerts_is_one_digest_at_the_boundary_each_story_once(store, monkeypatch):
    with SmtpSink() as smtp, WebhookReceiver() as hook:
        cfg = parse_config(config(smtp.port, hook.url))
        chans = cfg.channels
        # day 1 (Shanghai): story A matches two watches, then changes twice; story B is new
        record(store, cfg, "https://a.cn/1", Art(title="深度求索发布大模型", text=BODY_A),
               at(monkeypatch, "2026-01-05T09:00:00+08:00"))
        record(store, cfg, "https://b.cn/2", Art(title="大模型平台上线", text=BODY_B),
               at(monkeypatch, "2026-01-05T13:00:00+08:00"))
        record(store, cfg, "https://a.cn/1", Art(title="深度求索发布大模型：评测", text=BODY_A +
                                                  "大模型的开源版本下月发布。"),
               at(monkeypatch, "2026-01-05T18:00:00+08:00"))
        record(store, cfg, "https://a.cn/1", Art(title="深度求索大模型开源", text=BODY_A +
                                                  "大模型的开源版本下月发布。DeepSeek 称价格降低。"),
               at(monkeypatch, "2026-01-05T22:00:00+08:00"))
        desk = [row for row in ledger(store) if row[1] == "desk"]
        assert {(w, e) for w, _, e, _, _ in desk} == {("llm", "new"), ("deepseek", "new"),
                                                       ("llm", "updated"), ("deepseek", "updated")}
        assert len(desk) >= 5  # two watches on A, B, and A's two changes

        # the individual sender sends the webhook channel's alerts, never the digest channel's
        report = deliver_pending(store, chans)
        assert report.sent == len(hook.received) == len(desk)  # the same alerts, one by one
        assert [r for r in ledger(store) if r[1] == "desk"] == desk  # all still pending
        assert smtp.mails == []

        # before the boundary: nothing (the period that ended at 08:00 today had no alerts)
        assert deliver_digests(store, chans, now=at(monkeypatch, "2026-01-05T23:59:00+08:00")
                               ).attempted == 0
        assert digests(store) == [] and smtp.mails == []

        # the boundary: one email listing each story once, latest title and URL
        report = deliver_digests(store, chans, now=at(monkeypatch, "2026-01-06T08:00:30+08:00"))
        assert report.sent == 1
        assert len(smtp.mails) == 1
        mail = smtp.mails[0].message
        assert mail["Subject"] == "[newswatch] daily digest: 2 stories (2026-01-06)"
        [row] = digests(store)
        assert row.key == digest_key("desk", "daily 2026-01-06T08:00+08:00")
        assert mail["Message-ID"] == f"<{row.key}@example.com>"
        assert (row.status, row.attempts) == ("sent", 1)
        text = mail.get_body(("plain",)).get_content()
        assert text.count("https://a.cn/1") == 1 and text.count("https://b.cn/2") == 1
        assert "深度求索大模型开源" in text  # A's latest title, listed once
        assert "深度求索发布大模型：评测" not in text
        assert "New and updated · watches: llm, deepseek" in text
        assert "2026-01-05 08:00 to 2026-01-06 08:00 (Asia/Shanghai)" in text
        html = mail.get_body(("html",)).get_content()
        assert html.count('href="https://a.cn/1"') == 1
        assert all(status == "sent" for _, ch, _, status, _ in ledger(store) if ch == "desk")

        # a second run in the same period: nothing, even with a new alert waiting
        record(store, cfg, "https://c.cn/3", Art(title="大模型新闻", text="又一个大模型发布。内容很长。"),
               at(monkeypatch, "2026-01-06T12:30:00+08:00"))
        for when in ("2026-01-06T12:31:00+08:00", "2026-01-07T07:59:59+08:00"):
            assert deliver_digests(store, chans, now=at(monkeypatch, when)).attempted == 0
        assert len(smtp.mails) == 1 and len(digests(store)) == 1

        # the next boundary: the new story only
        report = deliver_digests(store, chans, now=at(monkeypatch, "2026-01-07T08:05:00+08:00"))
        assert report.sent == 1 and len(smtp.mails) == 2
        second = smtp.mails[1].message.get_body(("plain",)).get_content()
        assert "https://c.cn/3" in second and "https://a.cn/1" not in second

        # an empty period: nothing sent, nothing recorded
        assert deliver_digests(store, chans, now=at(monkeypatch, "2026-01-08T09:00:00+08:00")
                               ).attempted == 0
        assert len(smtp.mails) == 2 and len(digests(store)) == 2
        assert len(hook.received) == len(desk)  # digests never touch the other channels


def test_a_digest_webhook_lists_each_story_once_with_its_watches(store, monkeypatch):
    with SmtpSink() as smtp, WebhookReceiver() as hook, WebhookReceiver() as dhook:
        cfg = parse_config(config(smtp.port, hook.url, dhook.url))
        record(store, cfg, "https://a.cn/1", Art(title="深度求索发布大模型", text=BODY_A),
               at(monkeypatch, "2026-01-05T09:00:00+08:00"))
        record(store, cfg, "https://a.cn/1", Art(title="深度求索大模型开源", text=BODY_A + "DeepSeek 开源。"),
               at(monkeypatch, "2026-01-05T10:00:00+08:00"))
        report = deliver_digests(store, cfg.channels,
                                 now=at(monkeypatch, "2026-01-06T08:00:00+08:00"))
        assert report.sent == 2 and len(smtp.mails) == 1 and len(dhook.received) == 1
        assert hook.received == []  # the individual sender's job
        body = dhook.received[0].json
        assert body["event"] == "digest"
        assert body["digest"]["period"] == "daily 2026-01-06T08:00+08:00"
        assert body["digest"]["from"] == "2026-01-05T00:00:00Z"
        assert body["digest"]["until"] == "2026-01-06T00:00:00Z"
        [story] = body["stories"]
        assert story["title"] == "深度求索大模型开源" and story["url"] == "https://a.cn/1"
        assert story["watches"] == ["llm", "deepseek"] and story["events"] == ["new", "updated"]
        assert len(story["alert_ids"]) == len(body["alert_ids"]) >= 3
        key = digest_key("digest-hook", "daily 2026-01-06T08:00+08:00")
        assert dhook.received[0].headers["Idempotency-Key"] == body["idempotency_key"] == key
        documented = json.loads(doc_blocks("json")[0])  # docs/alerts.md shows this very shape
        assert documented.keys() == body.keys()
        assert documented["digest"].keys() == body["digest"].keys()
        assert documented["stories"][0].keys() == story.keys()


def doc_blocks(language: str) -> list[str]:
    """The fenced ``language`` blocks of docs/alerts.md's "Digests" section."""
    text = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    part = text.split("\n## Digests\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", part, flags=re.S)


def test_the_documented_digest_config_loads(monkeypatch):
    monkeypatch.setenv("SMTP_PASS", "pw")
    [block] = doc_blocks("yaml")
    cfg = parse_config(yaml.safe_load(block), source="docs/alerts.md")
    daily, weekly = (cfg.channels[n].digest for n in ("morning-mail", "weekly-hook"))
    assert (daily.every, daily.at, daily.tz) == ("daily", "08:00", "Asia/Shanghai")
    assert (weekly.every, weekly.weekday, weekly.at) == ("weekly", "monday", "07:30")


def test_an_apprise_digest_is_one_notification(store, monkeypatch):
    with WebhookReceiver() as chat, WebhookReceiver() as hook:
        cfg = parse_config({"watches": WATCHES, "notify": {
            "chat": {"apprise": f"json://127.0.0.1:{chat.port}/hook",
                     "digest": {"every": "daily", "at": "08:00", "tz": SHANGHAI}},
            "hook": {"webhook": hook.url}}})
        record(store, cfg, "https://a.cn/1", Art(title="深度求索发布大模型", text=BODY_A),
               at(monkeypatch, "2026-01-05T09:00:00+08:00"))
        record(store, cfg, "https://b.cn/2", Art(title="大模型平台上线", text=BODY_B),
               at(monkeypatch, "2026-01-05T11:00:00+08:00"))
        assert deliver_pending(store, cfg.channels).sent == 3 == len(hook.received)
        assert chat.received == []
        report = deliver_digests(store, cfg.channels,
                                 now=at(monkeypatch, "2026-01-06T08:00:00+08:00"))
        assert report.sent == 1
        [got] = chat.received
        assert got.json["title"] == "[newswatch] daily digest: 2 stories (2026-01-06)"
        message = got.json["message"]
        assert message.count("https://a.cn/1") == 1 and message.count("https://b.cn/2") == 1
        assert "watches: llm, deepseek" in message


class StallingReceiver(WebhookReceiver):
    """A webhook receiver whose first POST does not answer until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived, self.release = threading.Event(), threading.Event()

    def _respond(self, request: Request) -> Reply:
        first = not self.arrived.is_set()
        self.arrived.set()
        if first:
            self.release.wait(60)
        return super()._respond(request)


def send_cli(config_path: Path, now: str) -> subprocess.Popen[str]:
    env = {**os.environ, clock.ENV: now}
    env.pop("NEWSWATCH_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "newswatch.cli", "alerts", "--send",
                             "--config", str(config_path)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_kill_during_the_digest_send_sends_it_once_afterwards_with_the_same_id(
        store, db_url, monkeypatch, write_config):
    hook = StallingReceiver()
    with SmtpSink() as smtp, hook, WebhookReceiver() as plain:
        raw = config(smtp.port, plain.url, hook.url, database=db_url)
        del raw["notify"]["desk"]  # the webhook digest only
        raw["notify"]["digest-hook"]["timeout"] = 600  # the kill comes first, however slow
        cfg = parse_config(raw)
        record(store, cfg, "https://a.cn/1", Art(title="深度求索发布大模型", text=BODY_A),
               at(monkeypatch, "2026-01-05T09:00:00+08:00"))
        record(store, cfg, "https://b.cn/2", Art(title="大模型平台上线", text=BODY_B),
               at(monkeypatch, "2026-01-05T09:30:00+08:00"))
        path = write_config(raw)

        proc = send_cli(path, "2026-01-06T08:00:10+08:00")
        try:
            assert hook.arrived.wait(120), proc.communicate(timeout=5)
            proc.kill()  # mid-send: the receiver has the request, the ledger has no answer
            proc.communicate(timeout=30)
        finally:
            hook.release.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        [row] = digests(store)
        assert (row.status, row.sent_at, row.attempts) == ("pending", None, 0)
        assert {r[3] for r in ledger(store) if r[1] == "digest-hook"} == {"pending"}

        # within the lease (another pass soon after the restart): not sent twice at once
        again = send_cli(path, "2026-01-06T08:05:00+08:00")
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        assert len(hook.received) == 1  # only the killed attempt's request so far

        later = send_cli(path, "2026-01-06T08:16:00+08:00")  # the lease (15 min) is over
        out, err = later.communicate(timeout=120)
        assert later.returncode == 0, err
        assert "digests: 1 sent, 0 failed (will retry)" in err
        assert len(hook.received) == 2
        keys = {r.headers["Idempotency-Key"] for r in hook.received}
        assert keys == {digest_key("digest-hook", "daily 2026-01-06T08:00+08:00")}
        assert hook.received[0].body == hook.received[1].body  # the same digest, resent
        [row] = digests(store)
        assert (row.status, row.attempts) == ("sent", 1)
        assert {r[3] for r in ledger(store) if r[1] == "digest-hook"} == {"sent"}

        final = send_cli(path, "2026-01-06T20:00:00+08:00")  # a later run: nothing more
        final.communicate(timeout=120)
        assert len(hook.received) == 2 and len(digests(store)) == 1
        # `alerts --send` sent the plain channel's alerts one by one, each once, as before
        plain_rows = [r for r in ledger(store) if r[1] == "hook"]
        assert len(plain.received) == len(plain_rows) == 3
        assert {r[3] for r in plain_rows} == {"sent"}


def test_periods_daily_and_weekly_in_the_configured_zone() -> None:
    def utc(text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(UTC)

    daily = DigestRule(every="daily", at="08:00", tz=SHANGHAI)
    p = period_at(daily, utc("2026-01-06T07:59:59+08:00"))
    assert (p.name, p.start, p.end) == ("daily 2026-01-05T08:00+08:00",
                                        utc("2026-01-04T08:00+08:00"),
                                        utc("2026-01-05T08:00+08:00"))
    assert period_at(daily, utc("2026-01-06T08:00:00+08:00")).name == "daily 2026-01-06T08:00+08:00"
    # 2026-01-05 is a Monday; 07:00 Monday in Shanghai is still Sunday 23:00 UTC
    weekly = DigestRule(every="weekly", at="07:00", tz=SHANGHAI, weekday="monday")
    p = period_at(weekly, utc("2026-01-05T07:00:00+08:00"))
    assert (p.start, p.end) == (utc("2025-12-29T07:00+08:00"), utc("2026-01-05T07:00+08:00"))
    assert p.end.weekday() == 6  # Sunday in UTC: the weekday is Shanghai's
    assert period_at(weekly, utc("2026-01-05T06:59:00+08:00")).end == utc("2025-12-29T07:00+08:00")
    assert period_at(weekly, utc("2026-01-11T23:00:00+08:00")).end == utc("2026-01-05T07:00+08:00")
    # across a daylight-saving change the boundary stays at 08:00 local (a 23-hour period)
    berlin = DigestRule(every="daily", at="08:00", tz="Europe/Berlin")
    p = period_at(berlin, utc("2026-03-29T09:00:00+02:00"))
    assert (p.start, p.end) == (utc("2026-03-28T08:00+01:00"), utc("2026-03-29T08:00+02:00"))


def test_weekly_digest_goes_out_on_its_weekday_only(store, monkeypatch):
    with SmtpSink() as smtp, WebhookReceiver() as hook:
        raw = config(smtp.port, hook.url)
        raw["notify"]["desk"]["digest"] = {"every": "weekly", "weekday": "monday",
                                           "at": "07:00", "tz": SHANGHAI}
        cfg = parse_config(raw)
        record(store, cfg, "https://a.cn/1", Art(title="深度求索发布大模型", text=BODY_A),
               at(monkeypatch, "2026-01-06T10:00:00+08:00"))  # a Tuesday
        for day in range(7, 12):  # Wednesday .. Sunday
            for hour in ("07:00:00", "23:30:00"):
                now = at(monkeypatch, f"2026-01-{day:02d}T{hour}+08:00")
                assert deliver_digests(store, cfg.channels, now=now).attempted == 0
        # Monday 06:59 in Shanghai (Sunday 22:59 UTC): not yet; Monday 07:00: the digest
        assert deliver_digests(store, cfg.channels,
                               now=at(monkeypatch, "2026-01-12T06:59:00+08:00")).attempted == 0
        report = deliver_digests(store, cfg.channels,
                                 now=at(monkeypatch, "2026-01-12T07:00:00+08:00"))
        assert report.sent == 1 and len(smtp.mails) == 1
        assert smtp.mails[0].message["Subject"] == "[newswatch] weekly digest: 1 story (2026-01-12)"
        assert deliver_digests(store, cfg.channels,
                               now=at(monkeypatch, "2026-01-18T23:00:00+08:00")).attempted == 0


def test_a_failed_digest_is_retried_with_the_same_id(store, monkeypatch):
    with SmtpSink() as smtp, WebhookReceiver() as hook:
        dead = WebhookReceiver().start()
        dead_url = dead.url
        dead.stop()  # nobody listens: the digest fails and waits for its back-off
        cfg = parse_config(config(smtp.port, hook.url, dead_url))
        record(store, cfg, "https://a.cn/1", Art(title="深度求索发布大模型", text=BODY_A),
               at(monkeypatch, "2026-01-05T09:00:00+08:00"))
        report = deliver_digests(store, cfg.channels,
                                 now=at(monkeypatch, "2026-01-06T08:00:00+08:00"))
        assert (report.sent, report.failed) == (1, 1)  # the email went, the webhook did not
        failed = [d for d in digests(store) if d.channel == "digest-hook"][0]
        assert failed.status == "failed" and failed.next_attempt_at is not None
        assert all((a.status, (a.last_error or "")[:15]) == ("pending", "digest: webhook")
                   for a in _alerts(store, "digest-hook"))
        revived = WebhookReceiver(port=dead.port).start()
        try:
            report = deliver_digests(store, cfg.channels, now=failed.next_attempt_at)
        finally:
            revived.stop()
        assert report.sent == 1 and len(revived.received) == 1
        assert revived.received[0].headers["Idempotency-Key"] == failed.key
        assert len(smtp.mails) == 1


def _alerts(store, channel: str) -> list[Alert]:
    with store.reading() as s:
        return list(s.scalars(select(Alert).where(Alert.channel == channel)))


def test_the_clock_variable_is_checked_in_one_line(cli, tmp_path) -> None:
    assert clock.parse_instant("2026-01-05T00:00:00Z") == datetime(2026, 1, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^NEWSWATCH_NOW: expected an ISO 8601 time"):
        clock.parse_instant("2026-01-05 08:00")  # no offset
    result = cli("alerts", "--config", str(tmp_path / "none.yaml"),
                 env={clock.ENV: "tomorrow"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: NEWSWATCH_NOW: expected an ISO 8601 time with a UTC offset, e.g. "
        "2026-01-05T08:00:00+08:00 or 2026-01-05T00:00:00Z, got 'tomorrow'"]


def test_the_daemon_sends_a_day_of_demo_changes_as_one_digest(write_config, cli):
    """The real daemon (`daemon --once`, its crawls in child processes) over the demo outlet,
    at three times of one Shanghai day and the next morning: the webhook gets each alert as it
    happens, the digest mailbox one email at 08:00 with every story once."""
    from newswatch.demo import demo_config, serve_demo

    with serve_demo() as site, WebhookReceiver() as hook, SmtpSink() as smtp:
        raw = demo_config(site.url)
        for watch in raw["watches"]:
            watch["notify"] = []  # every channel
        raw["watches"].append({"name": "on-device", "terms": ["端侧大模型"]})
        for outlet in raw["outlets"]:
            outlet["alert_on_first_crawl"] = True
        raw["notify"] = {
            "hook": {"webhook": hook.url},
            "mail": {"email": ["desk@example.com"], "smtp": f"smtp://127.0.0.1:{smtp.port}",
                     "from": "newswatch@example.com",
                     "digest": {"every": "daily", "at": "08:00", "tz": SHANGHAI}},
        }
        path = write_config(raw)

        def daemon_once(now: str) -> str:
            result = cli("daemon", "--once", "--config", str(path), env={clock.ENV: now})
            assert result.returncode == 0, result.stderr
            return result.stderr

        daemon_once("2026-01-05T09:00:00+08:00")  # version 1: new stories
        first = len(hook.received)
        assert first >= 2 and smtp.mails == []
        site.set_version(2)  # an edit that adds 通义千问 and a new story
        daemon_once("2026-01-05T20:00:00+08:00")
        events = [(r.json["event"], r.json["watch"]) for r in hook.received[first:]]
        assert ("updated", "qwen") in events and ("new", "on-device") in events
        assert smtp.mails == []

        log = daemon_once("2026-01-06T08:00:05+08:00")  # the boundary: one digest
        assert len(smtp.mails) == 1
        assert "newswatch.scheduler: digests: 1 sent, 0 failed (will retry)" in log, log
        text = smtp.mails[0].message.get_body(("plain",)).get_content()
        stories = {r.json["story"]["id"]: r.json["story"] for r in hook.received}
        assert f"{len(stories)} stories" in smtp.mails[0].message["Subject"]
        for story in stories.values():  # every alerted story once, under its latest URL
            assert text.count(f"\n   {story['url']}\n") == 1, story["url"]
        [edited] = [r.json["story"] for r in hook.received if r.json["event"] == "updated"]
        assert f"{edited['title']}\n   {edited['url']}\n   " in text  # its latest title

        log = daemon_once("2026-01-06T12:00:00+08:00")  # same period, a restart: nothing more
        assert len(smtp.mails) == 1 and "digests:" not in log
