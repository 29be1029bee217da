"""Benchmark the dashboard: ``/`` and ``/api/stories?q=<Chinese word>`` over 20,000 stored
stories, and what the search index adds to the store's size, on SQLite and PostgreSQL.

    python benchmarks/serve.py             # 20,000 stories, 200 requests per URL
    python benchmarks/serve.py --small     # quick CI run (1,000 stories, 30 requests)

Stories are synthetic (half Chinese, half English, 300-1,500 characters from a fixed
vocabulary, seeded), written in batches straight into the tables together with their search
index rows (``storage.search.index_stories``, what every write does). Each backend gets a fresh
database (a SQLite file in a temporary folder; a fresh schema in $NEWSWATCH_TEST_POSTGRES_URL
when set) and the real server (uvicorn, ``web.server.DashboardThread``) on 127.0.0.1; one
keep-alive client times each request. PostgreSQL is timed after ANALYZE (right after the fill)
and again, the gated requests, after VACUUM ANALYZE (the visibility map set, as autovacuum
leaves the tables): plans can change between the two.

Baselines (same run, same data): ``/static/style.css`` from the same server (the floor of a
request), and the search answered without the index -- a LIKE scan of the latest revisions'
text in the database (just the count, no page). Target: p95 <= 50 ms for ``/`` and the search.
Size: the database with the index, and without it (table dropped, file vacuumed / relation
sizes summed), and the difference.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

POSTGRES_ENV = "NEWSWATCH_TEST_POSTGRES_URL"
TARGET_P95_MS = 50.0
ZH_WORDS = ("模型 大模型 数字人 算力 芯片 人工智能 开源 训练 推理 发布 公司 用户 企业 应用 平台 "
            "技术 数据 市场 成本 价格 产品 服务 行业 研发 团队 能力 智能体 多模态 手机 云计算 "
            "投资 融资 增长 竞争 生态 开发者 安全 监管 标准 评测 参数 显卡 服务器 直播 主播 "
            "电商 客服 医疗 教育 金融 汽车 自动驾驶 机器人 语音 图像 视频 文本 代码 搜索 "
            "今年 去年 近日 表示 认为 介绍 宣布 计划 已经 正在 可能 需要 进一步 明显 大幅").split()
EN_WORDS = ("model models AI chip chips compute training inference open source release company "
            "users enterprise app platform data market cost price product service industry "
            "research team agent agents multimodal phone cloud investment funding growth "
            "developers safety regulation benchmark parameters GPU server video voice image "
            "code search the a of to in and for with on is was will has new said this year").split()
QUERIES = ("模型", "数字人", "智能体")


def synthetic(rng: random.Random, zh: bool) -> tuple[str, str]:
    words = ZH_WORDS if zh else EN_WORDS
    size = rng.randint(300, 1500)
    paragraphs, length = [], 0
    while length < size:
        sentence = ("" if zh else " ").join(rng.choice(words) for _ in range(rng.randint(6, 18)))
        sentence += "。" if zh else "."
        paragraphs.append(sentence[0].upper() + sentence[1:] if not zh else sentence)
        length += len(sentence)
    title = ("" if zh else " ").join(rng.choice(words) for _ in range(rng.randint(3, 7)))
    return title, "\n".join(paragraphs)


def fill(store: Any, n: int, seed: int = 15) -> None:
    """``n`` stories (one URL, one revision, one search row each) on one outlet."""
    from sqlalchemy import insert, update

    from newswatch.storage.models import Revision, Story, StoryUrl
    from newswatch.storage.search import index_stories
    from newswatch.text import content_hash

    rng = random.Random(seed)
    outlet_id = store.ensure_outlets(["bench"])["bench"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 1000
    for first in range(0, n, batch):
        with store.engine.begin() as conn:
            stories, revisions, urls, index = [], [], [], []
            for i in range(first, min(n, first + batch)):
                title, text = synthetic(rng, zh=i % 2 == 0)
                when = start + timedelta(minutes=i)
                stories.append({"id": i + 1, "outlet_id": outlet_id, "title": title,
                                "language": "zh" if i % 2 == 0 else "en", "first_seen": when,
                                "last_changed": when, "latest_revision_id": i + 1})
                revisions.append({"id": i + 1, "story_id": i + 1, "title": title, "text": text,
                                  "content_hash": content_hash(f"{i}\n{text}"),
                                  "first_seen": when})
                urls.append({"url": f"https://bench.example/{i}", "story_id": i + 1,
                             "outlet_id": outlet_id, "first_seen": when})
                index.append((i + 1, title, text))
            conn.execute(insert(Story), [{**s, "latest_revision_id": None} for s in stories])
            conn.execute(insert(Revision), revisions)
            for s in stories:
                conn.execute(update(Story).where(Story.id == s["id"])
                             .values(latest_revision_id=s["latest_revision_id"]))
            conn.execute(insert(StoryUrl), urls)
            index_stories(conn, index)
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def figures(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def size_figures(store: Any, db_file: Path | None) -> tuple[float, float]:
    """(MB with the index, MB without it) -- the index is dropped here (the end of the run)."""
    from sqlalchemy import text

    if db_file is not None:
        import sqlite3

        store.engine.dispose()  # the file alone, through the plain driver (VACUUM needs it)
        db = sqlite3.connect(db_file, isolation_level=None)
        try:
            def vacuumed() -> float:
                db.execute("VACUUM")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                return db_file.stat().st_size / 1e6

            with_index = vacuumed()
            db.execute("DROP TABLE story_search")
            return with_index, vacuumed()
        finally:
            db.close()
    total = text("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                 "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = current_schema()")
    with store.engine.connect() as conn:
        with_index = float(conn.scalar(total)) / 1e6
        index = float(conn.scalar(text("SELECT pg_total_relation_size('story_search')"))) / 1e6
    return with_index, with_index - index


@contextmanager
def backends(tmp: Path) -> Iterator[list[tuple[str, str, Path | None]]]:
    found: list[tuple[str, str, Path | None]] = [
        ("sqlite", f"sqlite:///{tmp / 'serve.db'}", tmp / "serve.db")]
    base = os.environ.get(POSTGRES_ENV)
    schema = f"bench_serve_{uuid.uuid4().hex[:12]}"
    admin = None
    if base:
        from sqlalchemy import create_engine

        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in base else "?"
        found.append(("postgresql", f"{base}{sep}options={quote(f'-csearch_path={schema}')}",
                      None))
    try:
        yield found
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.dispose()


def measure(rows: list[tuple[str, Callable[[], Any], bool]], repeat: int) -> bool:
    """Time each row and print its median and p95; True when every gated row meets the
    target."""
    ok = True
    print(f"  {'request':<44} {'median ms':>10} {'p95 ms':>8}")
    for label, call, gated in rows:
        median, p95 = figures(timed(call, repeat))
        flag = ""
        if gated:
            flag = "  ok" if p95 <= TARGET_P95_MS else f"  over {TARGET_P95_MS:.0f} ms"
            ok = ok and p95 <= TARGET_P95_MS
        print(f"  {label:<44} {median:>10.1f} {p95:>8.1f}{flag}")
    return ok


def run(name: str, url: str, db_file: Path | None, n: int, repeat: int) -> bool:
    import requests
    from sqlalchemy import text

    from newswatch.config import parse_config
    from newswatch.storage.db import connect
    from newswatch.web.server import DashboardThread

    store = connect(url)
    try:
        t = time.perf_counter()
        fill(store, n)
        print(f"\n{name}: {n:,} stories stored in {time.perf_counter() - t:.1f} s")
        config = parse_config({"database": url, "outlets": []}, source="bench")
        with DashboardThread(config, "127.0.0.1", 0, store=store) as web, \
                requests.Session() as client:
            def get(path: str) -> Callable[[], Any]:
                def call() -> None:
                    response = client.get(web.url + path, timeout=60)
                    response.raise_for_status()
                return call

            rows = [("/static/style.css (baseline: the floor)", get("/static/style.css"), False),
                    ("/", get("/"), True)]
            for q in QUERIES:
                rows.append((f"/api/stories?q={q}", get(f"/api/stories?q={quote(q)}"), True))

                def scan(q: str = q) -> None:
                    with store.engine.connect() as conn:
                        conn.execute(text(
                            "SELECT count(*) FROM stories s JOIN revisions r ON "
                            "r.id = s.latest_revision_id WHERE r.text LIKE :p"), {"p": f"%{q}%"})
                rows.append((f"  baseline: LIKE scan for {q} (count only)", scan, False))
            ok = measure(rows, repeat)
            if name == "postgresql":  # the tables as autovacuum leaves them: visibility map set
                with store.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE")
                print("  after VACUUM ANALYZE:")
                ok = measure([row for row in rows if row[2]], repeat) and ok
            with store.reading() as session:
                hits = {q: session.scalar(text(
                    "SELECT count(*) FROM revisions WHERE text LIKE :p"), {"p": f"%{q}%"})
                    for q in QUERIES}
            print("  stories holding each word: " + ", ".join(f"{q} {n:,}" for q, n in hits.items()))
        with_index, without = size_figures(store, db_file)
        print(f"  store size: {with_index:.1f} MB with the search index, {without:.1f} MB without "
              f"(+{with_index - without:.1f} MB, +{(with_index / without - 1) * 100:.0f}%)")
        return ok
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1,000 stories, 30 requests (CI)")
    parser.add_argument("--stories", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    n = args.stories or (1000 if args.small else 20_000)
    repeat = args.repeat or (30 if args.small else 200)
    with tempfile.TemporaryDirectory() as tmp, backends(Path(tmp)) as found:
        results = [run(name, url, db_file, n, repeat) for name, url, db_file in found]
    print(f"\ntarget p95 <= {TARGET_P95_MS:.0f} ms: " + ("met" if all(results) else "NOT met"))


if __name__ == "__main__":
    main()
