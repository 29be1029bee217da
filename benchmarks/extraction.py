#!/usr/bin/env python3
"""Extraction benchmark: our extract_article against readability, trafilatura, gne and the
whole-page baseline on the shared pages, scored by the shared score.py (token F1, time).

    python benchmarks/extraction.py [--limit N | --small] [--folders zh en] [--out DIR]

The bench folder is $NEWSWATCH_BENCH_DIR, else <repo>/../shared/bench; without it the benchmark
says so in one line and exits 2 (benchmarks/benchdata.py). Built-ins that are not installed are
skipped. Prints one row per extractor and folder with F1 and ms/page, and the
ratio of ours to readability's from the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchdata import bench_dir, skip

REPO = Path(__file__).resolve().parents[1]
BUILTINS = {"readability": "readability", "trafilatura": "trafilatura", "gne": "gne",
            "alltext": "lxml"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, help="only the first N pages of each folder")
    ap.add_argument("--small", action="store_true", help="20 pages a folder, for CI")
    ap.add_argument("--folders", nargs="+", default=["zh", "en"])
    ap.add_argument("--out", help="where score.py writes outputs (default: a temp dir)")
    args = ap.parse_args(argv)
    if args.small and not args.limit:
        args.limit = 20

    bench = bench_dir()
    score = bench / "score.py"
    if not score.is_file():
        skip("the shared bench's score.py and pages")
    extractors = ["newswatch=" + str(Path(__file__).resolve().parent / "extract_adapter.py") + ":extract"]
    for name, module in BUILTINS.items():
        if importlib.util.find_spec(module) is None:
            print(f"skipping {name}: {module} is not installed")
        else:
            extractors.append(name)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="nw-extraction-bench-"))
    cmd = [sys.executable, str(score), *args.folders, "--out", str(out)]
    for e in extractors:
        cmd += ["-e", e]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    done = subprocess.run(cmd, cwd=bench, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        print(f"score.py failed with exit code {done.returncode}")
        return 1
    results = json.loads((out / "summary.json").read_text(encoding="utf-8"))["results"]

    print(f"{'folder':<6} {'extractor':<12} {'pages':>5} {'P':>6} {'R':>6} {'F1':>6} "
          f"{'ms/page':>8} {'F1/rd':>6} {'time/rd':>7}")
    for folder, by_label in results.items():
        base = by_label.get("readability", {}).get("ALL")
        for label, by_source in by_label.items():
            row = by_source["ALL"]
            ms = row["mean_time_s"] * 1000
            f1_ratio = t_ratio = ""
            if base:
                f1_ratio = f"{row['f1'] / base['f1']:.3f}" if base["f1"] else "-"
                t_ratio = f"{row['mean_time_s'] / base['mean_time_s']:.2f}"
            print(f"{folder:<6} {label:<12} {row['pages']:>5} {row['precision']:>6.3f} "
                  f"{row['recall']:>6.3f} {row['f1']:>6.3f} {ms:>8.1f} {f1_ratio:>6} {t_ratio:>7}")
    print(f"outputs and per-page scores: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
