"""``run_daemon``: crawl every outlet on its own interval, each crawl in a child process.

One APScheduler job per outlet (interval + jitter, ``max_instances=1``, coalesced: never two
crawls of one outlet at once), each run a child ``newswatch crawl --outlet NAME`` with a timeout
(memory stays flat; a crash or hang is one log line and the next run still happens). A second
job delivers pending alerts every ``delivery_interval`` seconds in this process. Each outlet's
last start/end/status and next run are kept in ``scheduler_state`` so a restart neither
re-crawls everything at once nor waits a full interval for overdue outlets. One daemon leads a
database (``storage.leader``): a second one says so in one line and waits, taking over when the
leader ends. SIGTERM/SIGINT: stop scheduling, stop delivering at once (a send in flight is
abandoned, its alert left pending), SIGTERM the crawl children (SIGKILL after ``grace``), exit 0:
within ``grace`` + 10 s.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor as Pool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from newswatch.errors import first_line
from newswatch.scheduler import timing
from newswatch.scheduler.child import ChildResult, ChildRunner
from newswatch.scheduler.delivery import deliver_once
from newswatch.scheduler.hosts import HostLocks, outlet_hosts
from newswatch.scheduler.state import SchedulerState
from newswatch.storage.leader import Leadership

log = logging.getLogger("newswatch.scheduler")

CrawlCommand = Callable[[str, str], Sequence[str]]
"""``(config_path, outlet_name) -> argv`` of one crawl child."""


@dataclass
class DaemonOptions:
    """Tunables; the defaults suit production, tests and benchmarks shorten them."""

    jitter_fraction: float = timing.JITTER_FRACTION
    jitter_max: float = timing.JITTER_MAX_SECONDS
    crawl_timeout: float | None = None  # None: $NEWSWATCH_CRAWL_TIMEOUT, else 2 x interval <= 1 h
    timeout_factor: float = timing.TIMEOUT_FACTOR
    timeout_max: float = timing.TIMEOUT_MAX_SECONDS
    grace: float = 15.0  # SIGTERM -> SIGKILL of a crawl child
    delivery_interval: float = 20.0
    startup_stagger: float = 5.0  # seconds between overdue outlets' first runs after a start
    max_concurrent_crawls: int = 4
    crawl_flags: tuple[str, ...] = ("--quiet",)  # the children's log: --quiet, or --verbose
    interval_override: float | None = None  # every outlet's interval (benchmarks)
    stderr_sink: Any = field(default=sys.stderr, repr=False)  # where children's stderr goes
    leader_poll: float = 5.0  # seconds between tries for the leader lock, and between checks of it


def default_crawl_command(config_path: str, outlet: str,
                          flags: Sequence[str] = ("--quiet",)) -> list[str]:
    """``newswatch crawl`` of one outlet; ``--no-deliver``: the child plans alerts, we send.
    ``flags``: ``--quiet`` (the child's warnings only: its counts are on our crawl-end line) or
    ``--verbose`` (every page). ``-P``: the daemon's current folder stays off the child's
    ``sys.path``, so a checkout's ``newswatch/`` folder never shadows the installed package."""
    return [sys.executable, "-P", "-m", "newswatch.cli", "crawl", "--config", config_path,
            "--outlet", outlet, "--no-deliver", *flags]


def _now() -> datetime:
    return datetime.now(UTC)


def _ensure_logging() -> None:
    """Crawl start/end lines are INFO: make sure they are shown even under a WARNING root."""
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)


class Daemon:
    """The running daemon's parts: config, store, state, children and the job functions."""

    def __init__(self, config: Any, config_path: str, store: Any, channels: dict[str, Any],
                 options: DaemonOptions, crawl_command: CrawlCommand,
                 leadership: Leadership | None = None) -> None:
        self.config = config
        self.leadership = leadership  # checked while running forever: still the leader?
        self._paused = False  # crawls paused: the leader lock could not be checked
        self.config_path = config_path
        self.store = store
        self.channels = channels
        self.options = options
        self.crawl_command = crawl_command
        self.state = SchedulerState(store.engine)
        self.runner = ChildRunner(grace=options.grace, stderr_sink=options.stderr_sink)
        self.hosts = HostLocks()  # never two crawls against one host at once
        self.timeout_override = (options.crawl_timeout if options.crawl_timeout is not None
                                 else timing.timeout_from_env())
        self.frontier = None  # redis: set: runs go to the workers (scheduler/frontier.py)
        if config.redis:
            from newswatch.scheduler.frontier import FrontierRuns

            self.frontier = FrontierRuns(config, store, self.state, self.timeout)

    def interval(self, outlet: Any) -> float:
        return float(self.options.interval_override or outlet.interval_seconds)

    def jitter(self, outlet: Any) -> float:
        return timing.jitter_seconds(self.interval(outlet), self.options.jitter_fraction,
                                     self.options.jitter_max)

    def timeout(self, outlet: Any) -> float:
        return timing.crawl_timeout(self.interval(outlet), self.timeout_override,
                                    self.options.timeout_factor, self.options.timeout_max)

    # -- jobs -------------------------------------------------------------------------------

    def crawl(self, outlet: Any) -> ChildResult:
        """One crawl of ``outlet`` in a child process, once no other crawl holds one of its
        hosts; logs one line at start and one at end. With ``redis:`` set, the run is queued for
        the workers instead (:meth:`enqueue`)."""
        hosts = outlet_hosts(outlet)
        busy = self.hosts.busy(hosts)
        if busy:
            log.info("crawl %s: waiting for the crawl of %s (same host: %s)", outlet.name,
                     ", ".join(sorted(set(busy.values()))), ", ".join(sorted(busy)))
        with self.hosts.holding(outlet.name, hosts, give_up=lambda: self.runner.closed) as held:
            if not held:
                return ChildResult(None, 0.0, not_started="daemon is stopping")
            return self._crawl(outlet)

    def _crawl(self, outlet: Any) -> ChildResult:
        name, timeout = outlet.name, self.timeout(outlet)
        if self.runner.closed:
            return ChildResult(None, 0.0, not_started="daemon is stopping")
        if self.frontier is not None:
            return self.enqueue(outlet)
        started = _now()
        self.state.started(name, started)
        log.info("crawl %s: start (timeout %gs)", name, timeout)
        result = self.runner.run(self.crawl_command(self.config_path, name), timeout)
        status = result.describe(timeout)
        # a crawl cut short by shutdown stays "unfinished": the next start re-crawls it first
        self.state.ended(name, _now(), status, finished=not (result.stopped or result.not_started))
        level = logging.INFO if result.ok else logging.WARNING
        counts = self.counts(name, started)
        log.log(level, "crawl %s: end after %.1fs: %s%s", name, result.duration,
                "ok" if result.ok else status, f": {counts}" if counts else "")
        return result

    def enqueue(self, outlet: Any) -> ChildResult:
        """Queue a run of ``outlet`` on the shared frontier (the workers crawl it; ``collect``
        finishes it). The daemon's leader alone should call this."""
        assert self.frontier is not None
        try:
            queued = self.frontier.dispatch(outlet)
        except Exception as exc:  # noqa: BLE001 - Redis or the database away: next run retries
            log.warning("crawl %s: not queued: %s", outlet.name, first_line(exc))
            return ChildResult(None, 0.0, not_started=first_line(exc))
        return ChildResult(0, 0.0) if queued else ChildResult(
            None, 0.0, not_started="previous run still running")

    def collect(self) -> int:
        """Finish the frontier's finished runs; how many are still open (0 without Redis)."""
        if self.frontier is None:
            return 0
        try:
            return self.frontier.collect()
        except Exception as exc:  # noqa: BLE001 - Redis or the database away for a moment
            log.warning("frontier: runs not collected: %s", first_line(exc))
            return -1

    def counts(self, outlet: str, since: datetime) -> str:
        """What the child's crawl run recorded for ``outlet``, in words ("" when unknown)."""
        from newswatch.crawler.summary import OutletSummary

        try:
            run = self.store.last_run(outlet, since)
        except Exception as exc:  # noqa: BLE001 - the end line goes out without counts
            log.debug("crawl %s: no counts: %s", outlet, first_line(exc))
            return ""
        stats = ((run or {}).get("stats") or {}).get(outlet)
        return OutletSummary.from_dict(stats).counts_text() if stats else ""

    def deliver(self) -> None:
        if self.channels:
            deliver_once(self.store, self.channels, stop=lambda: self.runner.closed)

    # -- modes ------------------------------------------------------------------------------

    def run_once(self, stop: threading.Event) -> int:
        """Crawl every outlet once (at most ``max_concurrent_crawls`` at a time), then deliver."""
        results: list[ChildResult] = []
        done = threading.Event()

        def work() -> None:
            with Pool(max_workers=self.options.max_concurrent_crawls) as pool:
                results.extend(pool.map(self.crawl, self.config.outlets))
            while self.frontier is not None and not stop.is_set() and self.collect():
                stop.wait(1.0)  # the workers crawl the queued runs
            if not self.runner.closed:
                self.deliver()
            done.set()

        worker = threading.Thread(target=work, name="newswatch-once")
        worker.start()
        while not done.wait(0.2):
            if stop.is_set():
                log.info("stopping: terminating %d crawl(s)", self.runner.running())
                self.runner.stop_all()
                break
        worker.join()
        if stop.is_set():
            return 0
        return 0 if all(r.ok for r in results) else 1

    def run_forever(self, stop: threading.Event) -> int:
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"crawl": ThreadPoolExecutor(self.options.max_concurrent_crawls),
                       "deliver": ThreadPoolExecutor(1), "collect": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        now = _now()
        firsts = timing.first_runs(((o.name, self.interval(o), self.jitter(o))
                                    for o in self.config.outlets),
                                   self.state.load(), now, self.options.startup_stagger)
        for outlet in self.config.outlets:
            first = firsts[outlet.name]
            trigger = IntervalTrigger(seconds=self.interval(outlet), start_date=first,
                                      jitter=self.jitter(outlet) or None, timezone=UTC)
            scheduler.add_job(self.crawl, trigger, args=[outlet], id=f"crawl:{outlet.name}",
                              name=f"crawl {outlet.name}", executor="crawl", next_run_time=first)
            self.state.scheduled(outlet.name, first)
            log.info("outlet %s: every %gs (+ up to %gs jitter), first run %s", outlet.name,
                     self.interval(outlet), self.jitter(outlet),
                     "now" if first <= now else f"in {(first - now).total_seconds():.1f}s")
        if self.frontier is not None:
            scheduler.add_job(self.collect, IntervalTrigger(seconds=2.0, timezone=UTC),
                              id="collect", name="finish runs", executor="collect")
        if self.channels:
            scheduler.add_job(self.deliver, IntervalTrigger(seconds=self.options.delivery_interval,
                                                            timezone=UTC),
                              id="deliver", name="deliver alerts", executor="deliver",
                              next_run_time=now)
        else:
            log.info("no notify channel configured: alerts are not delivered")

        def on_event(event: Any) -> None:
            if not event.job_id.startswith("crawl:"):
                return
            name = event.job_id.split(":", 1)[1]
            job = scheduler.get_job(event.job_id)
            self.state.scheduled(name, job.next_run_time if job else None)
            if event.code == EVENT_JOB_MAX_INSTANCES:
                log.warning("crawl %s: previous crawl still running, this run skipped", name)

        scheduler.add_listener(on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)
        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # our own lines say it all
        scheduler.start()
        log.info("daemon started: %d outlet(s), config %s", len(self.config.outlets),
                 self.config_path)
        if self.frontier is not None:
            from newswatch.storage.db import mask_url

            log.info("crawls are queued on %s (prefix %s) for `newswatch worker`",
                     mask_url(self.config.redis), self.config.frontier.key_prefix)
        lost = False
        try:
            checked = time.monotonic()
            while not stop.wait(0.5):
                if time.monotonic() - checked >= self.options.leader_poll:
                    checked = time.monotonic()
                    if not self.keep_leading(scheduler):
                        lost = True
                        break
        finally:
            log.info("stopping: no new crawls; terminating %d running crawl(s)",
                     self.runner.running())
            scheduler.pause()
            self.runner.stop_all()
            scheduler.shutdown(wait=True)  # a delivery pass stops at once: runner.closed
            log.info("daemon stopped")
        return 1 if lost else 0

    def keep_leading(self, scheduler: Any) -> bool:
        """Check the leader lock (``storage.leader``): crawls pause while the database cannot
        say (the lock went with its connection), resume when the lock is taken again, and the
        daemon ends (False) when another daemon took the lead meanwhile."""
        if self.leadership is None:
            return True
        state = self.leadership.check()
        if state == "unreachable":
            if not self._paused:
                self._paused = True
                scheduler.pause()
                log.warning("the leader lock went with the database connection; crawls paused"
                            " until the database answers")
            return True
        if state == "lost":
            log.error("another daemon leads this database now (%s): this one ends",
                      self.leadership.holder())
            return False
        if state == "retaken" or self._paused:
            log.warning("the leader lock went with the database connection and is taken again;"
                        " crawls go on")
            if self._paused:
                self._paused = False
                scheduler.resume()
        return True


def install_stop_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set ``stop`` (instead of ending the process); returns a function
    restoring the old handlers. Also used by the CLI around alert delivery."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: Any) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, previous in old.items():
            signal.signal(sig, previous)

    return restore


def run_daemon(
    config_path: str | None,
    *,
    once: bool = False,
    stop_event: threading.Event | None = None,
    crawl_command: CrawlCommand | None = None,
    options: DaemonOptions | None = None,
    serve: tuple[str, int] | None = None,
) -> int:
    """Run the scheduler until SIGTERM/SIGINT or ``stop_event``; returns the exit code.

    ``config_path`` None: ``$NEWSWATCH_CONFIG``, else ``./newswatch.yaml``. ``once``: crawl
    every outlet once, deliver, return (1 if a crawl failed). ``serve``: (host, port) to serve
    the dashboard on from a thread of this process for as long as the daemon runs. Exit codes:
    0 stopped cleanly, 1 cannot run (database, dashboard port) or a crawl failed in ``once``
    mode, 2 bad config. Errors are one line.
    """
    from newswatch.alerts.sender import budget_from_env
    from newswatch.config import ConfigError, find_config_path, load_config
    from newswatch.storage.db import connect
    from newswatch.storage.errors import DatabaseError

    _ensure_logging()
    options = options or DaemonOptions()
    stop = stop_event or threading.Event()
    path = str(Path(find_config_path(config_path)).resolve())
    try:
        config = load_config(path)
        if not config.outlets:
            raise ConfigError(f"{path}: outlets: no outlet configured")
        timing.timeout_from_env()
        budget_from_env()
        channels = config.channels
    except (ConfigError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    try:
        store = connect(config.database)
    except DatabaseError as exc:
        log.error("%s", exc)
        return 1
    command = crawl_command or partial(default_crawl_command, flags=options.crawl_flags)
    dashboard = None
    restore = install_stop_signals(stop)
    leadership = Leadership(store.engine)
    daemon = None
    try:
        if not lead(leadership, stop, options.leader_poll):
            return 0  # stopped while waiting
        try:
            dashboard = _start_dashboard(config, serve, store) if serve else None
        except ValueError as exc:
            log.error("%s", exc)
            return 1
        daemon = Daemon(config, path, store, channels, options, command, leadership)
        if daemon.frontier is not None:
            daemon.frontier.dispatcher.ping()
        return daemon.run_once(stop) if once else daemon.run_forever(stop)
    except Exception as exc:  # noqa: BLE001 - Redis unreachable at start: one line, exit 1
        if daemon is None or daemon.frontier is None or "redis" not in type(exc).__module__:
            raise
        from newswatch.storage.db import mask_url

        log.error("redis %s: %s", mask_url(config.redis), first_line(exc))
        return 1
    finally:
        if daemon is not None and daemon.frontier is not None:
            daemon.frontier.close()
        restore()
        if dashboard is not None:
            dashboard.stop()
        leadership.release()
        store.close()


def lead(leadership: Leadership, stop: threading.Event, poll: float) -> bool:
    """Take the database's leader lock, waiting (one line said) while another daemon holds it;
    False when ``stop`` is set first."""
    if leadership.acquire():
        return True
    log.warning("another daemon leads this database (%s); waiting", leadership.holder())
    while not stop.wait(poll):
        if leadership.acquire():
            log.info("the other daemon is gone: this daemon leads the database now")
            return True
    return False


def _start_dashboard(config: Any, bind: tuple[str, int], store: Any) -> Any:
    """The dashboard (``newswatch.web``) in a thread of the daemon, on the daemon's store."""
    from newswatch.web.server import DashboardThread

    return DashboardThread(config, bind[0], bind[1], store=store).start()
