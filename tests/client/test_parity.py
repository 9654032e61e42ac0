"""One suite, three backends: a local Memory, Client and AsyncClient on a real server.

Every test runs against each (the `api` fixture); the last tests check that the clients'
signatures are Memory's and that one scenario gives the same transcript three ways."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.client.conftest import Synced

from memlm import AsyncClient, Client, Event, HistoryEntry, Hit, Memory, MemoryRecord
from memlm.working import Context

SURFACE = ["add", "add_many", "search", "context", "get", "list", "update", "delete", "delete_all",
           "history", "export", "consolidate", "purge", "forget",
           "supersede"]


def test_add_and_its_events(api, ids):
    ana = ids("ana")
    first = api.add("I grow tomatoes on my balcony", user_id=ana, metadata={"source": "chat"})
    assert [type(e) for e in first] == [Event] and first[0].event == "ADD" and first[0].kind == "fact"
    again = api.add("I grow tomatoes on my balcony", user_id=ana)
    assert again[0].event == "NOOP" and again[0].id == first[0].id and again[0].similarity == pytest.approx(1.0)
    turns = api.add([{"role": "user", "content": "Book me a table for Friday"},
                     {"role": "assistant", "content": "Done: Friday 8 pm at Luigi's"}],
                    user_id=ana, session_id="s1", occurred_at=datetime(2024, 5, 3, 18, 30))
    assert [e.kind for e in turns] == ["episode", "episode"]
    record = api.get(turns[1].id)
    assert isinstance(record, MemoryRecord) and record.role == "assistant" and record.session_id == "s1"
    assert record.occurred_at == datetime(2024, 5, 3, 18, 30, tzinfo=UTC)
    assert api.get(first[0].id).metadata == {"source": "chat"}
    sourced = api.add("Ana eats out on Fridays", user_id=ana, source_ids=[turns[0].id])
    assert api.get(sourced[0].id).source_ids == [turns[0].id]


def test_add_many_mixed_items(api, ids):
    bob = ids("bob")
    events = api.add_many(["Bob likes jazz", {"role": "user", "content": "play something calm"},
                           [{"role": "user", "content": "louder"}, {"role": "assistant", "content": "ok"}],
                           "Bob lives in Lyon"], user_id=bob, session_id="radio")
    assert [e.event for e in events] == ["ADD"] * 5
    assert [e.kind for e in events] == ["fact", "episode", "episode", "episode", "fact"]
    assert {r.text for r in api.list(user_id=bob, limit=10)} == {e.text for e in events}


def test_search_hits_filters_and_time(api, ids):
    ana = ids("ana")
    api.add("I keep bees on my roof", user_id=ana, occurred_at="2023-01-10")
    api.add("My sister lives in Porto", user_id=ana, occurred_at="2024-06-01")
    api.add({"role": "user", "content": "the bees swarmed yesterday"}, user_id=ana, session_id="s",
            occurred_at="2024-06-02")
    hits = api.search("bees roof", user_id=ana, k=2)
    assert [type(h) for h in hits] == [Hit, Hit] and hits[0].memory.text == "I keep bees on my roof"
    assert all(0 <= h.score <= 1 for h in hits) and hits[0].score >= hits[1].score and hits[0].reasons
    facts = api.search("bees", user_id=ana, kinds=["fact"])
    assert {h.memory.kind for h in facts} == {"fact"}
    assert all(h.memory.kind == "episode" for h in api.search("bees", user_id=ana, kinds="episode"))
    recent = api.search("bees", user_id=ana, since=datetime(2024, 1, 1, tzinfo=UTC))
    assert {h.memory.text for h in recent} <= {"the bees swarmed yesterday", "My sister lives in Porto"}
    assert "I keep bees on my roof" in {h.memory.text for h in api.search("bees", user_id=ana, until="2023-12-31")}
    assert api.search("bees", user_id=ids("nobody")) == []
    dated = api.search("bees", user_id=ana, now="2024-06-03")
    assert dated and dated[0].memory.text in {"the bees swarmed yesterday", "I keep bees on my roof"}


def test_search_neighbors_attach_context(api, ids):
    ana = ids("ana")
    api.add([{"role": "user", "content": "what should I plant in spring"},
             {"role": "assistant", "content": "try peas and radishes"},
             {"role": "user", "content": "radishes it is"}], user_id=ana, session_id="garden")
    hits = api.search("peas and radishes", user_id=ana, k=1, neighbors=1)
    assert hits[0].context and all(isinstance(m, MemoryRecord) for m in hits[0].context)


def test_context_block(api, ids):
    ana = ids("ana")
    api.add("Ana is allergic to peanuts", user_id=ana)
    api.add({"role": "user", "content": "I want a dessert recipe"}, user_id=ana, session_id="cook")
    ctx = api.context("what dessert can I make", user_id=ana, session_id="cook", budget_tokens=300)
    assert isinstance(ctx, Context) and "allergic to peanuts" in ctx.text and 0 < ctx.tokens <= 300
    assert [m.text for m in ctx.working] == ["I want a dessert recipe"]
    assert all(isinstance(h, Hit) for h in ctx.recalled)


def test_list_pages_and_kinds(api, ids):
    cy = ids("cy")
    texts = [f"note {i} about kites" for i in range(7)]
    for t in texts:
        api.add({"role": "user", "content": t}, user_id=cy, session_id="k")
    api.add("Cy flies kites", user_id=cy)
    episodes = api.list(user_id=cy, kinds=["episode"], limit=100)
    assert [r.text for r in episodes] == texts  # oldest first
    assert [r.text for r in api.list(user_id=cy, kinds="episode", limit=3, offset=2)] == texts[2:5]
    assert [r.kind for r in api.list(user_id=cy, kinds=["fact"])] == ["fact"]
    assert len(api.list(user_id=cy)) == 8 and api.list(user_id=cy, offset=8) == []


def test_list_pages_beyond_the_server_page(api, ids, monkeypatch):
    from memlm.client import methods

    monkeypatch.setattr(methods, "MAX_PAGE", 2)  # the clients fetch 2 at a time; Memory is unaffected
    dee = ids("dee")
    facts = ["Dee owns a red bicycle", "Dee speaks Welsh", "Dee was born in Cardiff", "Dee collects stamps",
             "Dee is a night-shift nurse"]
    assert [e.event for e in api.add_many(facts, user_id=dee)] == ["ADD"] * 5
    assert [r.text for r in api.list(user_id=dee, limit=4)] == facts[:4]
    assert len(api.list(user_id=dee, limit=50, offset=1)) == 4


def test_update_history_delete(api, ids):
    ana = ids("ana")
    mid = api.add("Ana works at a bakery", user_id=ana)[0].id
    up = api.update(mid, "Ana works at a bookshop")
    assert (up.event, up.id, up.text, up.previous) == ("UPDATE", mid, "Ana works at a bookshop",
                                                        "Ana works at a bakery")
    assert api.get(mid).text == "Ana works at a bookshop"
    gone = api.delete(mid)
    assert (gone.event, gone.id) == ("DELETE", mid) and api.get(mid) is None
    history = api.history(mid)
    assert all(isinstance(h, HistoryEntry) for h in history)
    assert [h.event for h in history] == ["ADD", "UPDATE", "DELETE"]
    # a deleted memory's history keeps its events, not its text (forgetting leaves no trace)
    assert all(h.old_text is None and h.new_text is None for h in history)
    assert history[0].at <= history[2].at <= datetime.now(UTC) + timedelta(seconds=5)


def test_not_found_is_a_key_error(api):
    assert api.get("0" * 32) is None
    for call in (lambda: api.delete("0" * 32), lambda: api.history("0" * 32),
                 lambda: api.update("0" * 32, "new text")):
        with pytest.raises(KeyError) as raised:
            call()
        assert "no memory" in str(raised.value)


def test_delete_all_in_scope(api, ids):
    ana, bob = ids("ana"), ids("bob")
    api.add_many(["Ana drinks green tea", "Ana plays chess on Sundays"], user_id=ana)
    api.add({"role": "user", "content": "hello"}, user_id=ana, session_id="s9")
    api.add("Bob likes tea", user_id=bob)
    assert api.delete_all(user_id=ana, session_id="s9") == 1
    assert api.delete_all(user_id=ana) == 2
    assert api.list(user_id=ana) == [] and [r.text for r in api.list(user_id=bob)] == ["Bob likes tea"]
    with pytest.raises(ValueError, match="needs a scope"):
        api.delete_all()


def test_consolidate_a_session(api, ids):
    ana = ids("ana")
    turns = api.add([{"role": "user", "content": "I am moving to Berlin in March"},
                     {"role": "assistant", "content": "Exciting! Do you need a flat?"}], user_id=ana, session_id="move")
    summary = api.consolidate(user_id=ana, session_id="move")
    assert summary.event == "ADD" and summary.kind == "summary" and "Berlin" in summary.text
    record = api.get(summary.id)
    assert set(record.source_ids) == {e.id for e in turns}


def test_export_writes_jsonl(api, ids, tmp_path):
    ana = ids("ana")
    api.add_many(["Ana drinks green tea", "Ana plays chess on Sundays"], user_id=ana)
    out = tmp_path / "export.jsonl"
    n = api.export(out)
    lines = out.read_text().splitlines()
    assert n >= 2 and len(lines) == n + 1  # a header line, then one memory per line
    exported = {json.loads(line).get("text") for line in lines[1:]}
    assert {"Ana drinks green tea", "Ana plays chess on Sundays"} <= exported
    bob = ids("bob")
    api.add("Bob likes tea", user_id=bob)
    assert api.export(out, user_id=bob) == 1  # one user's memories only
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()[1:]] == ["Bob likes tea"]


@pytest.mark.parametrize("call", [
    lambda api: api.add("   ", user_id="u"),
    lambda api: api.add("text"),  # no owner
    lambda api: api.add("text", user_id="u", kind="opinion"),
    lambda api: api.add("text", user_id="u", occurred_at="not a date at all"),
    lambda api: api.add(42, user_id="u"),
    lambda api: api.add({"role": "user", "content": "hi", "mood": "glad"}, user_id="u"),
    lambda api: api.search("q", user_id="u", k=0),
    lambda api: api.search("", user_id="u"),
    lambda api: api.search("q", user_id="u", kinds=["opinion"]),
    lambda api: api.search("q"),
    lambda api: api.list(limit=0),
    lambda api: api.update("0" * 32, " "),
    lambda api: api.context("q", user_id="u", budget_tokens=0),
    lambda api: api.consolidate(user_id="u", session_id=""),
], ids=lambda f: "")
def test_bad_input_is_a_value_error(api, call):
    with pytest.raises(ValueError):
        call(api)


@pytest.mark.parametrize("cls", [Client, AsyncClient])
@pytest.mark.parametrize("name", SURFACE)
def test_same_signature_as_memory(cls, name):
    ours, theirs = inspect.signature(getattr(cls, name)), inspect.signature(getattr(Memory, name))
    assert ours.parameters == theirs.parameters  # names, kinds, defaults and annotations


def _transcript(api, owner: str) -> list:
    """A scenario's results with the parts that differ between runs (ids, clocks) left out."""
    out: list = []
    ev = api.add_many(["Eve plays the cello", "Eve lives in Ghent",
                       [{"role": "user", "content": "recommend a cello piece"},
                        {"role": "assistant", "content": "Bach's first suite"}]],
                      user_id=owner, session_id="music", occurred_at="2024-02-01T10:00:00+00:00")
    out.append([(e.event, e.kind, e.text) for e in ev])
    out.append([(e.event, e.text) for e in api.add("Eve plays the cello", user_id=owner)])
    # scores are left out: the server's file holds other owners' memories, which shift the
    # corpus-wide lexical statistics a little; the order and the reasons must match
    out.append([(h.memory.text, sorted(h.reasons))
                for h in api.search("cello music", user_id=owner, k=3, now="2024-03-01")])
    out.append(api.context("what does Eve play", user_id=owner, session_id="music", now="2024-03-01").text)
    out.append([(r.kind, r.text, r.role, r.occurred_at) for r in api.list(user_id=owner)])
    up = api.update(ev[1].id, "Eve lives in Bruges")
    out.append((up.event, up.text, up.previous))
    out.append([(h.event, h.old_text, h.new_text) for h in api.history(ev[1].id)])
    out.append(api.delete_all(user_id=owner))
    return out


def test_one_scenario_three_ways(tmp_path, served, ids):
    base, key = served
    with Memory(tmp_path / "t.db", encoder="hashing") as local:
        expected = _transcript(local, "eve")
    with Client(base, api_key=key) as client:
        assert _transcript(client, ids("eve")) == expected
    synced = Synced(AsyncClient(base, api_key=key))
    try:
        assert _transcript(synced, ids("eve")) == expected
    finally:
        synced.close()


def test_expiry_hides_a_memory(api, ids):
    ana = ids("ana")
    gone = api.add("Ana's door code is 4421", user_id=ana, expires_at="2020-01-01")[0].id
    kept = api.add("Ana grows basil", user_id=ana, ttl=3600)[0].id
    listed = [r.id for r in api.list(user_id=ana)]
    assert kept in listed and gone not in listed
    assert gone not in [h.memory.id for h in api.search("door code", user_id=ana, k=5)]
    api.update(kept, "Ana grows basil and mint", expires_at="2020-01-01")
    assert [r.id for r in api.list(user_id=ana)] == []
    assert [r.id for r in api.list(user_id=ana, now="2019-06-01")] == [gone, kept]  # before either expired


def test_purge_deletes_the_expired(api, ids):
    ana = ids("ana")
    api.purge(now="2089-12-31")  # the shared server's file: clear what other tests left expiring before then
    gone = api.add("Ana's locker code is 8812", user_id=ana, expires_at="2090-01-01")[0].id
    kept = api.add("Ana rows on Saturdays", user_id=ana)[0].id
    assert api.purge() == 0 and api.get(gone) is not None  # not expired yet
    assert api.purge(now="2090-01-02") == 1
    assert api.get(gone) is None and api.get(kept) is not None
    assert api.purge(now="2090-01-02") == 0


def test_forget_is_a_dry_run_first(api, ids):
    ana, bob = ids("ana"), ids("bob")
    old = api.add("Ana had a red car", user_id=ana, occurred_at="2019-03-01")[0].id
    new = api.add("Ana rides a blue bike", user_id=ana, occurred_at="2024-03-01")[0].id
    turn = api.add({"role": "user", "content": "hi there"}, user_id=ana, session_id="s1",
                   occurred_at="2018-01-01")[0].id
    api.add("Bob had a red car", user_id=bob, occurred_at="2019-03-01")
    listed = api.forget(user_id=ana, before="2020-01-01")
    assert all(isinstance(r, MemoryRecord) for r in listed) and {r.id for r in listed} == {old, turn}
    assert api.get(old) is not None and api.get(turn) is not None  # a dry run deletes nothing
    assert [r.id for r in api.forget(user_id=ana, before="2020-01-01", kind="fact")] == [old]
    assert [r.id for r in api.forget(user_id=ana, session_id="s1", kind=["episode"])] == [turn]
    assert {r.id for r in api.forget(user_id=ana, before="2020-01-01", dry_run=False)} == {old, turn}
    assert api.get(old) is None and api.get(turn) is None and api.get(new) is not None
    assert len(api.list(user_id=bob)) == 1  # another owner's memory is untouched
    with pytest.raises(ValueError, match="rule"):
        api.forget(user_id=ana)


def test_forget_the_weak_keeps_the_recalled(api, ids):
    ana = ids("ana")
    recalled = api.add("Ana is allergic to peanuts", user_id=ana)[0].id
    idle = api.add("Ana once visited Oslo", user_id=ana)[0].id
    looked = api.context("what is Ana allergic to", user_id=ana, k=1, count_recall=False)
    assert [h.memory.id for h in looked.recalled] == [recalled]  # looked at, not counted
    assert {r.id for r in api.forget(user_id=ana, weaker_than=1.5)} == {recalled, idle}
    ctx = api.context("what is Ana allergic to", user_id=ana, k=1)
    assert [h.memory.id for h in ctx.recalled] == [recalled]  # a recall into a context: strength 2
    now = datetime.now(UTC) + timedelta(minutes=1)
    assert [r.id for r in api.forget(user_id=ana, weaker_than=1.5, now=now)] == [idle]
    with pytest.raises(ValueError):
        api.forget(user_id=ana, weaker_than=-1)


def test_supersede_keeps_a_fact_out_of_recall(api, ids):
    ana = ids("ana")
    old = api.add("Ana is training for a marathon", user_id=ana)[0].id
    new = api.add("Ana stopped running after her knee injury", user_id=ana)[0].id
    assert old != new
    event = api.supersede(old, by=new, at="2024-05-01")
    assert (event.event, event.id, event.text) == ("SUPERSEDE", old, "Ana is training for a marathon")
    record = api.get(old)
    assert record.superseded_by == new and record.valid_to == datetime(2024, 5, 1, tzinfo=UTC)
    assert old not in [h.memory.id for h in api.search("marathon training", user_id=ana)]
    assert old in [h.memory.id for h in api.search("marathon training", user_id=ana, include_superseded=True)]
    assert [r.id for r in api.list(user_id=ana)] == [new]
    assert "SUPERSEDE" in [h.event for h in api.history(old)]
    with pytest.raises(KeyError):
        api.supersede("0" * 32)
