"""Two real processes record the same texts from different URLs at the same moment."""

from __future__ import annotations

from newswatch.storage.db import connect
from tests.storage_samples import ARTICLE_A, ARTICLE_B, ARTICLE_EN, record_in_child, run_children

pytest_plugins = ["tests.storage_fixtures"]

ROUNDS = [ARTICLE_A, ARTICLE_B, ARTICLE_EN, ARTICLE_A + "\n补充：模型已上线。"]


def test_two_processes_same_text_end_with_one_story_each(db_url: str) -> None:
    results = run_children(record_in_child, [
        (db_url, [(f"outlet{p}", f"https://p{p}.example/{i}", text)
                  for i, text in enumerate(ROUNDS)])
        for p in (1, 2)])
    assert all(status == "ok" for status, _ in results), results
    first, second = (outcomes for _, outcomes in results)
    for (sid1, o1), (sid2, o2) in zip(first, second, strict=True):
        assert sid1 == sid2
        assert sorted([o1, o2]) in (["duplicate", "new"], ["changed", "duplicate"],
                                    ["duplicate", "duplicate"])

    store = connect(db_url)
    stories = store.list_stories()
    store.close()
    assert len(stories) == 3  # A (with its update), B, EN
    for story in stories:
        assert sorted(story["outlets"]) == ["outlet1", "outlet2"]
    by_urls = sorted(sorted(s["urls"]) for s in stories)
    assert ["https://p1.example/1", "https://p2.example/1"] in by_urls
    assert ["https://p1.example/2", "https://p2.example/2"] in by_urls
    assert ["https://p1.example/0", "https://p1.example/3",
            "https://p2.example/0", "https://p2.example/3"] in by_urls
