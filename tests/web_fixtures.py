"""A dashboard to test against: a real store (SQLite file or a PostgreSQL schema) holding a few
stories written through the crawl's own path (``record_article`` with the alert planner as its
hook), a crawl run (alpha's hit its ``max_new_articles`` cap), an alert, one story whose title, text and URL carry script payloads, and the
real server (uvicorn) on 127.0.0.1 in a thread, stopped at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from newswatch import clock
from newswatch.alerts.planner import AlertPlanner
from newswatch.config import Config, parse_config
from newswatch.storage.db import connect
from newswatch.storage.models import Alert
from newswatch.web.server import DashboardThread
from tests.storage_samples import Art

# three days ago, so the outlets' health is judged as of today; the dashboard's clock is held at
# NOW (``$NEWSWATCH_NOW``), so "went silent" does not depend on the hour the tests run at
T0 = (datetime.now(UTC) - timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)
NOW = T0 + timedelta(days=3)
ZH_V1 = ("晚上八點，直播間裡的數字人主播準時開口，語速平穩、表情自然。\n"
         "這場直播連續進行了七個小時，成交額超過三十萬元。")
ZH_V2 = ("晚上八點，直播間裡的數字人主播準時開口，語速平穩、表情自然。\n"
         "這場直播連續進行了九個小時，成交額超過五十萬元。")
EN_TEXT = ("OpenAI ships GPT-4o to every user of its chat app.\n"
           "The model was trained on text, images and audio together.")
EN_V2 = ("OpenAI ships GPT-4o to every user of its chat app.\n"
         "The model was tested on text, images and audio together.")
HOSTILE_TITLE = "<script>alert('title')</script><img src=x onerror=alert('img')>"
HOSTILE_TEXT = ("<script>alert(document.cookie)</script> 模型评测\n"
                "<a href=\"javascript:alert('link')\">click</a> \" onerror=\"alert('attr')\n"
                "<svg onload=alert('svg')></svg> javascript:alert('plain')")
HOSTILE_URL = "javascript:alert('url')"

WATCHES = [
    {"name": "digital", "terms": ["数字人"]},
    {"name": "gpt", "regex": [r"GPT-?4o?\b"]},
]


@dataclass
class Dashboard:
    url: str
    config: Config
    store: Any
    ids: dict[str, int]


def dashboard_config(db_url: str, token: str | None = None) -> Config:
    raw: dict[str, Any] = {
        "database": db_url,
        "outlets": [{"name": "alpha", "start_urls": ["http://127.0.0.1:9/a/"], "interval": "1h"},
                    {"name": "beta", "start_urls": ["http://127.0.0.1:9/b/"], "interval": "1h"}],
        "watches": WATCHES,
    }
    if token:
        raw["serve"] = {"token": token}
    return parse_config(raw, source="test")


def fill(store: Any, config: Config) -> dict[str, int]:
    """The sample stories, a crawl run and an alert; returns name -> story id."""
    planner = AlertPlanner(config.watch_rules)
    alpha, beta = planner.for_outlet("alpha"), planner.for_outlet("beta")
    ids = {}
    ids["zh"] = store.record_article("alpha", "https://alpha.example/news/1.html",
                                     Art(ZH_V1, title="數字人主播連播七小時"), T0, alpha).story_id
    store.record_article("alpha", "https://alpha.example/news/1.html",
                         Art(ZH_V2, title="數字人主播連播九小時"), T0 + timedelta(days=1), alpha)
    ids["en"] = store.record_article("beta", "https://beta.example/gpt-4o",
                                     Art(EN_TEXT, title="GPT-4o for everyone", language="en"),
                                     T0 + timedelta(hours=2), beta).story_id
    store.record_article("beta", "https://beta.example/gpt-4o",
                         Art(EN_V2, title="GPT-4o for everyone", language="en"),
                         T0 + timedelta(days=2), beta)
    store.record_article("alpha", "https://alpha.example/copy/gpt-4o",  # a syndicated copy
                         Art(EN_V2, title="GPT-4o for everyone", language="en"),
                         T0 + timedelta(days=2, hours=1), alpha)
    ids["hostile"] = store.record_article("alpha", HOSTILE_URL,
                                          Art(HOSTILE_TEXT, title=HOSTILE_TITLE),
                                          T0 + timedelta(hours=5), alpha).story_id
    ids["plain"] = store.record_article("beta", "https://beta.example/chips",
                                        Art("国产算力卡出货翻番，交付排到三个月后。", title="算力卡"),
                                        T0 + timedelta(hours=1), beta).story_id
    with store.transaction() as session:
        session.add(Alert(story_id=ids["hostile"], revision_id=_latest(store, ids["hostile"]),
                          watch="digital", channel="hook", event="new", status="failed",
                          attempts=3, last_error="<script>alert('error')</script> 502",
                          payload={"story": {"title": HOSTILE_TITLE}}))
    run = store.start_run(["alpha", "beta"])
    store.finish_run(run, {
        "alpha": {"outlet": "alpha", "fetched": 9, "not_modified": 4, "new": 3, "changed": 1,
                  "unchanged": 1, "duplicate": 0, "skipped": 1, "rendered": 0, "errors": 0,
                  "skip_reasons": {"needs a browser (render: never)": 1}, "error_samples": [],
                  "new_link_cap": 3, "capped": 7},
        "beta": {"outlet": "beta", "fetched": 3, "not_modified": 0, "new": 0, "changed": 0,
                 "unchanged": 0, "duplicate": 0, "skipped": 0, "rendered": 0, "errors": 3,
                 "skip_reasons": {}, "error_samples": ["HTTP 503 on https://beta.example/"]},
    })
    return ids


def _latest(store: Any, story_id: int) -> int:
    return store.story_revisions(story_id)[-1]["id"]


def start_dashboard(db_url: str, token: str | None = None) -> Iterator[Dashboard]:
    config = dashboard_config(db_url, token)
    store = connect(db_url)
    held = os.environ.get(clock.ENV)
    os.environ[clock.ENV] = NOW.isoformat()
    try:
        ids = fill(store, config)
        with DashboardThread(config, "127.0.0.1", 0, store=store) as web:
            yield Dashboard(web.url, config, store, ids)
    finally:
        store.close()
        if held is None:
            os.environ.pop(clock.ENV, None)
        else:
            os.environ[clock.ENV] = held


@pytest.fixture
def dashboard(db_url: str) -> Iterator[Dashboard]:
    """The dashboard on SQLite and on PostgreSQL."""
    yield from start_dashboard(db_url)


@pytest.fixture
def sqlite_dashboard(tmp_path) -> Iterator[Dashboard]:
    yield from start_dashboard(f"sqlite:///{tmp_path}/web.db")
