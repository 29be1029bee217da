"""``python -m newswatch.scheduler.guard PARENT_PID CMD...``: exec CMD so it dies with the daemon.

It sets the parent-death signal (``newswatch.lifetime.die_with_parent``: SIGKILL when the daemon
ends, SIGKILL included) before ``exec``: a restarted daemon never finds an orphan crawl of an
outlet still running. (Done here rather than in ``preexec_fn``, which is unsafe in a threaded
parent.) Elsewhere than Linux it simply execs CMD.
"""

from __future__ import annotations

import os
import sys

from newswatch.lifetime import die_with_parent


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    die_with_parent(parent)  # exits 137 when the daemon died before this line
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
