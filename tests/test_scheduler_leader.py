"""One daemon leads a database: real ``newswatch daemon`` processes on one SQLite file or one
PostgreSQL schema. The second says so in one line, crawls nothing while the first lives, and
takes over when the first is SIGKILLed (the outlet's interval is 4 s: without a leader both
daemons would crawl it every few seconds)."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

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


def test_second_daemon_waits_for_the_leader_then_takes_over(db_url: str, tmp_path: Path) -> None:
    site = LocalSite()
    site.set("/ai/", listing_html(["/news/2026/1.html"]))
    site.set("/news/2026/1.html", article_html("大模型发布", ZH_PARAGRAPHS, meta_charset="utf-8"))
    config = tmp_path / "newswatch.yaml"
    config.write_text(yaml.safe_dump({
        "database": db_url,
        "outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                     "article_url": r"/news/\d{4}/", "render": "never", "interval": "4s"}],
    }, allow_unicode=True))
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
