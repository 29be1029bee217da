"""``python -m newswatch.demo``: serve the demo outlet until interrupted and print its config."""

from __future__ import annotations

import argparse
import json
import time

from newswatch.demo import demo_config, serve_demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m newswatch.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--version", type=int, default=1, help="site version (1 or 2)")
    args = parser.parse_args(argv)
    with serve_demo(args.host, args.port, args.version) as site:
        print(f"demo outlet (version {site.version}) at {site.url}/ai/  -- Ctrl-C to stop")
        print(json.dumps(demo_config(site.url), ensure_ascii=False, indent=2))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
