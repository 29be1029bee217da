"""Alerts that go wrong under faults (issue 9, items 5-8), with real parts: a local outlet, the
real ``newswatch`` CLI in child processes killed or stopped with real signals, SQLite files and
PostgreSQL schemas, and real receivers (webhook, SMTP, a socket that never answers)."""

from __future__ import annotations

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


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
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


def test_migration_marks_outlets_with_stored_urls_past_their_baseline(db_url: str) -> None:
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
    old = Store(engine)  # the 0005 schema has what record_article writes
    old.record_article("old", "https://old.example/1", Art(ARTICLE_A), datetime.now(UTC))
    old.close()
    s = connect(db_url)
    try:
        with s.reading() as session:
            assert not first_crawl(session, "old") and first_crawl(session, "new")
    finally:
        s.close()
