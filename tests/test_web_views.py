"""What the dashboard works out from stored data: the "went silent" rule and the inline diff
(changed English words, changed Chinese characters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newswatch.matching.diff import diff_tokens, inline_diff
from newswatch.web.views import history, silent_warning

NOW = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)


def run(**counts: int) -> dict:
    base = {"fetched": 10, "not_modified": 0, "new": 0, "changed": 0, "unchanged": 0,
            "duplicate": 0, "skipped": 0, "errors": 0}
    return {**base, **counts, "started_at": NOW - timedelta(minutes=5), "ended_at": NOW}


def test_an_outlet_goes_silent_when_every_page_fails_or_nothing_new_comes_for_long() -> None:
    fresh = NOW - timedelta(hours=2)
    assert silent_warning({"run": run(new=2, unchanged=8), "last_new": fresh}, 3600, NOW) is None
    failing = silent_warning({"run": run(errors=6, skipped=4), "last_new": fresh}, 3600, NOW)
    assert failing == "went silent: every page of the last crawl failed or was skipped (10)"
    old = NOW - timedelta(days=3)
    quiet = silent_warning({"run": run(not_modified=10), "last_new": old}, 3600, NOW)
    assert quiet == "went silent: no new story for 3.0 days (72 crawl intervals)"
    # a daily outlet is not silent after three days (8 intervals), nor is one never crawled
    assert silent_warning({"run": run(not_modified=10), "last_new": old}, 86400, NOW) is None
    assert silent_warning({"run": None, "last_new": old}, 3600, NOW) is None


def test_inline_diff_marks_words_in_english_and_characters_in_chinese() -> None:
    assert diff_tokens("GPT-4o 模型，") == ["GPT", "-", "4o", " ", "模", "型", "，"]
    assert inline_diff("It was trained on GPUs.", "It was tested on GPUs.") == [
        ("equal", "It was "), ("delete", "trained"), ("insert", "tested"), ("equal", " on GPUs.")]
    assert inline_diff("成交额超过三十万元。", "成交额超过五十万元。") == [
        ("equal", "成交额超过"), ("delete", "三"), ("insert", "五"), ("equal", "十万元。")]
    old, new = "第一段。\n第二段。\n", "第一段。\n新的一段。\n第二段。\n"
    pieces = inline_diff(old, new)
    assert "".join(t for op, t in pieces if op != "delete") == new
    assert "".join(t for op, t in pieces if op != "insert") == old
    assert inline_diff("same", "same") == [("equal", "same")]


def test_history_is_newest_first_with_a_diff_from_the_revision_before() -> None:
    t = NOW
    story = {"history": [
        {"id": 1, "title": "A", "text": "one two", "content_hash": "h1", "first_seen": t},
        {"id": 2, "title": "A", "text": "one three", "content_hash": "h2", "first_seen": t},
        {"id": 3, "title": "B", "text": "one three", "content_hash": "h3", "first_seen": t},
    ]}
    revs = history(story)
    assert [r["number"] for r in revs] == [3, 2, 1]
    assert revs[0]["title_diff"] == [["delete", "A"], ["insert", "B"]]
    assert revs[0]["text_changed"] is False
    assert revs[1]["diff"] == [["equal", "one "], ["delete", "two"], ["insert", "three"]]
    assert revs[2]["diff"] == [["insert", "one two"]] and revs[2]["title_diff"] is None
