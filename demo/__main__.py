"""``python -m newswatch.demo``: serve the demo outlet on 127.0.0.1 until interrupted, and give
a config for it (written to ``--write-config PATH``, else printed) to crawl it with your own
``newswatch crawl`` / ``newswatch daemon``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

import yaml

from newswatch.demo import demo_config, serve_demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m newswatch.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free one)")
    parser.add_argument("--site-version", type=int, default=1,
                        help="site version: 1, or 2 (some articles edited, one added)")
    parser.add_argument("--write-config", metavar="PATH", type=Path,
                        help="write a newswatch config for this server to PATH (its database "
                             "newswatch-demo.db next to it) instead of printing it")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with serve_demo(args.host, args.port, args.site_version) as site:
        config = {"database": "sqlite:///newswatch-demo.db", **demo_config(site.url)}
        text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
        print(f"demo outlet (version {site.version}) at {site.url}/ai/  -- Ctrl-C to stop",
              flush=True)
        if args.write_config:
            args.write_config.write_text(text, encoding="utf-8")
            print(f"config written to {args.write_config}: newswatch crawl --config "
                  f"{args.write_config}", flush=True)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
