"""What spiders and the crawler agree on: the item a spider yields, the request meta keys both
read, and the error a request fails with when the browser cannot be used.

Spiders decide *what* is fetched and hand each article page on as a :class:`PageItem`; the
crawler (``newswatch.crawler``) decides *how*: downloads, the browser, extraction, storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import IgnoreRequest

ARTICLE = "newswatch_article"
"""Request meta: this request fetches an article page (conditional, may go to the browser)."""
ROLE = "newswatch_role"
"""Request meta: what the page is to its spider: listing, feed, sitemap or article."""
UNCONDITIONAL = "newswatch_unconditional"
"""Request meta: send no validators (If-None-Match / If-Modified-Since) with this request."""
LISTED = "newswatch_listed"
"""Request meta: the ``<lastmod>`` / feed date (aware datetime) that made a stored article due."""
DISCOVERY_ROLES = ("listing", "feed", "sitemap")
"""The ``ROLE`` of discovery pages: fetched every crawl, conditionally."""
GONE = (404, 410)
"""The statuses of a stored article whose URL is gone: its story is kept, its visits back off."""


class BrowserUnavailable(IgnoreRequest):
    """The browser cannot be used (missing binary, failed launch): the page is skipped."""


@dataclass
class PageItem:
    """A fetched article URL. ``status`` 304 means the server said it did not change; a status
    in ``GONE`` (a stored article's URL now answers 404/410) carries no page, only the visit."""

    outlet: str
    url: str
    status: int
    body: bytes = b""
    header_charset: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    rendered: bool = False
    # Filled by the extract pipeline:
    article: Any = None
    # Filled by the store pipeline ("new", "changed", "unchanged", "duplicate", "skipped"):
    outcome: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gone(self) -> bool:
        return self.status in GONE
