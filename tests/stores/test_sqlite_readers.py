"""SQLite reads run on per-thread connections: they neither wait for a writer's open
transaction (its commit may take an fsync) nor see rows it has not committed."""

from __future__ import annotations

import threading

import pytest

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


def test_bm25_top_k_skips_filtered_rows(tmp_path, hashing):
    """Superseded facts are scored (they count in the owner's statistics) and then filtered out:
    when they hold the best matches, the top k are the best of what passes."""
    from datetime import datetime, timezone

    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        m.add_many([[{"role": "user", "content": f"bob's note {i}"}] for i in range(130)], user_id="bob")
        for i in range(40):
            words = " ".join(f"w{i}x{j}" for j in range(i % 8 + 1))  # (apples, length) differ: no ties
            m.add_many([[{"role": "user", "content": f"{'apple ' * (1 + i // 8)}{words}"}]], user_id="ana")
        f = Filters("default", "ana")
        every = m.store.lexical(Filters("default", "ana", include_superseded=True), ["apple"], 40)
        assert len(every) == 40
        now = datetime.now(timezone.utc)
        for mid, _ in every[:8]:  # hide the 8 best
            m.store.supersede("default", mid, now, None)
        after = m.store.lexical(f, ["apple"], 5)
        raw = dict(every)
        assert [mid for mid, _ in after] == [mid for mid, _ in every[8:13]]
        best = raw[every[8][0]]
        assert [s for _, s in after] == pytest.approx([raw[mid] / best for mid, _ in after], rel=1e-12)
