"""``python -m newswatch.scheduler.guard PARENT_PID CMD...``: exec CMD so it dies with the daemon.

On Linux it sets ``PR_SET_PDEATHSIG`` to SIGKILL before ``exec``: a daemon killed with SIGKILL
takes its crawl children along, so a restarted daemon never finds an orphan crawl of an outlet
still running. (Done here rather than in ``preexec_fn``, which is unsafe in a threaded parent.)
Elsewhere it simply execs CMD.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the daemon died before prctl took effect
            sys.exit(137)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
