"""Starting the dashboard for real: ``newswatch serve`` as a process (refuses a public host
without a token; stops on SIGTERM), ``run_daemon(serve=...)`` (the dashboard lives and dies
with the daemon), ``newswatch watch test|backfill``, and the demo's way in: ``newswatch demo``
then ``newswatch serve --config <the demo's config>`` shows its stories, a diff and a feed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import feedparser
import requests
from sqlalchemy import func, select

from newswatch.scheduler.daemon import run_daemon
from newswatch.storage.db import connect
from newswatch.storage.models import Alert, Match
from tests.conftest import ROOT
from tests.receivers import WebhookReceiver, free_port
from tests.web_fixtures import WATCHES, dashboard_config, fill


def wait_for(url: str, proc: subprocess.Popen[str] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stderr.read()}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {timeout}s")


def closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def start_serve(config: Path, port: int, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "NEWSWATCH_DATABASE_URL"}
    return subprocess.Popen([sys.executable, "-m", "newswatch.cli", "serve", "--config",
                             str(config), "--port", str(port)], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_refuses_a_public_host_without_a_token(write_config, cli) -> None:
    config = write_config({"outlets": []})
    done = cli("serve", "--config", str(config), "--host", "0.0.0.0")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--host 0.0.0.0 is not loopback: set serve.token" in lines[0]
    short = write_config({"outlets": [], "serve": {"token": "abc"}}, name="short.yaml")
    done = cli("serve", "--config", str(short), "--host", "0.0.0.0")
    assert done.returncode == 2 and "serve.token: too short" in done.stderr


def test_demo_then_serve_shows_stories_a_diff_and_a_feed(tmp_path: Path, cli) -> None:
    demo = cli("demo", "--database", f"sqlite:///{tmp_path / 'demo' / 'demo.db'}",
               cwd=tmp_path, env={"COLUMNS": "200"})
    assert demo.returncode == 0, demo.stderr
    said = re.search(r"newswatch serve --config (\S+)", demo.stdout)
    assert said, demo.stdout
    config = Path(said.group(1))
    assert config == tmp_path / "demo" / "newswatch-demo.yaml" and config.is_file()
    port = free_port()
    server = start_serve(config, port, cwd=ROOT)  # another folder: the paths are absolute
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/", server)
        page = requests.get(base + "/", timeout=30).text
        assert "9 stories" in page and "數字人主播連播七小時" in page and "通义千问" in page
        stories = requests.get(base + "/api/stories?kind=updated", timeout=30).json()["stories"]
        assert [s["revisions"] for s in stories] == [2]
        detail = requests.get(f"{base}/api/stories/{stories[0]['id']}", timeout=30).json()
        inserted = "".join(t for op, t in detail["history"][0]["diff"] if op == "insert")
        assert "国产算力集群" in inserted
        assert "<ins>" in requests.get(f"{base}/stories/{stories[0]['id']}", timeout=30).text
        feed = feedparser.parse(requests.get(base + "/feeds/all.atom", timeout=30).content)
        assert not feed.bozo and len(feed.entries) == 9
        assert [e.title for e in feedparser.parse(requests.get(
            base + "/feeds/watch/qwen.atom", timeout=30).content).entries]
    finally:
        stop(server)
    assert server.returncode in (0, -signal.SIGTERM) and closed(port)


def test_the_daemon_serves_the_dashboard_until_it_stops(tmp_path: Path, write_config) -> None:
    config = write_config({"outlets": [{"name": "quiet", "start_urls": ["http://127.0.0.1:9/"],
                                        "interval": "1d"}]})
    port = free_port()
    stop_event = threading.Event()
    codes: list[int] = []
    daemon = threading.Thread(target=lambda: codes.append(run_daemon(
        str(config), stop_event=stop_event, serve=("127.0.0.1", port),
        crawl_command=lambda _c, _o: [sys.executable, "-c", "pass"])))
    daemon.start()
    try:
        wait_for(f"http://127.0.0.1:{port}/outlets")
        page = requests.get(f"http://127.0.0.1:{port}/outlets", timeout=30).text
        assert "quiet" in page
    finally:
        stop_event.set()
        daemon.join(timeout=60)
    assert codes == [0] and closed(port)
    assert not [t for t in threading.enumerate() if t.name == "newswatch-web"]


def test_watch_test_and_backfill_over_stored_stories(tmp_path: Path, write_config, cli) -> None:
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    store = connect(db)
    try:
        fill(store, dashboard_config(db))  # stored before the watch "chips" existed
    finally:
        store.close()
    with WebhookReceiver() as hook:
        config = write_config({
            "database": db, "outlets": [],
            "watches": WATCHES + [{"name": "chips", "terms": ["算力", "GPT-4o"],
                                   "outlets": ["beta"], "notify": ["hook"]}],
            "notify": {"hook": {"webhook": hook.url}},
        })
        listed = cli("watch", "test", "chips", "--config", str(config), env={"COLUMNS": "200"})
        assert listed.returncode == 0, listed.stderr
        assert "2 stories match today" in listed.stdout
        assert "算力卡" in listed.stdout and "GPT-4o for everyone" in listed.stdout
        recorded = cli("watch", "backfill", "chips", "--config", str(config))
        assert recorded.returncode == 0, recorded.stderr
        assert "2 stories matched and recorded; 0 alert(s) queued" in recorded.stdout
        again = cli("watch", "backfill", "chips", "--config", str(config), "--alert",
                    "--since", "2000-01-01")
        assert again.returncode == 0, again.stderr
        assert "2 alert(s) queued" in again.stdout
        for _ in range(100):
            if len(hook.received) >= 2:
                break
            time.sleep(0.1)
        assert len(hook.received) == 2
        twice = cli("watch", "backfill", "chips", "--config", str(config), "--alert")
        assert "0 alert(s) queued" in twice.stdout  # the ledger already has them
        unknown = cli("watch", "test", "nope", "--config", str(config))
        assert unknown.returncode == 2 and "no watch named 'nope'" in unknown.stderr
    store = connect(db)
    try:
        with store.reading() as session:
            assert session.scalar(select(func.count()).select_from(Match)
                                  .where(Match.watch == "chips")) == 2
            assert session.scalar(select(func.count()).select_from(Alert)
                                  .where(Alert.watch == "chips", Alert.status == "sent")) == 2
    finally:
        store.close()
