"""Politeness across workers: per-host concurrency and delay held in Redis, and one robots.txt
per host shared by every worker.

``HostSlotMiddleware`` (downloader middleware, last before the download): a request takes one
of the host's ``politeness.concurrency_per_domain`` slots (a sorted set of holders with an
expiry in Redis time, so a dead worker's slots free themselves) and respects the host's next
allowed start (``politeness.download_delay`` after the previous start by any worker), in one
Lua script; it waits (without blocking the reactor) until it gets one, and gives it back when
the response or the error comes. N workers never have more requests open on a host than one
would.

``SharedRobotsTxtMiddleware``: Scrapy's robots.txt middleware whose robots.txt comes from
Redis (``frontier.robots_ttl``); the first worker to need a host's file takes a lock
(``SET NX PX``), fetches it and stores it; the others wait for it. Each worker keeps the
parsed file until the shared copy expires.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from newswatch.crawler.frontier import LUA_NOW_MS, Keys, connect

SLOT = "newswatch_host_slot"
"""Request meta: ``(host, token)`` of the host slot the request holds."""
FULL_WAIT = 0.02  # seconds between tries while every slot of a host is taken
LOCK_MS = 60_000  # the longest a worker may take to fetch a robots.txt for the others
_FAILED_TTL = 300  # a robots.txt that could not be fetched is retried after this

# KEYS slots, next start; ARGV limit, delay ms, hold ms, token -> 0 taken, -1 full, ms to wait
_ACQUIRE = LUA_NOW_MS + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return nxt - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
local delay = tonumber(ARGV[2])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay + 1000) end
return 0
"""


def _worker_id() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class HostSlotMiddleware:
    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.server = connect(settings["NEWSWATCH_REDIS_URL"])
        self.keys = Keys(settings["NEWSWATCH_REDIS_PREFIX"])
        self.limit = max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        self.delay_ms = int(settings.getfloat("DOWNLOAD_DELAY") * 1000)
        self.hold_ms = int((settings.getfloat("DOWNLOAD_TIMEOUT") + 60) * 1000)
        self.acquire = self.server.register_script(_ACQUIRE)
        self.worker = _worker_id()
        self.seq = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> HostSlotMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        if request.meta.get(SLOT):
            return None
        host = (urlparse_cached(request).hostname or "").lower()
        self.seq += 1
        token = f"{self.worker}:{self.seq}"
        keys = [self.keys.host_slots(host), self.keys.host_next(host)]
        while True:
            wait = int(self.acquire(keys=keys, args=[self.limit, self.delay_ms, self.hold_ms,
                                                     token]))
            if wait == 0:
                request.meta[SLOT] = (host, token)
                return None
            await asyncio.sleep(FULL_WAIT if wait < 0 else wait / 1000)

    def process_response(self, request: Request, response: Any) -> Any:
        self.release(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self.release(request)

    def release(self, request: Request) -> None:
        held = request.meta.pop(SLOT, None)
        if held:
            host, token = held
            self.server.zrem(self.keys.host_slots(host), token)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.server = connect(settings["NEWSWATCH_REDIS_URL"])
        self.keys = Keys(settings["NEWSWATCH_REDIS_PREFIX"])
        self.ttl = settings.getint("NEWSWATCH_ROBOTS_TTL", 86400)
        self._local: dict[str, tuple[float, Any]] = {}  # netloc -> (expires, parser or None)
        self._loading: dict[str, asyncio.Future[Any]] = {}

    async def robot_parser(self, request: Request) -> Any:
        url = urlparse_cached(request)
        netloc = url.netloc
        known = self._local.get(netloc)
        if known and known[0] > time.monotonic():
            return known[1]
        if netloc in self._loading:  # another request of this worker is getting it
            return await asyncio.shield(self._loading[netloc])
        future = asyncio.get_running_loop().create_future()
        self._loading[netloc] = future
        try:
            parser = await self._shared(f"{url.scheme}://{netloc}/robots.txt", netloc)
        except Exception:  # noqa: BLE001 - Redis away: Scrapy's own per-worker fetch
            parser = await super().robot_parser(request)
        finally:
            self._loading.pop(netloc, None)
        future.set_result(parser)
        return parser

    async def _shared(self, robots_url: str, netloc: str) -> Any:
        key, lock = self.keys.robots(netloc), self.keys.robots_lock(netloc)
        deadline = time.monotonic() + LOCK_MS / 1000 + 5
        while True:
            body, ttl_ms = self.server.get(key), self.server.pttl(key)
            if body is not None:
                return self._remember(netloc, body, ttl_ms)
            if self.server.set(lock, "1", nx=True, px=LOCK_MS):
                try:
                    body, ttl = await self._fetch(robots_url)
                    self.server.set(key, body, ex=ttl)
                finally:
                    self.server.delete(lock)
                return self._remember(netloc, body, ttl * 1000)
            if time.monotonic() > deadline:  # the lock holder vanished: take over next round
                self.server.delete(lock)
            await asyncio.sleep(0.1)

    async def _fetch(self, robots_url: str) -> tuple[bytes, int]:
        """The stored form: ``b"+" + body``, or ``b"-"`` when it could not be fetched (all
        allowed, as Scrapy does, for a shorter time)."""
        robots = Request(robots_url, priority=self.DOWNLOAD_PRIORITY,
                         meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK)
        self._stats.inc_value("robotstxt/request_count")
        try:
            response = await self.crawler.engine.download_async(robots)
        except IgnoreRequest:
            return b"-", _FAILED_TTL
        except Exception:  # noqa: BLE001 - DNS, refused, timeout: as Scrapy, allow all
            return b"-", _FAILED_TTL
        self._stats.inc_value("robotstxt/response_count")
        return b"+" + response.body, self.ttl

    def _remember(self, netloc: str, stored: bytes, ttl_ms: int) -> Any:
        parser = (build_from_crawler(self._parserimpl, self.crawler, stored[1:])
                  if stored[:1] == b"+" else None)
        seconds = ttl_ms / 1000 if ttl_ms and ttl_ms > 0 else self.ttl
        self._local[netloc] = (time.monotonic() + seconds, parser)
        return parser
