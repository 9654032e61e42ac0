"""SQLite BM25: the numpy route over FTS5's data scores each owner with that owner's statistics
alone, exactly as a plain-Python BM25 over the owner's token lists does."""

from __future__ import annotations

import math
import threading
from datetime import datetime, timezone

import numpy as np
import pytest

from memlm.engine import Memory
from memlm.stores import sqlite_lexical
from memlm.stores.base import Filters, query_words
from memlm.stores.sqlite_lexical import K1, B, Lexicon, row_tokens, varints

TEXTS = [
    "I went running by the river and the river was cold",
    "She runs every morning; running is her thing, running running",
    "The café near the station serves crêpes",
    "A cafe, a station, a train and another train",
    "we talked about the e-mail from the bank, an e-mail about e mail",
    "Nothing in common with the others here at all, just a long line of filler words to vary lengths",
    "river",
    "trains and stations and cafés everywhere in the city by the river",
    "我对花生过敏，不能吃花生酱",
    "我住在上海浦东，周末去river边跑步 running",
]
QUERIES = [["river"], ["running", "river"], ["cafe"], ["café", "station"], ["train", "trains"],
           ["runs", "ran", "thing"], ["absent"], ["river", "absent", "train"], ["e-mail"], ["e-mail", "bank"],
           ["花生"], ["浦东", "running"], ["上海浦东"], ["我对花生过敏"], ["mail e"]]


@pytest.fixture()
def mem(tmp_path, hashing):
    with Memory(tmp_path / "lex.db", encoder=hashing) as m:
        for i in range(6):  # ana holds most of the file; bob a little; carol (another tenant's user) too
            m.add_many([[{"role": "user", "content": f"{t} {i}"} for t in TEXTS]], user_id="ana")
        m.add_many([[{"role": "user", "content": t} for t in TEXTS[:3]]], user_id="bob")
        yield m


def _reference(store, view, terms):
    """BM25 by hand from each of the owner's rows' token list (FTS5's tokenizer): N, avgdl and df
    over the owner's rows only; a multi-token term counts where its tokens are consecutive."""
    lexicon = Lexicon.of(store._db)
    bodies = [lexicon.tokens(store._db, [sqlite_lexical.index_text(store.get("default", view.ids[r]))])[0]
              for r in range(view.n)]
    n, avgdl = len(bodies), sum(map(len, bodies)) / len(bodies)
    scores: dict[int, float] = {}
    for phrase in lexicon.tokens(store._db, query_words(terms)):
        if not phrase:
            continue
        tf = {r: sum(tuple(b[i:i + len(phrase)]) == phrase for i in range(len(b))) for r, b in enumerate(bodies)}
        tf = {r: c for r, c in tf.items() if c}
        idf = math.log(1 + (n - len(tf) + 0.5) / (len(tf) + 0.5))
        for r, c in tf.items():
            norm = K1 * (1 - B + B * len(bodies[r]) / avgdl)
            scores[r] = scores.get(r, 0.0) + idf * c * (K1 + 1) / (c + norm)
    return scores


@pytest.mark.parametrize("user", ["ana", "bob"])
def test_numpy_route_is_bm25_over_the_owners_rows(mem, user):
    store = mem.store
    view = store.owner(Filters("default", user))
    lexicon = Lexicon.of(store._db)
    matched = 0
    for terms in QUERIES:
        rows, scores = lexicon.bm25(store._db, view, terms)
        expected = _reference(store, view, terms)
        assert set(rows.tolist()) == set(expected), terms
        for row, score in zip(rows.tolist(), scores.tolist()):
            assert score == pytest.approx(expected[row], rel=1e-12), terms
        matched += bool(expected)
    assert matched >= (12 if user == "ana" else 5)  # the queries really match


@pytest.mark.parametrize("user", ["ana", "bob"])
def test_the_match_route_scores_as_the_instances_route(mem, user):
    store = mem.store
    f = Filters("default", user)
    view = store.owner(f)
    lexicon = Lexicon.of(store._db)
    for terms in QUERIES + [["a a"], ["river river"], ['say "hi"'], ["running", "running"]]:
        rows, scores = lexicon.bm25(store._db, view, terms)
        by_match, match_scores = lexicon.bm25(store._db, view, terms, sqlite_lexical.owner_match(f))
        assert rows.tolist() == by_match.tolist(), terms
        assert match_scores == pytest.approx(scores, rel=1e-12), terms


def test_a_small_owner_takes_the_match_route_a_large_one_the_instances(mem, monkeypatch):
    store = mem.store
    calls = []
    real = sqlite_lexical._matches
    monkeypatch.setattr(sqlite_lexical, "_matches", lambda *a: calls.append(a[3]) or real(*a))
    assert store.lexical(Filters("default", "ana"), ["river", "running"], 5) and calls == []
    assert store.lexical(Filters("default"), ["river"], 5) and calls == []  # tenant-wide: no scope token
    assert store.lexical(Filters("default", "bob"), ["river", "café"], 5) and calls == [["river", "café"]]


def test_phrases_need_consecutive_tokens(mem):
    store = mem.store
    view = store.owner(Filters("default", "ana"))
    lexicon = Lexicon.of(store._db)
    rows, _ = lexicon.bm25(store._db, view, ["e-mail"])
    assert {view.ids[r] for r in rows} == {view.ids[r] for r in range(view.n) if "e-mail" in mem.get(view.ids[r]).text}
    assert len(lexicon.bm25(store._db, view, ["mail e"])[0]) == 0  # both tokens in those rows, never in that order
    assert len(lexicon.bm25(store._db, view, ["bank e-mail"])[0]) == 0


def test_filters_apply_after_scoring(mem):
    store = mem.store
    f = Filters("default", "ana")
    top = store.lexical(f, ["river"], 3)
    store.supersede("default", top[0][0], datetime.now(timezone.utc), None)
    after = store.lexical(f, ["river"], 3)
    assert top[0][0] not in {m for m, _ in after} and len(after) == 3


def test_index_tokens_follow_the_tables_tokenizer(mem):
    lexicon = Lexicon.of(mem.store._db)
    assert "porter" in lexicon.tokenizer
    got = lexicon.tokens(mem.store._db, ["running", "café", "e-mail", "...", "花生"])
    assert got == [("run",), ("cafe",), ("e", "mail"), (), ("花生",)]


def test_chinese_is_segmented_in_the_index(mem):
    store = mem.store
    view = store.owner(Filters("default", "ana"))
    row = next(r for r in range(view.n) if mem.get(view.ids[r]).text.startswith("我住在上海浦东"))
    body = Lexicon.of(store._db).tokens(store._db, [sqlite_lexical.index_text(mem.get(view.ids[row]))])[0]
    assert {"上海", "浦东", "上海浦东", "river", "run"} <= set(body) and "我住在上海浦东" not in body


def test_row_lengths_are_the_body_tokens_from_fts5_docsize(mem):
    store = mem.store
    view = store.owner(Filters("default", "ana"))
    lexicon = Lexicon.of(store._db)
    for row in range(view.n):
        record = store.get("default", view.ids[row])
        body = lexicon.tokens(store._db, [sqlite_lexical.index_text(record)])[0]
        assert view.columns["tokens"][row] == len(body)  # the scope column's owner tokens are not counted


def test_varints():
    assert varints(bytes([0x01, 0x10])) == [1, 16]
    assert varints(bytes([0x82, 0x2C, 0x05])) == [300, 5]
    assert row_tokens(bytes([0x82, 0x2C, 0x05])) == 5 and row_tokens(bytes([0x05, 0x82, 0x2C])) == 300
    assert row_tokens(bytes([3, 4])) == 4 and row_tokens(None) == 0


def test_threads_each_read_through_their_own_connection(mem):
    store = mem.store
    f = Filters("default", "ana")
    expected = store.lexical(f, ["train", "cafe"], 10)
    errors, results = [], []

    def search():
        try:
            for _ in range(20):
                results.append(store.lexical(f, ["train", "cafe"], 10))
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
    monkeypatch.setattr(sqlite_lexical, "MAX_CACHED_TERMS", 2)
    store, f = mem.store, Filters("default", "ana")
    queries = (["river"], ["train"], ["river", "cafe"], ["train", "river", "station"])
    expected = {tuple(q): store.lexical(f, q, 5) for q in queries[:3]}
    lexicon = store._lexicon(store._db)
    lexicon._tokens = {}
    for q in queries:
        got = store.lexical(f, q, 5)  # the third query finds the cache full while "river" is in it
        assert got == expected.get(tuple(q), got) and got
    assert len(lexicon._tokens) <= 3


def test_an_owner_named_by_user_and_agent_matches_both_scope_tokens(tmp_path, hashing):
    with Memory(tmp_path / "ua.db", encoder=hashing) as m:
        m.add_many([[{"role": "user", "content": f"river filler {i}"}] for i in range(100)], user_id="other")
        m.add_many([[{"role": "user", "content": t} for t in ("the river", "river river bank", "no match")]],
                   user_id="u", agent_id="x")
        m.add_many([[{"role": "user", "content": "river of u without the agent"}]], user_id="u")
        f = Filters("default", "u", "x")
        view, lexicon = m.store.owner(f), m.store._lexicon(m.store._db)
        by_match = lexicon.bm25(m.store._db, view, ["river"], sqlite_lexical.owner_match(f))
        instances = lexicon.bm25(m.store._db, view, ["river"])
        assert view.n == 3 and by_match[0].tolist() == instances[0].tolist() == [0, 1]
        assert by_match[1] == pytest.approx(instances[1], rel=1e-12)
