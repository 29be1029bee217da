"""``python -m newswatch.scheduler.guard PARENT_PID CMD...``: exec CMD so it dies with the daemon.

On Linux it sets ``PR_SET_PDEATHSIG`` to SIGKILL before ``exec``: a daemon killed with SIGKILL
takes its crawl children along, so a restarted daemon never finds an orphan crawl of an outlet
still running. (Done here rather than in ``preexec_fn``, which is unsafe in a threaded parent.)
Elsewhere it simply execs CMD.
"""

from __future__ import annotations

import os
import sys

from newswatch.lifeline import die_with_parent


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    if not die_with_parent(parent):  # the daemon died before prctl took effect
        sys.exit(137)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
