"""Crawl throughput: bare Scrapy vs Scrapy + an extractor inline vs the full newswatch crawl.

Serves N real pages (the shared bench's English pages, cycled: ``en/`` by default, so of 1,000
pages 181 are new stories and the rest copies; ``--folders en,en-dev`` for 781 pages, most of
them new stories as in an outlet's first crawl; without them it says so in one line and exits 2)
from a loopback server in its own process, then times, each in a fresh child process (Twisted's
reactor is one per process):

  bare         Scrapy fetching the listing pages and every article, doing nothing with them
  readability  the same, calling readability-lxml's Document(response.text).summary() in the
               callback (one core): the baseline the issue names
  inline       the same, calling newswatch's extractor in the callback (one core)
  full         ``newswatch crawl`` of the same site into a new SQLite file
  recrawl      the full crawl again on the unchanged site, by the revisit schedule (listings
               asked conditionally -> 304s, no article due)
  always       the recrawl again under ``revisit: always`` (every listed article asked again,
               conditionally -> 304s): the old behaviour, measured in the same run

Prints pages/s for each and the ratios. Targets: full >= 100 pages/s, >= 1.7x Scrapy +
readability inline and >= 0.9x Scrapy + our extractor inline; recrawl <= 10% of the first full
crawl's time, and how many article requests the recrawl made (the server counts them).
Prints the load average beside the figures (the machine may be shared). ``--repeat N``
measures every contender N times, in turn (each round's full crawl into a new database), and
prints the median round and the range: on a shared machine the same run can differ by a
quarter from one minute to the next.

    python benchmarks/crawl_throughput.py            # N=1000
    python benchmarks/crawl_throughput.py --pages 200
    python benchmarks/crawl_throughput.py --repeat 3
    python benchmarks/crawl_throughput.py --folders en,en-dev   # most pages new stories
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchdata import pages as bench_pages

from newswatch.localserver import LocalServer, Reply, Request

ROOT = Path(__file__).resolve().parents[1]
PER_LISTING = 100


# --------------------------------------------------------------------------- the server


def serve(n: int, port_file: str, folders: list[str]) -> None:
    bodies = [p.read_bytes() for p in bench_pages(*folders)]
    pages: dict[str, tuple[bytes, str]] = {}
    for i in range(n):
        body = bodies[i % len(bodies)]
        pages[f"/news/2026/{i}.html"] = (body, '"' + hashlib.sha1(body).hexdigest()[:16] + f'-{i}"')
    for k in range(0, n, PER_LISTING):
        links = "".join(f'<a href="/news/2026/{i}.html">{i}</a>\n'
                        for i in range(k, min(n, k + PER_LISTING)))
        listing = f"<html><body>{links}</body></html>".encode()
        pages[f"/list/{k // PER_LISTING}.html"] = (listing, f'"list-{k}"')
    counts = {"articles": 0, "listings": 0}
    lock = threading.Lock()

    def respond(request: Request) -> Reply:
        if request.path == "/_counts":  # how many article and listing requests so far
            return Reply(200, json.dumps(counts).encode(), {"Content-Type": "application/json"})
        kind = ("articles" if request.path.startswith("/news/") else
                "listings" if request.path.startswith("/list/") else None)
        if kind:
            with lock:
                counts[kind] += 1
        if request.path == "/robots.txt":
            body, etag = b"User-agent: *\nAllow: /\n", ""
        elif request.path in pages:
            body, etag = pages[request.path]
        else:
            return Reply(404)
        if etag and request.headers.get("If-None-Match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(200, body, {"Content-Type": "text/html", **({"ETag": etag} if etag else {})})

    server = LocalServer(respond, name="bench-site")
    Path(port_file).write_text(str(server.port))
    threading.Event().wait()  # until the parent kills this process


# --------------------------------------------------------------------------- the contenders


def _readability_summary(response) -> None:
    from readability import Document

    Document(response.text).summary()


def _newswatch_extract(response) -> None:
    from newswatch.extraction import extract_article

    extract_article(response.body, response.url, None)


INLINE = {"bare": None, "readability": _readability_summary, "inline": _newswatch_extract}


def run_scrapy(base: str, n: int, mode: str) -> dict:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from newswatch.config import Config
    from newswatch.crawler.settings import scrapy_settings

    extract = INLINE[mode]
    counted = {"pages": 0}

    class Bench(scrapy.Spider):
        name = "bench"

        async def start(self):
            for k in range((n + PER_LISTING - 1) // PER_LISTING):
                yield scrapy.Request(f"{base}/list/{k}.html", callback=self.parse_listing)

        def parse_listing(self, response):
            for href in response.xpath("//a/@href").getall():
                yield response.follow(href, callback=self.parse_article)

        def parse_article(self, response):
            if extract is not None:
                extract(response)
            counted["pages"] += 1

    settings = scrapy_settings(Config())
    settings.update({"ITEM_PIPELINES": {}, "LOG_LEVEL": "ERROR"})
    process = CrawlerProcess(settings)
    process.crawl(Bench)
    started = time.perf_counter()
    process.start()
    return {"seconds": time.perf_counter() - started, "pages": counted["pages"]}


def server_counts(base: str) -> dict[str, int]:
    with urllib.request.urlopen(base + "/_counts", timeout=30) as answer:
        return json.loads(answer.read())


def run_full(base: str, n: int, database: str, revisit: str | None = None) -> dict:
    from newswatch.config import parse_config
    from newswatch.crawler.run import run_crawl

    listings = [f"{base}/list/{k}.html" for k in range((n + PER_LISTING - 1) // PER_LISTING)]
    outlet = {"name": "bench", "start_urls": listings, "article_url": r"/news/\d{4}/",
              "render": "never", **({"revisit": revisit} if revisit else {})}
    config = parse_config({"database": database, "outlets": [outlet]})
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    summary = run_crawl(config)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    main_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    s = summary.outlets[0]
    return {"seconds": seconds, "main_cpu": main_cpu, "pages": s.new + s.changed + s.unchanged + s.duplicate + s.skipped,
            "not_modified": s.not_modified, "not_due": s.not_due, "new": s.new,
            "duplicate": s.duplicate, "skipped": s.skipped, "errors": s.errors}


def child(args: argparse.Namespace) -> None:
    if args.mode in ("full", "always"):
        result = run_full(args.base, args.pages, args.database,
                          "always" if args.mode == "always" else None)
    else:
        result = run_scrapy(args.base, args.pages, args.mode)
    print("RESULT " + json.dumps(result))


def measure(mode: str, base: str, n: int, database: str = "") -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--base", base, "--pages", str(n),
           "--database", database]
    env = dict(os.environ)
    before = server_counts(base)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    after = server_counts(base)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
            result["requests"] = {k: after[k] - before[k] for k in after}
            return result
    raise SystemExit(f"{mode} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def median_round(rounds: list[dict[str, dict]], name: str) -> dict:
    """The round whose time for ``name`` is the median (of an even count, the slower of the
    middle two)."""
    ordered = sorted((r[name] for r in rounds), key=lambda r: r["seconds"])
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--small", action="store_true", help="200 pages, for CI")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure every contender this many times, in turn; print medians")
    parser.add_argument("--child", dest="mode", default=None)
    parser.add_argument("--base", default="")
    parser.add_argument("--database", default="")
    parser.add_argument("--folders", default="en",
                        help="bench folders the site cycles through, comma-separated: en (181 "
                             "pages: of 1,000, 181 are new stories and the rest copies) or "
                             "en,en-dev (781: most are new stories, as in a first crawl)")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.small:
        args.pages = 200
    folders = args.folders.split(",")
    if args.serve:
        serve(args.pages, args.serve, folders)
        return
    if args.mode:
        child(args)
        return

    bench_pages(*folders)  # the server serves them: without them, say so and skip
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file),
                                   "--pages", str(args.pages), "--folders", args.folders])
        try:
            for _ in range(200):
                if port_file.exists() and port_file.read_text():
                    break
                time.sleep(0.05)
            base = f"http://127.0.0.1:{port_file.read_text()}"
            rounds = []
            for k in range(max(1, args.repeat)):
                database = f"sqlite:///{tmp}/bench{k}.db"  # each round's first crawl is a first
                rounds.append({
                    "bare Scrapy": measure("bare", base, args.pages),
                    "Scrapy + readability inline": measure("readability", base, args.pages),
                    "Scrapy + extractor inline": measure("inline", base, args.pages),
                    "newswatch crawl (full)": measure("full", base, args.pages, database),
                    "newswatch recrawl (unchanged)": measure("full", base, args.pages, database),
                    "recrawl, revisit: always": measure("always", base, args.pages, database),
                })
        finally:
            server.terminate()
            server.wait()
    results = {name: median_round(rounds, name) for name in rounds[0]}

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\ncrawl throughput, {args.pages} pages from {args.folders}, {os.cpu_count()} cores, "
          f"load average {load}\n")
    spread = len(rounds) > 1
    print(f"{'run':34} {'pages':>6} {'seconds':>8} {'pages/s':>8}"
          + (f"  {'pages/s over ' + str(len(rounds)) + ' rounds':>24}" if spread else ""))
    for name, r in results.items():
        line = f"{name:34} {r['pages']:>6} {r['seconds']:>8.2f} {r['pages'] / r['seconds']:>8.1f}"
        if spread:
            rates = sorted(x[name]["pages"] / x[name]["seconds"] for x in rounds)
            line += f"  {rates[0]:>10.1f} .. {rates[-1]:<10.1f}"
        print(line)
    if spread:
        print("(each contender's median round; the ratios below are between medians)")
    rate = {k: v["pages"] / v["seconds"] for k, v in results.items()}
    full, inline = rate["newswatch crawl (full)"], rate["Scrapy + extractor inline"]
    readability = rate["Scrapy + readability inline"]
    first = results["newswatch crawl (full)"]["seconds"]
    second = results["newswatch recrawl (unchanged)"]
    print()
    print(f"full / readability inline   {full / readability:6.2f}x  (target >= 1.7x)")
    print(f"full / inline               {full / inline:6.2f}x  (target >= 0.9x)")
    print(f"full / bare                 {full / rate['bare Scrapy']:6.2f}x")
    print(f"full pages/s                {full:6.1f}   (target >= 100)")
    always = results["recrawl, revisit: always"]
    print(f"recrawl time / first crawl  {second['seconds'] / first:6.1%}  (target <= 10%); "
          f"article requests {second['requests']['articles']}, listing requests "
          f"{second['requests']['listings']} (304s: {second['not_modified']}), "
          f"not due {second['not_due']}")
    print(f"revisit: always / first     {always['seconds'] / first:6.1%}  (the old behaviour); "
          f"article requests {always['requests']['articles']}, 304s {always['not_modified']}")
    for name in ("newswatch crawl (full)", "newswatch recrawl (unchanged)"):
        r = results[name]
        print(f"{name}: crawl process CPU {r['main_cpu']:.1f} s "
              f"({r['main_cpu'] / r['seconds']:.0%} of a core; the extraction workers are not "
              "counted)")
    print("full crawl outcomes:", {k: results["newswatch crawl (full)"][k]
                                   for k in ("new", "duplicate", "skipped", "errors")})


if __name__ == "__main__":
    main()
