"""Alerts that go wrong under faults (issue 9, items 5-8), with real parts: a local outlet, the
real ``newswatch`` CLI in child processes killed or stopped with real signals, SQLite files and
PostgreSQL schemas, and real receivers (webhook, SMTP, a socket that never answers)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from newswatch.storage.db import connect, create_engine_for
from tests.localsite import LocalSite
from tests.pages import article_html, listing_html
from tests.receivers import WebhookReceiver
from tests.test_scheduler_e2e import story_paragraphs, wait_until

pytest_plugins = ["tests.storage_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SECRET = "faults-hook-secret"
FAST = {"obey_robots": False, "autothrottle": False, "download_delay": 0,
        "concurrency_per_domain": 8, "retries": 0}


def count(db_url: str, table: str) -> int:
    """Rows committed so far in ``table``, read from another connection (0 before migration)."""
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    except SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def cli_process(config: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """``newswatch ARGS --config CONFIG`` as a real process in its own process group (so a
    SIGKILL of the group leaves no worker behind)."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "newswatch.cli", *args, "--config",
                                 str(config)], cwd=ROOT, stdout=out, stderr=out,
                                env=dict(os.environ), start_new_session=True)


def flat(output: str) -> str:
    """The output with line wrapping undone (the console may fold long lines)."""
    return " ".join(output.split())


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's whole group, also after it exited (nothing of it outlives the test)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(60)


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "newswatch.cli", *args, "--config",
                             str(config)], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


class GatedOutlet:
    """A local outlet of ``n`` distinct articles (each mentions 大模型) whose article pages
    answer only the first ``open_for`` requests until ``release()``; later ones wait."""

    def __init__(self, n: int, open_for: int) -> None:
        self.site = LocalSite()
        self.paths = [f"/news/2026/{i}.html" for i in range(n)]
        self.open_for, self.served = open_for, 0
        self.gate, self.lock = threading.Event(), threading.Lock()
        for i, path in enumerate(self.paths):
            self.add(i, path)
        self.site.set("/ai/", listing_html(self.paths))
        inner = self.site.server.respond

        def respond(request: Any) -> Any:
            if request.path.startswith("/news/"):
                with self.lock:
                    self.served += 1
                    wait = self.served > self.open_for
                if wait:
                    self.gate.wait(300)
            return inner(request)

        self.site.server.respond = respond

    def add(self, i: int, path: str) -> None:
        html = article_html(f"大模型新闻第{i}篇", story_paragraphs(i), meta_charset="utf-8")
        self.site.set(path, html.encode())

    def publish(self, i: int) -> None:
        """A genuinely new article, linked from the listing."""
        path = f"/news/2026/{i}.html"
        self.add(i, path)
        self.paths.append(path)
        self.site.set("/ai/", listing_html(self.paths))

    def release(self) -> None:
        self.open_for = 10**9
        self.gate.set()

    def close(self) -> None:
        self.release()
        self.site.close()


# --------------------------------------------------------------------------- item 5


def test_first_crawl_killed_midway_keeps_its_baseline(db_url: str, tmp_path: Path) -> None:
    """kill -9 of an outlet's first crawl after some articles are stored, then a rerun: the
    rest of the baseline sends nothing; an article published later is alerted."""
    outlet = GatedOutlet(200, open_for=60)
    log = tmp_path / "crawl.log"
    with WebhookReceiver(secret=SECRET) as hook:
        config = tmp_path / "newswatch.yaml"
        config.write_text(yaml.safe_dump({
            "database": db_url, "politeness": FAST,
            "outlets": [{"name": "local", "start_urls": [outlet.site.url + "/ai/"],
                         "article_url": r"/news/\d{4}/", "render": "never"}],
            "watches": [{"name": "llm", "terms": ["大模型"]}],
            "notify": {"hook": {"webhook": hook.url, "secret": SECRET, "timeout": 5}},
        }, allow_unicode=True))
        try:
            first = cli_process(config, "crawl", "--quiet", log=log)
            try:
                wait_until(lambda: count(db_url, "stories") >= 50, "50 stories stored")
            finally:
                kill_group(first)
            assert first.returncode == -signal.SIGKILL
            killed_at = count(db_url, "stories")
            assert 50 <= killed_at <= 60, log.read_text()

            outlet.release()
            rerun = run_cli(config, "crawl")  # the rest of the first crawl: still the baseline
            assert count(db_url, "stories") == 200
            assert count(db_url, "matches") == 200  # recorded as the baseline ...
            assert count(db_url, "alerts") == 0 and hook.received == [], rerun.stdout  # ... sent: 0

            outlet.publish(200)
            run_cli(config, "crawl")  # a later crawl: a genuinely new article alerts
            assert [r.json["story"]["title"] for r in hook.received] == ["大模型新闻第200篇"]
            assert all(r.signature_ok for r in hook.received)
        finally:
            outlet.close()


def test_the_baseline_ends_only_when_a_crawl_of_the_outlet_finishes(store) -> None:
    from datetime import UTC, datetime

    from newswatch.alerts.planner import first_crawl
    from tests.storage_samples import ARTICLE_A, Art

    t0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    store.ensure_outlets(["a", "empty"])
    store.record_article("a", "https://a.example/1", Art(ARTICLE_A), t0)
    with store.reading() as s:  # an article stored by an unfinished crawl: still the baseline
        assert first_crawl(s, "a") and first_crawl(s, "empty") and first_crawl(s, "unknown")
    # a finished crawl that stored nothing (site down) leaves the outlet in its baseline
    assert store.end_baseline(["a", "empty", "unknown"], at=t0) == ["a"]
    assert store.end_baseline(["a"]) == []  # once
    with store.reading() as s:
        assert not first_crawl(s, "a") and first_crawl(s, "empty")


def test_migration_marks_crawled_outlets_past_their_baseline_and_gives_alerts_a_uid(
        db_url: str, monkeypatch) -> None:
    from newswatch.alerts.planner import first_crawl
    from newswatch.storage.db import upgrade
    from tests.storage_samples import ARTICLE_A, Art

    assert upgrade(db_url, "0005") == "0005"
    engine = create_engine_for(db_url)
    try:
        with engine.begin() as conn:  # an outlet crawled before 0006, and one never crawled
            conn.execute(text("INSERT INTO outlets (name, created_at, browser_first) VALUES "
                              "('old', CURRENT_TIMESTAMP, false), ('new', CURRENT_TIMESTAMP, false)"))
    finally:
        engine.dispose()
    from datetime import UTC, datetime

    from newswatch.storage.store import Store

    engine = create_engine_for(db_url)
    old = Store(engine)  # the 0005 schema has what record_article writes, but for
    # story_search.words (0012): no search row here (nothing searches; 0012 is tested apart)
    monkeypatch.setattr("newswatch.storage.identity.index_story", lambda *args: None)
    res = old.record_article("old", "https://old.example/1", Art(ARTICLE_A), datetime.now(UTC))
    with engine.begin() as conn:  # two alerts planned before 0006: no uid column yet
        for channel in ("hook", "mail"):
            conn.execute(text(
                "INSERT INTO alerts (story_id, revision_id, watch, channel, event, payload, "
                "status, attempts, created_at) VALUES (:s, :r, 'llm', :c, 'new', '{}', "
                "'pending', 0, CURRENT_TIMESTAMP)"),
                {"s": res.story_id, "r": res.revision_id, "c": channel})
    old.close()
    s = connect(db_url)
    try:
        with s.reading() as session:
            assert not first_crawl(session, "old") and first_crawl(session, "new")
        uids = [row["uid"] for row in s.list_alerts()]
        assert len(set(uids)) == 2 and all(len(u) == 32 and int(u, 16) >= 0 for u in uids)
    finally:
        s.close()


# --------------------------------------------------------------------------- helpers 6-8


def plan_alerts(db_url: str, n: int, channels: tuple[str, ...] = ("hook",)) -> None:
    """``n`` stories stored through the real planner: ``n`` pending alerts per channel."""
    from datetime import UTC, datetime

    from newswatch.alerts.planner import AlertPlanner
    from newswatch.matching import parse_watches
    from tests.storage_samples import Art

    planner = AlertPlanner(parse_watches([{"name": "llm", "terms": ["大模型"]}]),
                           channel_names=channels)
    store = connect(db_url)
    try:
        hook = planner.for_outlet("local")
        for i in range(n):
            store.record_article("local", f"https://local.example/news/{i}.html",
                                 Art("\n".join(story_paragraphs(i)), f"大模型新闻第{i}篇"),
                                 datetime.now(UTC), plan_alerts=hook)
    finally:
        store.close()


def ledger(db_url: str) -> list[dict[str, Any]]:
    store = connect(db_url)
    try:
        return sorted(store.list_alerts(limit=10_000), key=lambda row: row["id"])
    finally:
        store.close()


def alerts_config(tmp_path: Path, db_url: str, notify: dict[str, Any],
                  outlet_url: str = "http://127.0.0.1:9/ai/") -> Path:
    config = tmp_path / "newswatch.yaml"
    config.write_text(yaml.safe_dump({
        "database": db_url, "politeness": FAST,
        "outlets": [{"name": "local", "start_urls": [outlet_url],
                     "article_url": r"/news/\d{4}/", "render": "never", "interval": "1h"}],
        "watches": [{"name": "llm", "terms": ["大模型"]}],
        "notify": notify,
    }, allow_unicode=True))
    return config


# --------------------------------------------------------------------------- item 6


def test_alerts_send_delivers_every_pending_alert_in_batches(db_url: str, tmp_path: Path) -> None:
    plan_alerts(db_url, 260)
    with WebhookReceiver(secret=SECRET) as hook:
        config = alerts_config(tmp_path, db_url, {"hook": {"webhook": hook.url,
                                                           "secret": SECRET}})
        result = run_cli(config, "alerts", "--send", "--status", "pending")
        assert "alerts: 260 sent, 0 failed (will retry)" in flat(result.stderr), result.stderr
        assert "still pending" not in result.stderr
        ids = [r.json["alert_id"] for r in hook.received]
        assert len(ids) == len(set(ids)) == 260 and all(r.signature_ok for r in hook.received)
    assert {row["status"] for row in ledger(db_url)} == {"sent"}


def test_a_run_out_of_time_says_what_is_left_and_the_next_run_sends_it(
        tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'nw.db'}"
    plan_alerts(db_url, 260)
    with WebhookReceiver(secret=SECRET, delay=0.2) as hook:  # 260 x 0.2 s: far over 2 s
        config = alerts_config(tmp_path, db_url, {"hook": {"webhook": hook.url,
                                                           "secret": SECRET}})
        env = {**os.environ, "NEWSWATCH_DELIVERY_BUDGET": "2s"}
        first = subprocess.run([sys.executable, "-m", "newswatch.cli", "alerts", "--send",
                                "--config", str(config)], cwd=ROOT, capture_output=True,
                               text=True, env=env, timeout=600)
        assert first.returncode == 0, first.stderr
        sent = len(hook.received)
        left = 260 - sent
        assert 0 < sent < 260
        assert (f"alerts: {sent} sent, 0 failed (will retry); the delivery time budget ran out; "
                f"{left} alerts still pending; they go out on the next run") in flat(first.stderr)
        assert [row["status"] for row in ledger(db_url)].count("pending") == left

        hook.delay = 0.0
        second = run_cli(config, "alerts", "--send")
        assert f"alerts: {left} sent, 0 failed" in flat(second.stderr)
    ids = [r.json["alert_id"] for r in hook.received]
    assert len(ids) == len(set(ids)) == 260  # each once
    assert {row["status"] for row in ledger(db_url)} == {"sent"}


def test_crawl_delivers_every_alert_it_planned(tmp_path: Path) -> None:
    """The crawl's own delivery (issue: at most 100 per run, the rest silently left)."""
    outlet = GatedOutlet(250, open_for=10**9)
    db_url = f"sqlite:///{tmp_path / 'nw.db'}"
    try:
        with WebhookReceiver(secret=SECRET) as hook:
            config = alerts_config(tmp_path, db_url,
                                   {"hook": {"webhook": hook.url, "secret": SECRET}},
                                   outlet_url=outlet.site.url + "/ai/")
            raw = yaml.safe_load(config.read_text())
            raw["outlets"][0]["alert_on_first_crawl"] = True
            config.write_text(yaml.safe_dump(raw, allow_unicode=True))
            result = run_cli(config, "crawl")
            assert "alerts: 250 sent, 0 failed (will retry)" in flat(result.stdout), result.stdout
            assert len({r.json["alert_id"] for r in hook.received}) == len(hook.received) == 250
    finally:
        outlet.close()


# --------------------------------------------------------------------------- item 7

STOP_BOUND = 10.0  # documented: `alerts --send` and a crawl's delivery exit within 10 s
DAEMON_STOP_BOUND = 25.0  # documented: the daemon, crawl children's 15 s grace included
CI_MARGIN = 3.0


def stop_and_time(proc: subprocess.Popen[bytes], wait: float = 180.0) -> float:
    """SIGTERM ``proc``; seconds until it exited (fails the test if it never does)."""
    import time

    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise AssertionError(f"still running {wait:g}s after SIGTERM") from None
    return time.monotonic() - t0


def stop_during_send(silent: Any, config: Path, *args: str, log: Path
                     ) -> tuple[subprocess.Popen[bytes], float]:
    """Run ``newswatch ARGS``; once ``silent`` has a whole request, SIGTERM it and time it."""
    proc = cli_process(config, *args, log=log)
    try:
        wait_until(lambda: b"\r\n\r\n" in silent.received, "the first request sent")
        return proc, stop_and_time(proc)
    finally:
        kill_group(proc)


def test_sigterm_during_a_send_that_never_ends_exits_at_once_and_leaves_it_pending(
        db_url: str, tmp_path: Path) -> None:
    from tests.receivers import SilentReceiver

    plan_alerts(db_url, 3)
    log = tmp_path / "send.log"
    with SilentReceiver() as silent:  # accepts, reads, never answers; the channel waits 600 s
        config = alerts_config(tmp_path, db_url, {"hook": {"webhook": silent.url,
                                                           "timeout": 600}})
        proc, took = stop_during_send(silent, config, "alerts", "--send", log=log)
    output = flat(log.read_text())
    print(f"alerts --send exited {took:.2f}s after SIGTERM (bound {STOP_BOUND:g}s)")
    assert proc.returncode == 0, output
    assert took < STOP_BOUND * CI_MARGIN
    assert ("alerts: 0 sent, 0 failed (will retry); stopped by a signal; 3 alerts still pending; "
            "they go out on the next run") in output
    assert "Traceback" not in output
    # the interrupted alert is pending and due at once, not leased, failed or sent
    assert [(r["status"], r["attempts"], r["next_attempt_at"]) for r in ledger(db_url)] == [
        ("pending", 0, None)] * 3
    with WebhookReceiver() as hook:  # the next run sends all three
        config = alerts_config(tmp_path, db_url, {"hook": {"webhook": hook.url}})
        run_cli(config, "alerts", "--send")
        assert len(hook.received) == 3
    assert {r["status"] for r in ledger(db_url)} == {"sent"}


def test_sigterm_stops_the_daemon_within_its_bound_during_a_send_that_never_ends(
        tmp_path: Path) -> None:
    from tests.receivers import SilentReceiver

    db_url = f"sqlite:///{tmp_path / 'nw.db'}"
    plan_alerts(db_url, 3)
    site = LocalSite()
    site.set("/ai/", listing_html([]))
    log = tmp_path / "daemon.log"
    try:
        with SilentReceiver() as silent:
            config = alerts_config(tmp_path, db_url, {"hook": {"webhook": silent.url,
                                                               "timeout": 600}},
                                   outlet_url=site.url + "/ai/")
            proc, took = stop_during_send(silent, config, "daemon", log=log)
    finally:
        site.close()
    output = log.read_text()
    print(f"daemon exited {took:.2f}s after SIGTERM (bound {DAEMON_STOP_BOUND:g}s)")
    assert proc.returncode == 0, output
    assert took < DAEMON_STOP_BOUND * CI_MARGIN
    assert [(r["status"], r["attempts"], r["next_attempt_at"]) for r in ledger(db_url)] == [
        ("pending", 0, None)] * 3


def test_sigterm_during_the_delivery_at_the_end_of_a_crawl(tmp_path: Path) -> None:
    """After the crawl, Scrapy's own signal handlers would ignore SIGTERM (its reactor has
    stopped): the delivery installs its own, so the signal stops it at once."""
    from tests.receivers import SilentReceiver

    outlet = GatedOutlet(2, open_for=10**9)
    db_url = f"sqlite:///{tmp_path / 'nw.db'}"
    log = tmp_path / "crawl.log"
    try:
        with SilentReceiver() as silent:
            config = alerts_config(tmp_path, db_url, {"hook": {"webhook": silent.url,
                                                               "timeout": 600}},
                                   outlet_url=outlet.site.url + "/ai/")
            raw = yaml.safe_load(config.read_text())
            raw["outlets"][0]["alert_on_first_crawl"] = True
            config.write_text(yaml.safe_dump(raw, allow_unicode=True))
            proc, took = stop_during_send(silent, config, "crawl", log=log)
    finally:
        outlet.close()
    output = flat(log.read_text())
    print(f"crawl exited {took:.2f}s after SIGTERM during its delivery (bound {STOP_BOUND:g}s)")
    assert proc.returncode == 0, output
    assert took < STOP_BOUND * CI_MARGIN
    assert "stopped by a signal; 2 alerts still pending; they go out on the next run" in output
    assert [(r["status"], r["attempts"], r["next_attempt_at"]) for r in ledger(db_url)] == [
        ("pending", 0, None)] * 2


# --------------------------------------------------------------------------- item 8


def test_a_sender_killed_mid_send_resends_with_the_same_identity(db_url: str,
                                                                  tmp_path: Path) -> None:
    """kill -9 of the sender while a webhook and an SMTP server hold the alert unanswered; after
    the lease a new run sends each again with the same Idempotency-Key / Message-ID."""
    import time
    from datetime import UTC, datetime

    from tests.receivers import SmtpSink

    plan_alerts(db_url, 1, channels=("hook", "mail"))
    hold = threading.Event()
    log = tmp_path / "send.log"
    with WebhookReceiver(secret=SECRET, hold=hold) as hook, SmtpSink(hold=hold) as smtp:
        config = alerts_config(tmp_path, db_url, {
            "hook": {"webhook": hook.url, "secret": SECRET, "timeout": 10},
            "mail": {"email": "desk@example.com", "smtp": f"smtp://127.0.0.1:{smtp.port}",
                     "from": "newswatch@example.com", "timeout": 10}})
        try:
            for got in (lambda: hook.received, lambda: smtp.mails):  # the hook's alert first
                proc = cli_process(config, "alerts", "--send", log=log)
                try:
                    wait_until(lambda: len(got()) == 1, "the receiver has the alert")  # noqa: B023
                finally:
                    kill_group(proc)  # mid-send: the receiver has not answered
            assert proc.returncode == -signal.SIGKILL
            rows = ledger(db_url)
            assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 0)] * 2
            lease_end = max(r["next_attempt_at"] for r in rows)
            wait_until(lambda: datetime.now(UTC) > lease_end, "the leases of the killed sends",
                       limit=120)
            time.sleep(0.1)
            hold.set()  # the receivers answer from now on
            result = run_cli(config, "alerts", "--send")
            assert "alerts: 2 sent, 0 failed" in flat(result.stderr), result.stderr
        finally:
            hold.set()
    assert len(hook.received) == 2 and len(smtp.mails) == 2  # at-least-once: twice each ...
    keys = {r.headers["Idempotency-Key"] for r in hook.received}
    uids = {r.json["alert_uid"] for r in hook.received}
    assert len(keys) == 1 and keys == uids and all(r.signature_ok for r in hook.received)
    message_ids = {m.message["Message-ID"] for m in smtp.mails}
    assert len(message_ids) == 1  # ... with one identity each, for the receiver to drop the copy
    [mail_uid] = [r["uid"] for r in ledger(db_url) if r["channel"] == "mail"] or [None]
    assert message_ids == {f"<newswatch.{mail_uid}@example.com>"} and keys != {mail_uid}
    assert [(r["status"], r["attempts"]) for r in ledger(db_url)] == [("sent", 1)] * 2


def test_a_bad_delivery_budget_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    from newswatch.alerts.sender import budget_from_env

    assert budget_from_env({}) == 300 and budget_from_env({"NEWSWATCH_DELIVERY_BUDGET": "2m"}) == 120
    config = alerts_config(tmp_path, f"sqlite:///{tmp_path / 'nw.db'}",
                           {"hook": {"webhook": "http://127.0.0.1:9/hook"}})
    result = subprocess.run([sys.executable, "-m", "newswatch.cli", "alerts", "--send",
                             "--config", str(config)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "NEWSWATCH_DELIVERY_BUDGET": "soon"}, timeout=120)
    assert result.returncode == 2
    assert flat(result.stderr) == ("error: $NEWSWATCH_DELIVERY_BUDGET: bad duration 'soon' "
                                   "(use e.g. 90s, 15m, 2h, 1d)")
