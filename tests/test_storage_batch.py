"""Failing articles roll back alone, prepared fingerprints, and the objects the plan_alerts hook
is handed, on SQLite and PostgreSQL."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from newswatch.storage.fingerprint import prepare
from newswatch.storage.models import Alert, Revision, Story
from tests.storage_samples import ARTICLE_A, ARTICLE_B, ARTICLE_EN, Art

pytest_plugins = ["tests.storage_fixtures"]

T0 = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)


def _failing_hook(session, story, revision, outcome):
    session.add(Alert(story_id=story.id, revision_id=revision.id, watch="w", channel="log",
                      event="new", payload={}))
    session.flush()
    raise OSError(28, "No space left on device")


def test_a_failing_article_leaves_nothing_and_the_others_record(store) -> None:
    store.record_article("o", "https://a.example/known", Art(ARTICLE_EN, language="en"), T0)
    new = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0)
    with pytest.raises(ValueError, match="fetched_at"):
        store.record_article("o", "https://a.example/2", Art(ARTICLE_A), datetime(2025, 1, 1))
    with pytest.raises(OSError):
        store.record_article("o", "https://a.example/3", Art(ARTICLE_B), T0,
                             plan_alerts=_failing_hook)
    dup = store.record_article("p", "https://b.example/1", Art(ARTICLE_A), T0)
    known = store.record_article("o", "https://a.example/known", Art(ARTICLE_EN, language="en"),
                                 T0)
    again = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0)
    assert new.outcome == "new"
    assert (dup.story_id, dup.revision_id, dup.outcome) == (new.story_id, new.revision_id,
                                                            "duplicate")
    assert known.outcome == "unchanged"
    assert again == type(new)(new.story_id, new.revision_id, "unchanged")
    stories = store.list_stories()
    assert sorted(s["text"] for s in stories) == sorted([ARTICLE_A, ARTICLE_EN])
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
    # the failed article left nothing behind: it records cleanly now
    assert store.record_article("o", "https://a.example/3", Art(ARTICLE_B), T0).outcome == "new"


def test_prepared_fingerprint_gives_the_same_outcomes(store) -> None:
    fp = pickle.loads(pickle.dumps(prepare(ARTICLE_A)))  # as from an extraction worker
    first = store.record_article("o", "https://a.example/1", Art(ARTICLE_A), T0, fingerprint=fp)
    assert first.outcome == "new"
    copy = "来源：新华社\n" + ARTICLE_A
    near = store.record_article("p", "https://b.example/1", Art(copy), T0,
                                fingerprint=prepare(copy))
    assert (near.story_id, near.outcome) == (first.story_id, "duplicate")
    with pytest.raises(ValueError, match="https://a.example/2"):
        store.record_article("o", "https://a.example/2", Art(ARTICLE_B), T0,
                             fingerprint=prepare(ARTICLE_A))


STORY_COLUMNS = ("id", "outlet_id", "title", "author", "published", "language", "first_seen",
                 "last_changed", "simhash", "latest_revision_id")
REVISION_COLUMNS = ("id", "story_id", "content_hash", "text", "title", "first_seen")


def test_hook_objects_carry_the_stored_values(store) -> None:
    seen: list[str] = []

    def hook(session, story, revision, outcome):
        seen.append(outcome)
        s = session.execute(select(Story.__table__).where(Story.id == story.id)).one()._mapping
        r = session.execute(select(Revision.__table__).where(Revision.id == revision.id)).one()._mapping
        assert {c: getattr(story, c) for c in STORY_COLUMNS} == {c: s[c] for c in STORY_COLUMNS}
        assert {c: getattr(revision, c) for c in REVISION_COLUMNS} == {
            c: r[c] for c in REVISION_COLUMNS}
        assert story.outlet.name in ("o", "p")

    published = datetime(2025, 3, 11, tzinfo=UTC)
    store.record_article("o", "https://a.example/1",
                         Art(ARTICLE_A, title="旧", author="张三", published=published), T0,
                         plan_alerts=hook)
    edited = ARTICLE_A.replace("两千块", "两千五百块")
    store.record_article("o", "https://a.example/1", Art(edited, title=""),
                         T0 + timedelta(hours=1), plan_alerts=hook)
    store.record_article("o", "https://a.example/1", Art(ARTICLE_A, title="新"),
                         T0 + timedelta(hours=2), plan_alerts=hook)  # back to the first text
    store.record_article("p", "https://b.example/1", Art(edited), T0, plan_alerts=hook)
    store.record_article("p", "https://b.example/2", Art("来源：新华社\n" + ARTICLE_A), T0,
                         plan_alerts=hook)
    assert seen == ["new", "changed", "changed", "duplicate", "duplicate"]
