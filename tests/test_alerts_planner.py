"""The outbox policy through the real Store (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from newswatch.alerts.channels import parse_channels
from newswatch.alerts.planner import AlertPlanner, first_crawl, sentence_changes
from newswatch.alerts.sender import deliver_pending
from newswatch.matching import Matcher, parse_watches
from newswatch.storage.models import Alert, Match, Revision, Story
from tests.receivers import WebhookReceiver

pytest_plugins = ["tests.storage_fixtures"]

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

WATCHES = parse_watches([
    {"name": "llm", "terms": ["大模型", "DeepSeek"]},
    {"name": "robots", "terms": ["机器人"], "outlets": ["other-outlet"]},
    {"name": "gpt", "terms": ["GPT-5"], "notify": ["chat"]},
    {"name": "chips", "terms": ["芯片"], "alert_on_first_crawl": True},
])
CHANNELS = ["hook", "chat"]

BODY = ("今天，深度求索发布了新一代大模型。该模型在多项评测中表现优异。"
        "公司表示，机器人业务也在推进。OpenAI 尚未发布 GPT-5。")


@dataclass
class Art:
    title: str
    text: str
    published: datetime | None = None
    author: str | None = None
    language: str | None = "zh"


@pytest.fixture
def planner():
    return AlertPlanner(WATCHES, Matcher(WATCHES), CHANNELS)


def outbox(store) -> list[tuple[str, str, str]]:
    with store.reading() as s:
        return [(a.watch, a.channel, a.event) for a in s.scalars(select(Alert).order_by(Alert.id))]


def matches(store) -> list[tuple[str, int]]:
    with store.reading() as s:
        return [(m.watch, m.revision_id) for m in s.scalars(select(Match).order_by(Match.id))]


def record(store, planner, url, art, *, outlet="news-a", at=T0, **hook):
    return store.record_article(outlet=outlet, url=url, article=art, fetched_at=at,
                                plan_alerts=planner.for_outlet(outlet, **hook))


def test_new_story_alerts_matching_watches_per_channel(store, planner):
    res = record(store, planner, "https://a.cn/1", Art("深度求索发布大模型", BODY))
    assert res.outcome == "new"
    assert outbox(store) == [("llm", "hook", "new"), ("llm", "chat", "new"),
                             ("gpt", "chat", "new")]  # robots: outlet limit; gpt: own notify
    assert matches(store) == [("llm", res.revision_id), ("gpt", res.revision_id)]
    with store.reading() as s:
        a = s.scalars(select(Alert)).first()
        assert (a.status, a.attempts, a.next_attempt_at, a.story_id) == ("pending", 0, None,
                                                                         res.story_id)
        p = a.payload
    assert p["event"] == "new" and p["watch"] == "llm" and p["terms"] == ["大模型"]
    assert p["story"]["url"] == "https://a.cn/1" and p["story"]["outlets"] == ["news-a"]
    assert "大模型" in p["story"]["excerpt"] and "diff" not in p


def test_outlet_limit_and_no_match(store, planner):
    record(store, planner, "https://o.cn/1", Art("机器人", "机器人公司发布新品。"),
           outlet="other-outlet")
    record(store, planner, "https://a.cn/2", Art("天气", "今天天气很好，适合出游。"))
    assert outbox(store) == [("robots", "hook", "new"), ("robots", "chat", "new")]


def test_first_crawl_is_a_baseline(store, planner):
    with store.reading() as s:
        assert first_crawl(s, "news-a") is True
    res = record(store, planner, "https://a.cn/1", Art("大模型与芯片", BODY + "芯片供应紧张。"),
                 first_crawl=True)
    # matches recorded for all; only the watch with alert_on_first_crawl sends
    assert {w for w, _ in matches(store)} == {"llm", "gpt", "chips"}
    assert outbox(store) == [("chips", "hook", "new"), ("chips", "chat", "new")]
    with store.reading() as s:  # the baseline lasts until a crawl of the outlet finishes
        assert first_crawl(s, "news-a") is True
    store.end_baseline(["news-a"])
    with store.reading() as s:
        assert first_crawl(s, "news-a") is False
    record(store, planner, "https://b.cn/1", Art("大模型", "另一家媒体：大模型价格战开始了。"),
           outlet="news-b", first_crawl=True, alert_on_first_crawl=True)
    assert outbox(store)[2:] == [("llm", "hook", "new"), ("llm", "chat", "new")]
    assert res.outcome == "new"


def test_update_alerts_only_watches_hit_by_changed_sentences(store, planner):
    record(store, planner, "https://a.cn/1", Art("新闻", BODY))
    before = len(outbox(store))
    # edit a sentence without any watched term: no alert for anyone
    edited = BODY.replace("表现优异", "表现一般")
    res = record(store, planner, "https://a.cn/1", Art("新闻", edited), at=T0 + timedelta(hours=1))
    assert res.outcome == "changed" and len(outbox(store)) == before
    # add a sentence naming GPT-5: only "gpt" alerts, although "llm" still matches the text
    added = edited + "消息人士称，GPT-5 将于下月发布。"
    res = record(store, planner, "https://a.cn/1", Art("新闻", added), at=T0 + timedelta(hours=2))
    assert res.outcome == "changed"
    assert outbox(store)[before:] == [("gpt", "chat", "updated")]
    with store.reading() as s:
        p = s.scalars(select(Alert).where(Alert.event == "updated")).one().payload
    assert p["diff"] == [{"op": "added", "old": None, "new": "消息人士称，GPT-5 将于下月发布。"}]
    assert p["terms"] == ["GPT-5"] and "GPT-5" in p["story"]["excerpt"]
    assert ("llm", res.revision_id) in matches(store)  # the match ledger is complete


def test_edited_sentence_with_term_alerts_with_old_and_new(store, planner):
    record(store, planner, "https://a.cn/1", Art("新闻", BODY))
    before = len(outbox(store))
    changed = BODY.replace("该模型在多项评测中表现优异。", "该大模型在多项评测中位列第一。")
    record(store, planner, "https://a.cn/1", Art("新闻", changed), at=T0 + timedelta(hours=1))
    assert outbox(store)[before:] == [("llm", "hook", "updated"), ("llm", "chat", "updated")]
    with store.reading() as s:
        p = s.scalars(select(Alert).where(Alert.event == "updated")).first().payload
    assert p["diff"] == [{"op": "edited", "old": "该模型在多项评测中表现优异。",
                          "new": "该大模型在多项评测中位列第一。"}]


def test_trivial_changes_and_reverts_never_alert(store, planner):
    a = record(store, planner, "https://a.cn/1", Art("新闻", BODY))
    n = len(outbox(store))
    # storage calls a punctuation-only edit "unchanged"; the planner agrees if asked anyway
    with store.transaction() as s:
        story, rev = s.get(Story, a.story_id), s.get(Revision, a.revision_id)
        plan = planner(s, story, rev, "changed", outlet="news-a",
                       previous_text=BODY.replace("，", ",").replace("。", ". "))
    assert plan.alerted == [] and plan.matched == ["llm", "gpt"]
    b = record(store, planner, "https://a.cn/1", Art("新闻", BODY + "大模型再次降价。"),
               at=T0 + timedelta(hours=1))
    assert len(outbox(store)) == n + 2
    back = record(store, planner, "https://a.cn/1", Art("新闻", BODY), at=T0 + timedelta(hours=2))
    assert back.outcome == "changed" and back.revision_id == a.revision_id != b.revision_id
    assert len(outbox(store)) == n + 2  # a return to an earlier text does not alert


def test_title_only_edit_alerts_watches_hit_by_the_new_title(store, planner):
    record(store, planner, "https://a.cn/1", Art("新闻", BODY))
    n = len(outbox(store))
    # a trivial title edit is nothing at all
    same = record(store, planner, "https://a.cn/1", Art("新闻。", BODY), at=T0 + timedelta(hours=1))
    assert same.outcome == "unchanged" and len(outbox(store)) == n
    # a new title without a watched term: a revision, no alert
    res = record(store, planner, "https://a.cn/1", Art("快讯", BODY), at=T0 + timedelta(hours=2))
    assert res.outcome == "changed" and len(outbox(store)) == n
    # a new title naming watched terms: those watches alert (not "gpt": its term did not move)
    res = record(store, planner, "https://a.cn/1", Art("大模型芯片快讯", BODY),
                 at=T0 + timedelta(hours=3))
    assert res.outcome == "changed"
    assert sorted(outbox(store)[n:]) == [("chips", "chat", "updated"), ("chips", "hook", "updated"),
                                         ("llm", "chat", "updated"), ("llm", "hook", "updated")]
    with store.reading() as s:
        p = s.scalars(select(Alert).where(Alert.revision_id == res.revision_id)).first().payload
    assert p["diff"] == [{"op": "edited", "old": "快讯", "new": "大模型芯片快讯"}]
    assert p["story"]["title"] == "大模型芯片快讯"


def test_duplicates_do_not_alert_but_are_named_at_send_time(store, planner):
    record(store, planner, "https://a.cn/1", Art("深度求索发布大模型", BODY))
    dup = record(store, planner, "https://mirror.com/x", Art("转载：深度求索发布大模型", BODY),
                 outlet="mirror", at=T0 + timedelta(minutes=10))
    assert dup.outcome == "duplicate" and len(outbox(store)) == 3
    with WebhookReceiver() as hook:
        chans = parse_channels({"hook": {"webhook": hook.url}, "chat": {"webhook": hook.url}})
        report = deliver_pending(store, chans, now=T0 + timedelta(minutes=11))
    assert report.sent == 3
    story = hook.received[0].json["story"]
    assert story["urls"] == ["https://a.cn/1", "https://mirror.com/x"]
    assert story["outlets"] == ["news-a", "mirror"]


def test_outbox_rows_roll_back_with_the_story(store, planner):
    hook = planner.for_outlet("news-a")

    def failing(session, story, revision, outcome):
        hook(session, story, revision, outcome)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.record_article(outlet="news-a", url="https://a.cn/1", article=Art("t", BODY),
                             fetched_at=T0, plan_alerts=failing)
    assert outbox(store) == [] and matches(store) == []
    record(store, planner, "https://a.cn/1", Art("t", BODY))
    assert len(outbox(store)) == 3


def test_unknown_channel_in_watch_is_a_config_error():
    with pytest.raises(ValueError, match=r"^watch 'gpt'\.notify\[0\]: unknown channel 'chat' "
                                         r"\(notify: hook\)$"):
        AlertPlanner(WATCHES, None, ["hook"])


def test_sentence_changes():
    old = "第一句。第二句讲大模型。第三句。"
    new = "第一句！第二句讲大模型和芯片。第三句。新增一句。"
    assert sentence_changes(old, new) == [
        {"op": "edited", "old": "第二句讲大模型。", "new": "第二句讲大模型和芯片。"},
        {"op": "added", "old": None, "new": "新增一句。"},
    ]
    assert sentence_changes(old, "第一句。第三句。") == [
        {"op": "removed", "old": "第二句讲大模型。", "new": None}]
