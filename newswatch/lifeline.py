"""``die_with_parent()``: the calling process is SIGKILLed when its parent dies (Linux
``PR_SET_PDEATHSIG``), so nothing outlives the process that started it, however that one ends.
Elsewhere it does nothing. Used by ``scheduler.guard`` (crawl children, workers) and by the
extraction pool (its forkserver and workers: ``crawler/workers.py``). ``descendants(pid)``:
what a process started, and they in turn (Linux ``/proc``): how tests and benchmarks check
that nothing is left behind."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> bool:
    """Arrange SIGKILL on the parent's death; False when the parent (``parent``, or any
    parent when None) is already gone (the caller should exit). True elsewhere than Linux."""
    if not sys.platform.startswith("linux"):
        return True
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    ppid = os.getppid()
    return ppid == parent if parent is not None else ppid != 1


def descendants(pid: int) -> list[int]:
    """Pids of the processes ``pid`` started, and of theirs, from ``/proc`` ([] elsewhere)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
