"""extract_article(): page bytes -> Article. Top-level and picklable (runs in a process pool);
never raises: unusable input comes back as an Article with skip_reason set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
from lxml import etree

from . import metadata, select
from .candidates import jsonld_body, trafilatura_text
from .core import main_text
from .decode import decode_html, fix_mojibake
from .htmltree import JUNK_TAGS, parse_html
from .normalize import normalize_text, tidy_text
from .postfilter import filter_lines
from .verdict import (
    browser_signals,
    is_loading_notice,
    meaningful_size,
    not_html,
    skip_reason,
)

# below this many ideographs+words a page with script-rendering signs is sent to a browser
_BROWSER_THRESHOLD = 150


_SENTENCE_ENDS = (".", "!", "?", "。", "！", "？", "”", "\"", "…", "」")
_ARTICLE_TYPE = re.compile(r'"@type"\s*:\s*"(?:News|Blog|Report|Scholarly|Tech)?Article"')


def _article_markup(root: lxml.html.HtmlElement, meta: dict[str, str], html: str) -> bool:
    """The page says it is an article: og:type article, a JSON-LD Article, an <article>
    element or an itemprop=articleBody."""
    return (meta.get("og:type", "").lower() == "article"
            or root.find(".//article") is not None
            or bool(_ARTICLE_TYPE.search(html))
            or bool(root.xpath("//*[@itemprop='articleBody']")))


@dataclass(frozen=True, slots=True)
class Article:
    title: str = ""
    text: str = ""
    published: datetime | None = None
    author: str | None = None
    language: str | None = None
    encoding: str = ""
    skip_reason: str | None = None
    needs_browser: str | None = None


def _best_candidate(ours: str, html: str, page: select.PageEvidence, titles: list[str],
                    jsonld: str) -> str:
    """Ours, unless the page's own evidence says another candidate holds the article."""
    text = ours
    if select.doubtful(select.tokens(ours), page, ours):
        other = filter_lines(trafilatura_text(html), titles)
        text, _ = select.choose(ours, other, page)
    if jsonld and sum(select.tokens(text).values()) < select.SHORT:
        n = sum(select.tokens(jsonld).values())
        if n >= select.SHORT and n >= 2 * sum(select.tokens(text).values()):
            text = jsonld  # drawn by a script; the page's structured data has it
    return text


def extract_article(body: bytes, url: str, header_charset: str | None = None) -> Article:
    """Decode, pick the main text, read metadata, and judge whether the page is an article."""
    try:
        return _extract(body if isinstance(body, bytes | bytearray) else bytes(body or b""),
                        url, header_charset)
    except Exception as e:  # garbage in must never take a pool worker down
        return Article(skip_reason=f"unparsable ({type(e).__name__})")


def _extract(body: bytes, url: str, header_charset: str | None) -> Article:
    if not body or not body.strip():
        return Article(skip_reason="empty")
    if not_html(bytes(body[:65536])):
        return Article(skip_reason="not html")
    html, codec = decode_html(bytes(body), header_charset)
    root = parse_html(html)
    if root is None:
        return Article(encoding=codec, skip_reason="empty")

    meta = metadata.collect_meta(root)
    html_lang = root.get("lang") or root.get("xml:lang") or meta.get("content-language")
    title, unconfirmed = metadata.page_title(root, meta)
    title = fix_mojibake(title)
    titles = [normalize_text(t) for t in metadata.title_variants(root, meta)]
    author = metadata.author_from_meta(meta, html)
    jsonld = jsonld_body(root) if "articleBody" in html else ""
    etree.strip_elements(root, *JUNK_TAGS, with_tail=False)
    body_el = root.find("body")
    # one text node a line: enough for dates, bylines and notices, and C-fast
    page_text = "\n".join(body_el.itertext()) if body_el is not None else ""
    lang = metadata.language_of(page_text or title, html_lang)
    tz = metadata.CHINA_TZ if lang == "zh" else UTC
    published = metadata.published_from_tree(root, meta, html, tz)
    if published is None:
        published = metadata.date_of_page(page_text, title, tz)

    evidence = select.PageEvidence.of(body_el, page_text, title)
    # read before the main-text search changes the tree: the headline may be above the text
    lines = metadata.text_lines(body_el) if unconfirmed and body_el is not None else None
    plainly_article = published is not None and bool(title) and _article_markup(root, meta, html)
    try:
        raw, links = main_text(root, lambda: parse_html(html))
    except Exception:  # readability gives up on some trees: fall back to the page text
        raw, links = page_text, frozenset()
    text = filter_lines(tidy_text(fix_mojibake(raw)), titles, links)
    text = _best_candidate(text, html, evidence, titles, jsonld)
    if author is None:
        author = metadata.author_from_text(page_text, text)
    if lines:
        title = metadata.headline_above(lines, text, title, evidence) or title

    reason = skip_reason(text, plainly_article and text.endswith(_SENTENCE_ENDS))
    if reason in ("empty", "too short") and is_loading_notice(normalize_text(page_text[:2000])):
        reason = "loading notice"
    needs_browser = None
    if reason or meaningful_size(text) < _BROWSER_THRESHOLD:
        fresh = parse_html(html)
        if fresh is not None:
            needs_browser = browser_signals(fresh, html, len(text))
    return Article(title=title, text=text, published=published, author=author,
                   language=metadata.language_of(text, html_lang) if text else lang,
                   encoding=codec, skip_reason=reason, needs_browser=needs_browser)
