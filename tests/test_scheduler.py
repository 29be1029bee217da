"""The daemon with real child processes (a small fake crawl script), a real SQLite state table,
real signals, and a real webhook receiver for the delivery job."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from newswatch.scheduler import timing
from newswatch.scheduler.daemon import DaemonOptions, run_daemon
from newswatch.scheduler.state import SchedulerState
from newswatch.scheduler.timing import OutletState
from newswatch.storage.db import create_engine_for

ROOT = Path(__file__).resolve().parents[1]

FAKE_CRAWL = r'''
import fcntl, os, signal, subprocess, sys, time
outlet, work = sys.argv[1], sys.argv[2]
def note(msg):
    with open(os.path.join(work, "log"), "a") as f:
        f.write(f"{msg} {outlet} {os.getpid()} {time.time():.3f}\n")
lock = open(os.path.join(work, f"lock-{outlet}"), "w")
try:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    note("overlap")
note("start")
try:
    mode = open(os.path.join(work, f"mode-{outlet}")).read().strip()
except FileNotFoundError:
    mode = "sleep:0.1"
kind, _, arg = mode.partition(":")
if kind == "sleep":
    time.sleep(float(arg))
elif kind == "crash":
    print("RuntimeError: boom in " + outlet, file=sys.stderr, flush=True)
    sys.exit(3)
elif kind == "hang":
    if arg == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    note(f"grandchild:{g.pid}")
    time.sleep(600)
note("end")
'''

QUICK = dict(startup_stagger=0.0, grace=1.0, delivery_interval=0.3, stderr_sink=None)


# --------------------------------------------------------------------------- helpers


def wait_until(predicate, what: str, limit: float = 60.0) -> None:
    """Poll until ``predicate()``; a deadline for a hung test, not a speed assertion."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.05)


class Work:
    """A folder for the fake crawl: per-outlet modes in, a log of starts/ends out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.script = path / "fake_crawl.py"
        self.script.write_text(FAKE_CRAWL)
        self.db = f"sqlite:///{path / 'nw.db'}"

    def config(self, outlets: dict[str, str], notify: dict | None = None,
               database: str | None = None, host: str | None = None) -> str:
        """Each outlet on a host of its own (the daemon runs one crawl per host at a time),
        or all on ``host``."""
        data = {
            "database": database or self.db,
            "outlets": [{"name": n, "start_urls": [f"http://{host or n + '.example.invalid'}/"],
                         "interval": i} for n, i in outlets.items()],
        }
        if notify:
            data["notify"] = notify
        cfg = self.path / "newswatch.yaml"
        cfg.write_text(yaml.safe_dump(data))
        return str(cfg)

    def mode(self, outlet: str, mode: str) -> None:
        (self.path / f"mode-{outlet}").write_text(mode)

    def command(self, _config: str, outlet: str) -> list[str]:
        return [sys.executable, str(self.script), outlet, str(self.path)]

    def events(self, kind: str | None = None, outlet: str | None = None) -> list[list[str]]:
        log = self.path / "log"
        lines = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
        return [ln for ln in lines if (kind is None or ln[0].startswith(kind))
                and (outlet is None or ln[1] == outlet)]

    def starts(self, outlet: str) -> int:
        return len(self.events("start", outlet))


class Daemon:
    """run_daemon in a thread (no signal handlers there), stopped through its stop_event."""

    def __init__(self, work: Work, config: str, **options) -> None:
        self.stop_event = threading.Event()
        self.rc: int | None = None

        def target() -> None:
            self.rc = run_daemon(config, stop_event=self.stop_event, crawl_command=work.command,
                                 options=DaemonOptions(**{**QUICK, **options}))

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def stop(self) -> int | None:
        self.stop_event.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "daemon did not stop"
        return self.rc


def gone(pid: int) -> bool:
    """No such process, or a zombie nobody reaped yet (it holds no memory and runs nothing)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


@pytest.fixture
def work(tmp_path: Path) -> Work:
    return Work(tmp_path)


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="newswatch.scheduler")

    def get(outlet: str | None = None) -> list[str]:
        out = [r.getMessage() for r in caplog.records if r.name == "newswatch.scheduler"]
        return [m for m in out if outlet is None or m.startswith(f"crawl {outlet}:")]

    return get


# --------------------------------------------------------------------------- timing rules


def test_jitter_is_a_tenth_of_the_interval_capped_at_five_minutes() -> None:
    assert timing.jitter_seconds(900) == 90
    assert timing.jitter_seconds(30) == 3
    assert timing.jitter_seconds(86400) == 300
    assert timing.jitter_seconds(600, fraction=0) == 0


def test_timeout_is_twice_the_interval_capped_at_an_hour_unless_overridden() -> None:
    assert timing.crawl_timeout(900) == 1800
    assert timing.crawl_timeout(7200) == 3600
    assert timing.crawl_timeout(900, override=120) == 120
    assert timing.timeout_from_env({"NEWSWATCH_CRAWL_TIMEOUT": "20m"}) == 1200
    assert timing.timeout_from_env({}) is None
    with pytest.raises(ValueError, match=r"\$NEWSWATCH_CRAWL_TIMEOUT: bad duration 'soon'"):
        timing.timeout_from_env({"NEWSWATCH_CRAWL_TIMEOUT": "soon"})


def test_first_runs_keep_future_times_and_stagger_overdue_outlets() -> None:
    now = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    m = timedelta(minutes=1)
    states = {
        "future": OutletState("future", last_start=now - 5 * m, last_end=now - 4 * m,
                              next_run=now + 10 * m),
        "shortened": OutletState("shortened", last_start=now - m, last_end=now - m,
                                 next_run=now + 50 * m),
        "late": OutletState("late", last_start=now - 40 * m, last_end=now - 39 * m,
                            next_run=now - 10 * m),
        "very-late": OutletState("very-late", last_start=now - 90 * m, last_end=now - 89 * m,
                                 next_run=now - 60 * m),
        "killed": OutletState("killed", last_start=now - 2 * m, last_end=now - 30 * m,
                              next_run=now + 13 * m),
    }
    outlets = [("future", 900, 90), ("shortened", 540, 60), ("late", 900, 90),
               ("very-late", 900, 90), ("killed", 900, 90), ("new", 900, 90)]
    runs = timing.first_runs(outlets, states, now, stagger=5)
    assert runs["future"] == now + 10 * m  # survives the restart
    assert runs["shortened"] == now + 10 * m  # never more than one new interval + jitter away
    # never crawled first, then most overdue first; a crawl killed mid-way counts as overdue
    due = sorted(["new", "very-late", "late", "killed"], key=runs.__getitem__)
    assert due == ["new", "very-late", "late", "killed"]
    assert [(runs[n] - now).total_seconds() for n in due] == [0, 5, 10, 15]


# --------------------------------------------------------------------------- the daemon


def test_never_two_crawls_of_one_outlet_and_a_crash_is_logged_and_retried(work, lines) -> None:
    config = work.config({"slow": "1s", "crashy": "1s"})
    work.mode("slow", "sleep:2.5")  # longer than its interval
    work.mode("crashy", "crash")
    daemon = Daemon(work, config, crawl_timeout=30.0)
    wait_until(lambda: work.starts("slow") >= 3 and work.starts("crashy") >= 3,
               "three runs of each outlet")
    assert daemon.stop() == 0
    assert work.events("overlap") == []
    assert len(work.events("end", "slow")) >= 2
    ends = [m for m in lines("crashy") if "end after" in m and "stopped by shutdown" not in m]
    assert len(ends) >= 3
    assert all(m.endswith("exit 3: RuntimeError: boom in crashy") for m in ends), ends
    assert any("previous crawl still running, this run skipped" in m for m in lines("slow"))
    starts = [m for m in lines("slow") if ": start" in m]
    assert starts and all(m == "crawl slow: start (timeout 30s)" for m in starts)


def test_two_outlets_on_one_host_never_crawl_at_once(work, lines) -> None:
    config = work.config({"first": "1s", "second": "1s"}, host="news.example.invalid")
    work.mode("first", "sleep:0.8")
    work.mode("second", "sleep:0.8")
    daemon = Daemon(work, config, crawl_timeout=30.0)
    wait_until(lambda: len(work.events("end", "first")) >= 2
               and len(work.events("end", "second")) >= 2, "two runs of each outlet")
    assert daemon.stop() == 0
    spans = []  # (start, end) of each finished crawl, in the order they started
    for start in work.events("start"):
        ends = [e for e in work.events("end", start[1]) if e[2] == start[2]]  # same pid
        if ends:
            spans.append((float(start[3]), float(ends[0][3])))
    spans.sort()
    assert len(spans) >= 4
    for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False):
        assert next_start >= end  # one crawl against the host at a time
    assert any("waiting for the crawl of" in m and "news.example.invalid" in m for m in lines())


def test_a_hung_crawl_is_killed_with_its_process_group_and_the_next_run_happens(
        work, lines) -> None:
    config = work.config({"stuck": "1s"})
    work.mode("stuck", "hang:stubborn")  # ignores SIGTERM: needs the SIGKILL after the grace
    daemon = Daemon(work, config, crawl_timeout=1.0, grace=0.5)
    wait_until(lambda: work.starts("stuck") >= 2 and len(work.events("grandchild")) >= 2,
               "a second run after the first one timed out")
    first_child = int(work.events("start", "stuck")[0][2])
    first_grandchild = int(work.events("grandchild")[0][0].split(":")[1])
    assert daemon.stop() == 0
    assert any(m.endswith("timed out after 1s, killed") for m in lines("stuck")), lines("stuck")
    assert gone(first_child) and gone(first_grandchild)
    for event in work.events("grandchild"):
        assert gone(int(event[0].split(":")[1]))
    state = SchedulerState(create_engine_for(work.db)).get("stuck")
    assert state is not None and state.last_status is not None


def daemon_program(work: Work, config: str) -> str:
    """Python source of a daemon process running the fake crawl script (for `python -c`)."""
    return (
        "import sys\n"
        "from newswatch.scheduler.daemon import DaemonOptions, run_daemon\n"
        f"cmd = lambda c, o: [sys.executable, {str(work.script)!r}, o, {str(work.path)!r}]\n"
        f"sys.exit(run_daemon({config!r}, crawl_command=cmd,\n"
        "         options=DaemonOptions(startup_stagger=0, grace=1)))\n"
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_daemon_with_exit_0_and_no_child_left(work, signum) -> None:
    config = work.config({"polite": "1h", "stubborn": "1h", "quick": "1s"})
    work.mode("polite", "hang")
    work.mode("stubborn", "hang:stubborn")
    code = daemon_program(work, config)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True,
                            env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: len(work.events("grandchild")) >= 2 and work.starts("quick") >= 2,
                   "both hanging crawls and their helpers running")
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"received {signal.Signals(signum).name}" in err
    assert "crawl stubborn: end after" in err and "stopped by shutdown" in err
    assert err.rstrip().endswith("daemon stopped")
    pids = [int(e[2]) for e in work.events("start")]
    pids += [int(e[0].split(":")[1]) for e in work.events("grandchild")]
    assert pids and all(gone(pid) for pid in pids)
    # the interrupted crawls stay unfinished: the next start crawls them first
    states = SchedulerState(create_engine_for(work.db)).load()
    assert states["polite"].unfinished and states["stubborn"].unfinished


def test_crawl_children_die_with_a_daemon_killed_by_sigkill(work) -> None:
    config = work.config({"long": "1h"})
    work.mode("long", "sleep:600")
    code = daemon_program(work, config)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd="/", stderr=subprocess.DEVNULL,
                            env=dict(os.environ))
    try:
        wait_until(lambda: work.starts("long") == 1, "the crawl running")
    finally:
        proc.kill()
        proc.wait(30)
    child = int(work.events("start", "long")[0][2])
    wait_until(lambda: gone(child), "the orphaned crawl child to die")


def test_next_run_times_survive_a_restart(work) -> None:
    config = work.config({"hourly": "1h", "overdue": "1h"})
    daemon = Daemon(work, config)
    wait_until(lambda: len(work.events("end")) == 2, "the first crawl of both outlets")
    time.sleep(0.3)  # let the end be recorded
    assert daemon.stop() == 0
    engine = create_engine_for(work.db)
    state = SchedulerState(engine)
    before = state.load()
    now = datetime.now(UTC)
    assert before["hourly"].next_run is not None
    assert before["hourly"].next_run > now + timedelta(minutes=55)
    assert before["hourly"].last_end is not None and not before["hourly"].unfinished
    state.scheduled("overdue", now - timedelta(minutes=5))  # as if the daemon was down a while

    daemon = Daemon(work, config)
    wait_until(lambda: work.starts("overdue") == 2, "the overdue outlet crawled on restart")
    time.sleep(0.3)
    assert daemon.stop() == 0
    after = state.load()
    assert work.starts("hourly") == 1  # not re-crawled: its next run is still ahead
    assert after["hourly"].next_run == before["hourly"].next_run
    assert after["overdue"].next_run > now + timedelta(minutes=55)
    engine.dispose()


def test_state_round_trips_on_each_backend(db_url: str, work) -> None:
    from newswatch.storage.db import connect

    connect(db_url).close()  # the storage schema first, as the daemon does
    config = work.config({"a": "1h", "b": "1h"}, database=db_url)
    daemon = Daemon(work, config)
    wait_until(lambda: len(work.events("end")) == 2, "both outlets crawled")
    time.sleep(0.3)
    assert daemon.stop() == 0
    engine = create_engine_for(db_url)
    try:
        states = SchedulerState(engine).load()
    finally:
        engine.dispose()
    assert sorted(states) == ["a", "b"]
    for st in states.values():
        assert st.last_status == "exit 0" and not st.unfinished
        assert st.next_run is not None and st.next_run.tzinfo is not None
        assert st.next_run - st.last_start >= timedelta(hours=1)


def test_once_mode_crawls_every_outlet_once_and_reports_failure(work) -> None:
    config = work.config({"a": "1h", "b": "1h"})
    assert run_daemon(config, once=True, crawl_command=work.command,
                      options=DaemonOptions(**QUICK)) == 0
    assert sorted(e[1] for e in work.events("end")) == ["a", "b"]
    work.mode("b", "crash")
    assert run_daemon(config, once=True, crawl_command=work.command,
                      options=DaemonOptions(**QUICK)) == 1


def test_bad_config_is_one_line_and_exit_2(work, lines, tmp_path) -> None:
    assert run_daemon(str(tmp_path / "missing.yaml"), crawl_command=work.command) == 2
    assert any("config file not found" in m for m in lines())
    config = work.config({"a": "1h"}, notify={"hook": {"webhook": "ftp://x"}})
    assert run_daemon(config, crawl_command=work.command) == 2
    assert lines()[-1].startswith(f"{Path(config).resolve()}:")  # file, line, key: as any key
    assert ": notify.hook.webhook: expected an http(s):// URL" in lines()[-1]


def test_pending_alerts_are_delivered_by_the_daemon(work) -> None:
    from sqlalchemy.orm import Session

    from newswatch.alerts.payload import build_payload
    from newswatch.storage.db import connect
    from newswatch.storage.models import Alert, Outlet, Revision, Story, StoryUrl
    from tests.receivers import WebhookReceiver

    store = connect(work.db)
    t0 = datetime(2026, 9, 1, 8, tzinfo=UTC)
    with Session(store.engine) as s, s.begin():
        outlet = Outlet(name="a")
        s.add(outlet)
        s.flush()
        story = Story(outlet_id=outlet.id, title="大模型新闻", first_seen=t0, last_changed=t0)
        s.add(story)
        s.flush()
        s.add(StoryUrl(url="https://a.cn/1", story_id=story.id, outlet_id=outlet.id,
                       first_seen=t0))
        rev = Revision(story_id=story.id, content_hash=uuid.uuid4().hex * 2, text="大模型。",
                       title="大模型新闻", first_seen=t0)
        s.add(rev)
        s.flush()
        for i in range(3):
            payload = build_payload(event="new", watch=f"w{i}", terms=["大模型"],
                                    story_id=story.id, title="大模型新闻", url="https://a.cn/1",
                                    outlets=["a"], first_seen=t0, text="大模型。")
            s.add(Alert(story_id=story.id, revision_id=rev.id, watch=f"w{i}", channel="hook",
                        event="new", payload=payload, next_attempt_at=None, created_at=t0))
    store.close()
    with WebhookReceiver(secret="s3cret") as hook:
        config = work.config({"a": "1h"}, notify={"hook": {"webhook": hook.url,
                                                           "secret": "s3cret"}})
        daemon = Daemon(work, config)
        wait_until(lambda: len(hook.received) >= 3, "three alerts at the receiver")
        time.sleep(1.0)  # a few more delivery passes: nothing is sent twice
        assert daemon.stop() == 0
    assert sorted(r.json["watch"] for r in hook.received) == ["w0", "w1", "w2"]
    assert all(r.signature_ok for r in hook.received)
