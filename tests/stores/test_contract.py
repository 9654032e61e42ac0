"""The storage contract: every backend must pass this suite unchanged."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from memlm.stores.base import Filters
from memlm.text import norm_hash
from memlm.types import MemoryRecord

DIM = 8
T0 = datetime(2023, 5, 8, tzinfo=timezone.utc)


def make_store(kind: str, tmp_path, request):
    if kind == "sqlite":
        from memlm.stores.sqlite import SQLiteStore

        return SQLiteStore(tmp_path / "contract.db")
    if kind == "postgres":
        from memlm.stores.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("pg_url"))
    raise ValueError(kind)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    s = make_store(request.param, tmp_path, request)
    s.check_encoder("test-encoder", DIM)
    yield s
    s.close()


def rec(text, *, tenant="default", user="u1", agent=None, session="s1", kind="episode", day=0, role="user"):
    now = datetime.now(timezone.utc)
    return MemoryRecord(id=uuid.uuid4().hex, kind=kind, text=text, user_id=user, agent_id=agent, session_id=session,
                        role=role, created_at=now, updated_at=now, occurred_at=T0 + timedelta(days=day),
                        metadata={"n": day}, tenant=tenant)


def vec(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i % DIM] = 1.0
    return v


def test_insert_get_fetch_roundtrip(store):
    r = rec("the cat sat on the mat")
    store.insert([r], vec(0)[None])
    got = store.get("default", r.id)
    assert got.text == r.text and got.occurred_at == r.occurred_at and got.metadata == {"n": 0}
    assert store.fetch("default", [r.id, "missing"]) == {r.id: got}
    np.testing.assert_array_equal(store.vectors("default", [r.id]), vec(0)[None])
    assert [h.event for h in store.history("default", r.id)] == ["ADD"]


def test_tenants_never_see_each_other(store):
    a, b = rec("secret plans", tenant="A"), rec("secret plans", tenant="B")
    store.insert([a], vec(1)[None])
    store.insert([b], vec(1)[None])
    assert store.get("B", a.id) is None and store.get("A", b.id) is None
    assert [m for m, _ in store.lexical(Filters("A", "u1"), ["secret"], 10)] == [a.id]
    assert [m for m, _ in store.dense(Filters("B", "u1"), vec(1)[None], 10)[0]] == [b.id]
    assert store.delete("A", b.id) is None
    assert store.get("B", b.id) is not None


def test_owner_and_session_filters(store):
    rows = [rec("apples", user="u1", session="s1"), rec("apples", user="u2", session="s1"),
            rec("apples", user="u1", session="s2")]
    store.insert(rows, np.stack([vec(2)] * 3))
    lex = {m for m, _ in store.lexical(Filters("default", "u1"), ["apples"], 10)}
    assert lex == {rows[0].id, rows[2].id}
    dense = {m for m, _ in store.dense(Filters("default", "u1", session_id="s2"), vec(2)[None], 10)[0]}
    assert dense == {rows[2].id}
    assert store.list(Filters("default", "u2"), limit=10) == [store.get("default", rows[1].id)]


def test_scores_are_in_unit_interval_best_first(store):
    rows = [rec("red apple pie"), rec("apple"), rec("green pear")]
    store.insert(rows, np.stack([vec(0), vec(0) * 0.6 + vec(1) * 0.8, vec(3)]))
    lex = store.lexical(Filters("default", "u1"), ["apple", "pie"], 10)
    assert lex[0][0] == rows[0].id and lex[0][1] == 1.0
    assert all(0 <= s <= 1 for _, s in lex) and [s for _, s in lex] == sorted((s for _, s in lex), reverse=True)
    dense = store.dense(Filters("default", "u1"), vec(0)[None], 3)[0]
    assert [m for m, _ in dense][:2] == [rows[0].id, rows[1].id]
    assert all(0 <= s <= 1 for _, s in dense)


def test_time_and_kind_filters(store):
    rows = [rec("event one", day=0), rec("event two", day=10, kind="fact"), rec("event three", day=20)]
    store.insert(rows, np.stack([vec(4)] * 3))
    f = Filters("default", "u1", since=T0 + timedelta(days=5), until=T0 + timedelta(days=25))
    assert {m for m, _ in store.dense(f, vec(4)[None], 10)[0]} == {rows[1].id, rows[2].id}
    assert {m for m, _ in store.lexical(f, ["event"], 10)} == {rows[1].id, rows[2].id}
    f = Filters("default", "u1", kinds=("fact",))
    assert [m for m, _ in store.dense(f, vec(4)[None], 10)[0]] == [rows[1].id]


def test_update_keeps_history_and_reindexes(store):
    r = rec("I live in Paris", kind="fact")
    store.insert([r], vec(0)[None])
    old = r.text
    r.text = "I live in Berlin"
    store.update(r, vec(1), old)
    assert store.get("default", r.id).text == "I live in Berlin"
    assert store.lexical(Filters("default", "u1"), ["paris"], 10) == []
    assert [m for m, _ in store.lexical(Filters("default", "u1"), ["berlin"], 10)] == [r.id]
    assert [m for m, _ in store.dense(Filters("default", "u1"), vec(1)[None], 1)[0]] == [r.id]
    hist = store.history("default", r.id)
    assert [(h.event, h.old_text, h.new_text) for h in hist] == [
        ("ADD", None, "I live in Paris"), ("UPDATE", "I live in Paris", "I live in Berlin")]


def test_delete_removes_from_every_index(store):
    r, keep = rec("forget me please"), rec("keep me")
    store.insert([r, keep], np.stack([vec(5), vec(6)]))
    assert store.delete("default", r.id).text == "forget me please"
    assert store.get("default", r.id) is None
    assert store.lexical(Filters("default", "u1"), ["forget"], 10) == []
    assert [m for m, _ in store.dense(Filters("default", "u1"), vec(5)[None], 10)[0]] == [keep.id]
    assert store.history("default", r.id)[-1].event == "DELETE"


def test_delete_scope_erases_only_that_scope(store):
    x = [rec("x one", user="x"), rec("x two", user="x")]
    y = [rec("y one", user="y")]
    store.insert(x + y, np.stack([vec(0), vec(1), vec(2)]))
    assert store.delete_scope(Filters("default", "x")) == 2
    assert store.list(Filters("default", "x"), limit=10) == []
    assert store.history("default", x[0].id) == []
    assert [m.id for m in store.list(Filters("default", "y"), limit=10)] == [y[0].id]


def test_delete_keeps_events_but_no_text_in_history(store):
    r = rec("a secret said once")
    store.insert([r], vec(0)[None])
    store.update(r, vec(1), old_text="a secret said once")
    assert store.delete("default", r.id).text == "a secret said once"  # the caller learns what went
    hist = store.history("default", r.id)
    assert [h.event for h in hist] == ["ADD", "UPDATE", "DELETE"]
    assert all(h.old_text is None and h.new_text is None and h.at is not None for h in hist)


def test_delete_scope_takes_superseded_facts_and_the_owners_history(store):
    x = [rec("x current", user="x"), rec("x superseded", user="x", kind="fact"), rec("x single", user="x")]
    y = [rec("y one", user="y")]
    store.insert(x + y, np.stack([vec(0), vec(1), vec(2), vec(3)]))
    store.supersede("default", x[1].id, T0, None)
    store.delete("default", x[2].id)
    assert store.delete_scope(Filters("default", "x")) == 2  # the superseded fact too
    assert store.list(Filters("default", "x", include_superseded=True), limit=10) == []
    assert [store.history("default", r.id) for r in x] == [[], [], []]  # the one deleted before too
    assert [m.id for m in store.list(Filters("default", "y"), limit=10)] == [y[0].id]
    assert [h.event for h in store.history("default", y[0].id)] == ["ADD"]
    assert store.purge() in ("complete", "logical") and store.erasure() == store.purge()


def test_delete_scope_of_a_session_keeps_the_owners_other_sessions(store):
    a, b = rec("in s1", user="x", session="s1"), rec("in s2", user="x", session="s2")
    store.insert([a, b], np.stack([vec(0), vec(1)]))
    assert store.delete_scope(Filters("default", "x", session_id="s1")) == 1
    assert [m.id for m in store.list(Filters("default", "x"), limit=10)] == [b.id]
    assert [h.new_text for h in store.history("default", b.id)] == ["in s2"]


def test_neighbors_and_recent(store):
    turns = [rec(f"turn {i}", session="s1") for i in range(5)] + [rec("other session", session="s2")]
    store.insert(turns, np.stack([vec(i) for i in range(6)]))
    around = store.neighbors(turns[2], 1, 1)
    assert [m.id for m in around] == [turns[1].id, turns[3].id]
    assert [m.id for m in store.neighbors(turns[0], 2, 0)] == []
    recent = store.recent(Filters("default", "u1", session_id="s1"), 2)
    assert [m.text for m in recent] == ["turn 3", "turn 4"]


def test_transaction_is_all_or_nothing(store):
    r = rec("never committed")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.insert([r], vec(0)[None])
            raise RuntimeError("crash inside the transaction")
    assert store.get("default", r.id) is None
    assert store.lexical(Filters("default", "u1"), ["committed"], 10) == []


def test_find_exact_normalises_case_and_space(store):
    from memlm.text import norm_hash

    r = rec("Hello   World")
    store.insert([r], vec(0)[None])
    assert [m.id for m in store.find_exact(Filters("default", "u1"), norm_hash("hello world"))] == [r.id]


def test_supersede_hides_a_fact_but_keeps_its_row_and_history(store):
    old, new = rec("lives in Paris", kind="fact"), rec("lives in Berlin", kind="fact")
    store.insert([old, new], np.stack([vec(0), vec(0)]))
    when = T0 + timedelta(days=3)
    got = store.supersede("default", old.id, when, new.id)
    assert got.valid_to == when and got.superseded_by == new.id
    assert store.supersede("other-tenant", new.id, when, None) is None  # never across tenants
    f = Filters("default", "u1")
    assert [m for m, _ in store.dense(f, vec(0)[None], 5)[0]] == [new.id]
    assert [m for m, _ in store.lexical(f, ["paris"], 5)] == []
    assert [r.id for r in store.list(f, limit=10)] == [new.id]
    assert store.find_exact(Filters("default", "u1", kinds=("fact",)), norm_hash("lives in Paris")) == []
    everything = Filters("default", "u1", include_superseded=True)
    assert {r.id for r in store.list(everything, limit=10)} == {old.id, new.id}
    assert {m for m, _ in store.dense(everything, vec(0)[None], 5)[0]} == {old.id, new.id}
    assert [m for m, _ in store.lexical(everything, ["paris"], 5)] == [old.id]
    kept = store.get("default", old.id)
    assert kept.text == "lives in Paris" and kept.valid_to == when
    assert [h.event for h in store.history("default", old.id)] == ["ADD", "SUPERSEDE"]


def _reembedded(dim: int, fail_after: int | None = None):
    """An embed function: each memory's vector is a basis vector chosen by its text's length;
    it raises once `fail_after` memories have been embedded (a crash halfway)."""
    seen = []

    def embed(records):
        if fail_after is not None and len(seen) >= fail_after:
            raise RuntimeError("encoder crashed halfway")
        seen.extend(r.id for r in records)
        out = np.zeros((len(records), dim), dtype=np.float32)
        for i, r in enumerate(records):
            out[i, len(r.text) % dim] = 1.0
        return out

    return embed, seen


def test_reembed_replaces_every_vector_and_switches_the_encoder(store):
    rows = [rec("aa"), rec("bbbbb", tenant="B"), rec("ccc", kind="fact")]
    store.insert(rows, np.stack([vec(0), vec(1), vec(2)]))
    store.supersede("default", rows[2].id, T0, None)
    before = {r.id: store.history(r.tenant, r.id) for r in rows}
    store.dense(Filters("default", "u1"), vec(0)[None], 5)  # fill the owner cache with the old vectors
    embed, seen = _reembedded(16)
    progress = []
    assert store.reembed("new-encoder", 16, embed, batch_size=2, progress=lambda d, t: progress.append((d, t))) == 3
    assert sorted(seen) == sorted(r.id for r in rows) and progress == [(2, 3), (3, 3)]
    assert store.encoder_info() == ("new-encoder", 16)
    store.check_encoder("new-encoder", 16)
    with pytest.raises(ValueError, match="built with encoder 'new-encoder'"):
        store.check_encoder("test-encoder", DIM)
    np.testing.assert_array_equal(store.vectors("B", [rows[1].id])[0], np.eye(16, dtype=np.float32)[5])
    q = np.eye(16, dtype=np.float32)[2]
    assert [m for m, _ in store.dense(Filters("default", "u1"), q[None], 5)[0]] == [rows[0].id]
    everything = Filters("default", "u1", include_superseded=True)
    assert store.dense(everything, np.eye(16, dtype=np.float32)[3][None], 1)[0][0][0] == rows[2].id
    assert {r.id: store.history(r.tenant, r.id) for r in rows} == before
    assert store.get("default", rows[0].id).text == "aa"
    assert [m for m, _ in store.lexical(Filters("B", "u1"), ["bbbbb"], 5)] == [rows[1].id]


def test_reembed_is_all_or_nothing(store):
    rows = [rec(f"memory {i}") for i in range(5)]
    store.insert(rows, np.stack([vec(i) for i in range(5)]))
    embed, _ = _reembedded(16, fail_after=2)
    with pytest.raises(RuntimeError, match="crashed halfway"):
        store.reembed("new-encoder", 16, embed, batch_size=2)
    assert store.encoder_info() == ("test-encoder", DIM)
    store.check_encoder("test-encoder", DIM)
    np.testing.assert_array_equal(store.vectors("default", [r.id for r in rows]), np.stack([vec(i) for i in range(5)]))
    assert [m for m, _ in store.dense(Filters("default", "u1"), vec(3)[None], 1)[0]] == [rows[3].id]
    store.insert([rec("still writable")], vec(6)[None])


def test_reembed_refuses_vectors_of_the_wrong_shape(store):
    store.insert([rec("one")], vec(0)[None])
    with pytest.raises(ValueError, match="shape"):
        store.reembed("new-encoder", 16, lambda records: np.zeros((len(records), 15), dtype=np.float32))
    assert store.encoder_info() == ("test-encoder", DIM)


_CRASH = """
import os, sys
import numpy as np
from memlm.stores import open_store

def embed(records):
    if embed.calls:
        os._exit(3)  # the process dies mid-transaction: no rollback, no cleanup
    embed.calls += 1
    return np.ones((len(records), 16), dtype=np.float32) / 4.0

embed.calls = 0
open_store(sys.argv[1]).reembed("new-encoder", 16, embed, batch_size=2)
"""


def test_reembed_killed_halfway_leaves_the_old_database(store):
    import subprocess
    import sys

    rows = [rec(f"memory {i}") for i in range(5)]
    store.insert(rows, np.stack([vec(i) for i in range(5)]))
    target = str(getattr(store, "url", None) or store.path)
    done = subprocess.run([sys.executable, "-c", _CRASH, target], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert store.encoder_info() == ("test-encoder", DIM)
    np.testing.assert_array_equal(store.vectors("default", [r.id for r in rows]), np.stack([vec(i) for i in range(5)]))
    later = rec("the write lock was released")
    store.insert([later], vec(6)[None])
    assert [m for m, _ in store.dense(Filters("default", "u1"), vec(6)[None], 1)[0]] == [later.id]


def test_recalls_are_counted_per_tenant(store):
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert store.recall_counts("default", ["a", "b"]) == {}
    store.note_recalls("default", ["a", "b", "a"], t0)  # one recall per memory per call
    store.note_recalls("default", ["a"], t0 + timedelta(days=1))
    store.note_recalls("other", ["a"], t0)
    counts = store.recall_counts("default", ["a", "b", "c"])
    assert {k: v[0] for k, v in counts.items()} == {"a": 2, "b": 1}
    assert counts["a"][1] == t0 + timedelta(days=1) and counts["b"][1] == t0
    assert store.recall_counts("other", ["a"])["a"][0] == 1


def test_expired_memories_are_left_out_by_the_store_itself(store):
    """Filters.as_of hides memories whose expires_at (from metadata["expires_at"]) has passed,
    in every read path, with no re-search; without as_of every memory is seen."""
    gone, later, never = rec("tulips in spring"), rec("tulips in summer", day=1), rec("tulips in autumn", day=2)
    gone.metadata = {"expires_at": (T0 + timedelta(days=1)).isoformat()}
    later.metadata = {"expires_at": (T0 + timedelta(days=30)).isoformat()}
    store.insert([gone, later, never], np.stack([vec(3)] * 3))
    as_of = Filters("default", "u1", as_of=T0 + timedelta(days=2))
    seen = {later.id, never.id}
    assert {r.id for r in store.list(as_of, limit=10)} == seen
    assert {r.id for r in store.recent(as_of, 10)} == seen
    assert {m for m, _ in store.lexical(as_of, ["tulips"], 10)} == seen
    assert {m for m, _ in store.dense(as_of, vec(3)[None], 10)[0]} == seen
    assert store.find_exact(as_of, norm_hash(gone.text)) == []
    assert store.list(as_of, limit=1, offset=1)[0].id == never.id  # paging counts visible rows only
    everything = Filters("default", "u1")
    assert len(store.list(everything, limit=10)) == 3
    assert store.get("default", gone.id).metadata == gone.metadata  # get still returns it, expiry shown
    assert store.expired("default", T0 + timedelta(days=2)) == [gone.id]
    assert store.expired("default", T0 + timedelta(days=31)) == [gone.id, later.id]
    assert store.expired("other", T0 + timedelta(days=31)) == []
    # an update that drops the expiry makes it current again, in SQL and in the owner view
    gone.metadata = {}
    store.update(gone, vec(3), gone.text)
    assert {m for m, _ in store.dense(as_of, vec(3)[None], 10)[0]} == seen | {gone.id}
    assert len(store.list(as_of, limit=10)) == 3 and store.expired("default", T0 + timedelta(days=2)) == []


def test_deletes_take_the_recall_counts_with_them(store):
    rows = [rec("one", session="a"), rec("two", session="a"), rec("three", session="b")]
    store.insert(rows, np.stack([vec(i) for i in range(3)]))
    ids = [r.id for r in rows]
    store.note_recalls("default", ids, T0)
    assert set(store.recall_counts("default", ids)) == set(ids)
    store.delete("default", ids[0])
    assert set(store.recall_counts("default", ids)) == set(ids[1:])
    store.delete_scope(Filters("default", "u1", session_id="a"))
    assert set(store.recall_counts("default", ids)) == {ids[2]}
    store.delete_scope(Filters("default", "u1"))
    assert store.recall_counts("default", ids) == {}
