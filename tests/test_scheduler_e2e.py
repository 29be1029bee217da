"""End to end: the daemon SIGKILLed mid-crawl and restarted loses no story and sends no alert
twice. Real parts: a local HTTP outlet, the real `newswatch crawl` in a child process, storage
on a SQLite file, the alert planner, the sender and a local webhook receiver."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from newswatch.storage.db import connect
from tests.localsite import LocalSite, Page
from tests.pages import article_html, listing_html
from tests.receivers import WebhookReceiver

ROOT = Path(__file__).resolve().parents[1]
N_ARTICLES = 12
SECRET = "e2e-hook-secret"

# The daemon with its real crawl command (`newswatch crawl --outlet local --no-deliver` in a
# child process); only its timings are shortened.
DAEMON = r'''
import sys
from newswatch.scheduler.daemon import DaemonOptions, run_daemon
config, delivery = sys.argv[1], float(sys.argv[2])
sys.exit(run_daemon(config, options=DaemonOptions(
    startup_stagger=0, grace=5, delivery_interval=delivery, crawl_timeout=300)))
'''

WORDS = ("芯片", "算力", "数据", "训练", "推理", "开源", "企业", "用户", "市场", "价格", "政策",
         "监管", "应用", "平台", "手机", "汽车", "机器人", "搜索", "广告", "云计算", "安全",
         "医疗", "教育", "金融", "工厂", "能源", "视频", "语音", "翻译", "编程")


def story_paragraphs(i: int) -> list[str]:
    """Distinct text per article (no near-duplicates), each mentioning 大模型 once."""
    rng = random.Random(i)
    paragraphs = []
    for k in range(6):
        words = [rng.choice(WORDS) for _ in range(14)]
        if k == 2:
            words.insert(5, "大模型")
        paragraphs.append(f"第{i}篇第{k}段：" + "、".join(words) + "等方面都有新的进展。")
    return paragraphs


def wait_until(predicate, what: str, limit: float = 180.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.1)


def stored(db_file: Path) -> int:
    """Stories committed so far (read with plain sqlite3, as another process would)."""
    if not db_file.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db_file, timeout=30)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


def start_daemon(config: Path, delivery: float, log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen([sys.executable, "-c", DAEMON, str(config), str(delivery)],
                                cwd=ROOT, stdout=out, stderr=out,
                                env=dict(os.environ))


def test_sigkill_mid_crawl_then_restart_loses_no_story_and_sends_no_alert_twice(
        tmp_path: Path) -> None:
    site = LocalSite()
    paths = [f"/news/2026/{i}.html" for i in range(N_ARTICLES)]
    site.set("/ai/", listing_html(paths))
    for i, path in enumerate(paths):
        html = article_html(f"大模型新闻第{i}篇", story_paragraphs(i), meta_charset="utf-8")
        site.set(path, Page(body=html.encode(), delay=0.3))  # a slow outlet: room to kill
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    log = tmp_path / "daemon.log"
    with WebhookReceiver(secret=SECRET) as hook:
        config = tmp_path / "newswatch.yaml"
        config.write_text(yaml.safe_dump({
            "database": db,
            "politeness": {"concurrency_per_domain": 1, "download_delay": 0.5,
                           "autothrottle": False},
            "outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                         "article_url": r"/news/\d{4}/", "render": "never", "interval": "1h",
                         "alert_on_first_crawl": True}],
            "watches": [{"name": "llm", "terms": ["大模型"]}],
            "notify": {"hook": {"webhook": hook.url, "secret": SECRET, "timeout": 5}},
        }, allow_unicode=True))
        try:
            # 1. first daemon: no delivery pass during the crawl (none in flight at the kill)
            first = start_daemon(config, 3600, log)
            served = lambda: sum(1 for h in site.hits if h.path in paths and h.status == 200)  # noqa: E731
            wait_until(lambda: stored(tmp_path / "nw.db") >= 2, "two stories stored")
            assert served() < N_ARTICLES, "the crawl finished before the kill"
            first.send_signal(signal.SIGKILL)
            first.wait(30)
            store = connect(db)
            stored_before = len(store.list_stories())
            store.close()
            assert 1 <= stored_before < N_ARTICLES
            assert hook.received == []

            # 2. restart: the unfinished crawl runs again at once; the daemon delivers
            second = start_daemon(config, 0.3, log)
            wait_until(lambda: len(hook.received) >= N_ARTICLES, "an alert for every story")
            wait_until(lambda: "crawl local: end after" in log.read_text(), "the crawl's end")
            time.sleep(2.0)  # several more delivery passes: nothing may be sent again
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0, log.read_text()
        finally:
            for proc in ("first", "second"):
                p = locals().get(proc)
                if p is not None and p.poll() is None:
                    p.kill()
            site.close()
    text = log.read_text()
    assert "crawl local: end after" in text and "ok" in text.split("crawl local: end after")[-1]
    store = connect(db)
    stories = store.list_stories()
    store.close()
    assert sorted(s["title"] for s in stories) == sorted(f"大模型新闻第{i}篇" for i in range(N_ARTICLES))
    payloads = [r.json for r in hook.received]
    assert all(r.signature_ok for r in hook.received)
    assert len(payloads) == N_ARTICLES
    assert Counter(p["story"]["id"] for p in payloads).most_common(1)[0][1] == 1
    assert len({p["alert_id"] for p in payloads}) == N_ARTICLES
