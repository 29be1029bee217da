"""Benchmark the storage write path: ``Store.record_article`` per outcome, on SQLite and PostgreSQL.

    python benchmarks/storage_write.py                 # all bench pages (~250 articles)
    python benchmarks/storage_write.py --small         # quick CI run (40 articles)
    python benchmarks/storage_write.py --root DIR      # import ``storage`` from DIR instead
                                                       # (e.g. `git archive <commit> storage alembic`)
    python benchmarks/storage_write.py --batch 20      # also time record_articles() in batches

Articles are the real pages of ``<bench>/{en,zh}/pages`` (``<bench>`` is ``../../shared/bench``
from this file, or ``$NEWSWATCH_BENCH_DIR``) run through ``extraction.extract_article``. Each
backend gets a fresh database (a SQLite file in a temporary folder; a fresh schema in
``$NEWSWATCH_TEST_POSTGRES_URL`` when set) and records, in this order, timing every call:

* ``new``        every article at its own URL (plan_alerts hook given, see below)
* ``unchanged``  the same articles at the same URLs again
* ``duplicate``  the same texts at other URLs of another outlet (exact-hash duplicates)
* ``near-dup``   the texts with a credit line added, at third URLs (SimHash duplicates)
* ``changed``    the first URLs with a sentence appended (a new revision)

The hook reads what ``alerts.planner`` reads (story id/title/published/first_seen, revision
id/title/text) so the cost of handing ORM objects to it is counted.

Baseline (same run, same rows): the plain DB-API driver (sqlite3 / psycopg, no SQLAlchemy)
doing the minimal statements of each outcome in one transaction per article -- new: insert
story, revision, URL and band rows, update the story; unchanged: one SELECT by URL; duplicate:
SELECT by hash, insert the URL. Fingerprints are precomputed for the baseline, so the ratio
also shows what hashing costs. Figures: mean ms/article (p95 in brackets) and store/baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder would come first on sys.path and its extraction.py would shadow
# the extraction package: put the repository root first instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

POSTGRES_ENV = "NEWSWATCH_TEST_POSTGRES_URL"
PHASES = ("new", "unchanged", "duplicate", "near-dup", "changed")


def bench_dir() -> Path:
    base = os.environ.get("NEWSWATCH_BENCH_DIR")
    return Path(base) if base else ROOT.parent / "shared" / "bench"


def _extract(path: str) -> Any:
    from extraction import extract_article

    return extract_article(Path(path).read_bytes(), "https://bench.example/" + Path(path).name)


def load_articles(limit: int | None) -> list[Any]:
    pages = sorted((bench_dir() / "en" / "pages").glob("*.html"))
    zh = sorted((bench_dir() / "zh" / "pages").glob("*.html"))
    if not pages and not zh:
        raise SystemExit(f"no pages in {bench_dir()}/{{en,zh}}/pages (set NEWSWATCH_BENCH_DIR)")
    if limit:  # keep the language mix of the full set
        n_zh = max(1, limit * len(zh) // (len(zh) + len(pages))) if zh else 0
        pages, zh = pages[: limit - n_zh], zh[:n_zh]
    with ProcessPoolExecutor(max_workers=2) as pool:
        arts = list(pool.map(_extract, [str(p) for p in pages + zh], chunksize=8))
    seen: set[str] = set()
    kept = []
    for art in arts:  # distinct texts only, so every phase has one outcome
        if art.skip_reason or not art.text or art.text in seen:
            continue
        seen.add(art.text)
        kept.append(art)
    return kept


def _hook(session: Any, story: Any, revision: Any, outcome: str) -> None:
    """Reads what alerts.planner reads from the objects it is handed."""
    _ = (story.id, story.title, story.published, story.first_seen)
    _ = (revision.id, revision.title, revision.text)


def variants(arts: list[Any]) -> dict[str, list[tuple[str, str, Any]]]:
    """phase -> [(outlet, url, article)]."""
    near = [replace(a, text="来源：新华社\n" + a.text) for a in arts]
    changed = [replace(a, text=a.text + "\nUpdate: the company confirmed the figures.") for a in arts]
    first = [("bench-a", f"https://a.example/{i}", a) for i, a in enumerate(arts)]
    return {
        "new": first,
        "unchanged": first,
        "duplicate": [("bench-b", f"https://b.example/{i}", a) for i, a in enumerate(arts)],
        "near-dup": [("bench-c", f"https://c.example/{i}", a) for i, a in enumerate(near)],
        "changed": [("bench-a", f"https://a.example/{i}", a) for i, a in enumerate(changed)],
    }


@dataclass
class Timing:
    times: list[float]
    outcomes: Counter[str]

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.times) * 1000 if self.times else float("nan")

    @property
    def p95_ms(self) -> float:
        if len(self.times) < 2:
            return self.mean_ms
        return statistics.quantiles(self.times, n=20)[-1] * 1000


def run_store(url: str, jobs: dict[str, list[tuple[str, str, Any]]]) -> dict[str, Timing]:
    from storage.db import connect

    store = connect(url)
    try:
        store.ensure_outlets(["bench-a", "bench-b", "bench-c"])
        result = {}
        fetched = datetime.now(UTC)
        for phase in PHASES:
            times, outcomes = [], Counter[str]()
            for outlet, page_url, art in jobs[phase]:
                t = time.perf_counter()
                r = store.record_article(outlet, page_url, art, fetched, plan_alerts=_hook)
                times.append(time.perf_counter() - t)
                outcomes[r.outcome] += 1
            result[phase] = Timing(times, outcomes)
        return result
    finally:
        store.close()


def run_batches(url: str, jobs: dict[str, list[tuple[str, str, Any]]], size: int
                ) -> dict[str, Timing]:
    """The same phases through ``Store.record_articles`` in batches of ``size``."""
    from storage.db import connect

    store = connect(url)
    try:
        store.ensure_outlets(["bench-a", "bench-b", "bench-c"])
        result = {}
        fetched = datetime.now(UTC)
        for phase in PHASES:
            times, outcomes = [], Counter[str]()
            items = jobs[phase]
            for start in range(0, len(items), size):
                chunk = [(o, u, a, fetched) for o, u, a in items[start : start + size]]
                t = time.perf_counter()
                rs = store.record_articles(chunk, plan_alerts=_hook)
                per = (time.perf_counter() - t) / len(chunk)
                times.extend([per] * len(chunk))
                outcomes.update(r.outcome if hasattr(r, "outcome") else "error" for r in rs)
            result[phase] = Timing(times, outcomes)
        return result
    finally:
        store.close()


# -- baseline: the plain DB-API driver ------------------------------------------------------


def run_baseline(url: str, jobs: dict[str, list[tuple[str, str, Any]]]) -> dict[str, Timing]:
    """Minimal statements per outcome through the raw driver (schema made by connect())."""
    from sqlalchemy import create_engine

    from storage.db import connect
    from storage.fingerprint import fingerprint

    connect(url).close()  # migrate
    engine = create_engine(url)
    raw = engine.raw_connection()
    pg = engine.dialect.name == "postgresql"
    if not pg:
        raw.driver_connection.isolation_level = None
    ph = "%s" if pg else "?"
    begin = "BEGIN" if pg else "BEGIN IMMEDIATE"

    def sql(s: str) -> str:
        return s.replace("?", ph)

    def now() -> Any:
        value = datetime.now(UTC)
        return value if pg else value.replace(tzinfo=None).isoformat(" ")

    cur = raw.cursor()
    if pg:
        raw.driver_connection.autocommit = True
    outlet_ids = {}
    for name in ("bench-a", "bench-b"):
        cur.execute(sql("INSERT INTO outlets (name, created_at) VALUES (?, ?) RETURNING id"),
                    (name, now()))
        outlet_ids[name] = cur.fetchone()[0]
    result: dict[str, Timing] = {}

    @contextmanager
    def txn() -> Iterator[None]:
        cur.execute(begin)
        yield
        cur.execute("COMMIT")

    def new(outlet: str, page_url: str, art: Any, fp: Any) -> str:
        with txn():
            t = now()
            cur.execute(sql("INSERT INTO stories (outlet_id, title, author, published, language, "
                            "first_seen, last_changed, simhash) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                            "RETURNING id"),
                        (outlet_ids[outlet], art.title, art.author, None, art.language, t, t,
                         fp.simhash))
            sid = cur.fetchone()[0]
            cur.execute(sql("INSERT INTO revisions (story_id, content_hash, text, title, "
                            "first_seen) VALUES (?, ?, ?, ?, ?) RETURNING id"),
                        (sid, fp.content_hash, art.text, art.title, t))
            rid = cur.fetchone()[0]
            cur.execute(sql("UPDATE stories SET latest_revision_id = ? WHERE id = ?"), (rid, sid))
            cur.execute(sql("INSERT INTO story_urls (url, story_id, outlet_id, first_seen, "
                            "last_fetched_at) VALUES (?, ?, ?, ?, ?)"),
                        (page_url, sid, outlet_ids[outlet], t, t))
            cur.executemany(sql("INSERT INTO story_simhash_bands (story_id, band, value, simhash) "
                                "VALUES (?, ?, ?, ?)"),
                            [(sid, b, v, fp.simhash) for b, v in fp.keys])
        return "new"

    def unchanged(outlet: str, page_url: str, art: Any, fp: Any) -> str:
        cur.execute(sql("SELECT r.id, r.content_hash FROM story_urls u JOIN stories s ON "
                        "s.id = u.story_id JOIN revisions r ON r.id = s.latest_revision_id "
                        "WHERE u.url = ?"), (page_url,))
        row = cur.fetchone()
        return "unchanged" if row and row[1] == fp.content_hash else "?"

    def duplicate(outlet: str, page_url: str, art: Any, fp: Any) -> str:
        with txn():
            cur.execute(sql("SELECT story_id FROM revisions WHERE content_hash = ?"),
                        (fp.content_hash,))
            sid = cur.fetchone()[0]
            t = now()
            cur.execute(sql("INSERT INTO story_urls (url, story_id, outlet_id, first_seen, "
                            "last_fetched_at) VALUES (?, ?, ?, ?, ?)"),
                        (page_url, sid, outlet_ids[outlet], t, t))
        return "duplicate"

    try:
        for phase, fn in (("new", new), ("unchanged", unchanged), ("duplicate", duplicate)):
            items = [(o, u, a, fingerprint(a.text)) for o, u, a in jobs[phase]]
            for *_, fp in items:
                _ = fp.keys, fp.simhash  # precomputed: the baseline times the driver only
            times, outcomes = [], Counter[str]()
            for o, u, a, fp in items:
                t0 = time.perf_counter()
                outcomes[fn(o, u, a, fp)] += 1
                times.append(time.perf_counter() - t0)
            result[phase] = Timing(times, outcomes)
        return result
    finally:
        cur.close()
        raw.close()
        engine.dispose()


# -- databases ------------------------------------------------------------------------------


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="nw-bench-") as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def backends() -> list[tuple[str, Callable[[], Any]]]:
    found: list[tuple[str, Callable[[], Any]]] = [("sqlite", sqlite_url)]
    base = os.environ.get(POSTGRES_ENV)
    if base:
        found.append(("postgresql", lambda: postgres_url(base)))
    return found


def report(name: str, store: dict[str, Timing], base: dict[str, Timing],
           batch: dict[str, Timing] | None) -> None:
    print(f"\n{name}")
    print(f"  {'outcome':<10} {'store ms':>16} {'baseline ms':>12} {'ratio':>6}"
          + (f" {'batched ms':>11}" if batch else "") + "  outcomes")
    for phase in PHASES:
        s = store[phase]
        b = base.get(phase)
        cells = f"  {phase:<10} {s.mean_ms:7.2f} ({s.p95_ms:5.2f}) "
        cells += f"{b.mean_ms:12.2f} {s.mean_ms / b.mean_ms:6.1f}" if b else f"{'-':>12} {'-':>6}"
        if batch:
            cells += f" {batch[phase].mean_ms:11.2f}"
        print(cells + "  " + ", ".join(f"{k} {v}" for k, v in sorted(s.outcomes.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="40 articles (CI)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many pages")
    parser.add_argument("--root", type=Path, default=None,
                        help="import the storage package from this folder")
    parser.add_argument("--batch", type=int, default=0,
                        help="also time Store.record_articles in batches of this size")
    args = parser.parse_args()
    if args.root is not None:
        if not (args.root / "storage" / "store.py").is_file():
            raise SystemExit(f"--root {args.root}: no storage/store.py there")
        sys.path.insert(0, str(args.root.resolve()))
    import storage

    limit = 40 if args.small else args.limit
    arts = load_articles(limit)
    jobs = variants(arts)
    print(f"{len(arts)} distinct articles, mean {statistics.fmean(len(a.text) for a in arts):.0f} "
          f"chars; storage from {Path(storage.__file__).parent}")
    print("figures: mean ms per article (p95); ratio = store / plain DB-API baseline")
    for name, make_url in backends():
        with make_url() as url:
            timings = run_store(url, jobs)
        batch = None
        if args.batch:
            with make_url() as url:
                batch = run_batches(url, jobs, args.batch)
        with make_url() as url:
            base = run_baseline(url, jobs)
        report(name, timings, base, batch)


if __name__ == "__main__":
    main()
