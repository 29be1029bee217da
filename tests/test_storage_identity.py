"""Store.record_article identity rules on SQLite and PostgreSQL (fixture db_url / store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from newswatch.storage.fingerprint import simhash
from newswatch.storage.models import Alert, Match, Story
from tests.storage_samples import ARTICLE_A, ARTICLE_B, ARTICLE_EN, Art

pytest_plugins = ["tests.storage_fixtures"]

T0 = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)


def test_new_then_unchanged(store) -> None:
    first = store.record_article("jiqizhixin", "https://a.example/1", Art(ARTICLE_A), T0)
    assert first.outcome == "new"
    again = store.record_article("jiqizhixin", "https://a.example/1", Art(ARTICLE_A), T0)
    assert again == type(first)(first.story_id, first.revision_id, "unchanged")


def test_whitespace_or_punctuation_only_change_is_unchanged(store) -> None:
    first = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0)
    relaid = ARTICLE_A.replace("，", ", ").replace("。", ".").replace("\n", "\n\n")
    result = store.record_article("o", "https://a.example/1", Art(relaid), T0 + timedelta(hours=1))
    assert (result.outcome, result.revision_id) == ("unchanged", first.revision_id)
    assert store.list_stories()[0]["revisions"] == 1


def test_changed_text_adds_a_revision(store) -> None:
    first = store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title="旧"), T0)
    edited = ARTICLE_A.replace("两千块", "两千五百块")
    t1 = T0 + timedelta(hours=2)
    second = store.record_article("o", "https://a.example/1", Art(edited, title="新"), t1)
    assert second.outcome == "changed"
    assert second.story_id == first.story_id and second.revision_id != first.revision_id
    revisions = store.story_revisions(first.story_id)
    assert [r["text"] for r in revisions] == [ARTICLE_A, edited]
    assert revisions[0]["first_seen"] == T0 and revisions[1]["first_seen"] == t1
    (story,) = store.list_stories()
    assert (story["title"], story["text"], story["revisions"]) == ("新", edited, 2)
    assert story["last_changed"] == t1 and story["first_seen"] == T0
    # back to the first text: changed again, pointing at the stored first revision
    back = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), t1 + timedelta(hours=1))
    assert (back.outcome, back.revision_id) == ("changed", first.revision_id)
    assert store.list_stories()[0]["text"] == ARTICLE_A


def test_title_only_edit_is_a_revision(store) -> None:
    first = store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title="旧标题"), T0)
    t1, t2, t3 = (T0 + timedelta(hours=h) for h in (1, 2, 3))
    # case, punctuation or spacing of the title alone: unchanged
    same = store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title="旧标题！"), t1)
    assert (same.outcome, same.revision_id) == ("unchanged", first.revision_id)
    # an empty title (extraction found none) keeps the stored one
    assert store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title=""),
                                t1).outcome == "unchanged"
    retitled = store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title="新标题"), t1)
    assert retitled.outcome == "changed" and retitled.story_id == first.story_id
    assert retitled.revision_id != first.revision_id
    revisions = store.story_revisions(first.story_id)
    assert [(r["title"], r["text"]) for r in revisions] == [("旧标题", ARTICLE_A),
                                                            ("新标题", ARTICLE_A)]
    assert revisions[0]["content_hash"] != revisions[1]["content_hash"]
    (story,) = store.list_stories()
    assert (story["title"], story["revisions"], story["last_changed"]) == ("新标题", 2, t1)
    # the same page again: unchanged; the old title back: the first revision again
    assert store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title="新标题"),
                                t2).outcome == "unchanged"
    back = store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title="旧标题"), t2)
    assert (back.outcome, back.revision_id) == ("changed", first.revision_id)
    # the new title back: the title revision again, nothing added
    again = store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title="新标题"), t3)
    assert (again.outcome, again.revision_id) == ("changed", retitled.revision_id)
    assert len(store.story_revisions(first.story_id)) == 2
    # another URL with the same text still joins the story (the exact text hash is kept)
    dup = store.record_article("p", "https://b.example/1", Art(ARTICLE_A, title="别的标题"), t3)
    assert (dup.outcome, dup.story_id) == ("duplicate", first.story_id)


def test_same_text_from_another_url_is_a_duplicate(store) -> None:
    first = store.record_article("jiqizhixin", "https://a.example/1", Art(ARTICLE_A), T0)
    dup = store.record_article("qbitai", "https://b.example/9", Art(ARTICLE_A), T0 + timedelta(1))
    assert dup == type(first)(first.story_id, first.revision_id, "duplicate")
    (story,) = store.list_stories()
    assert story["url"] == "https://a.example/1"
    assert story["urls"] == ["https://a.example/1", "https://b.example/9"]
    assert story["outlets"] == ["jiqizhixin", "qbitai"] and story["outlet"] == "jiqizhixin"
    # the duplicate URL is now known: fetching it again is "unchanged"
    again = store.record_article("qbitai", "https://b.example/9", Art(ARTICLE_A), T0)
    assert again.outcome == "unchanged"


@pytest.mark.parametrize(
    "copy",
    [
        "来源：新华社\n" + ARTICLE_A,
        "本文转载自机器之心，版权归原作者所有。\n" + ARTICLE_A,
        ARTICLE_A + "\n免责声明：本文仅代表作者本人观点，与本网站无关，如有侵权请联系删除。",
        ARTICLE_A + "免责声明：本文仅代表作者本人观点，与本网站无关，如有侵权请联系删除。",
        "（来源：新华社）" + ARTICLE_A,
        "原标题：深度求索发布新模型\n" + ARTICLE_A + "\n责任编辑：李四",
    ],
    ids=["source-line", "reprint-line", "disclaimer-line", "disclaimer-glued", "source-glued",
         "title-and-editor"],
)
def test_near_duplicate_reprint_joins_the_story(store, copy: str) -> None:
    first = store.record_article("jiqizhixin", "https://a.example/1", Art(ARTICLE_A), T0)
    dup = store.record_article("sina", "https://c.example/2", Art(copy), T0)
    assert dup == type(first)(first.story_id, first.revision_id, "duplicate")
    assert store.list_stories()[0]["urls"] == ["https://a.example/1", "https://c.example/2"]


def test_different_stories_on_the_same_topic_stay_apart(store) -> None:
    a = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0)
    b = store.record_article("o", "https://a.example/2", Art(ARTICLE_B), T0)
    c = store.record_article("o", "https://a.example/3", Art(ARTICLE_EN, language="en"), T0)
    assert [a.outcome, b.outcome, c.outcome] == ["new", "new", "new"]
    assert len({a.story_id, b.story_id, c.story_id}) == 3


def test_simhash_round_trips_as_signed_bigint(store) -> None:
    texts = [ARTICLE_A, ARTICLE_B, ARTICLE_EN]
    ids = [store.record_article("o", f"https://a.example/{i}", Art(t), T0).story_id
           for i, t in enumerate(texts)]
    with store.reading() as session:
        stored = {s.id: s.simhash for s in session.scalars(select(Story))}
    assert [stored[i] for i in ids] == [simhash(t) for t in texts]


def test_list_stories_fields_and_filters(store) -> None:
    published = datetime(2025, 3, 12, 1, 30, tzinfo=UTC)
    art = Art(ARTICLE_A, title="深度求索发布新模型", published=published, author="张三")
    store.record_article("jiqizhixin", "https://a.example/1", art, T0)
    store.record_article("qbitai", "https://b.example/1", Art(ARTICLE_A), T0 + timedelta(hours=1))
    store.record_article("qbitai", "https://b.example/2", Art(ARTICLE_B), T0 + timedelta(days=1))
    stories = store.list_stories()
    assert [s["text"] for s in stories] == [ARTICLE_B, ARTICLE_A]  # newest first
    a = stories[1]
    assert set(a) == {"id", "outlet", "title", "url", "urls", "outlets", "published", "author",
                      "language", "first_seen", "last_changed", "revisions", "content_hash",
                      "text", "watches", "event_id", "entities"}
    assert a["event_id"] is None and a["entities"] == []  # stored without the grouping step
    assert a["title"] == "深度求索发布新模型" and a["author"] == "张三" and a["language"] == "zh"
    assert a["published"] == published and a["published"].tzinfo is not None
    assert a["first_seen"] == T0 and a["last_changed"] == T0 and a["revisions"] == 1
    assert len(a["content_hash"]) == 64
    assert [s["text"] for s in store.list_stories(outlet="jiqizhixin")] == [ARTICLE_A]
    assert len(store.list_stories(outlet="qbitai")) == 2  # carries both
    assert store.list_stories(outlet="nobody") == []
    assert [s["text"] for s in store.list_stories(since=T0 + timedelta(hours=12))] == [ARTICLE_B]
    assert store.story_revisions(12345) == []


def test_plan_alerts_rows_commit_with_the_story(store) -> None:
    calls = []

    def plan(session, story, revision, outcome):
        calls.append(outcome)
        session.add(Match(watch="llm", story_id=story.id, revision_id=revision.id,
                          terms=["大模型"], snippet=revision.text[:20]))
        session.add(Alert(story_id=story.id, revision_id=revision.id, watch="llm",
                          channel="log", event="new", payload={"title": story.title}))

    result = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0, plan_alerts=plan)
    store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0, plan_alerts=plan)
    assert calls == ["new"]  # not called for "unchanged"
    with store.reading() as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.revision_id, alert.status, alert.attempts) == (result.revision_id,
                                                                      "pending", 0)
        assert alert.payload == {"title": "标题"} and alert.created_at.tzinfo is not None
        assert session.scalar(select(func.count()).select_from(Match)) == 1


def test_plan_alerts_rows_roll_back_when_the_transaction_fails(store) -> None:
    def plan_then_fail(session, story, revision, outcome):
        session.add(Alert(story_id=story.id, revision_id=revision.id, watch="llm",
                          channel="log", event="new", payload={}))
        session.flush()
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0,
                             plan_alerts=plan_then_fail)
    assert store.list_stories() == []
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
    # nothing half-written: the same article records cleanly afterwards
    assert store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0).outcome == "new"


def test_bad_input_is_rejected_with_the_culprit(store) -> None:
    with pytest.raises(ValueError, match="fetched_at"):
        store.record_article("o", "https://a.example/1", Art(ARTICLE_A), datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="outlet"):
        store.record_article("", "https://a.example/1", Art(ARTICLE_A), T0)
    with pytest.raises(ValueError, match="unknown crawl run id 999"):
        store.finish_run(999, {})


def test_decision_locks_are_shared_only_by_decisions_that_can_see_each_other() -> None:
    """PostgreSQL's identity locks (identity.decision_keys): a near-duplicate or the same URL
    waits for the decision in progress; an unrelated text does not."""
    from newswatch.storage.fingerprint import fingerprint
    from newswatch.storage.identity import decision_keys

    a = set(decision_keys("https://a.example/1", fingerprint(ARTICLE_A)))
    near = set(decision_keys("https://b.example/1", fingerprint(ARTICLE_A + "\n补充：模型已上线。")))
    same_url = set(decision_keys("https://a.example/1", fingerprint(ARTICLE_B)))
    other = set(decision_keys("https://c.example/1", fingerprint(ARTICLE_EN)))
    assert a & near and a & same_url
    assert not a & other
