"""One daemon leads a database: real ``newswatch daemon`` processes on one SQLite file or one
PostgreSQL schema. The second says so in one line, crawls nothing while the first lives, and
takes over when the first is SIGKILLed (the outlet's interval is 4 s: without a leader both
daemons would crawl it every few seconds)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from pathlib import Path

import pytest
import yaml

from tests.lifetime_helpers import start_session, wait_until
from tests.localsite import LocalSite
from tests.pages import ZH_PARAGRAPHS, article_html, listing_html

pytest_plugins = ["tests.storage_fixtures"]

WAITING = "another daemon leads this database (pid {pid} on host {host}); waiting"


def daemon(config: Path, log: Path):
    env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_DATABASE_URL"}
    return start_session([sys.executable, "-m", "newswatch.cli", "daemon", "--config",
                          str(config)], log, env={**env, "NEWSWATCH_EXTRACT_WORKERS": "0"})


def one_outlet(db_url: str, tmp_path: Path) -> tuple[LocalSite, Path]:
    """A local site with one article, and a config crawling it every 4 s into ``db_url``."""
    site = LocalSite()
    site.set("/ai/", listing_html(["/news/2026/1.html"]))
    site.set("/news/2026/1.html", article_html("大模型发布", ZH_PARAGRAPHS, meta_charset="utf-8"))
    config = tmp_path / "newswatch.yaml"
    config.write_text(yaml.safe_dump({
        "database": db_url,
        "outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                     "article_url": r"/news/\d{4}/", "render": "never", "interval": "4s"}],
    }, allow_unicode=True))
    return site, config


def test_second_daemon_waits_for_the_leader_then_takes_over(db_url: str, tmp_path: Path) -> None:
    site, config = one_outlet(db_url, tmp_path)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = second = None
    try:
        first = daemon(config, first_log)
        wait_until(lambda: "crawl local: end after" in first_log.read_text(), "the first crawl",
                   limit=180)
        second = daemon(config, second_log)
        expected = WAITING.format(pid=first.pid, host=socket.gethostname())
        wait_until(lambda: expected in second_log.read_text() or second.poll() is not None,
                   "the second daemon's waiting line", limit=120)
        assert second.poll() is None, second_log.read_text()
        starts = first_log.read_text().count("crawl local: start")
        wait_until(lambda: first_log.read_text().count("crawl local: start") >= starts + 2,
                   "two more crawls by the leader", limit=180)  # the follower's chances to crawl
        assert "crawl local: start" not in second_log.read_text()

        first.send_signal(signal.SIGKILL)
        first.wait(30)
        wait_until(lambda: "crawl local: end after" in second_log.read_text()
                   or second.poll() is not None, "the second daemon's crawl", limit=180)
        text = second_log.read_text()
        assert second.poll() is None, text
        assert text.count("another daemon leads this database") == 1, text
        assert "this daemon leads the database now" in text
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, second_log.read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        site.close()


def _terminate_lock_session(db_url: str, pid: int) -> int:
    """End the PostgreSQL session holding daemon ``pid``'s leader lock, as a server restart
    would; the number of sessions ended."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            ended = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :name"),
                {"name": f"newswatch daemon pid {pid} on host {socket.gethostname()}"}).scalar()
            conn.commit()
            return int(ended or 0)
    finally:
        engine.dispose()


def _lock_waiters(db_url: str, keys: dict[str, int]) -> int:
    """Sessions waiting for the advisory lock of ``keys``."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = :c AND objid = :o AND objsubid = 2"), keys).scalar() or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_leader_notices_its_lock_gone_with_the_connection(db_url: str, tmp_path: Path) -> None:
    """The session holding the lock ends (a PostgreSQL restart does this): the daemon takes the
    lock again on a new connection and crawls on. When it ends again and another process takes
    the lock first, the daemon says who leads now and ends (exit 1) instead of leading beside it."""
    from sqlalchemy import text

    from newswatch.storage.db import connect
    from newswatch.storage.leader import Leadership

    site, config = one_outlet(db_url, tmp_path)
    log = tmp_path / "daemon.log"
    proc = store = other = None
    try:
        proc = daemon(config, log)
        wait_until(lambda: "crawl local: end after" in log.read_text() or proc.poll() is not None,
                   "the first crawl", limit=180)
        assert proc.poll() is None, log.read_text()
        assert _terminate_lock_session(db_url, proc.pid) == 1
        wait_until(lambda: "is taken again; crawls go on" in log.read_text()
                   or proc.poll() is not None, "the daemon taking its lock again", limit=120)
        assert proc.poll() is None, log.read_text()
        ends = log.read_text().count("crawl local: end after")
        wait_until(lambda: log.read_text().count("crawl local: end after") > ends
                   or proc.poll() is not None, "a crawl after the lock was taken again", limit=180)
        assert proc.poll() is None, log.read_text()

        # another process queues for the lock first (pg_advisory_lock waits), so the lock is
        # its own the moment the daemon's session ends: the daemon cannot win it back
        store = connect(db_url)
        other = store.engine.connect()
        other.execute(text("SELECT set_config('application_name', :n, false)"),
                      {"n": f"newswatch daemon pid {os.getpid()} on host {socket.gethostname()}"})
        keys = Leadership._pg_keys(other)
        waiter = threading.Thread(target=lambda: other.execute(
            text("SELECT pg_advisory_lock(:c, :o)"), keys))
        waiter.start()
        wait_until(lambda: _lock_waiters(db_url, keys) == 1, "this test waiting for the lock", limit=60)
        assert _terminate_lock_session(db_url, proc.pid) == 1
        waiter.join(60)
        assert not waiter.is_alive()
        assert proc.wait(120) == 1, log.read_text()
        text = log.read_text()
        assert (f"another daemon leads this database now (pid {os.getpid()} on host "
                f"{socket.gethostname()}): this one ends") in text, text
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if other is not None:
            other.invalidate()
            other.close()
        if store is not None:
            store.close()
        site.close()
