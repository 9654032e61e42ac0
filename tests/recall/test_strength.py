"""Strength and the hits' own records are read on the read path (recall/strength.py, the
Retriever): `Memory.search` is the Retriever's `recall`, and the inspector's strength is the
ranking prior's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from memlm import Memory
from memlm.config import CapacityConfig, MemoryConfig, RecallConfig
from memlm.recall.search import Retriever
from memlm.recall.strength import Strength, strength_prior
from memlm.stores.base import Filters
from memlm.types import Hit, MemoryRecord

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)


def _seen(hits):
    return [(h.memory.id, round(h.score, 12), sorted(h.reasons.items())) for h in hits]


def test_strengths_count_recalls_and_halve_every_half_life(mem):
    [bees] = mem.add("I keep bees on the roof", user_id="u")
    [stamps] = mem.add("I collect old stamps", user_id="u")
    records = [mem.get(bees.id), mem.get(stamps.id)]
    mem.store.note_recalls(mem.tenant, [bees.id], NOW)
    mem.store.note_recalls(mem.tenant, [bees.id], NOW)
    got = mem.retriever.strengths(mem.tenant, records, NOW + timedelta(days=30))
    assert got[bees.id] == Strength(pytest.approx(1.5), 2, NOW)  # (1 + 2) halved once
    fresh = mem.retriever.strengths(mem.tenant, records)[stamps.id]  # default: now, just after its writing
    assert fresh.recall_count == 0 and fresh.last_recalled_at is None and fresh.strength == pytest.approx(1, abs=1e-3)
    assert mem.retriever.strengths("another-tenant", records, NOW)[bees.id].recall_count == 0  # per tenant


def test_the_half_life_is_the_recall_configs(tmp_path, hashing):
    config = MemoryConfig(recall=RecallConfig(strength_half_life_days=10.0))
    with Memory(tmp_path / "h.db", encoder=hashing, config=config) as m:
        [a] = m.add("I keep bees", user_id="u")
        m.store.note_recalls(m.tenant, [a.id], NOW)
        assert m.retriever.strengths(m.tenant, [m.get(a.id)], NOW + timedelta(days=20))[a.id].strength == \
            pytest.approx(2 * 0.25)


def test_the_strength_prior_mixes_and_reorders():
    first, second = (MemoryRecord(id=i, kind="fact", text=i) for i in ("a", "b"))
    hits = [Hit(first, 0.8, {}), Hit(second, 0.6, {})]
    strong = {"a": Strength(0.0, 0, None), "b": Strength(3.0, 2, NOW)}
    out = strength_prior(hits, strong, 0.5)
    assert [h.memory.id for h in out] == ["b", "a"]
    assert out[0].score == pytest.approx(0.5 * 0.6 + 0.5 * 0.75) and out[1].score == pytest.approx(0.4)
    assert out[0].reasons["strength"] == 3.0 and out[1].reasons["strength"] == 0.0


def test_memory_search_is_the_retrievers_recall(tmp_path, hashing):
    config = MemoryConfig(recall=RecallConfig(strength_weight=0.4),
                          capacity=CapacityConfig(max_memories=4, on_write=False))
    with Memory(tmp_path / "s.db", encoder=hashing, config=config) as m:
        for i, t in enumerate(["we fed the zqgoats", "the zqgoats ate hay", "then zqgoats slept"]):
            m.add({"role": "user", "content": t}, user_id="ana", session_id="s1", occurred_at=f"2030-01-0{i + 1}")
        m.add({"role": "user", "content": "zqgoats again today"}, user_id="ana", session_id="s2",
              occurred_at="2030-05-01")
        [fact] = m.add("I like zqgoats", user_id="ana")
        m.store.note_recalls(m.tenant, [fact.id], NOW)
        assert m.enforce_capacity(user_id="ana", now=NOW)["taken"]
        hits = m.search("zqgoats", user_id="ana", now=NOW)
        assert any("archived" in h.reasons for h in hits) and all("strength" in h.reasons for h in hits)
        filters = Filters(m.tenant, "ana", as_of=NOW)
        retriever = Retriever(m.store, m.encoder, config.recall)
        assert _seen(retriever.recall("zqgoats", filters, 10, now=NOW, archived=True)) == _seen(hits)
        plain = retriever.recall("zqgoats", filters, 10, now=NOW)  # no capacity: no archived counts
        assert not any("archived" in h.reasons for h in plain)


def test_a_summary_says_how_many_archived_turns_it_stands_for(tmp_path, hashing):
    config = MemoryConfig(capacity=CapacityConfig(max_memories=2, on_write=False))
    with Memory(tmp_path / "a.db", encoder=hashing, config=config) as m:
        for i, t in enumerate(["the zqotters swam", "zqotters ate fish"]):
            m.add({"role": "user", "content": t}, user_id="ana", session_id="s1", occurred_at=f"2030-01-0{i + 1}")
        m.add({"role": "user", "content": "a new day"}, user_id="ana", session_id="s2", occurred_at="2030-02-01")
        relief = m.enforce_capacity(user_id="ana", now=NOW)
        assert len(relief["taken"]) == 2
        summary = m.get(relief["summaries"]["s1"])
        hits = m.retriever.archived_reasons(m.tenant, [Hit(summary, 0.5, {})])
        assert hits[0].reasons == {"archived": 2.0}
        episode = m.list(user_id="ana", session_id="s2")[0]
        assert m.retriever.archived_reasons(m.tenant, [Hit(episode, 0.5, {})])[0].reasons == {}


def test_the_forget_gate_and_recall_read_one_strength(tmp_path, hashing):
    config = MemoryConfig(recall=RecallConfig(strength_half_life_days=7.0))
    with Memory(tmp_path / "f.db", encoder=hashing, config=config) as m:
        ids = [m.add(f"note {t} about the garden", user_id="u")[0].id for t in ("shed", "gate", "pond", "hedge")]
        for n, mid in enumerate(ids):  # 0, 1, 2, 3 recalls, the later ones longer ago
            for day in range(n):
                m.store.note_recalls(m.tenant, [mid], NOW - timedelta(days=3 * n + day))
        records = [m.get(i) for i in ids]
        strong = {i: s.strength for i, s in m.retriever.strengths(m.tenant, records, NOW).items()}
        assert len(set(strong.values())) == 4
        for threshold in sorted(strong.values()):
            for x in (threshold * (1 - 1e-6), threshold * (1 + 1e-6)):
                weak = {r.id for r in m.forget(user_id="u", weaker_than=x, now=NOW)}
                assert weak == {i for i, s in strong.items() if s < x}


def test_a_change_to_the_strength_reaches_recall_forget_and_capacity(tmp_path, hashing, monkeypatch):
    import memlm.recall.strength as home

    config = MemoryConfig(recall=RecallConfig(strength_weight=0.9),
                          capacity=CapacityConfig(max_memories=3, on_write=False))
    with Memory(tmp_path / "c.db", encoder=hashing, config=config) as m:
        turns = [m.add({"role": "user", "content": f"zqlamps turn {i}"}, user_id="ana", session_id="s1",
                       occurred_at=f"2030-01-0{i + 1}")[0].id for i in range(3)]
        m.add({"role": "user", "content": "today"}, user_id="ana", session_id="s2", occurred_at="2030-05-01")
        made_up = {turns[0]: 5.0, turns[1]: 0.1, turns[2]: 2.0}  # no recalls at all: only the function says so
        monkeypatch.setattr(home, "strength", lambda record, recalls, now, cfg: made_up.get(record.id, 1.0))
        hits = m.search("zqlamps turn", user_id="ana", now=NOW)
        assert {h.memory.id: h.reasons["strength"] for h in hits if h.memory.id in made_up} == made_up
        assert [h.memory.id for h in hits if h.memory.id in made_up] == [turns[0], turns[2], turns[1]]  # the prior
        assert {r.id for r in m.forget(user_id="ana", weaker_than=1.0, now=NOW)} == {turns[1]}
        taken = [r["id"] for r in m.enforce_capacity(user_id="ana", now=NOW, dry_run=True)["taken"]]
        assert taken == [turns[1], turns[2]]  # weakest first, by the same function
