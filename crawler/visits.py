"""After an article URL was fetched: its next visit (``newswatch/revisit.py``), saved with its
validators and the listed date that made it due (``Store.save_visit``).

Called by the store pipeline on the database thread, for stored pages, 304s and gone articles
(404/410: a visit that found no change, so it backs off, and keeps its validators); a page that
stored nothing (skipped, failed) keeps its old schedule, so it stays due. A stored page's visit
is saved in the article's own transaction (``visit_args`` for ``Store.record_article``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from newswatch.revisit import Visit, next_visit
from newswatch.spiders.page import LISTED, PageItem


def next_visit_of(spider: Any, item: PageItem, outcome: str, now: datetime) -> Visit:
    """The URL's next visit after this fetch with this outcome."""
    known = spider.known.get(item.url)  # storage.schedule.Scheduled, or None: a new URL
    published = item.article.published if item.article is not None else None
    origin = published or (known.origin if known is not None else now)
    previous = known.revisit_seconds if known is not None else None
    return next_visit(spider.outlet.revisit, now=now, origin=origin, previous=previous,
                      changed=outcome == "changed")


def _validators(item: PageItem) -> tuple[str | None, str | None] | None:
    """What the next request sends back: none after a 304 (kept as stored) or a gone URL."""
    return None if item.status == 304 or item.gone else (item.etag, item.last_modified)


def visit_args(spider: Any, item: PageItem, now: datetime) -> dict[str, Any]:
    """``Store.record_article``'s ``validators``, ``visit`` and ``listed_at`` for this page:
    its visit saved once its outcome is known, in the article's transaction."""
    return {"validators": _validators(item),
            "visit": lambda outcome: next_visit_of(spider, item, outcome, now),
            "listed_at": item.extra.get(LISTED)}


def save_visit(store: Any, spider: Any, item: PageItem, outcome: str, now: datetime) -> None:
    """Save the visit of a page that stored no article (a 304, a gone article) in a transaction
    of its own."""
    store.save_visit(item.url, next_visit_of(spider, item, outcome, now), fetched_at=now,
                     validators=_validators(item), listed_at=item.extra.get(LISTED))
