"""The forget gate's capacity (write/capacity.py), with a fixed clock: the weakest old episodes of
closed sessions are summarised, then archived (or deleted); recalled turns outlive unrecalled
ones; facts and the current session are never taken."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from memlm import Memory
from memlm.config import CapacityConfig, MemoryConfig

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)
OLD = ["we visited the zqaquarium downtown", "the zqpenguins were my favourite",
       "lunch was a zqfalafel wrap", "then we took the zqferry home"]


def make(tmp_path, hashing, **capacity) -> Memory:
    config = MemoryConfig(capacity=CapacityConfig(**capacity))
    return Memory(tmp_path / "cap.db", encoder=hashing, config=config)


def fill(m: Memory) -> tuple[list[str], list[str], str]:
    """A closed session of four turns, a current one of two, one fact: (old ids, current ids, fact id)."""
    old = [m.add({"role": "user", "content": t}, user_id="ana", session_id="s1",
                 occurred_at=f"2030-01-0{i + 1}")[0].id for i, t in enumerate(OLD)]
    new = [m.add({"role": "user", "content": t}, user_id="ana", session_id="s2",
                 occurred_at=f"2030-05-0{i + 1}")[0].id for i, t in enumerate(["planning a trip", "to Porto"])]
    [fact] = m.add("I am allergic to peanuts", user_id="ana")
    return old, new, fact.id


def test_a_recalled_turn_outlives_unrecalled_ones_under_capacity_pressure(tmp_path, hashing):
    with make(tmp_path, hashing, max_memories=5, on_write=False) as m:
        old, new, fact = fill(m)
        ctx = m.context("zqpenguins", user_id="ana", k=1, now=NOW - timedelta(days=1))  # recalled into a context
        assert [h.memory.id for h in ctx.recalled] == [old[1]]
        relief = m.enforce_capacity(user_id="ana", now=NOW)
        taken = [r["id"] for r in relief["taken"]]
        assert old[1] not in taken and set(taken) == {old[0], old[2], old[3]}
        # 7 memories: three turns archived, one summary added -> 5
        current = {r.id for r in m.list(user_id="ana", now=NOW)}
        assert len(current) == 5 and {old[1], fact, *new} <= current
        summary = relief["summaries"]["s1"]
        assert set(m.get(summary).source_ids) == set(old)  # the summary covers every turn of the session
        for mid in taken:  # archived: kept, superseded by the summary, in history
            assert m.get(mid).superseded_by == summary and m.history(mid)[-1].event == "SUPERSEDE"


def test_archived_turns_are_in_export_but_not_in_search(tmp_path, hashing):
    with make(tmp_path, hashing, max_memories=5, on_write=False) as m:
        fill(m)
        taken = {r["id"] for r in m.enforce_capacity(user_id="ana", now=NOW)["taken"]}
        assert len(taken) == 3
        found = {h.memory.id for h in m.search("zqaquarium zqfalafel zqferry zqpenguins", user_id="ana", k=10, now=NOW)}
        assert not found & taken
        hits = m.search("zqaquarium zqfalafel zqferry zqpenguins", user_id="ana", k=10, now=NOW)
        summaries = [h for h in hits if h.memory.kind == "summary"]
        assert summaries and summaries[0].reasons["archived"] == 3.0  # visible in the hit's reasons
        assert all(c.id not in taken for h in hits for c in h.context)
        m.export(tmp_path / "out.jsonl", user_id="ana")
        lines = (tmp_path / "out.jsonl").read_text().splitlines()
        exported = {json.loads(line).get("id") for line in lines[1:]}
        assert taken <= exported


def test_facts_and_the_current_session_are_never_dropped_by_capacity(tmp_path, hashing):
    with make(tmp_path, hashing, max_memories=1, on_write=False) as m:
        old, new, fact = fill(m)
        more = [m.add(f"my {x} is {y}", user_id="ana")[0].id for x, y in (("cat", "Tom"), ("bike", "blue"))]
        relief = m.enforce_capacity(user_id="ana", now=NOW)
        assert {r["id"] for r in relief["taken"]} == set(old)  # every closed turn, nothing else
        current = {r.id for r in m.list(user_id="ana", now=NOW)}
        assert {fact, *more, *new} <= current  # still over the limit: facts and the open session stay


def test_capacity_on_write_spares_the_session_written_to(tmp_path, hashing):
    with make(tmp_path, hashing, max_memories=6) as m:
        old, new, fact = fill(m)  # 7 memories after the fact: the weakest closed turns give way
        kept = m.list(user_id="ana")
        assert len(kept) == 6 and {fact, *new} <= {r.id for r in kept}
        assert sum(r.kind == "summary" for r in kept) == 1
        assert len({r.id for r in kept} & set(old)) == 2


def test_delete_policy_dry_run_and_token_limit(tmp_path, hashing):
    with make(tmp_path, hashing, max_memories=5, on_write=False) as m:
        old, _, _ = fill(m)
        would = m.enforce_capacity(user_id="ana", now=NOW, dry_run=True)
        assert len(would["taken"]) == 3 and all(m.get(i).superseded_by is None for i in old)  # nothing moved
        done = m.enforce_capacity(user_id="ana", now=NOW, policy="delete")
        assert [r["id"] for r in done["taken"]] == [r["id"] for r in would["taken"]]
        assert all(m.get(r["id"]) is None for r in done["taken"])  # deleted, after the summary took them
        assert set(m.get(done["summaries"]["s1"]).source_ids) == set(old)
    with Memory(tmp_path / "tok.db", encoder=hashing) as m:
        fill(m)
        tokens = m.enforce_capacity(user_id="ana", now=NOW, max_tokens=10, dry_run=True)
        assert tokens["tokens"] > 10 and 0 < len(tokens["taken"]) <= 4


def test_capacity_settings_are_checked():
    with pytest.raises(ValueError, match="policy"):
        CapacityConfig(max_memories=3, policy="shred")
    with pytest.raises(ValueError, match="non-negative"):
        CapacityConfig(max_memories=-1)
    assert not CapacityConfig().limited and MemoryConfig.from_dict({"capacity": {"max_tokens": 5}}).capacity.limited
