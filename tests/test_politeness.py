"""Politeness across the outlets of one crawl: a real local site that records how many requests
it answers at once, two outlets on it, and robots.txt's Crawl-delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.localsite import LocalSite, Page
from tests.pages import article_html, distinct_paragraphs, listing_html

ARTICLE_RE = r"/news/\d{4}/"


def crawl(cli, config: Path) -> str:
    result = cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def articles(site: LocalSite, section: str, n: int, seed: int, delay: float = 0.0) -> list[str]:
    paths = [f"/news/2026/{section}{i}.html" for i in range(n)]
    site.set(f"/{section}/", listing_html(paths))
    for i, path in enumerate(paths):
        body = article_html(f"{section}{i}", distinct_paragraphs(seed + i), meta_charset="utf-8")
        site.set(path, Page(body=body.encode(), delay=delay))
    return paths


def test_two_outlets_on_one_host_share_its_concurrency_limit(site, write_config, cli):
    articles(site, "ai", 8, 100, delay=0.3)
    articles(site, "tech", 8, 200, delay=0.3)
    config = write_config({
        "outlets": [{"name": name, "start_urls": [f"{site.url}/{name}/"],
                     "article_url": ARTICLE_RE, "render": "never"} for name in ("ai", "tech")],
        "politeness": {"concurrency_per_domain": 2, "autothrottle": False}})
    crawl(cli, config)
    assert len([h for h in site.hits if h.path.startswith("/news/")]) == 16
    assert 1 <= site.peak <= 2, site.peak  # each outlet alone may use 2: together still 2


def test_robots_crawl_delay_is_honoured_across_outlets(site, write_config, cli):
    site.set("/robots.txt", Page(body=b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain"))
    paths = articles(site, "ai", 2, 300) + articles(site, "tech", 2, 400)
    config = write_config({
        "outlets": [{"name": name, "start_urls": [f"{site.url}/{name}/"],
                     "article_url": ARTICLE_RE, "render": "never"} for name in ("ai", "tech")],
        "politeness": {"autothrottle": False}})
    crawl(cli, config)
    hits = sorted((h for h in site.hits if h.path != "/robots.txt"), key=lambda h: h.started)
    assert {h.path for h in hits} >= set(paths)
    # every request but robots.txt waits for its robots.txt: one at a time, a second apart
    for before, after in zip(hits, hits[1:], strict=False):
        assert after.started - before.at >= 0.9, (before.path, after.path)


def test_a_host_starts_at_the_pace_the_last_crawl_left_it(site, write_config, cli, tmp_path):
    """AutoThrottle starts a new host at 0.5 s between requests and works its way down; the
    delay it settled at is saved per host, and the next crawl starts the host there (a recrawl
    of a few 304 listings no longer waits out the descent; a host that was slow starts slow)."""
    from newswatch.storage.db import connect

    articles(site, "ai", 3, 500)
    config = write_config({"outlets": [{"name": "ai", "start_urls": [f"{site.url}/ai/"],
                                        "article_url": ARTICLE_RE, "render": "never"}]})
    database = f"sqlite:///{tmp_path / 'nw.db'}"
    crawl(cli, config)
    with connect(database) as store:
        paces = store.host_paces(datetime.now(UTC) - timedelta(days=1))
        assert set(paces) == {"127.0.0.1"}, paces
        assert 0 <= paces["127.0.0.1"] < 0.5  # below the start delay: loopback answers fast
        # as if the host had been slow last time: 3 s between requests
        store.save_host_paces({"127.0.0.1": 3.0})
        assert store.host_paces(datetime.now(UTC) + timedelta(seconds=5)) == {}  # too old

    site.hits.clear()
    result = cli("crawl", "--full", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    hits = sorted(site.hits, key=lambda h: h.started)
    assert len(hits) >= 2, [h.path for h in hits]
    # the first answer halves the remembered 3 s: the second request waits at least 1.5 s
    # (from a fresh start it would wait 0.5 s at most)
    assert hits[1].started - hits[0].started >= 1.4, [(h.path, h.started) for h in hits]
