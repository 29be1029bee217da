"""AutoThrottle that treats a 304 Not Modified like a 200.

Scrapy's AutoThrottle never lowers its delay on a non-200 answer (error pages are small and
fast). A recrawl of unchanged articles is almost all 304s, so the stock extension would keep the
start delay for the whole crawl; a 304 is a healthy answer and may lower the delay like a 200.
"""

from __future__ import annotations

from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response


class ConditionalAwareAutoThrottle(AutoThrottle):
    def _adjust_delay(self, slot, latency: float, response: Response) -> None:  # type: ignore[no-untyped-def]
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
