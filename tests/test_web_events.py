"""The dashboard, JSON API and Atom feeds over grouped stories (real server, SQLite and
PostgreSQL): the same three stories from a Chinese and an English outlet show as three events,
each story with its translation folded beneath, and entity facets count parents too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser
import pytest
import requests

from newswatch.config import parse_config
from newswatch.crawler.grouping import GroupingStep
from newswatch.storage.db import connect
from newswatch.web.server import DashboardThread
from tests.events_site import ORDINARY, STORIES
from tests.storage_samples import Art

FETCHED = datetime(2026, 9, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def grouped(db_url: str) -> Iterator[str]:
    config = parse_config({"database": db_url, "events": {"encoder": "lexical"},
                           "outlets": [{"name": n, "start_urls": ["http://127.0.0.1:9/"]}
                                       for n in ("zh-news", "en-news")]}, source="test")
    store = connect(db_url)
    try:
        step = GroupingStep.from_config(config)
        for lang in ("zh", "en"):
            for key, zt, zp, et, ep, published in STORIES:
                title, paragraphs = (zt, zp) if lang == "zh" else (et, ep)
                store.record_article(f"{lang}-news", f"https://{lang}.example/{key}",
                                     Art("\n".join(paragraphs), title,
                                         datetime.fromisoformat(published), None, lang),
                                     FETCHED, group=step.for_outlet(f"{lang}-news"))
        store.record_article("en-news", "https://en.example/r1",
                             Art("\n".join(ORDINARY[1]), ORDINARY[0], FETCHED, None, "en"),
                             FETCHED, group=step.for_outlet("en-news"))
        with DashboardThread(config, "127.0.0.1", 0, store=store) as web:
            yield web.url
    finally:
        store.close()


def get(url: str) -> requests.Response:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return response


def test_api_groups_stories_by_event_with_entity_facets(grouped: str) -> None:
    page = get(grouped + "/api/stories").json()
    assert page["total"] == 7
    assert len(page["events"]) == 4  # three events of two stories, and the road story alone
    pairs = [g for g in page["events"] if g["copies"]]
    assert len(pairs) == 3
    for g in pairs:
        [copy] = g["copies"]
        assert {g["story"]["language"], copy["language"]} == {"zh", "en"}
        assert sorted(g["languages"]) == ["en", "zh"]
        assert copy["id"] != g["story"]["id"] and g["story"]["event_id"] == g["event_id"]
    facets = {f["id"]: f["stories"] for f in page["facets"]["entities"]}
    assert facets["deepseek"] == 6 and "deepseek-r1" not in facets  # "R1" road: no entity

    only = get(grouped + "/api/stories?entity=DeepSeek").json()
    assert only["total"] == 6 and len(only["events"]) == 3
    event_id = pairs[0]["event_id"]
    one = get(grouped + f"/api/stories?event={event_id}").json()
    assert one["total"] == 2

    events = get(grouped + "/api/events").json()
    assert events["total"] == 4
    assert sorted(e["story_count"] for e in events["events"]) == [1, 2, 2, 2]
    assert get(grouped + "/api/events?entity=deepseek").json()["total"] == 3
    first = next(e for e in events["events"] if e["id"] == event_id)
    assert "deepseek" in first["entities"] and sorted(first["languages"]) == ["en", "zh"]
    spec = get(grouped + "/api/openapi.json").json()
    assert "/api/events" in spec["paths"]


def test_dashboard_folds_copies_and_links_facets(grouped: str) -> None:
    body = get(grouped + "/").text
    assert body.count('class="copies"') == 3
    assert "?entity=deepseek" in body and "DeepSeek <span class=\"num\">6</span>" in body
    filtered = get(grouped + "/?entity=deepseek").text
    assert ORDINARY[0] not in filtered and filtered.count('class="copies"') == 3


def test_feed_has_one_entry_per_event_listing_the_copies(grouped: str) -> None:
    parsed = feedparser.parse(get(grouped + "/feeds/all.atom").content)
    assert not parsed.bozo
    assert len(parsed.entries) == 4
    with_copies = [e for e in parsed.entries if "The same news elsewhere" in e.content[0].value]
    assert len(with_copies) == 3
    terms = {t.term for e in with_copies for t in e.tags}
    assert "entity:deepseek" in terms and any(t.startswith("event:") for t in terms)
