#!/usr/bin/env python3
"""Extraction benchmark: newswatch's extract_article against readability-lxml and trafilatura
on every folder of the shared bench, scored by the bench's own score.py (token F1) in one run.

    python benchmarks/extraction.py [--small | --limit N] [--folders zh en zh-dev en-dev]
                                    [--extra gne alltext] [--out DIR]

Prints per folder: F1, precision, recall and ms/page for each extractor, the mean over folders,
the pages where ours is below 0.5 while a baseline gets 0.9 or more ("lost"), and metadata
accuracy (title, publication date, author) against the truth where the bench's meta.jsonl has
it (fields title / published / author; --meta-truth adds such records from a JSONL file of
{"name", "title"?, "published"?, "author"?}) for newswatch, readability-lxml (title) and
trafilatura's extract_metadata, per half of the pages: A (metadata rules are tuned on it) and
B (checked on it), split by a hash of the page's name (--meta-only prints only this). Then a timing pass that runs newswatch and
readability page by page in turn (wall and CPU ms/page: on a shared machine the CPU figures
and the ratio are the ones to compare), with the load average before and after. The bench
folder is $NEWSWATCH_BENCH_DIR, else <repo>/../shared/bench; without it the benchmark says so in
one line and exits 2 (benchmarks/benchdata.py). Issue 11 targets: F1 >= 0.95 on every folder (or a clear margin over the
better baseline), <= 15 ms/page, no lost page.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import zlib
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchdata import bench_dir, skip

REPO = Path(__file__).resolve().parents[1]
ADAPTER = REPO / "benchmarks" / "adapters" / "newswatch_extractor.py"
FOLDERS = ("zh", "en", "zh-dev", "en-dev")
CHINA_TZ = timezone(timedelta(hours=8))
BASELINES = {"readability": "readability", "trafilatura": "trafilatura"}
OPTIONAL = {"gne": "gne", "alltext": "lxml"}
META_TRUTH = REPO / "benchmarks" / "data" / "zh_meta_truth.jsonl"
"""Publication date and author of the zh folder's CWCED pages (MIT licence), from the dataset's
eval/date_ground.json and author_ground.json: the bench's meta.jsonl does not carry them."""


def _metas(folder: Path, limit: int | None) -> list[dict]:
    lines = (folder / "meta.jsonl").read_text(encoding="utf-8").splitlines()
    metas = [json.loads(x) for x in lines if x.strip()]
    return metas[:limit] if limit else metas


def _fold(s: str | None) -> str:
    """Titles compared without case, spacing, punctuation or non-ASCII stand-ins ('?')."""
    s = unicodedata.normalize("NFKC", s or "").lower()
    return "".join(re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", s))


def _same_title(got: str, want: str) -> bool:
    """Equal when folded, or one holds the other and is at least 60% of its length (truth
    titles of some sets carry a subtitle line, pages a site-name suffix)."""
    a, b = _fold(got), _fold(want)
    if not a or not b:
        return a == b
    short, long_ = sorted((a, b), key=len)
    return short in long_ and len(short) >= 0.6 * len(long_)


def _same_date(got: datetime | None, want: str, language: str) -> bool:
    """Same day (or month, or year: as precise as the truth is), in the page's own zone."""
    if got is None:
        return False
    parts = [int(x) for x in re.findall(r"\d+", str(want))[:3]]
    if language == "zh":
        got = got.astimezone(CHINA_TZ)
    return [got.year, got.month, got.day][:len(parts)] == parts


def half_of(name: str) -> str:
    """The page's metadata half: "A" (rules are tuned on it) or "B" (checked on it), fixed by
    a hash of the page's name so that every run splits the same way."""
    return "AB"[zlib.crc32(name.encode()) % 2]


def _load_score(bench: Path):
    spec = importlib.util.spec_from_file_location("bench_score", bench / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    return score


def _baseline_metadata(score, body: bytes) -> dict[str, dict[str, object]]:
    """title / published / author as readability-lxml (title only) and trafilatura's
    extract_metadata read them from the same page."""
    out: dict[str, dict[str, object]] = {}
    html, _ = score.decode_html(body)
    html = score.strip_xml_decl(html)
    if importlib.util.find_spec("readability") is not None:
        from readability import Document

        try:
            out["readability"] = {"title": Document(html).short_title()}
        except Exception:  # a baseline failing on a page scores nothing there
            out["readability"] = {"title": None}
    if importlib.util.find_spec("trafilatura") is not None:
        from trafilatura import extract_metadata

        try:
            doc = extract_metadata(html)
        except Exception:
            doc = None
        if doc is not None:
            date = None
            if doc.date:
                try:
                    date = datetime.fromisoformat(doc.date).replace(tzinfo=CHINA_TZ)
                except ValueError:
                    date = None
            out["trafilatura"] = {"title": doc.title, "published": date, "author": doc.author}
        else:
            out["trafilatura"] = {"title": None, "published": None, "author": None}
    return out


MetaScores = dict[tuple[str, str, str], list[int]]
"""(field, half, extractor) -> [correct, pages with truth]"""


def metadata_accuracy(folder: Path, limit: int | None, extra: dict[str, dict],
                      score=None) -> MetaScores:
    """Title, publication date and author against the truth, per half of the pages (see
    half_of), for newswatch and (with score.py's module) readability and trafilatura."""
    from newswatch.extraction import extract_article

    scores: MetaScores = defaultdict(lambda: [0, 0])
    for m in _metas(folder, limit):
        m = {**m, **extra.get(m["name"], {})}
        wanted = {k: m.get(k) for k in ("title", "published", "author") if m.get(k)}
        if not wanted:
            continue
        body = (folder / "pages" / f"{m['name']}.html").read_bytes()
        art = extract_article(body, m.get("url") or "")
        got = {"newswatch": {"title": art.title, "published": art.published,
                             "author": art.author}}
        if score is not None:
            got.update(_baseline_metadata(score, body))
        half = half_of(m["name"])
        for field, want in wanted.items():
            for who, fields in got.items():
                if field not in fields:  # readability reads no date or author
                    continue
                value = fields[field]
                if field == "title":
                    ok = _same_title(value or "", want)
                elif field == "published":
                    ok = _same_date(value, want, m.get("language", "en"))
                else:
                    ok = bool(value) and _fold(value) == _fold(want)
                for h in (half, "all"):
                    scores[(field, h, who)][0] += ok
                    scores[(field, h, who)][1] += 1
    return scores


def print_metadata(folder: str, scores: MetaScores) -> None:
    who = sorted({k[2] for k in scores}, key=lambda w: (w != "newswatch", w))
    for field in ("title", "published", "author"):
        for half in ("A", "B", "all"):
            cells = []
            for w in who:
                ok, n = scores.get((field, half, w), (0, 0))
                cells.append(f"{w} {ok}/{n} {ok / n:.3f}" if n else "")
            if any(cells):
                print(f"  {folder:<7} {field:<9} {half:<3} " + "   ".join(c for c in cells if c))


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def interleaved_timing(bench: Path, folders: list[str], limit: int | None) -> None:
    """newswatch and readability (score.py's own adapter) on the same pages, alternately:
    both see the same load."""
    score = _load_score(bench)
    spec = importlib.util.spec_from_file_location("nw_adapter", ADAPTER)
    adapter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(adapter)
    contenders = {"newswatch": adapter.extract, "readability": score.ext_readability}
    wall: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    pages = [(bench / f / "pages" / f"{m['name']}.html").read_bytes()
             for f in folders for m in _metas(bench / f, limit)]
    for fn in contenders.values():  # imports and lazy set-up are not timed
        fn(pages[0], None)
    for body in pages:
        for name, fn in contenders.items():
            w, c = time.perf_counter(), time.process_time()
            try:
                fn(body, None)
            except Exception:  # a baseline that fails on a page still took the time
                pass
            wall[name] += time.perf_counter() - w
            cpu[name] += time.process_time() - c
    print(f"timing, page by page in turn over {len(pages)} pages (load average {_load()}):")
    for name in contenders:
        print(f"  {name:<12} wall {wall[name] / len(pages) * 1000:6.1f} ms/page   "
              f"CPU {cpu[name] / len(pages) * 1000:6.1f} ms/page")
    print(f"  newswatch / readability CPU time: {cpu['newswatch'] / cpu['readability']:.2f}")


def lost_pages(out: Path, folder: str) -> list[str]:
    """Pages ours extracts below 0.5 F1 while readability or trafilatura gets >= 0.9."""
    by_page: dict[str, dict[str, float]] = defaultdict(dict)
    with open(out / f"per_page_{folder}.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_page[row["name"]][row["extractor"]] = float(row["f1"])
    return sorted(name for name, f1 in by_page.items()
                  if f1.get("newswatch", 0) < 0.5
                  and max(f1.get(b, 0) for b in BASELINES) >= 0.9)


def _score_folders(args: argparse.Namespace, bench: Path, folders: list[str]) -> Path | None:
    """score.py on the folders for newswatch and the baselines; prints the F1 table."""
    score = bench / "score.py"
    extractors = [f"newswatch={ADAPTER}:extract"]
    for name, module in {**BASELINES, **{k: OPTIONAL[k] for k in args.extra}}.items():
        if importlib.util.find_spec(module) is None:
            print(f"baseline {name} skipped: {module} is not installed")
        else:
            extractors.append(name)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="nw-extraction-bench-"))
    cmd = [sys.executable, str(score), *folders, "--out", str(out)]
    for e in extractors:
        cmd += ["-e", e]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    started = time.perf_counter()
    load_before = _load()
    done = subprocess.run(cmd, cwd=bench, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        print(f"score.py failed with exit code {done.returncode}")
        return None
    results = json.loads((out / "summary.json").read_text(encoding="utf-8"))["results"]
    labels = [e.split("=", 1)[0] for e in extractors]

    print(f"extraction benchmark: {', '.join(folders)}"
          f"{f' (first {args.limit} pages each)' if args.limit else ''}; score.py in "
          f"{time.perf_counter() - started:.0f} s; load average {load_before} before, "
          f"{_load()} after")
    print(f"{'folder':<7} {'extractor':<12} {'pages':>5} {'P':>6} {'R':>6} {'F1':>6} "
          f"{'ms/page':>8} {'lost':>5}")
    means: dict[str, list[float]] = defaultdict(list)
    times: dict[str, list[float]] = defaultdict(list)
    for folder in folders:
        lost = lost_pages(out, folder)
        for label in labels:
            row = results.get(folder, {}).get(label, {}).get("ALL")
            if not row:
                continue
            means[label].append(row["f1"])
            times[label].append(row["mean_time_s"] * 1000)
            mark = str(len(lost)) if label == "newswatch" else ""
            print(f"{folder:<7} {label:<12} {row['pages']:>5} {row['precision']:>6.3f} "
                  f"{row['recall']:>6.3f} {row['f1']:>6.3f} {row['mean_time_s'] * 1000:>8.1f} "
                  f"{mark:>5}")
        if lost:
            print(f"        lost on {folder}: {' '.join(lost)}")
    for label in labels:
        if means[label]:
            print(f"{'mean':<7} {label:<12} {'':>5} {'':>6} {'':>6} "
                  f"{statistics.mean(means[label]):>6.3f} {statistics.mean(times[label]):>8.1f}")

    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, help="only the first N pages of each folder")
    ap.add_argument("--small", action="store_true", help="15 pages a folder, for CI")
    ap.add_argument("--folders", nargs="+", default=list(FOLDERS))
    ap.add_argument("--extra", nargs="*", default=[], choices=sorted(OPTIONAL),
                    help="more baselines from score.py")
    ap.add_argument("--out", help="where score.py writes outputs (default: a temp dir)")
    ap.add_argument("--meta-truth", type=Path, default=META_TRUTH,
                    help="JSONL of {name, title?, published?, author?} added to meta.jsonl")
    ap.add_argument("--meta-only", action="store_true",
                    help="only the metadata accuracy (no score.py run, no timing pass)")
    args = ap.parse_args(argv)
    if args.small and not args.limit:
        args.limit = 15

    bench = bench_dir()
    score = bench / "score.py"
    if not score.is_file():
        skip("the shared bench's score.py and pages")
    folders = [f for f in args.folders if (bench / f / "meta.jsonl").is_file()]
    missing = sorted(set(args.folders) - set(folders))
    if missing:
        print(f"folders not in {bench}: {' '.join(missing)}")
    if not folders:
        return 0
    out = None if args.meta_only else _score_folders(args, bench, folders)
    if out is None and not args.meta_only:
        return 1
    extra: dict[str, dict] = {}
    if args.meta_truth and args.meta_truth.is_file():
        for line in args.meta_truth.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                extra[rec.pop("name")] = rec
    print("metadata accuracy where the truth has the field (half A: rules tuned on it, "
          "B: checked on it; split by a hash of the page name):")
    score_module = _load_score(bench)
    for folder in folders:
        print_metadata(folder, metadata_accuracy(bench / folder, args.limit, extra,
                                                 score_module))
    if args.meta_only:
        return 0
    if importlib.util.find_spec("readability") is not None:
        interleaved_timing(bench, folders, args.limit)
    print(f"outputs and per-page scores: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
