"""Atom feeds over HTTP, read back with feedparser: one entry per story; an edit replaces the
story's entry (new content, later ``updated``) instead of adding one; watch and outlet feeds."""

from __future__ import annotations

from datetime import timedelta

import feedparser
import requests

from tests.storage_samples import Art
from tests.web_fixtures import EN_V2, T0, Dashboard


def feed(dash: Dashboard, path: str) -> feedparser.FeedParserDict:
    response = requests.get(dash.url + path, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert b"<script>" not in response.content  # titles and text are escaped in the XML
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    return parsed


def test_all_feed_has_one_entry_per_story_and_an_edit_replaces_it(dashboard: Dashboard) -> None:
    ids = dashboard.ids
    before = feed(dashboard, "/feeds/all.atom")
    assert len(before.entries) == 4
    by_id = {e.id: e for e in before.entries}
    entry = by_id[f"tag:newswatch,2026:story:{ids['en']}"]
    assert entry.title == "GPT-4o for everyone"
    assert entry.link == f"{dashboard.url}/stories/{ids['en']}"
    assert "tested on text" in entry.content[0].value
    assert {t.term for t in entry.tags} == {"outlet:beta", "outlet:alpha", "watch:gpt"}
    hostile = by_id[f"tag:newswatch,2026:story:{ids['hostile']}"]
    assert [link.href for link in hostile.links] == [f"{dashboard.url}/stories/{ids['hostile']}"]
    assert [e.id for e in before.entries][0].endswith(f":{ids['en']}")  # newest change first

    edit = dashboard.store.record_article(
        "beta", "https://beta.example/gpt-4o",
        Art(EN_V2 + "\nIt now also runs on phones.", title="GPT-4o for everyone, on phones",
            language="en"), T0 + timedelta(days=3))
    assert edit.outcome == "changed"
    after = feed(dashboard, "/feeds/all.atom")
    assert len(after.entries) == 4  # replaced, not added
    updated = {e.id: e for e in after.entries}[entry.id]
    assert updated.title == "GPT-4o for everyone, on phones"
    assert "runs on phones" in updated.content[0].value
    assert updated.updated_parsed > entry.updated_parsed
    assert updated.published_parsed == entry.published_parsed


def test_watch_and_outlet_feeds(dashboard: Dashboard) -> None:
    ids = dashboard.ids
    digital = feed(dashboard, "/feeds/watch/digital.atom")
    assert [e.id for e in digital.entries] == [f"tag:newswatch,2026:story:{ids['zh']}"]
    assert digital.feed.title == "newswatch: watch digital"
    beta = feed(dashboard, "/feeds/outlet/beta.atom")
    assert {e.id.rsplit(":", 1)[1] for e in beta.entries} == {str(ids["en"]), str(ids["plain"])}
    assert requests.get(dashboard.url + "/feeds/watch/nope.atom", timeout=30).status_code == 404
    assert requests.get(dashboard.url + "/feeds/outlet/nope.atom", timeout=30).status_code == 404
