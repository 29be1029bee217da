"""Build the demo outlet's responses: fill the UTF-8 templates under ``demo/site/`` for a given
site version and base URL, and encode each page into the bytes the manifest promises.

``resource(path, version, base)`` is the only entry point the server needs; it returns ``None``
for paths the site does not have.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache, lru_cache
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from newswatch.demo import manifest as m

SITE_DIR = Path(__file__).with_name("site")
_SLOT = re.compile(r"\{\{(\w+)\}\}")
_RAW_KEYS = {"body", "related", "comments", "sidebar", "paywall", "charset_meta", "items", "picks"}


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str
    validators: str  # both | etag | last-modified | none
    stamp: datetime  # when this content first appeared (before version bumps are applied)


@cache
def site_file(rel: str) -> str:
    return (SITE_DIR / rel).read_text(encoding="utf-8")


def fill(template_name: str, values: dict[str, object]) -> str:
    """Replace every ``{{slot}}``; text slots are HTML-escaped, markup slots are not."""
    template = site_file(template_name)

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"{template_name}: no value for {{{{{key}}}}}")
        value = str(values[key])
        return value if key in _RAW_KEYS else html.escape(value, quote=True)

    return _SLOT.sub(sub, template)


_DATE_STYLES = {
    "dash": "%Y-%m-%d %H:%M",
    "cn": "%Y年%m月%d日 %H:%M",
    "slash": "%Y/%m/%d %H:%M",
    "seconds": "%Y-%m-%d %H:%M:%S",
}


def _date_text(when: datetime, style: str) -> str:
    return when.strftime(_DATE_STYLES[style])


@lru_cache(maxsize=1)
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t")


def _changes(article: m.Article, version: int) -> list[m.Change]:
    return [c for v, c in sorted(article.changes.items()) if v <= version]


def article_body(article: m.Article, version: int) -> str:
    """The body markup of an article (of its original, for a republished copy) at a version."""
    source = m.BY_SLUG[article.copy_of] if article.copy_of else article
    body = site_file(source.body_file).rstrip("\n")
    for change in _changes(source, version):
        if change.insert_after:
            if change.insert_after not in body:
                raise ValueError(f"{source.body_file}: edit anchor {change.insert_after!r} not found")
            body = body.replace(change.insert_after, change.insert_after + change.text, 1)
    return body


def render_article(article: m.Article, version: int, base: str) -> str:
    traditional = article.encoding == "big5"
    sidebar = article.sidebar
    for change in _changes(article, version):
        sidebar = change.sidebar or sidebar
    related = []
    for slug in article.related:
        other = m.BY_SLUG[slug]
        title = _to_traditional().convert(other.title) if traditional else other.title
        related.append(f'          <li><a href="{other.url_path}">{html.escape(title)}</a></li>')
    comments = [
        f'          <li class="comment"><span class="user">{html.escape(user)}</span>'
        f'<p class="comment-text">{html.escape(text)}</p></li>'
        for user, text in article.comments
    ]
    body = article_body(article, version)
    paywall = ""
    if article.paywall:
        body += '\n<p class="preview-end">……预览已结束，订阅后可阅读全文</p>'
        paywall = (
            '      <div class="paywall" id="paywall"><div class="paywall-mask"></div>'
            '<p class="paywall-tip">🔒 剩余约78%内容仅对付费会员开放</p>'
            '<a class="btn-subscribe" href="/about.html#subscribe">订阅会员 首月9.9元</a>'
            '<p>已是会员？<a href="javascript:void(0)" onclick="login()">登录</a></p></div>'
        )
    values = {
        "charset_meta": article.charset_meta,
        "title": article.title,
        "summary": article.summary,
        "keywords": article.keywords,
        "url": base + article.url_path,
        "published_iso": article.published.isoformat(),
        "published_text": _date_text(article.published, article.date_style),
        "author": article.author,
        "source_name": article.source_name,
        "editor": article.editor,
        "views": article.views,
        "body": body,
        "paywall": paywall,
        "related": "\n".join(related),
        "comments": "\n".join(comments),
        "comment_count": len(article.comments),
        "sidebar": site_file(f"fragments/{sidebar}.html").rstrip("\n"),
        "source_line": article.source_line,
        "disclaimer": article.disclaimer,
    }
    return fill(f"layouts/{article.layout}.html", values)


def render_index(version: int, base: str) -> str:
    items, picks = [], []
    listed = [a for a in m.articles_at(version) if a.on_index and not a.path.startswith("/private/")]
    for i, article in enumerate(listed):
        # Real listing pages mix absolute and relative links.
        href = (base + article.url_path) if i % 2 == 0 else article.url_path
        items.append(
            f'      <div class="news-item"><h2><a href="{href}" target="_blank">'
            f"{html.escape(article.title)}</a></h2>"
            f'<p class="summary">{html.escape(article.summary)}</p>'
            f'<span class="time">{article.published:%m-%d %H:%M}</span> '
            f'<a class="cmt" href="{article.url_path}#comments">{len(article.comments)}条评论</a></div>'
        )
    for article in m.articles_at(version):
        if article.on_index and article.path.startswith("/private/"):
            picks.append(f'        <li><a href="{article.url_path}">{html.escape(article.title)}</a></li>')
    picks.append('        <li><a href="/ads/click-app.html" rel="nofollow">【推广】AI前哨APP会员限时免费领</a></li>')
    picks.append('        <li><a href="mailto:tips@aiqianshao.example">欢迎爆料：tips@aiqianshao.example</a></li>')
    picks.append('        <li><a href="javascript:void(0)" onclick="subscribe()">一键订阅早报</a></li>')
    return fill("layouts/listing.html", {"items": "\n".join(items), "picks": "\n".join(picks)})


def render_wire_index(version: int, base: str) -> str:
    items = [
        f'    <li><a href="{a.url_path}">{html.escape(a.title)}</a> '
        f'<span>{a.published:%Y-%m-%d}</span></li>'
        for a in m.articles_at(version)
        if a.on_wire
    ]
    return fill("layouts/wire_listing.html", {"items": "\n".join(items)})


def render_rss(version: int, base: str) -> str:
    items = [a for a in m.articles_at(version) if a.in_feed]
    built = max([a.published for a in items] + [m.VERSION_TIMES[version]])
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        "<title>AI前哨网 - 人工智能</title>",
        f"<link>{xml_escape(base)}/ai/</link>",
        "<description>AI前哨网人工智能频道最新报道</description>",
        "<language>zh-cn</language>",
        f"<lastBuildDate>{format_datetime(built.astimezone(UTC), usegmt=True)}</lastBuildDate>",
    ]
    for a in items:
        link = xml_escape(base + a.url_path)
        parts += [
            "<item>",
            f"<title>{xml_escape(a.title)}</title>",
            f"<link>{link}</link>",
            f'<guid isPermaLink="true">{link}</guid>',
            f"<pubDate>{format_datetime(a.published)}</pubDate>",
            f"<dc:creator>{xml_escape(a.author)}</dc:creator>",
            f"<description>{xml_escape(a.summary)}</description>",
            "</item>",
        ]
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts)


def render_sitemap(version: int, base: str) -> str:
    entries = [(base + "/ai/", last_modified("/ai/", version, base)), (base + "/about.html", m.EPOCH)]
    for a in m.articles_at(version):
        if a.in_sitemap:
            entries.append((base + a.url_path, last_modified(a.url_path, version, base)))
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for loc, when in entries:
        parts.append(f"  <url><loc>{xml_escape(loc)}</loc><lastmod>{when.isoformat()}</lastmod></url>")
    parts += ["</urlset>", ""]
    return "\n".join(parts)


def _utf8(text: str, content_type: str, stamp: datetime) -> Resource:
    return Resource(text.encode("utf-8"), content_type, "both", stamp)


def _build(path: str, version: int, base: str) -> Resource | None:
    article = m.BY_PATH.get(path)
    if article is not None:
        if article.since > version:
            return None
        text = render_article(article, version, base)
        try:
            body = text.encode(article.encoding)
        except UnicodeEncodeError as exc:
            bad = text[exc.start:exc.end]
            raise ValueError(f"{path}: {bad!r} cannot be encoded as {article.encoding}") from None
        return Resource(body, article.content_type, article.validators, article.published)
    site_time = m.VERSION_TIMES[1]
    if path == "/ai/":
        return _utf8(render_index(version, base), m.HTML_UTF8, site_time)
    if path == "/wire/":
        return _utf8(render_wire_index(version, base), m.HTML_UTF8, site_time)
    if path == "/rss.xml":
        return _utf8(render_rss(version, base), "application/rss+xml; charset=utf-8", site_time)
    if path == "/sitemap.xml":
        return _utf8(render_sitemap(version, base), "application/xml; charset=utf-8", site_time)
    if path == "/robots.txt":
        text = fill("pages/robots.txt", {"base": base})
        return _utf8(text, "text/plain; charset=utf-8", m.EPOCH)
    if path in m.STATIC_PAGES:
        return _utf8(site_file(m.STATIC_PAGES[path]), m.HTML_UTF8, m.EPOCH)
    if path.startswith(m.AD_PREFIX) and path.endswith(".html") and path.count("/") == 2:
        return _utf8(site_file("pages/ad.html"), m.HTML_UTF8, m.EPOCH)
    for tag in m.TAGS:
        if path == f"/tag/{tag}/":
            return _utf8(fill("pages/tag.html", {"tag": tag}), m.HTML_UTF8, m.EPOCH)
    return None


@lru_cache(maxsize=512)
def resource(path: str, version: int, base: str) -> Resource | None:
    """The response for a decoded URL path (no query), or None when the site has no such page."""
    if version not in m.VERSION_TIMES:
        raise ValueError(f"site version {version}: no such version (have {m.VERSIONS})")
    return _build(path, version, base)


def last_modified(path: str, version: int, base: str) -> datetime | None:
    """When the page's current bytes first appeared: its own stamp, or the version that changed it."""
    current = resource(path, version, base)
    if current is None:
        return None
    first = version
    while first > m.VERSIONS[0]:
        earlier = resource(path, first - 1, base)
        if earlier is None:  # a page new in this version: its own date
            return current.stamp
        if earlier.body != current.body:
            break
        first -= 1
    if first == m.VERSIONS[0]:
        return current.stamp
    return max(current.stamp, m.VERSION_TIMES[first])
