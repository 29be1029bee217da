"""Scale-out: one ``newswatch worker`` pinned to one core against two pinned to a core each.

Each worker stands for a machine (``taskset -c``; its extraction pool inherits the core). The
outlet is served on several loopback hosts (127.0.0.2, 127.0.0.3, ...) so the per-host limit is
not what is measured; every run stores into a fresh PostgreSQL schema under a fresh Redis
prefix. The run is queued as the daemon queues it (``crawler.dispatch``) once the workers are
up; the clock runs from the first article fetched to the run's last request done.

Prints pages/s for one and two workers, the ratio (target >= 1.7x) and pages fetched twice
(target 0), beside the load average (the machine may be shared). Needs Redis
($NEWSWATCH_TEST_REDIS_URL) and PostgreSQL ($NEWSWATCH_TEST_POSTGRES_URL), else it says so in
one line and exits 2.

    python benchmarks/scale_out.py            # 2,000 pages on 4 hosts
    python benchmarks/scale_out.py --small    # 300 pages on 3 hosts
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.frontier_fixtures import CountingOutlet, newswatch_process, stop  # noqa: E402

REDIS_ENV, POSTGRES_ENV = "NEWSWATCH_TEST_REDIS_URL", "NEWSWATCH_TEST_POSTGRES_URL"


def skip(why: str) -> None:
    print(f"scale_out.py: skipped: needs {why}", flush=True)
    sys.exit(2)


def services() -> tuple[str, str]:
    redis_url, pg_url = os.environ.get(REDIS_ENV), os.environ.get(POSTGRES_ENV)
    if not redis_url or not pg_url:
        skip(f"Redis (${REDIS_ENV}) and PostgreSQL (${POSTGRES_ENV})")
    try:
        import redis
        from sqlalchemy import create_engine, text

        redis.Redis.from_url(redis_url).ping()
        with create_engine(pg_url).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - either one unreachable: skipped, saying which
        skip(f"Redis and PostgreSQL reachable ({type(exc).__name__}: {exc})")
    if not shutil.which("taskset"):
        skip("taskset (util-linux) to pin each worker to a core")
    return redis_url, pg_url


def measure(workers: int, pages: int, hosts: int, redis_url: str, pg_url: str) -> dict:
    import redis
    from sqlalchemy import create_engine, text

    from newswatch.config import load_config
    from newswatch.crawler.dispatch import Dispatcher
    from newswatch.storage.db import connect

    per_host = -(-pages // hosts)
    outlets = [CountingOutlet(min(per_host, pages - k * per_host), host=f"127.0.0.{k + 2}",
                              first=k * per_host) for k in range(hosts)]
    schema, prefix = f"bench_{uuid.uuid4().hex[:12]}", f"nwbench-{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    db_url = f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    folder = Path(tempfile.mkdtemp(prefix="nw-scale-"))
    path = folder / "newswatch.yaml"
    path.write_text(yaml.safe_dump({
        "database": db_url, "redis": redis_url, "frontier": {"key_prefix": prefix},
        "politeness": {"autothrottle": False, "retries": 1, "timeout": 60},
        "outlets": [{"name": "many", "render": "never", "article_url": r"/a/\d+\.html$",
                     "max_new_articles": pages,  # every page, not the default cap of 1,000
                     "start_urls": [o.url + "/index.html" for o in outlets]}]}))
    client = redis.Redis.from_url(redis_url)
    connect(db_url).close()  # the schema, migrated once before the clock
    procs = [newswatch_process("worker", "--config", str(path), "-q", taskset=str(core),
                               stderr=None) for core in range(workers)]
    try:
        deadline = time.monotonic() + 300
        while client.hlen(f"{prefix}:workers") < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit("scale_out.py: a worker did not start")
            time.sleep(0.2)
        config = load_config(path)
        dispatcher = Dispatcher(config, redis_url)
        with connect(db_url) as store:
            run_id = store.start_run(["many"])
        dispatcher.start_run(config.outlets[0], run_id, first_crawl=True)
        while not dispatcher.progress("many", run_id).done:
            if any(p.poll() is not None for p in procs):
                raise SystemExit("scale_out.py: a worker died")
            time.sleep(0.1)
        ended = time.monotonic()
        started = min(o.first_article for o in outlets if o.first_article is not None)
        twice = sum(len(o.fetched_twice()) for o in outlets)
        fetched = sum(o.hits[p] > 0 for o in outlets for p in o.article_paths())
    finally:
        stop(procs)
        for outlet in outlets:
            outlet.close()
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        shutil.rmtree(folder, ignore_errors=True)
    return {"workers": workers, "seconds": ended - started, "rate": pages / (ended - started),
            "twice": twice, "fetched": fetched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="300 pages on 3 hosts")
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=4)
    args = parser.parse_args()
    pages, hosts = (300, 3) if args.small else (args.pages, args.hosts)
    redis_url, pg_url = services()
    print(f"scale_out.py: {pages} pages on {hosts} loopback hosts, cores {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    one = measure(1, pages, hosts, redis_url, pg_url)
    two = measure(2, pages, hosts, redis_url, pg_url)
    for result in (one, two):
        print(f"  {result['workers']} worker(s): {result['rate']:7.1f} pages/s "
              f"({result['seconds']:.1f}s, {result['fetched']}/{pages} fetched, "
              f"{result['twice']} fetched twice)", flush=True)
    print(f"  ratio 2/1: {two['rate'] / one['rate']:.2f}x (target >= 1.7x); pages fetched "
          f"twice: {one['twice'] + two['twice']} (target 0); load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    if one["fetched"] != pages or two["fetched"] != pages:
        raise SystemExit("scale_out.py: not every page was fetched")


if __name__ == "__main__":
    main()
