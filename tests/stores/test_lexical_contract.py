"""The lexical side of the storage contract, on every backend: query terms in (words, English or
Chinese), each owner's scores from its own rows alone."""

from __future__ import annotations

import numpy as np
import pytest
from tests.stores.test_contract import DIM, make_store, rec, vec

from memlm import Memory
from memlm.config import MemoryConfig
from memlm.stores.base import Filters, lexical_text, query_words
from memlm.text import memory_text

A = Filters("A", "u1")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """A fresh store of each backend (as test_contract's)."""
    s = make_store(request.param, tmp_path, request)
    s.check_encoder("test-encoder", DIM)
    yield s
    s.close()


def _ids(found):
    return [m for m, _ in found]


def test_a_chinese_word_finds_the_sentence_it_is_in(store):
    rows = [rec("我对花生过敏", tenant="A"), rec("我住在上海浦东", tenant="A"), rec("I like peanuts", tenant="A")]
    store.insert(rows, np.stack([vec(0), vec(1), vec(2)]))
    found = store.lexical(A, ["花生"], 5)
    assert _ids(found) == [rows[0].id] and found[0][1] == 1.0
    for word in ("上海", "浦东", "上海浦东"):  # the search-mode index holds a long word's parts too
        assert _ids(store.lexical(A, [word], 5)) == [rows[1].id], word
    assert store.lexical(A, ["北京"], 5) == []
    assert _ids(store.lexical(A, ["我对花生过敏"], 5))[0] == rows[0].id  # a Chinese term is its words


def test_mixed_chinese_and_english_text_keeps_english_stemming(store):
    mixed = rec("周末我在river边跑步，running with 朋友们", tenant="A")
    english = rec("She runs along the rivers every morning", tenant="A")
    store.insert([mixed, english], np.stack([vec(0), vec(1)]))
    assert set(_ids(store.lexical(A, ["run"], 5))) == {mixed.id, english.id}  # running, runs -> run
    assert set(_ids(store.lexical(A, ["river"], 5))) == {mixed.id, english.id}  # river, rivers
    assert _ids(store.lexical(A, ["跑步"], 5)) == [mixed.id]
    assert _ids(store.lexical(A, ["跑步", "morning"], 5)) and set(_ids(store.lexical(A, ["跑步", "morning"], 5))) == {
        mixed.id, english.id}
    found = store.lexical(A, ["朋友"], 5)
    assert found == [] or _ids(found) == [mixed.id]  # 朋友们 may stay one word: never a wrong row


def test_terms_are_words_not_query_syntax(store):
    rows = [rec("apples OR pears", tenant="A"), rec("\"quoted\" NEAR(text)", tenant="A"), rec("an e-mail", tenant="A")]
    store.insert(rows, np.stack([vec(0), vec(1), vec(2)]))
    for terms in (['"apples"'], ["apples OR"], ["NEAR(text"], ["*"], ["-"], ['"'], ["AND"], [""], []):
        found = store.lexical(A, terms, 5)  # no error: whatever the characters, a term is text
        assert set(_ids(found)) <= {r.id for r in rows}, terms
    assert _ids(store.lexical(A, ["e-mail"], 5)) == [rows[2].id]
    assert _ids(store.lexical(A, ["apples"], 5)) == [rows[0].id]


def _scores(store, filters, terms):
    return store.lexical(filters, terms, 50)


@pytest.mark.parametrize("other", [Filters("B", "u1"), Filters("A", "u2"), Filters("A", None, "agent-x")])
def test_another_owners_writes_leave_an_owners_scores_byte_identical(store, other):
    """Tenant B (or another user / agent of tenant A) writing 300 memories full of A's words
    changes nothing of A's lexical results: ids, order and scores compare equal as floats."""
    own = [rec(t, tenant="A") for t in ("the river was cold", "a cold morning", "river river river",
                                         "我对花生过敏", "trains by the river", "nothing here")]
    store.insert(own, np.stack([vec(i) for i in range(len(own))]))
    queries = [["river"], ["cold", "river"], ["花生"], ["train", "morning"]]
    before = {tuple(q): _scores(store, A, q) for q in queries}
    flood = [rec(f"river cold 花生 train {i}", tenant=other.tenant, user=other.user_id, agent=other.agent_id)
             for i in range(300)]
    store.insert(flood, np.stack([vec(i) for i in range(300)]))
    after = {tuple(q): _scores(store, A, q) for q in queries}
    assert after == before and all(before.values())
    assert len(store.lexical(other, ["river"], 500)) == 300  # the flood is searchable by its owner


@pytest.mark.parametrize("other_tenant, other_user", [("B", "u1"), ("A", "u2")])
def test_search_hits_are_byte_identical_whatever_another_owner_writes(tmp_path, request, hashing, other_tenant,
                                                                      other_user, backend):
    target = tmp_path / "iso.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    a = Memory(target, encoder=hashing, config=MemoryConfig(tenant="A"))
    b = Memory(target, encoder=hashing, config=MemoryConfig(tenant=other_tenant))
    with a, b:
        a.add_many([[{"role": "user", "content": t}] for t in (
            "I am allergic to peanuts", "My sister lives in Lisbon", "We adopted a dog named Rex",
            "我对花生过敏", "The river near Lisbon was cold", "Rex loves the river")], user_id="u1")
        questions = ["what am I allergic to?", "where does my sister live", "river", "我对什么过敏？", "Rex",
                     "Rex river", "Lisbon river"]
        before = [a.search(q, user_id="u1", k=5) for q in questions]
        b.add_many([[{"role": "user", "content": f"peanuts Lisbon river Rex 花生 过敏 sister {i}"}]
                    for i in range(300)], user_id=other_user)
        after = [a.search(q, user_id="u1", k=5) for q in questions]
        assert [[(h.memory.id, h.score, h.reasons) for h in hits] for hits in after] == \
               [[(h.memory.id, h.score, h.reasons) for h in hits] for hits in before]
        assert after == before and all(before)
        assert any(h.reasons.get("lexical", 0) > 0 for hits in before for h in hits)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def test_query_words_split_chinese_terms_only():
    assert query_words(["e-mail", "我对花生过敏", "iPhone手机", "running"]) == [
        "e-mail", "我", "对", "花生", "过敏", "iphone", "手机", "running"]
    assert query_words([]) == []


def test_lexical_text_segments_chinese_and_keeps_the_rest():
    assert lexical_text("I went running", "Ana", None) == "Ana: I went running"
    text = lexical_text("我住在上海浦东", None, {"caption": "一只猫"})
    assert "上海 浦东 上海浦东" in text and "[shares a photo of" in text and "猫" in text.split()


def _unsegmented(store, backend):
    """Make the store look as a version-3 SQLite file / version-1 PostgreSQL database did: the
    segmentation migration not applied, every row indexed from its unsegmented text."""
    if backend == "sqlite":
        conn = store.conn
        conn.execute("DELETE FROM schema_migrations WHERE version = 4")
        for rid, text, role in conn.execute("SELECT rid, text, role FROM memories").fetchall():
            conn.execute("UPDATE memories_fts SET body = ? WHERE rowid = ?", (memory_text(text, role), rid))
        return [b for (b,) in conn.execute("SELECT body FROM memories_fts ORDER BY rowid")]
    store.sql("DELETE FROM schema_migrations WHERE version = 2")
    store.sql("UPDATE memories SET tsv = to_tsvector('english', coalesce(role || ': ', '') || text)")
    return [t for (t,) in store.sql("SELECT tsv::text FROM memories ORDER BY rid")]


def test_the_migration_segments_the_chinese_of_an_old_database(store, tmp_path, request):
    backend = "sqlite" if hasattr(store, "path") else "postgres"
    rows = [rec("我对花生过敏", tenant="A"), rec("I went running by the river", tenant="A"),
            rec("周末去river边跑步", tenant="A")]
    store.insert(rows, np.stack([vec(0), vec(1), vec(2)]))
    old = _unsegmented(store, backend)
    assert any("我对花生过敏" in body for body in old)
    store.close()
    again = make_store(backend, tmp_path, request)  # same file / database: migrates on open
    again.check_encoder("test-encoder", DIM)
    try:
        assert again.schema_versions()[-1] >= (4 if backend == "sqlite" else 2)
        assert _ids(again.lexical(A, ["花生"], 5)) == [rows[0].id]
        assert _ids(again.lexical(A, ["跑步"], 5)) == [rows[2].id]
        assert set(_ids(again.lexical(A, ["river"], 5))) == {rows[1].id, rows[2].id}
        if backend == "sqlite":  # an English-only row's index text is left as it was
            assert again.conn.execute("SELECT body FROM memories_fts ORDER BY rowid").fetchall()[1][0] == old[1]
    finally:
        again.close()


def test_postgres_indexes_chinese_words_as_the_simple_configuration_does(pg_url):
    import psycopg

    texts = ["我对花生过敏", "我住在上海浦东，周末去river边跑步 running", "他们说：“今天下雨了！”",
             "ｆｕｌｌ　width 全角，标点"]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for text in texts:
            body = lexical_text(text, None, None)
            english, simple = (dict(conn.execute(f"SELECT lexeme, positions FROM unnest(to_tsvector('{c}', %s))",
                                                 (body,)).fetchall()) for c in ("english", "simple"))
            han = {w: p for w, p in simple.items() if any("\u4e00" <= ch <= "\u9fff" for ch in w)}
            assert han and all(english.get(w) == p for w, p in han.items()), text  # same lexemes, same positions
        assert "run" in dict(conn.execute("SELECT lexeme, positions FROM unnest(to_tsvector('english', %s))",
                                          (lexical_text(texts[1], None, None),)).fetchall())


def test_odd_text_is_indexed_and_searched(store):
    long_zh = "今天天气很好我们去公园散步然后吃了火锅" * 500  # 10,000 characters without punctuation
    rows = [rec("我喜欢🐼熊猫🎉和 emoji 😀", tenant="A"), rec("ＦＵＬＬ　ｗｉｄｔｈ：全角标点，“引号”！", tenant="A"),
            rec(long_zh, tenant="A"), rec("mixed中文English混合text", tenant="A")]
    store.insert(rows, np.stack([vec(i) for i in range(4)]))
    assert _ids(store.lexical(A, ["熊猫"], 5)) == [rows[0].id]
    assert _ids(store.lexical(A, ["emoji"], 5)) == [rows[0].id]
    assert _ids(store.lexical(A, ["标点"], 5)) == [rows[1].id]
    assert _ids(store.lexical(A, ["火锅"], 5)) == [rows[2].id]
    assert _ids(store.lexical(A, ["混合"], 5)) == [rows[3].id]
    assert _ids(store.lexical(A, ["english"], 5)) == [rows[3].id]
    for terms in (["🐼"], ["，"], ["“"], ["\u3000"], ["😀熊猫"]):
        assert set(_ids(store.lexical(A, terms, 5))) <= {rows[0].id, rows[1].id}, terms  # an answer, never an error
