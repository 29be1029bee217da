"""The one wording of a crawl that hit an outlet's ``max_new_articles`` cap (links left for
later crawls): the crawl summary says it, and so does the dashboard's outlet row."""

from __future__ import annotations


def capped_text(cap: int, left: int) -> str | None:
    """``"50 new article links (4950 more left for later crawls)"``; None when none was left."""
    if not left:
        return None
    return f"{cap} new article links ({left} more left for later crawls)"
