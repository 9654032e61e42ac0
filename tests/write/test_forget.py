"""The forget gate: expiry (expires_at / ttl, hidden at once, purge) and forget(rules, dry run)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from memlm.write.forget import EXPIRES

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)


def test_an_expired_memory_is_hidden_from_search_list_and_context_at_once(mem):
    [keep] = mem.add("I am allergic to peanuts", user_id="u")
    [gone] = mem.add("I am at the airport waiting for my flight", user_id="u", expires_at="2001-01-01")
    [later] = mem.add("My flight to Oslo boards at gate 12", user_id="u", ttl=3600)
    assert mem.get(gone.id).metadata[EXPIRES].startswith("2001-01-01")
    assert {m.id for m in mem.list(user_id="u")} == {keep.id, later.id}
    found = {h.memory.id for h in mem.search("airport flight gate", user_id="u", k=10)}
    assert found == {keep.id, later.id}
    ctx = mem.context("where is my flight?", user_id="u")
    assert "airport" not in ctx.text and "gate 12" in ctx.text
    in_an_hour = datetime.now(timezone.utc) + timedelta(hours=2)
    assert {m.id for m in mem.list(user_id="u", now=in_an_hour)} == {keep.id}  # a fixed clock: past the ttl
    assert {h.memory.id for h in mem.search("flight", user_id="u", now=in_an_hour)} <= {keep.id}


def test_search_still_returns_k_memories_when_the_best_ones_expired(mem):
    for i in range(6):
        mem.add(f"reminder {i}: water the tomatoes", user_id="u", expires_at="2001-01-01")
    for i in range(4):
        mem.add(f"the tomatoes need water note {i}", user_id="u")
    hits = mem.search("water the tomatoes", user_id="u", k=3)
    assert len(hits) == 3 and all("note" in h.memory.text for h in hits)


def test_list_pages_skip_expired_memories(mem):
    for i in range(5):
        mem.add(f"fact number {i} about birds", user_id="u", expires_at=None if i % 2 else "2001-01-01")
    assert [m.text for m in mem.list(user_id="u", limit=1, offset=1)] == ["fact number 3 about birds"]
    assert [m.text for m in mem.list(user_id="u")] == ["fact number 1 about birds", "fact number 3 about birds"]


def test_purge_deletes_what_expired_by_a_fixed_clock(mem):
    [a] = mem.add("parking spot 42 on level B", user_id="u", expires_at=NOW - timedelta(minutes=1))
    [b] = mem.add("the hotel room is 305", user_id="u", expires_at=NOW + timedelta(days=1))
    [c] = mem.add("I live in Lisbon", user_id="u")
    assert mem.purge(now=NOW) == 1
    assert mem.get(a.id) is None and mem.get(b.id) is not None and mem.get(c.id) is not None
    assert mem.purge(now=NOW + timedelta(days=2)) == 1 and mem.get(b.id) is None
    assert [m.id for m in mem.list(user_id="u", now=NOW + timedelta(days=9))] == [c.id]


def test_a_repeated_statement_takes_the_new_expiry(mem):
    [a] = mem.add("I am at the office", user_id="u", ttl=60)
    [b] = mem.add("I am at the office", user_id="u")  # said again without an expiry: it no longer expires
    assert (b.event, b.id) == ("UPDATE", a.id) and EXPIRES not in mem.get(a.id).metadata
    assert mem.add("I am at the office", user_id="u")[0].event == "NOOP"
    [_expired] = mem.add("I live in Paris", user_id="v", expires_at="2001-01-01")
    assert mem.add("I live in Paris", user_id="v")[0].event == "ADD"  # the expired one is not matched


def test_update_sets_an_expiry(mem):
    [a] = mem.add("my locker code is 1234", user_id="u")
    mem.update(a.id, "my locker code is 9876", ttl=30)
    assert EXPIRES in mem.get(a.id).metadata
    mem.update(a.id, "my locker code is 5555")  # no new expiry: keeps the one it has
    assert EXPIRES in mem.get(a.id).metadata
    mem.update(a.id, "my locker code is 0000", expires_at="2001-01-01")
    assert mem.list(user_id="u") == []


@pytest.mark.parametrize("kwargs, message", [({"ttl": -5}, "positive"), ({"ttl": "soon"}, "seconds"),
                                             ({"ttl": 5, "expires_at": "2030-01-01"}, "not both"),
                                             ({"expires_at": "whenever"}, "cannot read a date"),
                                             ({"ttl": float("nan")}, "positive")])
def test_bad_expiry_is_refused(mem, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mem.add("x", user_id="u", **kwargs)


def test_forget_by_age_kind_and_session_is_a_dry_run_first(mem):
    mem.add([{"role": "user", "content": "old turn"}], user_id="u", session_id="s1", occurred_at="2020-01-01")
    mem.add([{"role": "user", "content": "new turn"}], user_id="u", session_id="s2", occurred_at="2030-01-01")
    [fact] = mem.add("I live in Lisbon", user_id="u", occurred_at="2019-05-05")
    mem.add("I keep bees", user_id="other", occurred_at="2019-05-05")
    would = mem.forget(user_id="u", before="2025-01-01")
    assert {m.text for m in would} == {"old turn", "I live in Lisbon"} and len(mem.list(user_id="u")) == 3
    assert [m.text for m in mem.forget(user_id="u", kind="episode", before="2025-01-01")] == ["old turn"]
    assert [m.text for m in mem.forget(user_id="u", session_id="s2")] == ["new turn"]
    gone = mem.forget(user_id="u", kind="episode", before="2025-01-01", dry_run=False)
    assert [m.text for m in gone] == ["old turn"]
    assert {m.text for m in mem.list(user_id="u")} == {"new turn", "I live in Lisbon"}
    assert [m.text for m in mem.list(user_id="other")] == ["I keep bees"]  # other owners untouched
    with pytest.raises(ValueError, match="needs a rule"):
        mem.forget(user_id="u")
    assert mem.get(fact.id) is not None


def test_a_recalled_memory_outlives_an_unrecalled_one(mem):
    """Strength grows with each recall into a context and halves every 30 days after the last."""
    [bees] = mem.add("I keep bees on the roof", user_id="u")
    [stamps] = mem.add("I collect old stamps", user_id="u")
    start = datetime.now(timezone.utc)
    for day in (1, 20, 40):
        ctx = mem.context("bees on the roof", user_id="u", k=1, now=start + timedelta(days=day))
        assert [h.memory.id for h in ctx.recalled] == [bees.id]
    counts = mem.store.recall_counts(mem.tenant, [bees.id, stamps.id])
    assert counts[bees.id][0] == 3 and stamps.id not in counts
    later = start + timedelta(days=70)  # bees: 4 x 0.5^(30/30) = 2; stamps: 1 x 0.5^(70/30) ~ 0.2
    weak = mem.forget(user_id="u", weaker_than=1.0, now=later)
    assert [m.id for m in weak] == [stamps.id]
    mem.forget(user_id="u", weaker_than=1.0, now=later, dry_run=False)
    assert [m.id for m in mem.list(user_id="u")] == [bees.id]
    with pytest.raises(ValueError, match="positive number"):
        mem.forget(user_id="u", weaker_than=-1)


def test_strength_is_a_ranking_prior_only_when_asked_for(tmp_path, hashing):
    from memlm import Memory, MemoryConfig
    from memlm.config import RecallConfig

    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        [_shed] = m.add("note about the garden shed", user_id="u")
        [b] = m.add("note about the garden gate", user_id="u")
        for _ in range(5):
            m.store.note_recalls(m.tenant, [b.id], datetime.now(timezone.utc))
        plain = m.search("note about the garden", user_id="u")
        assert "strength" not in plain[0].reasons  # off by default
    config = MemoryConfig(recall=RecallConfig(strength_weight=0.5))
    with Memory(tmp_path / "m.db", encoder=hashing, config=config) as m:
        hits = m.search("note about the garden", user_id="u")
        assert hits[0].memory.id == b.id and hits[0].reasons["strength"] > hits[1].reasons["strength"]
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_list_pages_past_a_thousand_rows_with_expired_ones_first(mem):
    mem.add_many([f"expired note {i}" for i in range(50)], user_id="u", expires_at="2001-01-01")
    mem.add_many([f"kept note {i}" for i in range(1100)], user_id="u")
    page = mem.list(user_id="u", limit=10, offset=1085)
    assert [m.text for m in page] == [f"kept note {i}" for i in range(1085, 1095)]
    assert len(mem.list(user_id="u", limit=1000, offset=1000)) == 100
