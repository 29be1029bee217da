"""After an article URL was fetched: its next visit (``newswatch/revisit.py``), saved with its
validators and the listed date that made it due (``Store.save_visit``).

Called by the store pipeline on the database thread, for stored pages, 304s and gone articles
(404/410: a visit that found no change, so it backs off, and keeps its validators); a page that
stored nothing (skipped, failed) keeps its old schedule, so it stays due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from newswatch.revisit import next_visit
from newswatch.spiders.page import LISTED, PageItem


def save_visit(store: Any, spider: Any, item: PageItem, outcome: str, now: datetime) -> None:
    known = spider.known.get(item.url)  # storage.schedule.Scheduled, or None: a new URL
    published = item.article.published if item.article is not None else None
    origin = published or (known.origin if known is not None else now)
    previous = known.revisit_seconds if known is not None else None
    visit = next_visit(spider.outlet.revisit, now=now, origin=origin, previous=previous,
                       changed=outcome == "changed")
    validators = None if item.status == 304 or item.gone else (item.etag, item.last_modified)
    store.save_visit(item.url, visit, fetched_at=now, validators=validators,
                     listed_at=item.extra.get(LISTED))
