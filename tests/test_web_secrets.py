"""Story URLs that carry a secret are masked wherever the dashboard shows them, as the command
line masks its output (``newswatch/secrets.py``): an outlet's ``${VAR}`` value (a keyed feed's
links) and a URL's password, in pages, the JSON API and the Atom feeds."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import requests

from newswatch.config import parse_config
from newswatch.storage.db import connect
from newswatch.web.server import DashboardThread
from tests.storage_samples import Art

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
PASSWORD = "hunter2-" + secrets.token_hex(4)


def test_secret_story_urls_are_masked_in_pages_api_and_feeds(tmp_path, monkeypatch) -> None:
    key = "feedkey" + secrets.token_hex(8)
    monkeypatch.setenv("NW_TEST_FEED_KEY", key)
    config = parse_config({
        "database": f"sqlite:///{tmp_path}/masked.db",
        "outlets": [{"name": "keyed", "start_urls": ["https://keyed.example/news/"],
                     "feeds": ["https://keyed.example/feed.xml?key=${NW_TEST_FEED_KEY}"]}],
    }, source="test")
    keyed_url = f"https://keyed.example/news/1.html?key={key}&utm=feed"
    paywalled_url = f"https://reader:{PASSWORD}@keyed.example/news/2.html"
    store = connect(config.database)
    try:
        first = store.record_article("keyed", keyed_url, Art(
            f"模型发布。\n原文链接：{keyed_url}", title="新模型发布"), T0).story_id
        second = store.record_article("keyed", paywalled_url, Art(
            "算力卡出货翻番，交付排到三个月后。", title="算力卡"), T0).story_id
        assert store.list_stories()[0]["url"] in (keyed_url, paywalled_url)  # stored as found
        with DashboardThread(config, "127.0.0.1", 0, store=store) as web:
            shown = {path: requests.get(web.url + path, timeout=30) for path in (
                "/", f"/stories/{first}", f"/stories/{second}", "/api/stories",
                f"/api/stories/{first}", f"/api/stories/{second}", "/api/events",
                "/feeds/all.atom", "/feeds/outlet/keyed.atom")}
    finally:
        store.close()
    for path, response in shown.items():
        assert response.status_code == 200, (path, response.text)
        assert key not in response.text and PASSWORD not in response.text, path

    rows = {row["id"]: row for row in shown["/api/stories"].json()["stories"]}
    assert rows[first]["url"] == "https://keyed.example/news/1.html?key=***&utm=feed"
    assert rows[first]["urls"] == [rows[first]["url"]]
    assert rows[second]["url"] == "https://reader:***@keyed.example/news/2.html"
    detail = shown[f"/api/stories/{first}"].json()
    assert [loc["url"] for loc in detail["locations"]] == [rows[first]["url"]]
    assert "原文链接：https://keyed.example/news/1.html?key=***&utm=feed" in detail["text"]
    page = shown[f"/stories/{second}"].text
    assert 'href="https://reader:***@keyed.example/news/2.html"' in page
    assert "key=***&amp;utm=feed" in shown["/feeds/all.atom"].text  # the text quoting it


def test_json_api_masks_what_it_writes_however_json_escapes_it() -> None:
    """The API writes its JSON once and walks the data to mask it only when the JSON could
    hold a secret (``secrets.could_reveal``): a secret, a URL password after an escaped
    newline, and a secret holding characters JSON escapes are all masked; data holding none is
    written as it is."""
    import json

    from newswatch.secrets import register_secret
    from newswatch.web.api import PlainJSON

    def shown(data: object) -> object:
        return json.loads(PlainJSON(data).body)

    clean = {"stories": [{"id": 1, "title": "模型", "published": T0, "url": "https://a.example/1"}]}
    assert shown(clean) == {"stories": [{**clean["stories"][0], "published": T0.isoformat()}]}
    plain = "plainkey" + secrets.token_hex(6)
    register_secret(plain)
    assert shown({"a": [{"text": f"x {plain} y"}]}) == {"a": [{"text": "x *** y"}]}
    assert shown({"t": f"line\nhttps://u:{PASSWORD}@h.example/"}) == {
        "t": "line\nhttps://u:***@h.example/"}
    escaped = 'quo"ted\\' + secrets.token_hex(6)
    register_secret(escaped)
    assert shown({"t": [f"<{escaped}>"]}) == {"t": ["<***>"]}
