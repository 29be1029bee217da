"""Browser memory: render N script-drawn pages through the real crawl and watch RSS stay flat.

A local server (a separate process) serves a listing of N article pages whose text a script
writes into the page after a short delay. The real crawl (``crawler.run.run_crawl``, outlet with
``render: always``, default browser settings: 4 pages at once, restart after 200 pages) runs in
a child process; every 50 rendered pages it prints the RSS summed over the Chromium processes
and over the crawler (Python, extraction workers, Playwright driver), plus pages/s. At the end:
growth over the last 200 pages (or the second half, for --small), and the peak. The baseline,
in the same run, is the same pages fetched statically (``render: never``), for the pages/s ratio.
Targets: flat after warm-up (no growth over the last 200 pages) and below 600 MB in all.

    python benchmarks/render_memory.py            # 300 pages
    python benchmarks/render_memory.py --small    # 60 pages (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newswatch.lifetime import descendants

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 600.0
EVERY = 50
PARAGRAPH = ("人工智能公司今日发布了第{i}代大语言模型，该模型在推理、编程和多语言理解方面均有明显提升，"
             "研究团队表示新模型使用了更大规模的中文语料进行训练。")
SERVER = r'''
import json, sys
from newswatch.localserver import LocalServer, Reply
n, para = int(sys.argv[1]), sys.argv[2]
def page(i):
    text = json.dumps("<h1>第%d篇</h1>" % i + "".join(
        "<p>%s 第%d段。</p>" % (para.format(i=i), k) for k in range(8)), ensure_ascii=False)
    return ("<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'><title>第%d篇</title></head>"
            "<body><div id='app'></div><img src='/pic%d.png'><script>setTimeout(function(){"
            "document.getElementById('app').innerHTML=%s;}, 150);</script></body></html>"
            % (i, i, text)).encode()
def respond(request):
    if request.path == "/ai/":
        body = ("<html><body>" + "".join("<a href='/news/2026/%d.html'>%d</a>" % (i, i)
                for i in range(n)) + "</body></html>").encode()
    elif request.path.startswith("/news/2026/"):
        body = page(int(request.path.rsplit("/", 1)[1].split(".")[0]))
    else:
        body = b"User-agent: *\nAllow: /\n" if request.path == "/robots.txt" else b"nothing"
    return Reply(200 if body != b"nothing" else 404, body,
                 {"Content-Type": "text/html; charset=utf-8"})
s = LocalServer(respond, name="bench-js-site")
print(s.url, flush=True)
sys.stdin.read()
'''


# --------------------------------------------------------------------------- /proc


def _descendants(root: int) -> list[int]:
    return [root, *descendants(root)]


def _rss_pss_kb(pid: int) -> tuple[int, int]:
    """RSS and PSS (shared pages divided among their users: sums fairly over processes)."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _part(pid: int, me: int) -> tuple[str, str]:
    """(side, part): which side a process counts for and what it is (for the breakdown)."""
    try:
        exe = Path(os.readlink(f"/proc/{pid}/exe")).name
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    except OSError:
        return "crawler", "gone"
    if "chrom" in exe:
        kind = next((a[7:].decode() for a in argv if a.startswith(b"--type=")), "main")
        if kind == "utility":
            sub = next((a.split(b"=", 1)[1].decode() for a in argv
                        if a.startswith(b"--utility-sub-type=")), "")
            kind = "utility:" + sub.rsplit(".", 1)[-1]
        return "browser", kind
    if exe.startswith("node"):
        return "crawler", "playwright driver (node)"
    if pid == me:
        return "crawler", "python crawl"
    if exe.startswith("python"):
        return "crawler", "python workers"
    return "crawler", exe


def memory_mb() -> dict:
    """RSS and PSS sums over this process's tree: Chromium processes, and the crawler's.

    RSS sums count pages shared between processes (Chromium's zygote-forked renderers, the
    forked extraction workers) once per process, so they overstate the total; PSS divides each
    shared page among its users and sums to the real footprint."""
    me = os.getpid()
    sums: dict = {"browser_rss": 0.0, "browser_pss": 0.0, "crawler_rss": 0.0, "crawler_pss": 0.0,
                  "chromium_procs": 0, "parts": {}}
    for pid in _descendants(me):
        rss, pss = _rss_pss_kb(pid)
        who, part = _part(pid, me)
        sums[f"{who}_rss"] += rss / 1024
        sums[f"{who}_pss"] += pss / 1024
        sums["chromium_procs"] += who == "browser"
        n, mb = sums["parts"].get(f"{who}: {part}", (0, 0.0))
        sums["parts"][f"{who}: {part}"] = (n + 1, mb + pss / 1024)
    return sums


# --------------------------------------------------------------------------- child: one crawl


def child(base: str, n: int, mode: str, workdir: str, knobs: dict) -> None:
    from newswatch.config import parse_config
    from newswatch.crawler.run import run_crawl
    from newswatch.crawler.settings import browser_settings

    config = parse_config({
        "database": f"sqlite:///{workdir}/{mode}.db",
        "outlets": [{"name": "bench", "start_urls": [base + "/ai/"],
                     "article_url": r"/news/\d{4}/", "render": mode}],
        "politeness": {"autothrottle": False},
        "browser": knobs.get("browser", {}),
    })
    extra = dict(knobs.get("settings", {}))
    if knobs.get("chromium_args"):
        launch = dict(browser_settings(config)["PLAYWRIGHT_LAUNCH_OPTIONS"])
        launch["args"] = [*launch["args"], *knobs["chromium_args"]]
        extra["PLAYWRIGHT_LAUNCH_OPTIONS"] = launch
    trace = knobs.get("tracemalloc") and mode == "always"
    if trace:
        import tracemalloc

        tracemalloc.start(8)
    snapshots: list = []
    started = time.monotonic()
    next_mark = [EVERY]

    def on_progress(stats: dict) -> None:
        s = stats.get("bench", {})
        done = int(s.get("newswatch/rendered", 0) if mode == "always" else
                   s.get("newswatch/skipped", 0) + s.get("newswatch/new", 0))
        if done >= next_mark[0]:
            sample = {"pages": done, "seconds": time.monotonic() - started, **memory_mb()}
            print(json.dumps(sample), flush=True)
            if trace:
                _trace_growth(snapshots, done)
            while next_mark[0] <= done:
                next_mark[0] += EVERY

    summary = run_crawl(config, on_progress=on_progress, extra_settings=extra)
    [outlet] = summary.outlets
    seconds = (summary.ended_at - summary.started_at).total_seconds()
    print(json.dumps({"done": True, "stored": outlet.new + outlet.duplicate,
                      "pages": outlet.new + outlet.duplicate + outlet.skipped,
                      "rendered": outlet.rendered, "errors": outlet.errors, "seconds": seconds,
                      "left_chromium": memory_mb()["chromium_procs"]}), flush=True)


def _trace_growth(snapshots: list, done: int) -> None:
    """--tracemalloc: Python allocations grown since the 100-page mark, top 8 call sites."""
    import gc
    import tracemalloc

    gc.collect()
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)])
    if done >= 100 and not snapshots:
        snapshots.append((done, snap))
        return
    if not snapshots:
        return
    since, first = snapshots[0]
    current, _ = tracemalloc.get_traced_memory()
    lines = [f"python heap {current / 2**20:.1f} MB; grown since page {since}:"]
    for stat in snap.compare_to(first, "traceback")[:8]:
        frames = [f for f in stat.traceback.format() if f.strip().startswith("File")]
        where = " <- ".join(f.strip().replace(str(ROOT) + "/", "").split(", in ")[0][5:]
                            for f in frames[-3:][::-1])
        lines.append(f"  {stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+6d} blocks  {where}")
    print(json.dumps({"trace": lines, "pages": done}), flush=True)


def run_child(base: str, n: int, mode: str, workdir: str, knobs: dict) -> list[dict]:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, "--base", base, "-n", str(n),
                           "--workdir", workdir, "--knobs", json.dumps(knobs)],
                          capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ), timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} crawl failed: {proc.stderr.strip().splitlines()[-1:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="60 pages, for CI")
    parser.add_argument("-n", type=int, default=None, help="pages to render (default 300)")
    parser.add_argument("--max-pages", type=int, help="browser.max_pages (default: the config's)")
    parser.add_argument("--restart-after", type=int,
                        help="browser.restart_after (default: the config's)")
    parser.add_argument("--chromium-arg", action="append", default=[], metavar="FLAG",
                        help="one more Chromium flag, after the default ones (repeatable)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=JSON",
                        help="one more Scrapy setting for the crawl (repeatable)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="print the crawler's Python allocations grown after page 100")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--base", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--knobs", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.n or (60 if args.small else 300)
    if args.child:
        child(args.base, n, args.child, args.workdir, json.loads(args.knobs))
        return

    from newswatch.config import Browser

    browser = {k: v for k, v in (("max_pages", args.max_pages),
                                 ("restart_after", args.restart_after)) if v is not None}
    settings = {}
    for item in args.setting:
        name, _, value = item.partition("=")
        try:
            settings[name] = json.loads(value)
        except json.JSONDecodeError:
            parser.error(f"--setting {item}: the value is not JSON")
    knobs = {"browser": browser, "chromium_args": args.chromium_arg, "settings": settings,
             "tracemalloc": args.tracemalloc}
    used = Browser(**browser)

    server = subprocess.Popen([sys.executable, "-c", SERVER, str(n), PARAGRAPH],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().strip()  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as workdir:
            static = run_child(base, n, "never", workdir, {})
            rendered = run_child(base, n, "always", workdir, knobs)
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=10)

    s_done, r_done = static[-1], rendered[-1]
    extra = " ".join([*args.chromium_arg, *args.setting])
    print(f"{n} script-drawn pages, rendered by Chromium ({used.max_pages} pages at once, "
          f"restart after {used.restart_after}){' + ' + extra if extra else ''}")
    print("MB; PSS divides shared pages among their processes (the honest sum); summed RSS counts"
          " them once per process")
    print(f"{'pages':>6} {'browser RSS/PSS':>16} {'crawler RSS/PSS':>16} {'total RSS':>10} "
          f"{'total PSS':>10} {'procs':>6} {'pages/s':>8}")
    marks = [r for r in rendered if "browser_pss" in r]
    for r in marks:
        print(f"{r['pages']:>6} {r['browser_rss']:>7.0f}/{r['browser_pss']:<8.0f} "
              f"{r['crawler_rss']:>7.0f}/{r['crawler_pss']:<8.0f} "
              f"{r['browser_rss'] + r['crawler_rss']:>10.0f} "
              f"{r['browser_pss'] + r['crawler_pss']:>10.0f} {r['chromium_procs']:>6} "
              f"{r['pages'] / r['seconds']:>8.1f}")
    for r in rendered:
        if "trace" in r:
            print(f"[tracemalloc at page {r['pages']}]", *r["trace"], sep="\n")
    window = 200 if n >= 300 else n // 2
    live = [r for r in marks if r["chromium_procs"]]  # a last sample may follow the browser's close
    inside = [r for r in live if r["pages"] >= n - window]

    def total(r: dict, kind: str) -> float:
        return float(r[f"browser_{kind}"] + r[f"crawler_{kind}"])

    if marks:
        peak = max(marks, key=lambda r: total(r, "pss"))
        print(f"PSS by process at the peak (page {peak['pages']}): " + "; ".join(
            f"{part} x{count} {mb:.0f}" for part, (count, mb) in sorted(peak["parts"].items())))
    for kind in ("pss", "rss"):
        growth = total(inside[-1], kind) - total(inside[0], kind) if len(inside) > 1 else 0.0
        top = max(total(r, kind) for r in marks) if marks else 0.0
        verdict = "ok" if top < TARGET_MB else "OVER"
        judged = "the target is judged on this" if kind == "pss" else "for reference only"
        print(f"total {kind.upper()} ({judged}): growth over the last {window} pages (browser "
              f"open) {growth:+.0f} MB; peak {top:.0f} MB (target < {TARGET_MB:.0f} MB: {verdict})")
    r_rate = r_done["rendered"] / r_done["seconds"]
    s_rate = s_done["pages"] / s_done["seconds"]
    print(f"stored {r_done['stored']}/{n} rendered {r_done['rendered']} errors {r_done['errors']}; "
          f"Chromium processes left after the crawl: {r_done['left_chromium']}")
    print(f"rendered {r_rate:.1f} pages/s vs static baseline {s_rate:.1f} pages/s "
          f"(ratio {r_rate / s_rate:.2f})")


if __name__ == "__main__":
    main()
