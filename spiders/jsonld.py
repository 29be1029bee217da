"""An override example: outlets whose article pages carry the whole story in JSON-LD.

Select it with ``spider: jsonld`` on an outlet. It discovers links like the generic spider but,
when a page has a schema.org ``NewsArticle`` with an ``articleBody``, it hands the pipelines a
minimal HTML page built from that JSON (headline, date, author, body) instead of the raw page,
so extraction sees the story even when the visible page is drawn by scripts.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

from scrapy.http import Response, TextResponse

from newswatch.spiders import register
from newswatch.spiders.outlet import OutletSpider
from newswatch.spiders.page import PageItem

_ARTICLE_TYPES = {"NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle"}


def _articles(data: Any) -> Iterable[dict[str, Any]]:
    if isinstance(data, list):
        for entry in data:
            yield from _articles(entry)
    elif isinstance(data, dict):
        kind = data.get("@type")
        kinds = set(kind) if isinstance(kind, list) else {kind}
        if kinds & _ARTICLE_TYPES and data.get("articleBody"):
            yield data
        yield from _articles(data.get("@graph", []))


@register("jsonld")
class JsonLdSpider(OutletSpider):
    def page_item(self, response: Response) -> PageItem:
        item = super().page_item(response)
        if response.status != 200 or not isinstance(response, TextResponse):
            return item
        for raw in response.xpath('//script[@type="application/ld+json"]/text()').getall():
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            for article in _articles(data):
                item.body = self.as_html(article).encode("utf-8")
                item.header_charset = "utf-8"
                return item
        return item

    @staticmethod
    def as_html(article: dict[str, Any]) -> str:
        author = article.get("author") or ""
        if isinstance(author, dict):
            author = author.get("name", "")
        elif isinstance(author, list):
            author = ", ".join(a.get("name", "") if isinstance(a, dict) else str(a) for a in author)
        paragraphs = "".join(f"<p>{html.escape(p)}</p>"
                             for p in str(article["articleBody"]).splitlines() if p.strip())
        return (f'<html><head><meta charset="utf-8"><title>{html.escape(str(article.get("headline", "")))}</title>'
                f'<meta property="article:published_time" content="{html.escape(str(article.get("datePublished", "")))}">'
                f'<meta name="author" content="{html.escape(str(author))}"></head>'
                f'<body><article><h1>{html.escape(str(article.get("headline", "")))}</h1>'
                f"{paragraphs}</article></body></html>")
