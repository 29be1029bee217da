"""The one-off crawl end to end: a real local outlet, the real CLI in a child process, SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.localsite import LocalSite, Page
from tests.pages import EN_PARAGRAPHS, ZH_PARAGRAPHS, article_html, listing_html

ARTICLE_RE = r"/news/\d{4}/"


def outlet(site: LocalSite, name: str = "local", **extra: object) -> dict:
    data: dict[str, object] = {"name": name, "start_urls": [site.url + "/ai/"],
                               "article_url": ARTICLE_RE, "render": "never"}
    data.update(extra)
    return data


def crawl(cli, config: Path, *args: str) -> str:
    result = cli("crawl", "--config", str(config), *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def stories(cli, config: Path, *args: str) -> list[dict]:
    result = cli("stories", "--config", str(config), "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def zh_article(title: str, extra: str = "") -> str:
    return article_html(title, ZH_PARAGRAPHS + ([extra] if extra else []), meta_charset="utf-8")


# --------------------------------------------------------------------------- encodings

ZH_TRAD = [
    "人工智慧公司今日發布了新一代大型語言模型，該模型在推理、程式設計和多語言理解方面均有明顯提升。",
    "研究團隊表示，新模型使用了更大規模的中文語料進行訓練，並針對長文本場景做了專門最佳化。",
    "業內專家認為，大模型正在從參數競賽轉向應用落地，企業客戶更關心成本與可靠性。",
]

# (codec of the bytes, charset in the HTTP header, charset in the meta tag)
ENCODING_CASES = {
    "utf8-none": ("utf-8", None, None),
    "gbk-header-only": ("gbk", "gbk", None),
    "gbk-meta-only": ("gbk", None, "gb2312"),
    "gbk-wrong-header": ("gbk", "utf-8", None),
    "gbk-wrong-header-right-meta": ("gbk", "iso-8859-1", "gbk"),
    "gbk-nowhere": ("gbk", None, None),
    "gb18030-meta-says-gb2312": ("gb18030", None, "gb2312"),
    "big5-meta-only": ("big5", None, "big5"),
    "big5-nowhere": ("big5", None, None),
    "big5-wrong-meta": ("big5", None, "gb2312"),
    "utf8-wrong-meta": ("utf-8", None, "gbk"),
}


@pytest.mark.parametrize("case", sorted(ENCODING_CASES))
def test_each_encoding_is_decoded_right(case, site, write_config, cli):
    codec, header, meta = ENCODING_CASES[case]
    paragraphs = ZH_TRAD if codec == "big5" else list(ZH_PARAGRAPHS)
    if codec == "gb18030":
        paragraphs = paragraphs + ["这家初创公司由䶮先生创办，名字中的“䶮”字在旧标准中没有编码。"]
    title = "大型語言模型發布" if codec == "big5" else "大模型发布"
    html = article_html(title, paragraphs, meta_charset=meta)
    content_type = "text/html" + (f"; charset={header}" if header else "")
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    body = html.encode(codec, errors="xmlcharrefreplace")  # boilerplate outside Big5 -> &#NNNN;
    site.set("/news/2026/a.html", Page(body=body, content_type=content_type))
    config = write_config({"outlets": [outlet(site)]})
    crawl(cli, config)
    [story] = stories(cli, config)
    for paragraph in paragraphs:
        assert paragraph in story["text"]  # the page's own characters (issue 10.1)
    assert "\ufffd" not in story["text"]
    assert "版权所有" not in story["text"] and "热门排行" not in story["text"]


WESTERN_CASES = {  # issue 9.14: (text, charset in the HTTP header, charset in the meta tag)
    "cp1252-header-ellipsis": ("The model shipped today\u2026 and the benchmarks followed.",
                               "windows-1252", None),
    "latin1-meta-ellipsis": ("The model shipped today\u2026 and the benchmarks followed.",
                             None, "iso-8859-1"),
    "undeclared-german": ("Vielä Grüße aus München: das Modell läuft schneller als erwartet.",
                          None, None),
}


@pytest.mark.parametrize("case", sorted(WESTERN_CASES))
def test_western_single_byte_pages_keep_their_characters(case, site, write_config, cli):
    text, header, meta = WESTERN_CASES[case]
    html = article_html("Western page", [*EN_PARAGRAPHS, text], lang="en", meta_charset=meta,
                        sidebar="Most read", ad="Subscribe")
    body = html.encode("cp1252", errors="xmlcharrefreplace")  # the Chinese boilerplate -> &#N;
    content_type = "text/html" + (f"; charset={header}" if header else "")
    site.set("/ai/", listing_html(["/news/2026/w.html"]))
    site.set("/news/2026/w.html", Page(body=body, content_type=content_type))
    config = write_config({"outlets": [outlet(site)]})
    crawl(cli, config)
    [story] = stories(cli, config)
    assert text in story["text"] and "\ufffd" not in story["text"]


# --------------------------------------------------------------------------- identity


def test_same_text_at_two_urls_is_one_story(site, write_config, cli):
    html = zh_article("同一篇文章")
    site.set("/ai/", listing_html(["/news/2026/one.html", "/news/2026/copy.html?from=feed"]))
    site.set("/news/2026/one.html", html)
    site.set("/news/2026/copy.html?from=feed", html)
    config = write_config({"outlets": [outlet(site)]})
    crawl(cli, config)
    [story] = stories(cli, config)
    assert sorted(story["urls"]) == sorted([site.url + "/news/2026/one.html",
                                            site.url + "/news/2026/copy.html?from=feed"])
    assert story["revisions"] == 1
    for key in ("id", "outlet", "title", "url", "urls", "published", "author", "first_seen",
                "last_changed", "revisions", "content_hash", "text"):
        assert key in story


def test_unchanged_recrawl_writes_nothing_and_uses_304(site, write_config, cli):
    site.set("/ai/", listing_html([f"/news/2026/{i}.html" for i in range(3)]))
    for i, paragraphs in enumerate([ZH_PARAGRAPHS, EN_PARAGRAPHS, ZH_TRAD]):  # three distinct stories
        site.set(f"/news/2026/{i}.html", article_html(f"第{i}篇", paragraphs, meta_charset="utf-8"))
    config = write_config({"outlets": [outlet(site, revisit="always")]})  # every crawl
    crawl(cli, config)
    first = stories(cli, config)
    assert len(first) == 3
    site.hits.clear()
    crawl(cli, config)
    second = stories(cli, config)
    assert [(s["id"], s["revisions"], s["content_hash"]) for s in second] == \
        [(s["id"], s["revisions"], s["content_hash"]) for s in first]
    article_hits = [h for h in site.hits if h.path.startswith("/news/")]
    assert len(article_hits) == 3
    assert all(h.status == 304 for h in article_hits)
    assert all("If-None-Match" in h.headers for h in article_hits)


def test_changed_recrawl_adds_a_revision(site, write_config, cli):
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set("/news/2026/a.html", zh_article("会变的文章"))
    config = write_config({"outlets": [outlet(site, revisit="always")]})  # every crawl
    crawl(cli, config)
    [before] = stories(cli, config)
    site.set("/news/2026/a.html", zh_article("会变的文章", extra="更新：该公司随后宣布模型将免费开放给高校研究者使用。"))
    crawl(cli, config)
    [after] = stories(cli, config)
    assert after["id"] == before["id"]
    assert after["revisions"] == 2
    assert after["content_hash"] != before["content_hash"]
    assert "免费开放给高校研究者" in after["text"]


def test_sidebar_only_change_is_not_a_revision(site, write_config, cli):
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set("/news/2026/a.html", zh_article("广告会变"))
    config = write_config({"outlets": [outlet(site, revisit="always")]})  # every crawl
    crawl(cli, config)
    site.set("/news/2026/a.html", article_html("广告会变", ZH_PARAGRAPHS, meta_charset="utf-8",
                                               sidebar="热门排行：完全不同的热点新闻", ad="全新广告位招租"))
    crawl(cli, config)
    [story] = stories(cli, config)
    assert story["revisions"] == 1


# --------------------------------------------------------------------------- discovery & politeness


def test_robots_disallow_is_obeyed(site, write_config, cli):
    site.set("/robots.txt", Page(body=b"User-agent: *\nDisallow: /news/2026/secret\n",
                                 content_type="text/plain"))
    site.set("/ai/", listing_html(["/news/2026/open.html", "/news/2026/secret.html"]))
    site.set("/news/2026/open.html", zh_article("公开文章"))
    site.set("/news/2026/secret.html", zh_article("秘密文章", extra="这一段只在秘密文章里出现。"))
    config = write_config({"outlets": [outlet(site)]})
    crawl(cli, config)
    assert [s["title"] for s in stories(cli, config)] == ["公开文章"]
    assert site.requests_for("/news/2026/secret.html") == []
    assert "newswatch" in site.requests_for("/ai/")[0].headers["User-Agent"]


def test_meta_refresh_is_followed_and_only_sniffed_pages_are_decoded(site, write_config, cli):
    """A page that moved by ``<meta http-equiv="Refresh">`` is followed to its new address (the
    crawl process decodes only pages whose first bytes hold the word: crawler/metarefresh.py)."""
    from newswatch.crawler.metarefresh import may_refresh

    moved = ('<html><head><META HTTP-EQUIV="Refresh" CONTENT="0; URL=/news/2026/new.html">'
             '</head><body>moved</body></html>')
    site.set("/ai/", listing_html(["/news/2026/old.html"]))
    site.set("/news/2026/old.html", Page(body=moved.encode()))
    site.set("/news/2026/new.html", zh_article("搬家后的文章"))
    config = write_config({"outlets": [outlet(site)]})
    crawl(cli, config)
    assert [s["title"] for s in stories(cli, config)] == ["搬家后的文章"]
    assert len(site.requests_for("/news/2026/new.html")) == 1
    assert may_refresh(moved.encode()) and may_refresh(moved.encode("utf-16"))
    assert not may_refresh(zh_article("没有跳转").encode("utf-8"))


def test_non_article_links_are_not_fetched(site, write_config, cli):
    site.set("/ai/", listing_html(["/news/2026/a.html", "/about.html", "/tag/ai", "mailto:x@y.z",
                                   "javascript:void(0)", "https://elsewhere.invalid/news/2026/x"]))
    site.set("/news/2026/a.html", zh_article("文章"))
    config = write_config({"outlets": [outlet(site, allowed_domains=["127.0.0.1"])]})
    crawl(cli, config)
    fetched = {h.path for h in site.hits}
    assert fetched == {"/robots.txt", "/ai/", "/news/2026/a.html"}


def test_feed_and_sitemap_discovery(site, write_config, cli):
    rss = f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>{site.url}/news/2026/feed.html</link></item></channel></rss>"""
    sitemap = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{site.url}/news/2026/map.html</loc></url><url><loc>{site.url}/about.html</loc></url></urlset>"""
    site.set("/rss.xml", Page(body=rss.encode(), content_type="application/rss+xml"))
    site.set("/sitemap.xml", Page(body=sitemap.encode(), content_type="application/xml"))
    site.set("/news/2026/feed.html", article_html("Feed story", EN_PARAGRAPHS, lang="en", meta_charset="utf-8"))
    site.set("/news/2026/map.html", zh_article("站点地图文章"))
    config = write_config({"outlets": [{"name": "local", "feeds": [site.url + "/rss.xml"],
                                        "sitemaps": [site.url + "/sitemap.xml"],
                                        "article_url": ARTICLE_RE, "render": "never"}]})
    crawl(cli, config)
    assert sorted(s["title"] for s in stories(cli, config)) == ["Feed story", "站点地图文章"]
    assert site.requests_for("/about.html") == []


# --------------------------------------------------------------------------- bad pages


def test_bad_pages_are_skipped_and_the_rest_stored(site, write_config, cli):
    good = "/news/2026/good.html"
    bad = {
        "/news/2026/empty.html": Page(body=b""),
        "/news/2026/binary.html": Page(body=bytes(range(256)) * 40, content_type="application/octet-stream"),
        "/news/2026/huge.html": Page(body=b"<html><body>" + b"<p>x</p>" * 200_000 + b"</body></html>"),
        "/news/2026/missing.html": Page(body=b"gone", status=404),
        "/news/2026/broken.html": Page(body=b"oops", status=500),
        "/news/2026/loading.html": Page(body="<html><body><div id='app'>加载中…</div></body></html>".encode()),
        "/news/2026/loop.html": Page(status=302, headers={"Location": "/news/2026/loop.html"}),
    }
    site.set("/ai/", listing_html([good, *bad]))
    site.set(good, zh_article("好文章"))
    for path, page in bad.items():
        site.set(path, page)
    config = write_config({"outlets": [outlet(site)],
                           "politeness": {"max_page_bytes": 1_000_000, "retries": 1}})
    output = crawl(cli, config)
    assert [s["title"] for s in stories(cli, config)] == ["好文章"]
    assert "loading notice" in output or "too short" in output
    assert len(site.requests_for("/news/2026/broken.html")) == 2  # one retry


def test_dead_outlet_does_not_stop_the_others(site, write_config, cli):
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set("/news/2026/a.html", zh_article("活着的网站"))
    dead = {"name": "dead", "start_urls": ["http://127.0.0.1:9/ai/"], "article_url": ARTICLE_RE}
    config = write_config({"outlets": [dead, outlet(site)], "politeness": {"retries": 0}})
    output = crawl(cli, config)
    assert [s["title"] for s in stories(cli, config)] == ["活着的网站"]
    assert "dead" in output


def test_retry_after_is_honoured(site, write_config, cli):
    site.set("/ai/", listing_html(["/news/2026/a.html"]))
    site.set_sequence("/news/2026/a.html", [
        Page(body=b"slow down", status=429, headers={"Retry-After": "1"}),
        Page(body=zh_article("限流之后").encode()),
    ])
    config = write_config({"outlets": [outlet(site)], "politeness": {"retries": 2}})
    crawl(cli, config)
    hits = site.requests_for("/news/2026/a.html")
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 0.9  # waited the Retry-After second before retrying
    assert [s["title"] for s in stories(cli, config)] == ["限流之后"]


def test_unreachable_database_exits_nonzero(tmp_path, site, write_config, cli):
    config = write_config({"outlets": [outlet(site)],
                           "database": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    result = cli("crawl", "--config", str(config))
    assert result.returncode == 1
    assert "127.0.0.1:1" in result.stderr
    assert site.hits == []
