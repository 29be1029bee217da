"""Benchmark event grouping as the crawl does it: through storage, in the article's transaction.

    python benchmarks/events_store.py            # USE (if installed) and lexical, both splits
    python benchmarks/events_store.py --small    # CI: held-out split only

Every story of ``tests/fixtures/events/testset.jsonl`` (title, lead as its text) is stored with
``Store.record_article`` and the crawl's grouping step (``crawler/grouping.py``: entity tagging,
encoding, assignment under the grouping lock, the event rows) into a fresh SQLite file, in
order of time, one by one; precision and recall are over story pairs of ``stories.event_id``
(the same measure as benchmarks/events.py, which groups in memory). The baseline, measured in
the same run, stores the same stories without grouping: the difference is what grouping adds
to storing a new story (ms, wall clock; the machine is shared, so the load average is printed).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newswatch.crawler.grouping import GroupingStep
from newswatch.entities import load_table
from newswatch.events.encoders import EncoderUnavailable, make_encoder
from newswatch.storage.db import connect
from newswatch.storage.models import Story


def _events_benchmark():
    """benchmarks/events.py (its test set loader and pair measure), by path: ``events`` is also
    a room's name, which only ``newswatch.events`` may mean."""
    spec = importlib.util.spec_from_file_location("events_benchmark",
                                                  Path(__file__).with_name("events.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_bench = _events_benchmark()
load_rows, pairwise = _bench.load_rows, _bench.pairwise


@dataclass
class Art:
    title: str
    text: str
    published: datetime | None
    author: str | None
    language: str | None


def store_all(rows: Sequence[dict], step: GroupingStep | None) -> tuple[dict[str, int | None], float]:
    """Store the rows (grouped by ``step``, or not); (row id -> event id, ms per story)."""
    with tempfile.TemporaryDirectory() as folder:
        store = connect(f"sqlite:///{folder}/bench.db")
        try:
            story_of, spent = {}, 0.0
            for row in rows:
                published = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
                art = Art(row["title"], row["lead"], published, None, row["lang"])
                group = step.for_outlet(row["outlet"]) if step else None
                t0 = time.perf_counter()
                result = store.record_article(row["outlet"], f"https://{row['outlet']}.test/{row['id']}",
                                              art, published + timedelta(minutes=5), group=group)
                spent += time.perf_counter() - t0
                story_of[row["id"]] = result.story_id
            with store.reading() as session:
                events = dict(session.query(Story.id, Story.event_id))
        finally:
            store.close()
    return {rid: events.get(sid) for rid, sid in story_of.items()}, spent * 1000 / max(1, len(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="quick CI run: held-out only")
    args = parser.parse_args(argv)
    rows = load_rows()
    splits = ("held-out",) if args.small else ("tune", "held-out")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{len(rows)} stories; stored one by one into SQLite")
    table = load_table()
    groupings = ["lexical"]
    try:
        make_encoder("use")
        groupings.insert(0, "use")
    except EncoderUnavailable as exc:
        print(f"use: skipped ({exc})")
    for split in splits:
        part = [r for r in rows if r["split"] == split]
        _, base_ms = store_all(part, None)
        for name in groupings:
            step = GroupingStep(table, name)
            if step.grouper.encoder is not None:  # load the model before timing (once a crawl)
                step.grouper.encoder.encode(["warm-up"])
            events, ms = store_all(part, step)
            predicted = {rid: str(e) for rid, e in events.items()}
            p, r, tp, fp, fn = pairwise(part, predicted)
            print(f"{split:9} {name:8} P {p:.3f} R {r:.3f} (tp {tp} fp {fp} fn {fn}) "
                  f"{len(set(events.values()))} events; store {ms:.1f} ms/story "
                  f"(without grouping {base_ms:.1f}: +{ms - base_ms:.1f})")
    print(f"finished {datetime.now(UTC):%H:%M} UTC, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
