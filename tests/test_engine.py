"""The Memory API with the fast encoder: writing, reading, scope, history, errors."""

from __future__ import annotations

import pytest

from memlm import Memory


def test_add_string_is_a_fact_and_messages_are_episodes(mem):
    [fact] = mem.add("I am allergic to peanuts", user_id="u")
    events = mem.add([{"role": "user", "content": "Book a table for two"},
                      {"speaker": "assistant", "text": "Done, 7pm at Luigi's"}], user_id="u", session_id="s1")
    assert fact.event == "ADD" and [e.event for e in events] == ["ADD", "ADD"]
    kinds = {m.text: (m.kind, m.role) for m in mem.list(user_id="u")}
    assert kinds == {"I am allergic to peanuts": ("fact", None), "Book a table for two": ("episode", "user"),
                     "Done, 7pm at Luigi's": ("episode", "assistant")}


def test_exact_duplicate_is_noop(mem):
    [a] = mem.add("I love jazz", user_id="u")
    [b] = mem.add("  i love   JAZZ ", user_id="u")
    assert b.event == "NOOP" and b.id == a.id
    assert len(mem.list(user_id="u")) == 1
    [c] = mem.add("I love jazz", user_id="other")  # another owner: stored separately
    assert c.event == "ADD"


def test_repeated_turn_in_another_session_is_kept(mem):
    mem.add({"role": "user", "content": "hello"}, user_id="u", session_id="s1", occurred_at="2024-01-01")
    [e] = mem.add({"role": "user", "content": "hello"}, user_id="u", session_id="s2", occurred_at="2024-02-01")
    assert e.event == "ADD"
    [again] = mem.add({"role": "user", "content": "hello"}, user_id="u", session_id="s2", occurred_at="2024-02-01")
    assert again.event == "NOOP"  # re-ingesting the same turn is idempotent


def test_search_scoped_and_scored(mem):
    mem.add("My cat is called Miso", user_id="alice")
    mem.add("My cat is called Tofu", user_id="bob")
    hits = mem.search("what is the cat called", user_id="alice")
    assert [h.memory.text for h in hits] == ["My cat is called Miso"]
    assert 0 < hits[0].score <= 1 and set(hits[0].reasons) >= {"dense", "lexical"}
    assert mem.search("cat", user_id="nobody") == []


def test_search_kinds_and_time_filters(mem):
    mem.add({"role": "user", "content": "we hiked the alps"}, user_id="u", session_id="a", occurred_at="2022-07-01")
    mem.add({"role": "user", "content": "we hiked the andes"}, user_id="u", session_id="b", occurred_at="2023-07-01")
    mem.add("I enjoy hiking", user_id="u")
    hits = mem.search("hiked", user_id="u", since="2023-01-01")
    assert [h.memory.text for h in hits] == ["we hiked the andes"]
    assert [h.memory.kind for h in mem.search("hiking", user_id="u", kinds=["fact"])] == ["fact"]


def test_time_named_in_query_boosts_that_period(mem):
    mem.add({"role": "user", "content": "I went to a concert"}, user_id="u", session_id="a", occurred_at="2022-05-10")
    mem.add({"role": "user", "content": "I went to a concert"}, user_id="u", session_id="b", occurred_at="2023-05-10")
    hits = mem.search("concert in 2022", user_id="u", now="2023-06-01")
    assert hits[0].memory.occurred_at.year == 2022 and hits[0].reasons["time"] == 1.0
    hits = mem.search("concert last May", user_id="u", now="2023-06-01")
    assert hits[0].memory.occurred_at.year == 2023


def test_neighbors_attached(mem):
    turns = [{"role": r, "content": c} for r, c in [("user", "any plans for the weekend"),
             ("assistant", "I might go sailing"), ("user", "sounds fun, where")]]
    mem.add(turns, user_id="u", session_id="s")
    [hit] = [h for h in mem.search("sailing", user_id="u", neighbors=1) if "sailing" in h.memory.text]
    assert [m.text for m in hit.context] == ["any plans for the weekend", "sounds fun, where"]


def test_get_update_delete_history(mem):
    [e] = mem.add("My favourite colour is green", user_id="u")
    mem.update(e.id, "My favourite colour is blue")
    assert mem.get(e.id).text == "My favourite colour is blue"
    assert [h.event for h in mem.history(e.id)] == ["ADD", "UPDATE"]
    assert mem.history(e.id)[1].old_text == "My favourite colour is green"
    # the full-text index follows the new text: the new word matches lexically, the old one no longer does
    [blue] = [h for h in mem.search("blue", user_id="u") if h.memory.id == e.id]
    assert blue.reasons["lexical"] > 0
    assert all(h.reasons["lexical"] == 0 for h in mem.search("green", user_id="u"))
    mem.delete(e.id)
    assert mem.get(e.id) is None
    assert [h.event for h in mem.history(e.id)] == ["ADD", "UPDATE", "DELETE"]
    with pytest.raises(KeyError):
        mem.delete(e.id)


def test_delete_all_refuses_empty_scope(mem):
    mem.add("keep", user_id="u")
    with pytest.raises(ValueError, match="needs a scope"):
        mem.delete_all()
    assert mem.delete_all(user_id="u") == 1


def test_add_many_batches_and_reports_events(tmp_path, hashing):
    from memlm.config import MemoryConfig

    with Memory(tmp_path / "m.db", encoder=hashing, config=MemoryConfig(batch_size=7)) as m:
        items = [{"role": "user", "content": f"note number {i} about topic {i % 5}"} for i in range(30)]
        events = m.add_many(items, user_id="u", session_id="s")
        assert len(events) == 30 and all(e.event == "ADD" for e in events)
        assert len(m.list(user_id="u", limit=100)) == 30
        assert [r.text for r in m.list(user_id="u", limit=3)] == [f"note number {i} about topic {i}" for i in range(3)]


def test_long_text_is_chunked_not_truncated(mem):
    sentences = [f"Sentence {i} mentions the keyword token{i}." for i in range(300)]
    events = mem.add(" ".join(sentences), user_id="u")
    assert len(events) > 1 and all(e.event == "ADD" for e in events)
    stored = " ".join(m.text for m in mem.list(user_id="u", limit=1000))
    assert all(f"token{i}" in stored for i in range(300))
    hit = mem.search("token299", user_id="u", k=1)[0]
    assert "token299" in hit.memory.text and hit.memory.metadata["chunks"] == len(events)


@pytest.mark.parametrize("bad, match", [
    ("", "empty"), ("   ", "empty"), (42, "takes a string"), ("x" * 1_000_001, "limit"),
    ("bad \ud800 surrogate", "not valid Unicode"), ([], "non-empty list"), ({"role": "user"}, "must be a string"),
    ({"role": "user", "content": "hi", "colour": "red"}, "unknown message key"),
])
def test_bad_input_is_a_clear_value_error(mem, bad, match):
    with pytest.raises(ValueError, match=match):
        mem.add(bad, user_id="u")
    assert mem.list(user_id="u") == []


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k(mem, k):
    with pytest.raises(ValueError, match="k must be"):
        mem.search("x", user_id="u", k=k)


def test_missing_owner_and_bad_kind(mem):
    with pytest.raises(ValueError, match="user_id or agent_id"):
        mem.add("text")
    with pytest.raises(ValueError, match="kind must be"):
        mem.add("text", user_id="u", kind="memo")
    with pytest.raises(ValueError, match="cannot read a date"):
        mem.add("text", user_id="u", occurred_at="not a date at all")


def test_tenants_isolated_through_the_api(tmp_path, hashing):
    from memlm.config import MemoryConfig

    path = tmp_path / "shared.db"
    a = Memory(path, encoder=hashing, config=MemoryConfig(tenant="A"))
    b = Memory(path, encoder=hashing, config=MemoryConfig(tenant="B"))
    [e] = a.add("tenant A's secret", user_id="u")
    assert b.get(e.id) is None and b.search("secret", user_id="u") == []
    with pytest.raises(KeyError):
        b.delete(e.id)
    assert b.delete_all(user_id="u") == 0
    assert a.get(e.id).text == "tenant A's secret"


def test_nothing_opened_until_used(tmp_path, hashing):
    m = Memory(tmp_path / "lazy" / "m.db", encoder=hashing)
    assert not (tmp_path / "lazy").exists()
    m.add("now it exists", user_id="u")
    assert (tmp_path / "lazy" / "m.db").exists()
    m.close()


def test_fact_provenance(mem):
    [turn] = mem.add({"role": "user", "content": "btw I moved to Lisbon last month"}, user_id="u", session_id="s")
    [fact] = mem.add("The user lives in Lisbon", user_id="u", source_ids=[turn.id])
    assert mem.get(fact.id).source_ids == [turn.id]
    with pytest.raises(ValueError, match="source_ids"):
        mem.add("x", user_id="u", source_ids="not-a-list")


def test_supersede_keeps_the_fact_out_of_recall_but_in_history(mem):
    [old] = mem.add("I work at Acme as a plumber", user_id="u")
    [new] = mem.add("Globex hired me as an electrician", user_id="u")  # an ADD: the gate reads no attribute
    event = mem.supersede(old.id, by=new.id)
    assert (event.event, event.id, event.kind) == ("SUPERSEDE", old.id, "fact")
    assert [h.memory.id for h in mem.search("Where do I work?", user_id="u")] == [new.id]
    both = mem.search("Where do I work?", user_id="u", include_superseded=True)
    assert {h.memory.id for h in both} == {old.id, new.id}
    [plumber] = mem.search("plumber", user_id="u", include_superseded=True, k=1)  # BM25 reaches it too
    assert plumber.memory.id == old.id and plumber.reasons["lexical"] == 1.0
    kept = mem.get(old.id)
    assert kept.superseded_by == new.id and kept.valid_to is not None
    assert [h.event for h in mem.history(old.id)] == ["ADD", "SUPERSEDE"]
    [again] = mem.add("I work at Acme as a plumber", user_id="u")  # said again: current again, as a new fact
    assert again.event == "ADD" and again.id != old.id
    with pytest.raises(KeyError):
        mem.supersede("no-such-id")
