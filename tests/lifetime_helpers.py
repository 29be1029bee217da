"""Process-tree helpers for the lifetime tests: a command started in its own session, the
descendants it has started (psutil), and waiting until none of them is left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def wait_until(predicate: Callable[[], object], what: str, limit: float = 120.0) -> None:
    """Poll until ``predicate()``; the limit is for a hung test, not a speed assertion."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.1)


def start_session(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``argv`` in a new session (its own process group), output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    """The processes still running (a zombie waiting for init to reap it counts as gone)."""
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.NoSuchProcess:
            pass
    return left


def describe(procs: Iterable[psutil.Process]) -> str:
    """One line a process (pid, RSS, command) and their total RSS."""
    lines, total = [], 0
    for proc in procs:
        try:
            rss = proc.memory_info().rss
            total += rss
            lines.append(f"{proc.pid} {rss / 2**20:.0f} MB {' '.join(proc.cmdline())[:140]}")
        except psutil.Error:
            lines.append(f"{proc.pid} (gone)")
    return "\n".join([*lines, f"{len(lines)} process(es), {total / 2**20:.0f} MB"])


def kill_all(procs: Iterable[psutil.Process]) -> None:
    """Clean up after a failed test: SIGKILL whatever of these is left."""
    for proc in alive(procs):
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
