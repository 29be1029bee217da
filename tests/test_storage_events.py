"""Storage for event grouping and entities (both backends): events created and joined in the
article's transaction through the ``group`` hook, grouping order, entities replaced, and one
alert per event, watch and channel held by the unique slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from newswatch.storage import events as ev
from newswatch.storage.models import Alert, Event
from tests.storage_samples import ARTICLE_A, ARTICLE_B, ARTICLE_EN, Art

pytest_plugins = ["tests.storage_fixtures"]

T0 = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)


def test_group_hook_creates_and_joins_events_in_the_story_transaction(store) -> None:
    seen = []

    def group(session, story, revision, outcome):
        seen.append(outcome)
        if outcome != "new":
            return
        ev.lock_grouping(session)
        if story.language == "zh" and "深度求索" in revision.text:
            ev.create_event(session, story.id, title=revision.title, at=T0, language="zh",
                            outlet="a", grouping="lexical", encoder=None, vector=None)
        else:
            first = session.query(Event).one()
            ev.join_event(session, story.id, first.id, score=0.9, at=T0 + timedelta(hours=3),
                          language=story.language, outlet="b", encoder="use",
                          vector=b"\x00" * 8)
        ev.set_story_entities(session, story.id, ["deepseek", "deepseek-v3"])
        assert story.event_id is not None  # the hook's story object sees it

    a = store.record_article("a", "https://a.example/1", Art(ARTICLE_A), T0, group=group)
    b = store.record_article("b", "https://b.example/1", Art(ARTICLE_EN, "T", language="en"),
                             T0, group=group)
    dup = store.record_article("b", "https://b.example/2", Art(ARTICLE_A), T0, group=group)
    assert (a.outcome, b.outcome, dup.outcome) == ("new", "new", "duplicate")
    assert seen == ["new", "new", "duplicate"]
    with store.reading() as session:
        [event] = session.query(Event).all()
        assert (event.story_count, event.languages, event.outlets) == (2, ["zh", "en"], ["a", "b"])
        assert event.last_story_at == T0 + timedelta(hours=3)
        assert ev.story_event(session, b.story_id).id == event.id
        assert ev.story_entities(session, a.story_id) == ["deepseek", "deepseek-v3"]
        rows = ev.grouped_since(session, 0, T0 - timedelta(days=1))
        assert [(r.story_id, r.event_id, r.encoder) for r in rows] == [
            (a.story_id, event.id, None), (b.story_id, event.id, "use")]
        assert rows[1].vector == b"\x00" * 8 and rows[0].text.startswith("北京时间")
        assert ev.grouped_since(session, rows[0].seq, T0 - timedelta(days=1))[0].story_id == b.story_id
        assert ev.grouped_since(session, 0, T0 + timedelta(days=1)) == []  # out of the window
        assert ev.latest_grouped(session) == rows[1].seq


def test_a_failing_group_hook_stores_nothing(store) -> None:
    def group(session, story, revision, outcome):
        ev.create_event(session, story.id, title="x", at=T0, language="zh", outlet="a",
                        grouping="lexical", encoder=None, vector=None)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.record_article("a", "https://a.example/1", Art(ARTICLE_B), T0, group=group)
    assert store.list_stories() == []
    with store.reading() as session:
        assert session.query(Event).count() == 0


def test_entities_are_replaced_and_one_alert_per_event_slot(store) -> None:
    r = store.record_article("a", "https://a.example/1", Art(ARTICLE_A), T0)
    with store.transaction() as session:
        ev.set_story_entities(session, r.story_id, ["deepseek", "qwen"])
        ev.set_story_entities(session, r.story_id, ["deepseek-r1"])
    with store.reading() as session:
        assert ev.story_entities(session, r.story_id) == ["deepseek-r1"]

    r2 = store.record_article("b", "https://b.example/1", Art(ARTICLE_B), T0)

    def alert(story, slot):
        return Alert(story_id=story.story_id, revision_id=story.revision_id, watch="w",
                     channel="c", event="new", payload={}, status="pending", attempts=0,
                     news_event_id=7, event_slot=slot)

    with store.transaction() as session:  # every-copy alerts: NULL slots never collide
        session.add_all([alert(r, None), alert(r2, None)])
    with store.transaction() as session:
        session.execute(Alert.__table__.delete())
        session.add(alert(r, 7))
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add(alert(r2, 7))  # the same event, watch and channel from another story
        session.flush()
