"""AutoThrottle that treats a 304 Not Modified like a 200 and starts each host at the pace
the last crawl left it.

Scrapy's AutoThrottle never lowers its delay on a non-200 answer (error pages are small and
fast). A recrawl of unchanged articles is almost all 304s, so the stock extension would keep the
start delay for the whole crawl; a 304 is a healthy answer and may lower the delay like a 200.

The stock extension also starts every host at ``AUTOTHROTTLE_START_DELAY`` and halves its way
down per answer. A recrawl that asks a host only for its few discovery pages (the articles are
not due) would spend most of its time in that descent. So the delay each host settled at is
kept in the crawl's context (``settled_paces``, saved by ``run_crawl`` as ``host_pace``), and a
crawl starts a host that an earlier crawl measured within ``PACE_MEMORY`` at that delay
(``host_paces``), within ``DOWNLOAD_DELAY`` .. ``AUTOTHROTTLE_MAX_DELAY``; the delay then adapts
as usual. A host that was slow is started slow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from scrapy import Request, Spider
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response

PACE_MEMORY = timedelta(days=7)
"""A host's settled delay older than this is forgotten: the next crawl starts it afresh."""


class ConditionalAwareAutoThrottle(AutoThrottle):
    def _spider_opened(self, spider: Spider) -> None:
        super()._spider_opened(spider)
        paces: dict[str, float] = getattr(_context(spider), "host_paces", None) or {}
        slot_settings = self.crawler.engine.downloader.per_slot_settings
        for host, delay in paces.items():  # a DOWNLOAD_SLOTS delay set in the settings wins
            slot_settings.setdefault(host, {}).setdefault(
                "delay", min(max(self.mindelay, delay), self.maxdelay))

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        settled = getattr(_context(spider), "settled_paces", None)
        key, slot = self._get_slot(request, spider)
        if settled is not None and key and slot is not None:
            settled[key] = slot.delay

    def _adjust_delay(self, slot, latency: float, response: Response) -> None:  # type: ignore[no-untyped-def]
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)


def _context(spider: Spider) -> Any:
    return getattr(spider, "context", None)
