"""Two real processes record the same texts from different URLs at the same moment."""

from __future__ import annotations

from newswatch.storage.db import connect
from tests.storage_samples import ARTICLE_A, ARTICLE_B, ARTICLE_EN, record_in_child, run_children

pytest_plugins = ["tests.storage_fixtures"]

ROUNDS = [ARTICLE_A, ARTICLE_B, ARTICLE_EN, ARTICLE_A + "\n补充：模型已上线。"]


def test_two_processes_same_text_end_with_one_story_each(db_url: str) -> None:
    results = run_children(record_in_child, [
        (db_url, [(f"outlet{p}", f"https://p{p}.example/{i}", text)
                  for i, text in enumerate(ROUNDS)])
        for p in (1, 2)])
    assert all(status == "ok" for status, _ in results), results
    first, second = (outcomes for _, outcomes in results)
    for (sid1, o1), (sid2, o2) in zip(first, second, strict=True):
        assert sid1 == sid2
        assert sorted([o1, o2]) in (["duplicate", "new"], ["changed", "duplicate"],
                                    ["duplicate", "duplicate"])

    store = connect(db_url)
    stories = store.list_stories()
    store.close()
    assert len(stories) == 3  # A (with its update), B, EN
    for story in stories:
        assert sorted(story["outlets"]) == ["outlet1", "outlet2"]
    by_urls = sorted(sorted(s["urls"]) for s in stories)
    assert ["https://p1.example/1", "https://p2.example/1"] in by_urls
    assert ["https://p1.example/2", "https://p2.example/2"] in by_urls
    assert ["https://p1.example/0", "https://p1.example/3",
            "https://p2.example/0", "https://p2.example/3"] in by_urls


HOLD_WRITE = r'''
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # a rollback-journal write, as a process creating the file has
conn.execute("CREATE TABLE other_tool(x)")
print("holding", flush=True)
sys.stdin.readline()  # until the test says
conn.execute("COMMIT")
'''


def test_opening_a_new_sqlite_database_waits_for_a_writer_instead_of_failing(tmp_path) -> None:
    """A process in the middle of creating the file holds a rollback-journal write lock; switching
    to WAL then fails at once with "database is locked" (SQLite skips the busy handler there).
    ``connect`` must wait for it, like for any other lock."""
    import subprocess
    import sys
    import threading

    db_file = tmp_path / "new.db"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE, str(db_file)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        outcome: list[object] = []

        def open_it() -> None:
            try:
                connect(f"sqlite:///{db_file}").close()
                outcome.append("ok")
            except Exception as exc:  # noqa: BLE001 - reported below
                outcome.append(exc)

        opener = threading.Thread(target=open_it)
        opener.start()
        opener.join(timeout=1.0)  # while the writer holds on, the opener must still be waiting
        if not outcome:
            assert holder.stdin is not None
            holder.stdin.write("go\n")
            holder.stdin.flush()
        opener.join(timeout=120)
        assert outcome == ["ok"], outcome
    finally:
        holder.kill()
        holder.wait()
