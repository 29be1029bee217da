"""The revisit schedule end to end: a real local outlet, the real CLI in a new process per crawl
(so the schedule is read back from the database each time), the clock moved by NEWSWATCH_NOW."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.localsite import LocalSite, Page
from tests.pages import article_html, distinct_paragraphs, listing_html

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
ARTICLE_RE = r"/news/\d{4}/"
RECENT = "/news/2026/recent.html"
OLD = [f"/news/2026/old{i}.html" for i in range(3)]


def at(delta: timedelta) -> dict[str, str]:
    return {"NEWSWATCH_NOW": (T0 + delta).isoformat()}


def crawl(cli, config: Path, when: timedelta, *args: str) -> str:
    result = cli("crawl", "--config", str(config), *args, env=at(when))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def stories(cli, config: Path) -> dict[str, dict]:
    result = cli("stories", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {row["url"].split("/")[-1]: row for row in rows}


def page(title: str, seed: int, published: datetime, extra: str = "") -> str:
    paragraphs = distinct_paragraphs(seed) + ([extra] if extra else [])
    return article_html(title, paragraphs, meta_charset="utf-8", published=published.isoformat())


def counts(output: str) -> str:
    """The crawl's counts in words (its "crawled NAME in S s: ..." line)."""
    [line] = [line for line in output.splitlines() if line.startswith("crawled local in ")]
    return line.split(": ", 1)[1]


def article_hits(site: LocalSite, path: str) -> int:
    return len(site.requests_for(path))


def publish(site: LocalSite) -> None:
    """One article published an hour before T0, three published ten days before."""
    site.set(RECENT, page("新文章", 1, T0 - timedelta(hours=1)))
    for i, path in enumerate(OLD):
        site.set(path, page(f"旧文章{i}", 10 + i, T0 - timedelta(days=10)))


def test_an_edit_is_caught_at_the_next_due_visit_and_articles_not_due_are_not_requested(
        site, write_config, cli):
    site.set("/ai/", listing_html([RECENT, *OLD]))
    publish(site)
    config = write_config({"outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                                        "article_url": ARTICLE_RE, "render": "never"}]})
    crawl(cli, config, timedelta(0))
    assert len(stories(cli, config)) == 4
    site.set(RECENT, page("新文章", 1, T0 - timedelta(hours=1), extra="更新：公司随后宣布将免费开放接口。"))

    # 30 minutes later nothing is due: the listing is asked conditionally (304), no article is
    output = crawl(cli, config, timedelta(minutes=30))
    assert "not due 4" in counts(output)
    assert all(article_hits(site, path) == 1 for path in [RECENT, *OLD])
    listing = site.requests_for("/ai/")
    assert [h.status for h in listing] == [200, 304] and "If-None-Match" in listing[1].headers
    assert stories(cli, config)["recent.html"]["revisions"] == 1

    # an hour after the first visit the recent article is due (a new process: the schedule
    # came back from the database) and its edit is caught; the old ones are still not due
    output = crawl(cli, config, timedelta(hours=1))
    assert "not due 3" in counts(output)
    assert article_hits(site, RECENT) == 2
    assert all(article_hits(site, path) == 1 for path in OLD)
    edited = stories(cli, config)["recent.html"]
    assert edited["revisions"] == 2 and "免费开放接口" in edited["text"]

    # --full ignores the schedule: every stored article is asked again (conditionally)
    site.hits.clear()
    output = crawl(cli, config, timedelta(hours=1, minutes=5), "--full")
    assert "not due" not in counts(output)
    hits = [h for h in site.hits if h.path.startswith("/news/")]
    assert sorted(h.path for h in hits) == sorted([RECENT, *OLD])
    assert all(h.status == 304 for h in hits)


TEN_DAYS_AGO = T0 - timedelta(days=10)


def sitemap(site: LocalSite, dates: dict[str, datetime], validators: bool = True) -> Page:
    entries = "".join(f"<url><loc>{site.url}{path}</loc><lastmod>{date.isoformat()}</lastmod>"
                      "</url>" for path, date in dates.items())
    body = ('<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>')
    return Page(body=body.encode(), content_type="application/xml", validators=validators)


def atom(site: LocalSite, dates: dict[str, datetime], validators: bool = True) -> Page:
    entries = "".join(f"<entry><title>{path}</title><link href='{site.url}{path}'/><id>{path}</id>"
                      f"<updated>{date.isoformat()}</updated></entry>"
                      for path, date in dates.items())
    body = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>t</title>{entries}</feed>")
    return Page(body=body.encode(), content_type="application/atom+xml", validators=validators)


def announce_an_edit(site, write_config, cli, key: str, make, edited: int) -> Path:
    """Crawl an outlet whose only discovery page is ``make`` (a sitemap or a feed at /listed.xml)
    at T0; then edit an old article, give it a date 5 minutes after T0 there, crawl again 10
    minutes after T0; the edited one is fetched again, the others not."""
    publish(site)
    dates = dict.fromkeys([RECENT, *OLD], TEN_DAYS_AGO)
    site.set("/listed.xml", make(site, dates))
    config = write_config({"outlets": [{"name": "local", key: [site.url + "/listed.xml"],
                                        "article_url": ARTICLE_RE, "render": "never"}]})
    crawl(cli, config, timedelta(0))
    site.set(OLD[edited], page(f"旧文章{edited}", 10 + edited, TEN_DAYS_AGO,
                               extra="更正：文中数字有误，已修改。"))
    site.set("/listed.xml", make(site, {**dates, OLD[edited]: T0 + timedelta(minutes=5)}))
    output = crawl(cli, config, timedelta(minutes=10))
    assert article_hits(site, OLD[edited]) == 2
    assert all(article_hits(site, path) == 1 for path in [RECENT, *OLD] if path != OLD[edited])
    assert "not due 3" in counts(output)
    assert stories(cli, config)[f"old{edited}.html"]["revisions"] == 2
    return config


def test_a_sitemap_lastmod_bump_makes_an_old_article_due(site, write_config, cli):
    config = announce_an_edit(site, write_config, cli, "sitemaps", sitemap, 0)
    # the same lastmod again (the sitemap without validators, so it is read again): not due
    dates = {**dict.fromkeys([RECENT, *OLD], TEN_DAYS_AGO), OLD[0]: T0 + timedelta(minutes=5)}
    site.set("/listed.xml", sitemap(site, dates, validators=False))
    crawl(cli, config, timedelta(minutes=20))
    assert article_hits(site, OLD[0]) == 2


def test_a_feed_entry_updated_after_the_last_fetch_makes_its_article_due(site, write_config, cli):
    announce_an_edit(site, write_config, cli, "feeds", atom, 1)


def test_a_bad_newswatch_now_is_one_line_and_nothing_is_fetched(site, write_config, cli):
    site.set("/ai/", listing_html([RECENT]))
    config = write_config({"outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                                        "article_url": ARTICLE_RE}]})
    result = cli("crawl", "--config", str(config), env={"NEWSWATCH_NOW": "next tuesday"})
    assert result.returncode != 0
    assert "NEWSWATCH_NOW: expected an ISO 8601 time" in result.stderr
    assert "got 'next tuesday'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert site.hits == []


def test_a_gone_article_backs_off_and_its_story_is_kept(site, write_config, cli):
    """A stored article whose URL now answers 404 is a visit that found no change: its
    interval doubles (it is not asked on every crawl), and its story stays stored."""
    site.set("/ai/", listing_html([RECENT, *OLD]))
    publish(site)
    config = write_config({"outlets": [{"name": "local", "start_urls": [site.url + "/ai/"],
                                        "article_url": ARTICLE_RE, "render": "never"}]})
    crawl(cli, config, timedelta(0))
    del site.pages[RECENT]  # the site answers 404 from now on

    # due after an hour (min): asked, 404, an error of the crawl; the story is kept
    output = crawl(cli, config, timedelta(hours=1))
    assert [h.status for h in site.requests_for(RECENT)] == [200, 404]
    assert "HTTP 404" in output
    kept = stories(cli, config)["recent.html"]
    assert kept["title"] == "新文章" and kept["revisions"] == 1

    # the next crawls before its doubled interval (2 h after that visit) do not ask it again
    for when in (timedelta(hours=1, minutes=5), timedelta(hours=2, minutes=30)):
        output = crawl(cli, config, when)
        assert "not due 4" in counts(output)
        assert len(site.requests_for(RECENT)) == 2

    # then it is due again, still 404, and backs off further (4 h)
    crawl(cli, config, timedelta(hours=3))
    assert [h.status for h in site.requests_for(RECENT)] == [200, 404, 404]
    output = crawl(cli, config, timedelta(hours=6))
    assert len(site.requests_for(RECENT)) == 3
    assert "recent.html" in stories(cli, config)
