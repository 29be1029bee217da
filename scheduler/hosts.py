"""The daemon never runs two crawls against one host at once.

Each crawl child holds the hosts of its outlet (the host names of its start pages, feeds and
sitemaps, and its ``allowed_domains``) while it runs; a crawl whose outlet shares a host with a
running one waits until that one ends (all of its hosts at once, so two waiting crawls never
block each other). Within one crawl the per-host limit is ``crawler/hosts.py``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit


def outlet_hosts(outlet: Any) -> frozenset[str]:
    """The host names an outlet's crawl sends requests to (as far as the config says)."""
    urls = (*outlet.start_urls, *outlet.feeds, *outlet.sitemaps)
    hosts = {(urlsplit(u).hostname or "").lower() for u in urls}
    hosts |= {d.lower() for d in outlet.allowed_domains}
    return frozenset(h for h in hosts if h)


class HostLocks:
    """Hosts held by running crawls; :meth:`holding` waits until none of its hosts is held."""

    def __init__(self) -> None:
        self._busy: dict[str, str] = {}  # host -> the outlet whose crawl holds it
        self._changed = threading.Condition()

    def busy(self, hosts: frozenset[str]) -> dict[str, str]:
        with self._changed:
            return {h: o for h, o in self._busy.items() if h in hosts}

    @contextmanager
    def holding(self, owner: str, hosts: frozenset[str],
                give_up: Callable[[], bool] = lambda: False) -> Iterator[bool]:
        """Hold ``hosts`` for ``owner``; yields False (holding nothing) if ``give_up()``
        turned true while waiting."""
        with self._changed:
            while any(h in self._busy for h in hosts) and not give_up():
                self._changed.wait(timeout=0.5)
            held = not any(h in self._busy for h in hosts)
            if held:
                self._busy.update(dict.fromkeys(hosts, owner))
        if not held:
            yield False
            return
        try:
            yield True
        finally:
            with self._changed:
                for host in hosts:
                    self._busy.pop(host, None)
                self._changed.notify_all()
