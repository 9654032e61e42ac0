"""SQLite reads run on per-thread connections: they neither wait for a writer's open
transaction (its commit may take an fsync) nor see rows it has not committed."""

from __future__ import annotations

import threading

import numpy as np

from memlm import Memory
from memlm.stores.base import Filters


def test_a_read_during_an_open_write_sees_the_last_commit_and_does_not_wait(tmp_path, hashing):
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        [first] = m.add("I live in Lisbon", user_id="ana")
        store = m.store
        inside, release, seen = threading.Event(), threading.Event(), {}

        def writer() -> None:
            with store.transaction():
                store.sql("UPDATE memories SET text = 'changed' WHERE id = ?", (first.id,))
                inside.set()
                release.wait(30)

        def reader() -> None:
            seen["text"] = store.get("default", first.id).text
            seen["listed"] = [r.text for r in store.list(Filters("default", "ana"), limit=10)]
            seen["search"] = [h.memory.text for h in m.search("Lisbon", user_id="ana")]

        w = threading.Thread(target=writer)
        w.start()
        assert inside.wait(10)
        r = threading.Thread(target=reader)
        r.start()
        r.join(10)
        blocked = r.is_alive()
        release.set()
        w.join(10)
        r.join(10)
        assert not blocked, "the read waited for the writer's transaction"
        assert seen == {"text": "I live in Lisbon", "listed": ["I live in Lisbon"], "search": ["I live in Lisbon"]}
        assert m.get(first.id).text == "changed"  # committed now: every reader sees it


def test_reads_inside_a_write_transaction_see_its_own_changes(tmp_path, hashing):
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        [first] = m.add("I live in Lisbon", user_id="ana")
        with m.store.transaction():
            m.store.sql("UPDATE memories SET text = 'changed' WHERE id = ?", (first.id,))
            assert m.store.get("default", first.id).text == "changed"
            assert m.store.sql("SELECT text FROM memories WHERE id = ?", (first.id,)) == [("changed",)]


def test_closing_the_store_closes_every_thread_s_reader(tmp_path, hashing):
    m = Memory(tmp_path / "m.db", encoder=hashing)
    m.add("I live in Lisbon", user_id="ana")
    threads = [threading.Thread(target=m.search, args=("Lisbon",), kwargs={"user_id": "ana"}) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    readers = list(m.store._readers)
    assert len(readers) >= 3
    m.close()
    assert m.store._readers == []
    for conn in readers:  # closed connections refuse work
        try:
            conn.execute("SELECT 1")
        except Exception as exc:  # sqlite3.ProgrammingError
            assert "closed" in str(exc)
        else:
            raise AssertionError("a reader connection was left open")


def test_bm25_top_k_skips_filtered_rows_without_fetching_every_match(tmp_path, hashing, monkeypatch):
    """A small owner's matches come from FTS5's ranking, 2k at a time. Superseded facts are
    filtered out after ranking: when they crowd the first 2k matches the store takes every
    match, and the top k of what passes is the same either way."""
    from datetime import datetime, timezone

    from memlm.stores import sqlite_lexical as sqlite_store

    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        m.add_many([[{"role": "user", "content": f"bob's note {i}"}] for i in range(130)], user_id="bob")
        for i in range(40):
            words = " ".join(f"w{i}x{j}" for j in range(i % 8 + 1))  # (apples, length) differ: no ties
            m.add_many([[{"role": "user", "content": f"{'apple ' * (1 + i // 8)}{words}"}]], user_id="ana")
        f = Filters("default", "ana")
        before = m.store.lexical(f, '"apple"', 5)
        assert len(before) == 5
        now = datetime.now(timezone.utc)
        for mid, _ in m.store.lexical(f, '"apple"', 8):  # hide 8 of the first 2k = 10 matches
            m.store.supersede("default", mid, now, None)
        view = m.store.owner(f)
        query = f'scope : {sqlite_store.owner_match(f)} AND body : ("apple")'
        (idx, scores), _ = sqlite_store.fts_bm25(m.store._db, view, query, None)
        current = view.mask(f)[idx]
        rows, best = idx[current], scores[current]
        expected = [view.ids[i] for i in rows[np.lexsort((rows, -best))][:5]]  # ties: earlier rows first
        limits, bm25 = [], sqlite_store.fts_bm25
        monkeypatch.setattr(sqlite_store, "fts_bm25", lambda c, v, q, limit: limits.append(limit) or bm25(c, v, q, limit))
        after = m.store.lexical(f, '"apple"', 5)
        assert [mid for mid, _ in after] == expected and limits == [10, None]  # 2 of 10 pass: every match
        limits.clear()
        assert len(m.store.lexical(f, '"apple"', 8)) == 8 and limits == [16]  # 8 of 16 pass: no second query
        assert len(after) == 5 and not {mid for mid, _ in after} & {mid for mid, _ in before}
