"""Run the real ``newswatch`` command in a real pseudo-terminal of a given size (80x24 unless
told), as a user's terminal would: ``COLUMNS``/``LINES`` unset, the size set with TIOCSWINSZ,
stdin, stdout and stderr all on the terminal. Returns what the terminal received.

    screen = run_in_terminal("crawl", "--config", path)
    screen.lines          # the text lines as they end up, escape codes and live frames removed
    screen.too_wide()     # lines wider than the terminal (in terminal cells: CJK counts 2)
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len

ROOT = Path(__file__).resolve().parents[1]
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]")


@dataclass
class Screen:
    raw: str  # every byte the terminal received, decoded
    returncode: int
    columns: int

    @property
    def text(self) -> str:
        """The output with escape codes removed (live frames included, one after another)."""
        return _ESCAPE.sub("", self.raw).replace("\r\n", "\n")

    @property
    def lines(self) -> list[str]:
        """Every line drawn, carriage returns splitting lines too."""
        return [piece for line in self.text.split("\n") for piece in line.split("\r")]

    def too_wide(self) -> list[str]:
        return [line for line in self.lines if cell_len(line) > self.columns]


def run_in_terminal(*args: str, columns: int = 80, rows: int = 24, env: dict[str, str] | None = None,
                    cwd: Path | None = None, timeout: float = 180) -> Screen:
    """``python -m newswatch.cli ARGS`` with a pseudo-terminal of ``columns`` x ``rows``."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    full_env.pop("NEWSWATCH_DATABASE_URL", None)
    full_env.update({"TERM": "xterm-256color", **(env or {})})
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "newswatch.cli", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=full_env, cwd=cwd or ROOT,
                            start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"newswatch {' '.join(args)}: still running after {timeout}s")
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None and not _readable(master):
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed, everything was read
                break
            if not data:
                break
            chunks.append(data)
        returncode = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return Screen(b"".join(chunks).decode("utf-8", "replace"), returncode, columns)


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])
