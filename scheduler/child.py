"""Crawl child processes: start one in its own process group, enforce a timeout, stop them all.

A timed-out or shutting-down child gets SIGTERM on its whole process group (Scrapy and the
browser's helpers close gracefully), then SIGKILL after a grace period. The child's stderr is
passed through line by line and its last lines are kept to explain a failure in one line.
Children start through ``scheduler.guard`` so they die with the daemon (Linux).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

_GUARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guard.py")


@dataclass(frozen=True)
class ChildResult:
    returncode: int | None
    duration: float
    timed_out: bool = False
    stopped: bool = False  # terminated because the daemon is shutting down
    not_started: str | None = None  # why it never ran (daemon stopping, spawn failed)
    last_error: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.stopped or self.not_started)

    def describe(self, timeout: float) -> str:
        if self.not_started:
            return f"not started: {self.not_started}"
        if self.timed_out:
            status = f"timed out after {timeout:g}s, killed"
        elif self.stopped:
            status = f"stopped by shutdown (exit {self.returncode})"
        elif self.returncode is not None and self.returncode < 0:
            status = f"killed by signal {signal.Signals(-self.returncode).name}"
        else:
            status = f"exit {self.returncode}"
        if not self.ok and self.last_error:
            status += f": {self.last_error}"
        return status


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _pump(stream: IO[bytes], tail: deque[str], sink: IO[str] | None) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail.append(line)
        if sink is not None:
            try:
                sink.write(raw.decode("utf-8", "replace"))
                sink.flush()
            except (OSError, ValueError):
                pass
    stream.close()


class ChildRunner:
    """Runs crawl children; ``stop_all`` terminates every running one and refuses new ones."""

    def __init__(self, grace: float = 15.0, stderr_sink: IO[str] | None = sys.stderr,
                 guard: bool = True) -> None:
        self.grace = grace
        self.guard = guard
        self.stderr_sink = stderr_sink
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._stopped: set[int] = set()
        self.closed = False

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._running]

    def run(self, argv: Sequence[str], timeout: float) -> ChildResult:
        started = time.monotonic()
        with self._lock:
            if self.closed:
                return ChildResult(None, 0.0, not_started="daemon is stopping")
            try:
                command = list(argv)
                if self.guard:
                    command = [sys.executable, _GUARD, str(os.getpid()), *command]
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)
            except OSError as exc:
                return ChildResult(None, 0.0, not_started=f"cannot start {argv[0]}: {exc}")
            self._running.add(proc)
        tail: deque[str] = deque(maxlen=5)
        assert proc.stderr is not None
        pump = threading.Thread(target=_pump, args=(proc.stderr, tail, self.stderr_sink),
                                name=f"stderr-{proc.pid}", daemon=True)
        pump.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._terminate(proc)
        finally:
            with self._lock:
                self._running.discard(proc)
                stopped = proc.pid in self._stopped
                self._stopped.discard(proc.pid)
            # the group may still hold grandchildren that outlived the child: make sure they go
            _signal_group(proc, signal.SIGKILL)
        pump.join(timeout=5)
        return ChildResult(proc.returncode, time.monotonic() - started, timed_out=timed_out,
                           stopped=stopped and not timed_out,
                           last_error=_last_error(tail))

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the group, SIGKILL after the grace period; waits for the child."""
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        """Refuse new children and terminate running ones (in parallel), waiting for them."""
        with self._lock:
            self.closed = True
            procs = list(self._running)
            self._stopped.update(p.pid for p in procs)
        threads = [threading.Thread(target=self._terminate, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def _last_error(tail: deque[str]) -> str:
    """The most telling of the child's last stderr lines (an error line if there is one)."""
    for line in reversed(tail):
        if "error" in line.lower() or "Traceback" in line:
            return line[:300]
    return tail[-1][:300] if tail else ""
