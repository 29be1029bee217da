"""The shared frontier in Redis: scrapy-redis's scheduler, queue and dupefilter, with leases.

scrapy-redis gives the shared request queue (a sorted set by priority, requests pickled with
their callback names) and the Redis dupefilter. What it lacks, added here:

* **leases**: popping a request moves it, in one Lua script, from the queue to a lease (a
  sorted set of deadlines in Redis time + the request's bytes). The worker renews its leases
  while it works on them and acks each one when the request is done (its item stored, its
  errback run, its follow-up requests queued). A lease whose worker died is put back at the
  head of the queue by any worker, so a killed worker loses nothing.
* **runs**: every request carries its scheduled run (``RUN`` meta: id, outlet, first crawl) and
  the run's ``pending`` counter counts its requests queued or leased; 0 means the run is done.
  The dupefilter is per run (a request is fetched once per run, by whichever worker gets it
  first; the next run fetches it again, conditionally, as ``newswatch crawl`` does).

Keys, all under the deployment's ``frontier.key_prefix`` (:class:`Keys`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

RUN = "newswatch_run"
"""Request meta: the scheduled run the request belongs to: ``{"id", "outlet", "first_crawl"}``."""
LEASE = "newswatch_lease"
"""Request meta: the lease id a worker holds the request under (set when popped)."""

REQUEUED_SCORE = -(2**40)  # an expired lease goes back to the head of its queue
SEEN_TTL = 2 * 86400  # a run's dupefilter set outlives any sane run


def connect(url: str) -> Any:
    """A Redis client for ``url`` (redis-py; bytes in and out)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10,
                                retry_on_timeout=True, health_check_interval=30)


@dataclass(frozen=True)
class Keys:
    """Every Redis key of one deployment (``prefix``)."""

    prefix: str

    def queue(self, outlet: str) -> str:
        return f"{self.prefix}:queue:{outlet}"

    def leases(self, outlet: str) -> str:
        return f"{self.prefix}:leases:{outlet}"

    def leased(self, outlet: str) -> str:
        return f"{self.prefix}:leased:{outlet}"

    def lease_seq(self) -> str:
        return f"{self.prefix}:lease-seq"

    def seen(self, outlet: str, run: Any) -> str:
        return f"{self.prefix}:seen:{outlet}:{run}"

    def pending(self, run: Any) -> str:
        return f"{self.prefix}:run:{run}:pending"

    def run_stats(self, run: Any) -> str:
        return f"{self.prefix}:run:{run}:stats"

    def run_errors(self, run: Any) -> str:
        return f"{self.prefix}:run:{run}:errors"

    def run_pages(self, run: Any) -> str:
        """The run's fresh discovery-page validators: url -> JSON [etag, last_modified]."""
        return f"{self.prefix}:run:{run}:pages"

    def workers(self) -> str:
        return f"{self.prefix}:workers"

    def open_runs(self) -> str:
        return f"{self.prefix}:runs"

    def host_slots(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:slots"

    def host_next(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:next"

    def robots(self, host: str) -> str:
        return f"{self.prefix}:robots:{host}"

    def robots_lock(self, host: str) -> str:
        return f"{self.prefix}:robots:{host}:lock"

    def all(self) -> str:
        return f"{self.prefix}:*"


def run_id(request: Any) -> Any:
    run = request.meta.get(RUN)
    return run["id"] if run else "-"


# Lua: ``now``, Redis's clock in ms (leases and host slots expire by it, whichever worker looks)
LUA_NOW_MS = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

# Lua helpers the scripts below share (KEYS[1] leases, KEYS[2] leased in each script using them):
# end lease ``id``, 1 if it was held; ``back`` also puts its request at ``score`` in ``queue``
_LEASE_HELPERS = """
local function done(leases, leased, id)
  if redis.call('ZREM', leases, id) == 1 then
    redis.call('HDEL', leased, id)
    return 1
  end
  return 0
end
local function back(leases, leased, queue, score, id)
  local data = redis.call('HGET', leased, id)
  if done(leases, leased, id) == 1 and data then
    redis.call('ZADD', queue, score, data)
    return 1
  end
  return 0
end
"""

# KEYS queue, pending, leases, leased; ARGV score, data, lease id handed over ('' if none)
_PUSH = _LEASE_HELPERS + """
local added = redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' and done(KEYS[3], KEYS[4], ARGV[3]) == 1 then redis.call('DECR', KEYS[2]) end
if added == 1 then redis.call('INCR', KEYS[2]) end
return added
"""

# KEYS queue, leases, leased, lease seq; ARGV lease ms
_POP = LUA_NOW_MS + """
local item = redis.call('ZRANGE', KEYS[1], 0, 0)
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
local id = tostring(redis.call('INCR', KEYS[4]))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
redis.call('HSET', KEYS[3], id, item[1])
return {id, item[1]}
"""

# KEYS leases, leased, pending; ARGV lease id
_ACK = _LEASE_HELPERS + """
if done(KEYS[1], KEYS[2], ARGV[1]) == 1 then
  redis.call('DECR', KEYS[3])
  return 1
end
return 0
"""

# KEYS leases, leased, queue; ARGV max count, score
_REQUEUE = LUA_NOW_MS + _LEASE_HELPERS + """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(ids) do back(KEYS[1], KEYS[2], KEYS[3], ARGV[2], id) end
return #ids
"""

# KEYS leases, leased, queue; ARGV score, ids...
_RELEASE = _LEASE_HELPERS + """
local n = 0
for i = 2, #ARGV do n = n + back(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[i]) end
return n
"""

# KEYS leases; ARGV lease ms, ids...
_RENEW = LUA_NOW_MS + """
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return #ARGV - 1
"""


class LeasedQueue(Base):
    """scrapy-redis's priority queue whose pop leases the request (see the module docstring).

    ``spider`` only resolves callbacks by name: the daemon passes a spider it never runs."""

    def __init__(self, server: Any, spider: Any, keys: Keys, outlet: str,
                 lease_seconds: float = 300.0, serializer: Any = None) -> None:
        super().__init__(server, spider, keys.queue(outlet), serializer)
        self.keys, self.outlet = keys, outlet
        self.lease_ms = int(lease_seconds * 1000)
        self._push = server.register_script(_PUSH)
        self._pop = server.register_script(_POP)
        self._ack = server.register_script(_ACK)
        self._requeue = server.register_script(_REQUEUE)
        self._renew = server.register_script(_RENEW)
        self._release = server.register_script(_RELEASE)

    def __len__(self) -> int:
        return int(self.server.zcard(self.key))

    def push(self, request: Any) -> bool:
        """Queue ``request``; a retried request hands its lease over (it is done as itself)."""
        data = self._encode_request(request)
        handed = request.meta.get(LEASE) or ""
        added = self._push(keys=[self.key, self.keys.pending(run_id(request)),
                                 *self._lease_keys()],
                           args=[-request.priority, data, handed])
        return bool(added)

    def pop(self, timeout: int = 0) -> Any:
        got = self._pop(keys=[self.key, *self._lease_keys(), self.keys.lease_seq()],
                        args=[self.lease_ms])
        if not got:
            return None
        lease, data = got
        request = self._decode_request(data)
        request.meta[LEASE] = lease.decode() if isinstance(lease, bytes) else str(lease)
        return request

    def ack(self, request: Any, before: Any = None) -> bool:
        """Release ``request``'s lease: it is done. ``before(pipe)`` adds commands to the same
        transaction (the run's counts). False when the lease was not held (any more)."""
        lease = request.meta.get(LEASE)
        if not lease:
            return False
        pipe = self.server.pipeline(transaction=True)
        if before is not None:
            before(pipe)
        self._ack(keys=[*self._lease_keys(), self.keys.pending(run_id(request))], args=[lease],
                  client=pipe)
        return bool(pipe.execute()[-1])

    def _lease_keys(self) -> list[str]:
        """The keys of this outlet's leases: leases, leased (the scripts' KEYS[1], KEYS[2])."""
        return [self.keys.leases(self.outlet), self.keys.leased(self.outlet)]

    def requeue_expired(self, limit: int = 500) -> int:
        """Put requests whose lease ran out (their worker died) back at the head of the queue."""
        return int(self._requeue(keys=[*self._lease_keys(), self.key],
                                 args=[limit, REQUEUED_SCORE]))

    def release(self, leases: list[str]) -> int:
        """Put these leased requests back at the head of the queue now (a worker stopping)."""
        if not leases:
            return 0
        return int(self._release(keys=[*self._lease_keys(), self.key],
                                 args=[REQUEUED_SCORE, *leases]))

    def renew(self, leases: list[str]) -> None:
        if leases:
            self._renew(keys=[self.keys.leases(self.outlet)], args=[self.lease_ms, *leases])

    def leased_count(self) -> int:
        return int(self.server.zcard(self.keys.leases(self.outlet)))

    def clear(self) -> None:
        self.server.delete(self.key, *self._lease_keys())


class RunDupeFilter(RFPDupeFilter):
    """scrapy-redis's dupefilter, one fingerprint set per outlet and run (see module)."""

    def __init__(self, server: Any, keys: Keys, outlet: str) -> None:
        super().__init__(server, key=keys.seen(outlet, "-"))
        self.keys, self.outlet = keys, outlet

    def request_seen(self, request: Any) -> bool:
        key = self.keys.seen(self.outlet, run_id(request))
        pipe = self.server.pipeline(transaction=False)
        pipe.sadd(key, self.request_fingerprint(request))
        pipe.expire(key, SEEN_TTL)
        added, _ = pipe.execute()
        return added == 0

    def close(self, reason: str = "") -> None:
        """Kept: the fingerprints are the deployment's, not this worker's."""


class FrontierScheduler(Scheduler):
    """scrapy-redis's scheduler on :class:`LeasedQueue` and :class:`RunDupeFilter`, persistent
    (a worker stopping leaves the queue to the others); renews the leases it holds and puts
    expired ones back every second. It holds at most ``NEWSWATCH_MAX_LEASES`` leases (default
    ``CONCURRENT_REQUESTS``): Scrapy would otherwise pop every queued request whose download
    is quick, to wait in this worker's scraper queue while other workers sit idle. Settings:
    ``NEWSWATCH_REDIS_URL``, ``NEWSWATCH_REDIS_PREFIX``, ``NEWSWATCH_LEASE_SECONDS``,
    ``NEWSWATCH_MAX_LEASES``."""

    crawler: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> FrontierScheduler:
        settings = crawler.settings
        server = connect(settings["NEWSWATCH_REDIS_URL"])
        server.ping()
        scheduler = cls(server=server, persist=True)
        scheduler.stats = crawler.stats
        scheduler.crawler = crawler
        scheduler.keys = Keys(settings["NEWSWATCH_REDIS_PREFIX"])
        scheduler.lease_seconds = settings.getfloat("NEWSWATCH_LEASE_SECONDS", 300.0)
        scheduler.held: dict[str, Any] = {}  # lease id -> request this worker works on
        # no more leases than it can download at once: the rest stays for the other workers
        scheduler.max_held = max(1, settings.getint("NEWSWATCH_MAX_LEASES")
                                 or settings.getint("CONCURRENT_REQUESTS"))
        scheduler._last_sweep = 0.0
        scheduler._loop = None
        _SCHEDULERS[id(crawler)] = scheduler
        return scheduler

    def open(self, spider: Any) -> None:
        from twisted.internet import task

        self.spider = spider
        outlet = spider.outlet.name
        self.queue = LeasedQueue(self.server, spider, self.keys, outlet, self.lease_seconds)
        self.df = RunDupeFilter(self.server, self.keys, outlet)
        self._loop = task.LoopingCall(self._renew)
        self._loop.start(max(0.5, self.lease_seconds / 4), now=False)

    def close(self, reason: str) -> None:
        """A stopping worker gives back what it did not finish: another worker takes it now,
        not when the lease runs out."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        _SCHEDULERS.pop(id(self.crawler), None)
        try:
            self.queue.release(list(self.held))
        except Exception as exc:  # noqa: BLE001 - Redis away: the leases expire instead
            self.spider.logger.warning("frontier: leases left to expire: %s", exc)
        self.held.clear()

    def enqueue_request(self, request: Any) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            self.ack(request)  # a duplicate: a retried request's lease is done all the same
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        queued = self.queue.push(request)
        self.held.pop(request.meta.get(LEASE), None)  # handed over with the push
        return queued

    def next_request(self) -> Any:
        now = time.monotonic()
        if now - self._last_sweep >= 1.0:
            self._last_sweep = now
            self.queue.requeue_expired()
        if len(self.held) >= self.max_held:  # asked again when one of them is done
            return None
        request = self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
            self.held[request.meta[LEASE]] = request
        return request

    def ack(self, request: Any, before: Any = None) -> bool:
        lease = request.meta.get(LEASE)
        if lease is None:
            return False
        self.held.pop(lease, None)
        return self.queue.ack(request, before)

    def _renew(self) -> None:
        try:
            self.queue.renew(list(self.held))
        except Exception as exc:  # noqa: BLE001 - Redis away for a moment: next tick retries
            self.spider.logger.warning("frontier: cannot renew leases: %s", exc)


_SCHEDULERS: dict[int, FrontierScheduler] = {}


def scheduler_of(crawler: Any) -> FrontierScheduler | None:
    """The frontier scheduler of a worker's crawler (None outside a worker)."""
    return _SCHEDULERS.get(id(crawler))
