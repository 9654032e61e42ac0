"""SQLite BM25: the numpy route over FTS5's data scores exactly as FTS5's bm25() does."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import numpy as np
import pytest

from memlm.engine import Memory
from memlm.recall.query import fts_match
from memlm.stores import sqlite_lexical
from memlm.stores.base import Filters
from memlm.stores.sqlite_lexical import Lexicon, fts_bm25, or_terms, row_tokens, varints

TEXTS = [
    "I went running by the river and the river was cold",
    "She runs every morning; running is her thing, running running",
    "The café near the station serves crêpes",
    "A cafe, a station, a train and another train",
    "we talked about the e-mail from the bank",
    "Nothing in common with the others here at all, just a long line of filler words to vary lengths",
    "river",
    "trains and stations and cafés everywhere in the city by the river",
]
QUERIES = [["river"], ["running", "river"], ["cafe"], ["café", "station"], ["train", "trains"],
           ["runs", "ran", "thing"], ["absent"], ["river", "absent", "train"]]


@pytest.fixture()
def mem(tmp_path, hashing):
    with Memory(tmp_path / "lex.db", encoder=hashing) as m:
        for i in range(12):  # ana holds most of the file; bob a little
            m.add_many([[{"role": "user", "content": f"{t} {i}"} for t in TEXTS]], user_id="ana")
        m.add_many([[{"role": "user", "content": t} for t in TEXTS[:3]]], user_id="bob")
        yield m


def _fts(store, view, terms):
    """FTS5's own bm25() of every match of the terms (the reference), as {row: score}."""
    (rows, scores), _ = fts_bm25(store._db, view, f"body : ({fts_match(terms)})", None)
    return dict(zip(rows.tolist(), scores.tolist()))


def test_numpy_route_gives_fts5_bm25_for_every_match(mem):
    store = mem.store
    view = store.owner(Filters("default", "ana"))
    lexicon = Lexicon.of(store._db)
    for terms in QUERIES:
        rows, scores = lexicon.bm25(store._db, view, terms)
        expected = _fts(store, view, terms)
        assert set(rows.tolist()) == set(expected), terms
        for row, score in zip(rows.tolist(), scores.tolist()):
            assert score == pytest.approx(expected[row], rel=1e-12, abs=1e-12), terms
    assert len(_fts(store, view, ["river"])) > 12  # the queries really match


def test_a_large_owner_takes_the_numpy_route_a_small_one_fts5(mem, monkeypatch):
    store = mem.store
    ana, bob = Filters("default", "ana"), Filters("default", "bob")
    expected = store.lexical(ana, '"river" OR "running"', 5)
    calls = []
    real = sqlite_lexical.fts_bm25
    monkeypatch.setattr(sqlite_lexical, "fts_bm25", lambda *a: calls.append(a[2]) or real(*a))
    assert store.lexical(ana, '"river" OR "running"', 5) == expected and calls == []
    assert [s for _, s in expected][0] == 1.0 and len(expected) == 5
    assert store.lexical(bob, '"river"', 5) and calls and "scope :" in calls[-1]
    calls.clear()
    phrase = store.lexical(ana, '"e-mail"', 5)  # two index tokens: a phrase, FTS5's route
    assert len(phrase) == 5 and calls and "scope :" not in calls[-1]


def test_filters_apply_to_the_numpy_route(mem):
    store = mem.store
    f = Filters("default", "ana")
    top = store.lexical(f, '"river"', 3)
    store.supersede("default", top[0][0], datetime.now(timezone.utc), None)
    after = store.lexical(f, '"river"', 3)
    assert top[0][0] not in {m for m, _ in after} and len(after) == 3


def test_index_tokens_follow_the_tables_tokenizer(mem):
    lexicon = Lexicon.of(mem.store._db)
    assert "porter" in lexicon.tokenizer
    got = lexicon.tokens(mem.store._db, ["running", "café", "e-mail", "..."])
    assert got == [("run",), ("cafe",), ("e", "mail"), ()]


def test_row_lengths_come_from_fts5_docsize(mem):
    store = mem.store
    view = store.owner(Filters("default", "ana"))
    lexicon = Lexicon.of(store._db)
    for row in range(len(TEXTS)):
        record = store.get("default", view.ids[row])
        body = lexicon.tokens(store._db, [sqlite_lexical.index_text(record)])[0]
        assert view.columns["tokens"][row] == len(body) + 1  # + the owner's scope token


def test_varints():
    assert varints(bytes([0x01, 0x10])) == [1, 16]
    assert varints(bytes([0x82, 0x2C, 0x05])) == [300, 5]
    assert row_tokens(bytes([0x82, 0x2C, 0x05])) == 305 and row_tokens(bytes([3, 4])) == 7 and row_tokens(None) == 0


def test_or_terms_only_reads_what_recall_sends():
    assert or_terms('"a" OR "b c"') == ["a", "b c"]
    assert or_terms('"a"') == ["a"]
    assert or_terms('a OR b') is None and or_terms('"a" AND "b"') is None and or_terms('"a" NOT "b"') is None


def test_threads_each_read_through_their_own_connection(mem):
    store = mem.store
    f = Filters("default", "ana")
    expected = store.lexical(f, '"train" OR "cafe"', 10)
    errors, results = [], []

    def search():
        try:
            for _ in range(20):
                results.append(store.lexical(f, '"train" OR "cafe"', 10))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 120 and all(r == expected for r in results)
    assert np.isclose(expected[0][1], 1.0)


def test_instance_runs_count_terms_per_doc_in_any_order():
    from memlm.stores.sqlite_lexical import _runs

    docs, tf = _runs(np.array([3, 3, 5, 9, 9, 9], dtype=np.int64))
    assert docs.tolist() == [3, 5, 9] and tf.tolist() == [2, 1, 3]
    docs, tf = _runs(np.array([9, 3, 9, 5, 3, 9], dtype=np.int64))  # unsorted: still right
    assert docs.tolist() == [3, 5, 9] and tf.tolist() == [2, 1, 3]
    docs, tf = _runs(np.array([7], dtype=np.int64))
    assert docs.tolist() == [7] and tf.tolist() == [1]


def test_a_full_term_cache_starts_again_without_losing_a_query(mem, monkeypatch):
    from memlm.stores import sqlite_lexical

    monkeypatch.setattr(sqlite_lexical, "MAX_CACHED_TERMS", 2)
    store, f = mem.store, Filters("default", "ana")
    expected = {q: store.lexical(f, q, 5) for q in ('"river"', '"train"', '"river" OR "cafe"')}
    lexicon = store._lexicon(store._db)
    lexicon._tokens = {}
    for q in ('"river"', '"train"', '"river" OR "cafe"', '"train" OR "river" OR "station"'):
        got = store.lexical(f, q, 5)  # the third query finds the cache full while "river" is in it
        assert got == expected.get(q, got) and got
    assert len(lexicon._tokens) <= 3
