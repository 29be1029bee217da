"""The bundled demo outlet: encodings and headers as promised, validators and 304s, robots.txt,
feed and sitemap, the republished copy, and what changes in version 2."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import urllib.robotparser
from pathlib import Path

import feedparser
import lxml.html
import pytest
import yaml
from lxml import etree

from newswatch.demo import demo_config, manifest, serve_demo
from newswatch.demo.render import article_body
from tests.readme import plausible_env

ARTICLE_RE = re.compile(r"/news/\d{4}/")
REPO = Path(__file__).resolve().parents[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _opener.open(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.fixture(scope="module")
def site():
    with serve_demo() as server:
        yield server


@pytest.fixture
def fresh_site():
    with serve_demo() as server:
        yield server


def page(slug: str) -> manifest.Article:
    return manifest.BY_SLUG[slug]


def visible_text(markup: str) -> str:
    return lxml.html.fromstring(markup).text_content()


# ----------------------------------------------------------------------------- encodings


def test_every_page_is_served_with_its_promised_header_and_encoding(site):
    for article in manifest.articles_at(1):
        status, headers, body = get(site.url + article.url_path)
        assert status == 200, article.url_path
        assert headers["Content-Type"] == article.content_type, article.url_path
        text = body.decode(article.encoding)  # strict: the bytes really are in that codec
        assert article.title in text or article.copy_of, article.url_path
        if article.charset_meta:
            assert article.charset_meta in text
        if article.encoding != "utf-8":
            with pytest.raises(UnicodeDecodeError):
                body.decode("utf-8")


def test_gbk_page_declares_gb2312_but_needs_gbk(site):
    _, headers, body = get(site.url + page("tongyi-qianwen-beta").url_path)
    assert "charset" not in headers["Content-Type"]
    assert b"charset=gb2312" in body
    text = body.decode("gbk")
    assert "王堃" in text and "通义千问" in text
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")


def test_gb18030_page_has_characters_outside_gbk(site):
    _, _, body = get(site.url + page("wenxin-yiyan-enterprise").url_path)
    text = body.decode("gb18030")
    assert "𠮷野家" in text and "刘䶮" in text
    with pytest.raises(UnicodeEncodeError):
        "𠮷".encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gbk")


def test_big5_page_is_traditional_script(site):
    _, headers, body = get(site.url + page("digital-human-livestream").url_path)
    assert headers["Content-Type"] == "text/html; charset=big5"
    text = body.decode("big5")
    assert "數字人主播" in text and "直播間" in text
    with pytest.raises(UnicodeDecodeError):
        body.decode("gbk")


def test_utf8_page_declares_nothing_anywhere(site):
    _, headers, body = get(site.url + page("ai-chip-compute").url_path)
    assert headers["Content-Type"] == "text/html"
    assert not body.startswith(b"\xef\xbb\xbf")
    assert b"charset" not in body.lower() and b"encoding" not in body.lower()
    assert "国产算力卡" in body.decode("utf-8")


def test_wrong_header_charset_with_correct_meta(site):
    _, headers, body = get(site.url + page("model-price-war").url_path)
    assert headers["Content-Type"] == "text/html; charset=iso-8859-1"
    assert b'charset=gbk' in body
    assert "降价潮" in body.decode("gbk")
    assert "降价潮" not in body.decode("iso-8859-1")


def test_article_bodies_are_400_to_1500_characters():
    for article in manifest.ARTICLES:
        text = visible_text(article_body(article, max(manifest.VERSIONS)))
        assert 400 <= len(text.strip()) <= 1500, (article.slug, len(text))


def test_paywalled_preview_ends_with_the_notice(site):
    _, _, body = get(site.url + page("ai-agent-paywall").url_path)
    doc = lxml.html.fromstring(body.decode("utf-8"))
    content = doc.cssselect(".entry-content")[0].text_content().strip()
    assert content.endswith("预览已结束，订阅后可阅读全文")
    assert doc.cssselect("#paywall")


def test_boilerplate_surrounds_each_body(site):
    for slug in ("gpt4-multimodal", "model-price-war", "ai-chip-compute"):
        article = page(slug)
        _, _, body = get(site.url + article.url_path)
        text = body.decode(article.encoding)
        for marker in ('class="ad', "<iframe", "热门排行", "相关阅读", 'id="comments"',
                       "免责声明", "友情链接"):
            assert marker in text, (slug, marker)


# ----------------------------------------------------------------------------- republished copy


def test_syndicated_copy_is_the_same_story_with_source_line_and_disclaimer(site):
    original, copy = page("open-source-models"), page("open-source-models-wire")
    _, _, orig_body = get(site.url + original.url_path)
    _, _, copy_body = get(site.url + copy.url_path)
    orig = lxml.html.fromstring(orig_body.decode("utf-8")).cssselect("#artibody")[0]
    dup = lxml.html.fromstring(copy_body.decode("utf-8")).cssselect("#content")[0]
    orig_paras = [p.text_content() for p in orig.iter("p")]
    dup_paras = [p.text_content() for p in dup.iter("p")]
    assert dup_paras[0] == "来源：AI前哨网 转载请注明出处"
    assert dup_paras[-1].startswith("声明：本文转载自AI前哨网")
    assert dup_paras[1:-1] == orig_paras
    assert copy.url_path.startswith("/syndication/")

    _, _, wire = get(site.url + "/wire/")
    hrefs = lxml.html.fromstring(wire.decode("utf-8")).xpath("//a/@href")
    assert [h for h in hrefs if "/syndication/" in h] == [copy.url_path]
    assert not any(ARTICLE_RE.search(h) for h in hrefs)


# ----------------------------------------------------------------------------- discovery


def test_index_links_every_article_and_some_non_articles(site):
    _, _, body = get(site.url + "/ai/")
    hrefs = lxml.html.fromstring(body.decode("utf-8")).xpath("//a/@href")
    articles = {h.removeprefix(site.url).split("#")[0] for h in hrefs if ARTICLE_RE.search(h)}
    expected = {a.url_path for a in manifest.articles_at(1) if a.on_index}
    assert articles == expected
    assert "/private/news/2026/secret.html" in articles
    assert any(h.startswith(site.url + "/news/") for h in hrefs)  # absolute links
    assert any(h.startswith("/news/") for h in hrefs)  # relative links
    for non_article in ("/about.html", "/ads/click-app.html", "mailto:tips@aiqianshao.example",
                        "javascript:void(0)", "javascript:loadMore()"):
        assert non_article in hrefs
    assert any(h.startswith("/tag/%E5%A4%A7%E6%A8%A1%E5%9E%8B/") for h in hrefs)
    assert not any(ARTICLE_RE.search(h) for h in hrefs if h.startswith(("/tag/", "/ads/", "mailto")))


def test_robots_txt_disallows_private(site):
    status, headers, body = get(site.url + "/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(body.decode("utf-8").splitlines())
    assert not robots.can_fetch("newswatch", site.url + "/private/news/2026/secret.html")
    assert robots.can_fetch("newswatch", site.url + "/news/2026/gpt4-multimodal.html")
    assert robots.site_maps() == [site.url + "/sitemap.xml"]
    # The page itself exists: only robots obedience keeps a crawler away.
    assert get(site.url + "/private/news/2026/secret.html")[0] == 200


def test_rss_feed_parses_and_lists_some_articles(site):
    status, headers, body = get(site.url + "/rss.xml")
    assert status == 200 and headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    links = [e.link for e in feed.entries]
    expected = [site.url + a.url_path for a in manifest.articles_at(1) if a.in_feed]
    assert links == expected and 3 <= len(links) < len(manifest.articles_at(1))
    first = feed.entries[0]
    assert first.title == page("ai-agent-paywall").title and first.published_parsed


def test_sitemap_lists_public_articles(site):
    _, _, body = get(site.url + "/sitemap.xml")
    tree = etree.fromstring(body)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = tree.xpath("//s:loc/text()", namespaces=ns)
    assert site.url + page("gpt4-multimodal").url_path in locs
    assert site.url + "/about.html" in locs  # sitemaps carry non-articles too
    assert not any("/private/" in loc or "/syndication/" in loc for loc in locs)
    assert len(tree.xpath("//s:lastmod", namespaces=ns)) == len(locs)


def test_unknown_paths_are_404_and_query_strings_are_ignored(site):
    assert get(site.url + "/news/2026/no-such-story.html")[0] == 404
    assert get(site.url + page("ai-phone-assistant").url_path)[0] == 404  # only in version 2
    assert get(site.url + "/news/2026/gpt4-multimodal.html?from=hot")[0] == 200
    status, headers, _ = get(site.url + "/ai")
    assert status == 301 and headers["Location"] == "/ai/"


# ----------------------------------------------------------------------------- validators


def test_etag_and_last_modified_answer_304(site):
    url = site.url + page("gpt4-multimodal").url_path
    status, headers, body = get(url)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200 and etag and modified == "Sun, 15 Mar 2026 01:30:00 GMT"
    status, headers304, body304 = get(url, {"If-None-Match": etag})
    assert status == 304 and body304 == b"" and headers304["ETag"] == etag
    assert get(url, {"If-Modified-Since": modified})[0] == 304
    assert get(url, {"If-Modified-Since": "Sat, 14 Mar 2026 00:00:00 GMT"})[0] == 200
    # If-None-Match wins over If-Modified-Since.
    assert get(url, {"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
    status, head_headers, head_body = get(url, method="HEAD")
    assert status == 200 and head_body == b"" and head_headers["ETag"] == etag
    assert int(head_headers["Content-Length"]) == len(body)


def test_each_page_sends_only_its_validators(site):
    for article in manifest.articles_at(1):
        _, headers, _ = get(site.url + article.url_path)
        has = (headers.get("ETag") is not None, headers.get("Last-Modified") is not None)
        want = {"both": (True, True), "etag": (True, False),
                "last-modified": (False, True), "none": (False, False)}[article.validators]
        assert has == want, article.url_path
    url = site.url + page("model-price-war").url_path
    assert get(url, {"If-None-Match": "*", "If-Modified-Since": "Sun, 01 Jan 2040 00:00:00 GMT"})[0] == 200


def test_request_log_records_method_path_and_headers(fresh_site):
    get(fresh_site.url + "/rss.xml", {"If-None-Match": '"abc"', "User-Agent": "nw-test"})
    method, path, headers = fresh_site.request_log[-1]
    assert (method, path) == ("GET", "/rss.xml")
    assert headers["If-None-Match"] == '"abc"' and headers["User-Agent"] == "nw-test"
    assert fresh_site.requests_for("/rss.xml") == [fresh_site.request_log[-1]]


# ----------------------------------------------------------------------------- version 2


def test_version_2_changes_exactly_what_it_promises(fresh_site):
    base = fresh_site.url
    before = {a.url_path: get(base + a.url_path) for a in manifest.articles_at(1)}
    v1_index, v1_feed = get(base + "/ai/")[2], get(base + "/rss.xml")[2]
    fresh_site.set_version(2)

    # A real edit: one sentence mentioning 通义千问 is added to the chip story.
    chip = page("ai-chip-compute")
    old = before[chip.url_path][2].decode("utf-8")
    new = get(base + chip.url_path)[2].decode("utf-8")
    added = chip.changes[2].text
    assert "通义千问" in added and added not in old and added in new
    assert new.replace(added, "") == old

    # Boilerplate only: the sidebar changes, the article text does not.
    war = page("model-price-war")
    old_doc = lxml.html.fromstring(before[war.url_path][2].decode("gbk"))
    new_doc = lxml.html.fromstring(get(base + war.url_path)[2].decode("gbk"))
    old_side = old_doc.cssselect(".content-right")[0].text_content()
    new_side = new_doc.cssselect(".content-right")[0].text_content()
    assert old_side != new_side
    for doc in (old_doc, new_doc):
        for side in doc.cssselect(".content-right"):
            side.drop_tree()
    assert etree.tostring(old_doc) == etree.tostring(new_doc)

    # Everything else is byte-identical and answers 304 to the old ETag.
    for path, (_, headers, body) in before.items():
        if path in (chip.url_path, war.url_path):
            continue
        status, _, again = get(base + path)
        assert again == body, path
        if headers.get("ETag"):
            assert get(base + path, {"If-None-Match": headers["ETag"]})[0] == 304, path
    chip_etag = before[chip.url_path][1]["ETag"]
    assert get(base + chip.url_path, {"If-None-Match": chip_etag})[0] == 200
    assert get(base + chip.url_path)[1]["Last-Modified"] == "Mon, 23 Mar 2026 01:00:00 GMT"

    # One new article on the index and in the feed.
    new_story = page("ai-phone-assistant")
    v2_index, v2_feed = get(base + "/ai/")[2], get(base + "/rss.xml")[2]
    assert new_story.url_path.encode() not in v1_index and new_story.url_path.encode() in v2_index
    assert new_story.url_path.encode() not in v1_feed and new_story.url_path.encode() in v2_feed
    assert get(base + new_story.url_path)[0] == 200

    fresh_site.set_version(1)
    assert get(base + new_story.url_path)[0] == 404
    with pytest.raises(ValueError, match="version 3"):
        fresh_site.set_version(3)


# ----------------------------------------------------------------------------- configs


def test_demo_config_validates():
    config_mod = pytest.importorskip("newswatch.config")
    cfg = config_mod.parse_config(demo_config("http://127.0.0.1:8123"))
    names = [o.name for o in cfg.outlets]
    assert names == ["demo-ai", "demo-wire"]
    ai = cfg.outlet("demo-ai")
    assert ai.start_urls == ("http://127.0.0.1:8123/ai/",)
    assert ai.feeds == ("http://127.0.0.1:8123/rss.xml",) and ai.render == "never"
    assert ai.article_pattern.search("/private/news/2026/secret.html")
    assert not cfg.outlet("demo-wire").article_pattern.search("/news/2026/x.html")


def test_example_config_validates(monkeypatch):
    config_mod = pytest.importorskip("newswatch.config")
    text = (REPO / "newswatch.example.yaml").read_text(encoding="utf-8")
    for var, value in plausible_env(text).items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("NEWSWATCH_DATABASE_URL", raising=False)
    cfg = config_mod.parse_config(yaml.safe_load(text), source="newswatch.example.yaml")
    assert len(cfg.outlets) >= 8
    assert cfg.watches and cfg.notify
    known = set(cfg.notify)
    for watch in cfg.watches:
        assert set(watch.get("notify", [])) <= known, watch["name"]
    rules = pytest.importorskip("newswatch.matching.rules")
    assert [w.name for w in rules.parse_watches(cfg.watches)] == [w["name"] for w in cfg.watches]
    channels = pytest.importorskip("newswatch.alerts.channels")
    assert set(channels.parse_channels(cfg.notify)) == known


def test_demo_config_watches_parse():
    rules = pytest.importorskip("newswatch.matching.rules")
    watches = rules.parse_watches(demo_config("http://127.0.0.1:1")["watches"])
    assert {w.name for w in watches} == {"qwen", "gpt4"}
