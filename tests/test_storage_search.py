"""The story search index (storage/search.py) on SQLite and PostgreSQL: folded like watches,
indexed for 1- and 2-character Chinese words, kept in step with each story's latest revision,
and filled for existing stories by migration 0005."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alembic import command
from newswatch.storage import queries, search
from newswatch.storage.db import _alembic_config, connect, create_engine_for, upgrade
from newswatch.storage.models import Story
from newswatch.storage.queries import StoryFilter, find_stories
from newswatch.storage.search import matching_story_ids, query_phrases
from newswatch.storage.sqlite import IMMEDIATE
from tests.storage_samples import ARTICLE_A, ARTICLE_B, Art

pytest_plugins = ["tests.storage_fixtures"]

T0 = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)
TRADITIONAL = ("虛擬主播進入直播間：數字人帶貨一年\n"
               "越來越多的品牌在直播間裡使用數字人主播，ＧＰＴ－４級別的模型讓它們能回答問題。")
ENGLISH = "OpenAI ships GPT-4o to every user.\nThe model answers in voice and images."


def ids(store, q: str) -> set[int]:
    with store.reading() as session:
        return {row["id"] for row in find_stories(session, StoryFilter(q=q), per_page=200).items}


def test_query_words_become_folded_phrases() -> None:
    assert query_phrases("數字人 GPT-4") == ["数 字 人", "gpt-4"]
    assert query_phrases("ＡＩ芯片") == ["ai 芯 片"]
    assert query_phrases("  , 。 ") == []


def test_search_folds_like_watches_and_finds_short_words(store) -> None:
    zh = store.record_article("a", "https://a.example/1", Art(TRADITIONAL, title="數字人帶貨"), T0)
    model = store.record_article("a", "https://a.example/2", Art(ARTICLE_A, title="深度求索"), T0)
    en = store.record_article("b", "https://b.example/1",
                              Art(ENGLISH, title="GPT-4o for all", language="en"), T0)
    other = store.record_article("b", "https://b.example/2", Art(ARTICLE_B, title="芯片"), T0)
    assert ids(store, "数字人") == {zh.story_id}  # simplified finds traditional
    assert ids(store, "數字人") == {zh.story_id}
    assert ids(store, "gpt-4") == {zh.story_id}  # full-width ＧＰＴ－４ in the text
    assert ids(store, "GPT-4o") == {en.story_id}
    assert ids(store, "gpt-4o voice") == {en.story_id}  # every word, anywhere
    assert ids(store, "gpt-4o 数字人") == set()
    assert ids(store, "openai") == {en.story_id}  # case
    assert ids(store, "模型") >= {zh.story_id, model.story_id}  # a 2-character word
    assert ids(store, "芯") == {other.story_id} | (ids(store, "芯片"))  # 1 character
    assert ids(store, "数人") == set()  # a phrase, not two characters anywhere
    assert ids(store, "帶貨") == {zh.story_id}  # in the title only
    assert ids(store, "。") == set()


def test_an_edit_reindexes_the_story(store) -> None:
    first = store.record_article("a", "https://a.example/1", Art("通义千问发布新版本，支持长文本。"), T0)
    assert ids(store, "长文本") == {first.story_id}
    edit = store.record_article("a", "https://a.example/1",
                                Art("文心一言发布新版本，支持多模态。", title="新标题"),
                                T0 + timedelta(hours=1))
    assert edit.outcome == "changed"
    assert ids(store, "长文本") == set()
    assert ids(store, "多模态") == {first.story_id}
    assert ids(store, "新标题") == {first.story_id}
    title_only = store.record_article("a", "https://a.example/1",
                                      Art("文心一言发布新版本，支持多模态。", title="另一个题目"),
                                      T0 + timedelta(hours=2))
    assert title_only.outcome == "changed"
    assert ids(store, "新标题") == set() and ids(store, "另一个") == {first.story_id}


def test_the_search_uses_the_index(store) -> None:
    dialect = store.engine.dialect.name
    stmt = select(Story.id).where(Story.id.in_(matching_story_ids("模型", dialect)))
    with store.engine.connect() as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            compiled = stmt.compile(conn)
            plan = "\n".join(r[0] for r in conn.exec_driver_sql(
                f"EXPLAIN {compiled}", compiled.params))
            assert "ix_story_search_words" in plan, plan
        else:
            compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}"))
            # FTS5 answers from its index: its plan names the MATCH constraint (M)
            assert "story_search VIRTUAL TABLE INDEX 0:M" in plan, plan


def _story_text(i: int) -> str:
    """Story ``i`` (each its own words, seeded): 数字人 as a phrase when ``i % 3 == 0``, else
    its characters apart (人们在数字时代写字)."""
    words = ("芯片", "开源", "手机", "直播", "云端", "推理", "医疗", "影像", "汽车", "电池",
             "市场", "价格", "用户", "平台", "团队", "投资", "监管", "标准", "评测", "服务器")
    rng = random.Random(i)
    lead = "".join(rng.choice(words) for _ in range(60))
    body = "品牌使用数字人主播。" if i % 3 == 0 else "人们在数字时代写字。"
    return f"{lead}。{body}"


@pytest.mark.parametrize("walk", [1, 100])
def test_a_phrase_is_checked_on_the_candidates_walked_or_read(
        store, monkeypatch: pytest.MonkeyPatch, walk: int) -> None:
    """Stories holding every character of 数字人 but not the phrase are candidates on
    PostgreSQL (``words``), never matches: not on the page, not counted, whether find_stories
    walks the latest stories (a window of 100 times what it wants) or reads the candidates (a
    window as small as what it wants, too small here)."""
    monkeypatch.setattr(queries, "WALK", walk)
    phrase, apart = set(), set()
    for i in range(12):
        story = store.record_article("a", f"https://a.example/{i}", Art(_story_text(i)),
                                     T0 + timedelta(minutes=i))
        (phrase if i % 3 == 0 else apart).add(story.story_id)
    assert (len(phrase), len(apart)) == (4, 8)
    newest_first = sorted(phrase, reverse=True)
    with store.reading() as session:
        for count_limit in (2, 3, 4, 10):
            got = find_stories(session, StoryFilter(q="數字人"), per_page=2,
                               count_limit=count_limit)
            assert [row["id"] for row in got.items] == newest_first[:2]
            if count_limit < len(phrase):
                assert (got.total, got.exact) == (count_limit, False)
            else:
                assert (got.total, got.exact) == (len(phrase), True)
        assert ids(store, "数字人") == phrase
        assert ids(store, "数字 人") == phrase | apart  # two words: anywhere
        assert ids(store, "人数") == set()  # 人们在数字: 人 and 数 apart
        assert ids(store, "写字") == apart


def test_the_phrases_are_checked_on_the_candidates_kept_only(store) -> None:
    """PostgreSQL: reading the candidates newest first, the phrase check runs on them one at a
    time until the limit, not on every candidate before sorting (the OFFSET 0 fence)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite checks phrases in its index")
    for i in range(12):  # newest first: 11, 10 apart, 9 the phrase, 8, 7 apart, 6 the phrase
        store.record_article("a", f"https://a.example/{i}", Art(_story_text(i)),
                             T0 + timedelta(minutes=i))
    with store.reading() as session:
        flt = StoryFilter(q="数字人")
        check = flt.check(session)
        assert check is not None
        stmt = queries._latest(flt.conditions(session, exact=False), 2, check=check)
        conn = session.connection()
        compiled = stmt.compile(conn)
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(
            f"EXPLAIN ANALYZE {compiled}", compiled.params))
    checked = [line for line in plan.splitlines() if "pk_story_search" in line]
    assert len(checked) == 1 and "loops=6)" in checked[0], plan


def _downgrade(db_url: str, revision: str) -> None:
    """Migrate the database back to ``revision`` (Alembic, as ``storage.db`` runs it up)."""
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                command.downgrade(_alembic_config(conn), revision)
    finally:
        engine.dispose()


def _scalars(db_url: str, sql: str) -> list:
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalars().all()
    finally:
        engine.dispose()


def _ids_reopened(db_url: str, q: str) -> set[int]:
    """``ids`` on the database opened afresh (and migrated to head)."""
    with connect(db_url) as again:
        return ids(again, q)


def test_migration_0012_fills_words_from_the_documents(store, db_url) -> None:
    """0012 (PostgreSQL): ``words`` filled from each story's stored document, the index on it;
    a downgrade puts the index back on ``document``. SQLite: nothing to do."""
    postgres = store.engine.dialect.name == "postgresql"
    story = store.record_article("a", "https://a.example/1", Art(TRADITIONAL), T0)
    store.close()
    _downgrade(db_url, "0011")
    if postgres:
        columns = set(_scalars(db_url, "SELECT column_name FROM information_schema.columns WHERE "
                                       "table_name = 'story_search' AND table_schema = "
                                       "current_schema()"))
        assert columns == {"story_id", "document"}
    upgrade(db_url)
    if postgres:
        assert _scalars(db_url, "SELECT words = strip(document) FROM "
                                "story_search") == [True]
    assert _ids_reopened(db_url, "数字人") == {story.story_id}


def test_migration_0005_indexes_stories_stored_before_it(store, db_url) -> None:
    story = store.record_article("a", "https://a.example/1", Art(TRADITIONAL), T0)
    store.close()
    _downgrade(db_url, "0003")
    upgrade(db_url)
    assert _ids_reopened(db_url, "数字人") == {story.story_id}


def test_counting_stops_at_the_limit_but_paging_goes_on(store) -> None:
    for i in range(5):
        topic = ("芯片出货", "开源社区", "手机助手", "直播带货", "云端推理")[i]
        store.record_article("a", f"https://a.example/{i}", Art(f"模型报道：{topic}。" * (i + 1)),
                             T0 + timedelta(minutes=i))
    with store.reading() as session:
        exact = find_stories(session, StoryFilter(q="模型"), per_page=2)
        assert (exact.total, exact.exact, exact.pages) == (5, True, 3)
        first = find_stories(session, StoryFilter(q="模型"), per_page=2, count_limit=3)
        assert (first.total, first.exact) == (3, False) and first.pages == 2
        assert len(first.items) == 2
        third = find_stories(session, StoryFilter(q="模型"), page=3, per_page=2, count_limit=3)
        assert (third.total, third.exact, len(third.items)) == (5, True, 1)


@pytest.mark.parametrize("walk", [1, 100])
@pytest.mark.parametrize("many", [1, search.SQLITE_MANY])
def test_page_count_and_facets_read_at_once_match_reading_them_apart(
        store, monkeypatch: pytest.MonkeyPatch, many: int, walk: int) -> None:
    """find_stories reads the page, the count and the facet stories in one query when the page
    lies within the latest matches: the same page, total and entity pairs as reading each
    apart, for pages inside and past them, with and without a search -- and on SQLite, whether
    the search starts from the index's matches (few) or walks the stories (many); on
    PostgreSQL, whether the walk through the latest stories finds enough (a window of 100
    times what is wanted) or the candidates are read (a window of as many, often short)."""
    from newswatch.storage.events import set_story_entities

    monkeypatch.setattr(search, "SQLITE_MANY", many)
    monkeypatch.setattr(queries, "WALK", walk)

    entities = (["deepseek", "deepseek-r1"], [], ["qwen"], ["deepseek-r1"], [], ["openai"],
                ["qwen", "openai"])
    for i, names in enumerate(entities):
        topic = "模型" if i % 3 else "芯片"
        story = store.record_article("a", f"https://a.example/{i}",
                                     Art(f"{topic}报道第{i}篇：开源社区。" * 2),
                                     T0 + timedelta(minutes=(i * 5) % 4))  # ties in time too
        with store.transaction() as session:
            set_story_entities(session, story.story_id, names)
    with store.reading() as session:
        for flt in (StoryFilter(), StoryFilter(q="模型"), StoryFilter(q="开源 社区"),
                    StoryFilter(q="芯片")):
            everything = find_stories(session, flt, per_page=200, count_limit=200)
            assert everything.total == {None: 7, "模型": 4, "开源 社区": 7, "芯片": 3}[flt.q]
            order = [row["id"] for row in everything.items]
            mentions = {row["id"]: row["entities"] for row in everything.items}
            for per_page, count_limit, facet_stories in [(1, 2, 0), (2, 3, 4), (2, 100, 1),
                                                         (3, 2, 100), (7, 1, 3)]:
                for page in range(1, 6):
                    got = find_stories(session, flt, page, per_page, count_limit=count_limit,
                                       facet_stories=facet_stories)
                    end = page * per_page
                    assert [row["id"] for row in got.items] == order[end - per_page:end]
                    limit = max(count_limit, end) + 1
                    if flt.q is None or len(order) < limit:
                        assert (got.total, got.exact) == (len(order), True)
                    else:
                        assert (got.total, got.exact) == (limit - 1, False)
                    assert got.entity_pairs == sorted(
                        (sid, e) for sid in order[:facet_stories] for e in mentions[sid])
