"""Scrapy's meta-refresh redirects, without decoding the pages that cannot hold one.

Scrapy's ``MetaRefreshMiddleware`` decodes every HTML answer (``response.text``: the encoding
sniffed, then the whole body) to look for ``<meta http-equiv="refresh">`` in its first 4,096
characters, in the crawl's one process, for every article (the extraction workers decode it
again). A character takes at most 4 bytes, so a page whose first 16 KiB lack the bytes
``refresh`` (any case) has no such tag there: it is passed on as it is. Every other page, and
any page with a NUL byte at its start (UTF-16 or UTF-32, which spell the word differently),
goes through Scrapy's own check.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Response

SCANNED_CHARACTERS = 4096  # what Scrapy's get_meta_refresh reads
HEAD_BYTES = 4 * SCANNED_CHARACTERS


def may_refresh(body: bytes) -> bool:
    """False only when the page's first characters cannot hold a meta refresh."""
    head = body[:HEAD_BYTES]
    return b"\x00" in head[:1024] or b"refresh" in head.lower()


class SniffingMetaRefreshMiddleware(MetaRefreshMiddleware):
    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Request | Response:
        if isinstance(response, HtmlResponse) and not may_refresh(response.body):
            return response
        return super().process_response(request, response)
