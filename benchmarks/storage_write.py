"""Benchmark the storage write path: ``Store.record_article`` per outcome, on SQLite and PostgreSQL.

    python benchmarks/storage_write.py                 # all bench pages (~250 articles)
    python benchmarks/storage_write.py --small         # quick CI run (40 articles)
    python benchmarks/storage_write.py --root DIR      # import ``storage`` from DIR instead
                                                       # (e.g. `git archive <commit> storage alembic`)
    python benchmarks/storage_write.py --prepared      # fingerprints made beforehand (workers)

Articles are the real pages of ``<bench>/{en,zh}/pages`` (``<bench>`` is ``$NEWSWATCH_BENCH_DIR``,
else ``../../shared/bench`` from this file; without them it says so in one line and exits 2)
run through ``extraction.extract_article``. Each
backend gets a fresh database (a SQLite file in a temporary folder; a fresh schema in
``$NEWSWATCH_TEST_POSTGRES_URL`` when set) and records, in this order, timing every call:

* ``new``        every article at its own URL (plan_alerts hook given, see below)
* ``unchanged``  the same articles at the same URLs again
* ``duplicate``  the same texts at other URLs of another outlet (exact-hash duplicates)
* ``near-dup``   the texts with a credit line added, at third URLs (SimHash duplicates)
* ``changed``    the first URLs with a sentence appended (a new revision)

The hook reads what ``alerts.planner`` reads (story id/title/published/first_seen, revision
id/title/text, for new and changed only) so the cost of handing ORM objects to it is counted.

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
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchdata import pages as bench_pages

ROOT = Path(__file__).resolve().parents[1]

POSTGRES_ENV = "NEWSWATCH_TEST_POSTGRES_URL"
PHASES = ("new", "unchanged", "duplicate", "near-dup", "changed")


def _extract(path: str) -> Any:
    from newswatch.extraction import extract_article

    return extract_article(Path(path).read_bytes(), "https://bench.example/" + Path(path).name)


def load_articles(limit: int | None) -> list[Any]:
    every = bench_pages("en", "zh")  # or skip the benchmark
    pages = [p for p in every if p.parent.parent.name == "en"]
    zh = [p for p in every if p.parent.parent.name == "zh"]
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
    """Reads what alerts.planner reads from the objects it is handed (only for new/changed)."""
    if outcome not in ("new", "changed"):
        return
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
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def timed(self, n: int = 1) -> Iterator[None]:
        w, c = time.perf_counter(), time.process_time()
        yield
        self.wall.extend([(time.perf_counter() - w) / n] * n)
        self.cpu.extend([(time.process_time() - c) / n] * n)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.wall) * 1000 if self.wall else float("nan")

    @property
    def p95_ms(self) -> float:
        if len(self.wall) < 2:
            return self.p50_ms
        return statistics.quantiles(self.wall, n=20)[-1] * 1000

    @property
    def cpu_ms(self) -> float:
        return statistics.fmean(self.cpu) * 1000 if self.cpu else float("nan")


class StoreDriver:
    """``Store.record_article`` with the hook, one call per article."""

    def __init__(self, url: str, prepared: dict[str, Any] | None = None) -> None:
        from newswatch.storage.db import connect

        self.store = connect(url)
        self.store.ensure_outlets(["bench-a", "bench-b", "bench-c"])
        self.fetched = datetime.now(UTC)
        self.prepared = prepared

    def __call__(self, phase: str, outlet: str, url: str, art: Any) -> str:
        extra = {"fingerprint": self.prepared[art.text]} if self.prepared else {}
        return self.store.record_article(outlet, url, art, self.fetched, plan_alerts=_hook,
                                         **extra).outcome

    def close(self) -> None:
        self.store.close()


class BaselineDriver:
    """Minimal statements per outcome through the raw driver (schema made by connect())."""

    PHASES = ("new", "unchanged", "duplicate")

    def __init__(self, url: str) -> None:
        from newswatch.storage.db import connect, create_engine_for

        connect(url).close()  # migrate
        self.engine = create_engine_for(url)  # same connection settings (WAL, synchronous...)
        self.raw = self.engine.raw_connection()
        self.pg = self.engine.dialect.name == "postgresql"
        if self.pg:
            self.raw.driver_connection.autocommit = True
        else:
            self.raw.driver_connection.isolation_level = None
        self.cur = self.raw.cursor()
        self.outlet_ids = {}
        for name in ("bench-a", "bench-b"):
            self.cur.execute(self.sql("INSERT INTO outlets (name, created_at) VALUES (?, ?) "
                                      "RETURNING id"), (name, self.now()))
            self.outlet_ids[name] = self.cur.fetchone()[0]
        self.fps: dict[str, Any] = {}

    def prepare(self, arts: list[Any]) -> None:
        """Fingerprints computed up front: the baseline times the driver only."""
        from newswatch.storage.fingerprint import fingerprint

        for art in arts:
            fp = self.fps[art.text] = fingerprint(art.text)
            _ = fp.keys, fp.simhash

    def sql(self, s: str) -> str:
        return s.replace("?", "%s") if self.pg else s

    def now(self) -> Any:
        value = datetime.now(UTC)
        return value if self.pg else value.replace(tzinfo=None).isoformat(" ")

    @contextmanager
    def txn(self) -> Iterator[None]:
        self.cur.execute("BEGIN" if self.pg else "BEGIN IMMEDIATE")
        yield
        self.cur.execute("COMMIT")

    def __call__(self, phase: str, outlet: str, url: str, art: Any) -> str:
        cur, sql, fp = self.cur, self.sql, self.fps[art.text]
        if phase == "unchanged":
            cur.execute(sql("SELECT r.id, r.content_hash FROM story_urls u JOIN stories s ON "
                            "s.id = u.story_id JOIN revisions r ON r.id = s.latest_revision_id "
                            "WHERE u.url = ?"), (url,))
            row = cur.fetchone()
            return "unchanged" if row and row[1] == fp.content_hash else "?"
        t = self.now()
        with self.txn():
            if phase == "duplicate":
                cur.execute(sql("SELECT story_id FROM revisions WHERE content_hash = ?"),
                            (fp.content_hash,))
                sid = cur.fetchone()[0]
            else:
                cur.execute(sql("INSERT INTO stories (outlet_id, title, author, published, "
                                "language, first_seen, last_changed, simhash) VALUES "
                                "(?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"),
                            (self.outlet_ids[outlet], art.title, art.author, None, art.language,
                             t, t, fp.simhash))
                sid = cur.fetchone()[0]
                cur.execute(sql("INSERT INTO revisions (story_id, content_hash, text, title, "
                                "first_seen) VALUES (?, ?, ?, ?, ?) RETURNING id"),
                            (sid, fp.content_hash, art.text, art.title, t))
                rid = cur.fetchone()[0]
                cur.execute(sql("UPDATE stories SET latest_revision_id = ? WHERE id = ?"),
                            (rid, sid))
                cur.executemany(sql("INSERT INTO story_simhash_bands (story_id, band, value, "
                                    "simhash) VALUES (?, ?, ?, ?)"),
                                [(sid, b, v, fp.simhash) for b, v in fp.keys])
            cur.execute(sql("INSERT INTO story_urls (url, story_id, outlet_id, first_seen, "
                            "last_fetched_at) VALUES (?, ?, ?, ?, ?)"),
                        (url, sid, self.outlet_ids[outlet], t, t))
        return phase

    def close(self) -> None:
        self.cur.close()
        self.raw.close()
        self.engine.dispose()


def run_interleaved(store_url: str, base_url: str, jobs: dict[str, list[tuple[str, str, Any]]],
                    prepared: bool = False) -> tuple[dict[str, Timing], dict[str, Timing]]:
    """Every phase, article by article: the Store call, then the baseline's for the same
    article (on its own database), so both see the same machine load. ``prepared``: pass
    fingerprints made beforehand (as an extraction worker would), untimed."""
    fps = None
    if prepared:
        from newswatch.storage.fingerprint import prepare

        fps = {a.text: prepare(a.text) for phase in PHASES for _, _, a in jobs[phase]}
    store, base = StoreDriver(store_url, fps), BaselineDriver(base_url)
    base.prepare([a for _, _, a in jobs["new"]])
    ours: dict[str, Timing] = {phase: Timing() for phase in PHASES}
    theirs: dict[str, Timing] = {phase: Timing() for phase in BaselineDriver.PHASES}
    try:
        for phase in PHASES:
            for outlet, page_url, art in jobs[phase]:
                with ours[phase].timed():
                    outcome = store(phase, outlet, page_url, art)
                ours[phase].outcomes[outcome] += 1
                if phase in theirs:
                    with theirs[phase].timed():
                        outcome = base(phase, outlet, page_url, art)
                    theirs[phase].outcomes[outcome] += 1
        return ours, theirs
    finally:
        store.close()
        base.close()


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


def report(name: str, store: dict[str, Timing], base: dict[str, Timing]) -> None:
    print(f"\n{name}")
    head = (f"  {'outcome':<10} {'p50 ms':>7} {'(p95)':>7} {'cpu ms':>7} | {'baseline':>8} "
            f"{'cpu ms':>7} {'ratio':>6}")
    print(head + "  outcomes")
    for phase in PHASES:
        s, b = store[phase], base.get(phase)
        cells = f"  {phase:<10} {s.p50_ms:7.2f} ({s.p95_ms:5.2f}) {s.cpu_ms:7.2f} | "
        cells += (f"{b.p50_ms:8.2f} {b.cpu_ms:7.2f} {s.p50_ms / b.p50_ms:6.1f}" if b
                  else f"{'-':>8} {'-':>7} {'-':>6}")
        print(cells + "  " + ", ".join(f"{k} {v}" for k, v in sorted(s.outcomes.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="40 articles (CI)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many pages")
    parser.add_argument("--prepared", action="store_true",
                        help="pass storage.fingerprint.prepare() results (made untimed, as in "
                             "an extraction worker) to record_article")
    args = parser.parse_args()
    from newswatch import storage

    limit = 40 if args.small else args.limit
    arts = load_articles(limit)
    jobs = variants(arts)
    print(f"{len(arts)} distinct articles, mean {statistics.fmean(len(a.text) for a in arts):.0f} "
          f"chars; storage from {Path(storage.__file__).parent}")
    print("per article: wall-clock median (p95), this process's CPU time (mean); "
          "ratio = median / baseline median")
    for name, make_url in backends():
        with make_url() as store_url, make_url() as base_url:
            timings, base = run_interleaved(store_url, base_url, jobs, args.prepared)
        report(name, timings, base)

if __name__ == "__main__":
    main()
