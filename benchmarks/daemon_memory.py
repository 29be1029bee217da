"""Daemon memory: N crawl cycles of the real daemon against the local demo outlet.

The daemon (``scheduler.daemon.run_daemon``) runs in this process with every outlet's interval
overridden to 1 s; each crawl is the real ``newswatch crawl`` child process. The demo outlet is
served by a separate process so this process's memory is the daemon's. After each cycle (every
outlet crawled once more) it prints this process's RSS; at the end, the first/last/max RSS, the
ratio last/first (flat: close to 1.0) and the children's peak RSS. Target: daemon <= 100 MB, flat.

    python benchmarks/daemon_memory.py            # 100 cycles
    python benchmarks/daemon_memory.py --small    # 10 cycles
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from newswatch.scheduler.daemon import DaemonOptions, run_daemon

ROOT = Path(__file__).resolve().parents[1]

TARGET_MB = 100.0
SERVER = ("from newswatch.demo.server import serve_demo\n"
          "import sys, time\n"
          "s = serve_demo()\n"
          "print(s.url, flush=True)\n"
          "sys.stdin.read()\n")


def rss_mb() -> float:
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("cannot read this process's RSS (no psutil, no /proc)")


def children_peak_mb() -> float:
    """Largest RSS any finished child (crawl) reached, from getrusage (KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class Cycles(logging.Handler):
    """Counts crawl ends per outlet from the daemon's log lines; a cycle = every outlet once more."""

    def __init__(self, outlets: list[str]) -> None:
        super().__init__(logging.INFO)
        self.ends = dict.fromkeys(outlets, 0)
        self.failures: list[str] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        name, _, rest = message.partition(": ")
        if not (message.startswith("crawl ") and rest.startswith("end after")):
            return
        with self.changed:
            self.ends[name[len("crawl "):]] = self.ends.get(name[len("crawl "):], 0) + 1
            # "end after 5.0s: ok: fetched 3, new 1" (counts follow the status)
            status = rest.split(": ")[1] if ": " in rest else ""
            if status != "ok" and "stopped by shutdown" not in rest:
                self.failures.append(message)
            self.changed.notify_all()

    def done(self) -> int:
        return min(self.ends.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--small", action="store_true", help="10 cycles")
    args = parser.parse_args()
    cycles = 10 if args.small else args.cycles

    env = dict(os.environ)
    env.pop("NEWSWATCH_DATABASE_URL", None)
    os.environ.pop("NEWSWATCH_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    from newswatch.demo.config import demo_config

    with tempfile.TemporaryDirectory(prefix="nw-daemon-bench-") as tmp:
        raw = demo_config(url)
        raw["database"] = f"sqlite:///{Path(tmp) / 'bench.db'}"
        config = Path(tmp) / "newswatch.yaml"
        config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        outlets = [o["name"] for o in raw["outlets"]]

        counter = Cycles(outlets)
        log = logging.getLogger("newswatch.scheduler")
        log.addHandler(counter)
        log.setLevel(logging.INFO)
        log.propagate = False  # skipped-run warnings (interval 1 s < crawl time) are expected
        stop = threading.Event()
        result: list[int] = []
        options = DaemonOptions(interval_override=1.0, jitter_fraction=0.0, startup_stagger=0.0,
                                crawl_timeout=300.0, stderr_sink=None)
        daemon = threading.Thread(target=lambda: result.append(
            run_daemon(str(config), stop_event=stop, options=options)), daemon=True)
        started = time.monotonic()
        daemon.start()
        print(f"daemon memory: {cycles} cycles of {len(outlets)} outlets ({', '.join(outlets)}) "
              f"from {url}")
        print(f"{'cycle':>5} {'seconds':>8} {'daemon RSS MB':>14}")
        samples: list[float] = []
        try:
            for n in range(1, cycles + 1):
                with counter.changed:
                    while counter.done() < n and daemon.is_alive():
                        counter.changed.wait(1.0)
                if not daemon.is_alive():
                    raise SystemExit(f"the daemon stopped early (exit {result})")
                samples.append(rss_mb())
                print(f"{n:>5} {time.monotonic() - started:>8.1f} {samples[-1]:>14.1f}",
                      flush=True)
        finally:
            stop.set()
            daemon.join(120)
            server.stdin.close()  # type: ignore[union-attr]
            server.wait(10)

    first, last, peak = samples[0], samples[-1], max(samples)
    ok = peak <= TARGET_MB and last / first <= 1.10
    print(f"daemon RSS: first {first:.1f} MB, last {last:.1f} MB, max {peak:.1f} MB; "
          f"ratio last/first {last / first:.3f} (target <= {TARGET_MB:.0f} MB and flat)")
    print(f"crawl children: peak RSS {children_peak_mb():.1f} MB; "
          f"{sum(counter.ends.values())} crawls, {len(counter.failures)} failed")
    for failure in counter.failures[:5]:
        print(f"  {failure}")
    print("target met" if ok else "TARGET MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
