"""Nothing the project starts outlives the process that started it (Linux; elsewhere no-ops).

* :func:`die_with_parent`: in a child, ``PR_SET_PDEATHSIG``: the kernel sends SIGKILL when the
  parent ends, however it ends (SIGKILL included); exits at once if the parent is already gone.
  Used by the daemon's crawl children (``scheduler/guard.py``), the extraction workers and the
  demo's crawl child.
* :func:`process_alive`: whether a pid runs on this host (a crawl run's owner, ``storage``).
* :func:`descendants`: the pids a process started, and theirs (the leftover checks of tests and
  benchmarks).
* :func:`die_with`: for a grandchild whose parent is not the process it belongs to (an extraction
  worker's parent is multiprocessing's forkserver, not the crawl): a daemon thread waits on the
  owner's pidfd and SIGKILLs this process when the owner is gone.

The parent-death signal fires when the *thread* that started the child ends, so children that
must live as long as the process are started from the main thread (or one that lives as long).
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
from pathlib import Path

PR_SET_PDEATHSIG = 1
LINUX = sys.platform.startswith("linux")


def die_with_parent(parent: int | None = None, sig: int = signal.SIGKILL) -> None:
    """Ask the kernel for ``sig`` when this process's parent ends. ``parent``: the pid the
    parent had; when this process has already been re-parented (the parent died before the
    call), exit now with 128 + ``sig``."""
    if LINUX:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(128 + int(sig))


def die_with(owner: int) -> None:
    """SIGKILL this process as soon as process ``owner`` has ended (a daemon thread waiting on
    its pidfd; polling ``os.kill(owner, 0)`` where pidfds are missing)."""
    try:
        pidfd = os.pidfd_open(owner)
    except ProcessLookupError:
        os.kill(os.getpid(), signal.SIGKILL)
        return
    except (AttributeError, OSError):
        pidfd = None
    threading.Thread(target=_wait_then_die, args=(owner, pidfd), name=f"die-with-{owner}",
                     daemon=True).start()


def _wait_then_die(owner: int, pidfd: int | None) -> None:
    if pidfd is not None:
        select.select([pidfd], [], [])  # readable once the owner has exited
    else:
        while process_alive(owner):
            threading.Event().wait(1.0)
    os.kill(os.getpid(), signal.SIGKILL)


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (a zombie counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


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
