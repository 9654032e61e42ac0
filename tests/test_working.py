"""Working memory and context assembly under a token budget."""

from __future__ import annotations

import pytest


def test_session_keeps_recent_turns_within_budget_and_old_ones_stay_in_long_term(mem):
    wm = mem.session("u", "chat-1", budget_tokens=60)
    for i in range(20):
        wm.add("user", f"message number {i} about the garden and tomatoes")
    turns = wm.turns()
    assert 0 < len(turns) < 20
    assert turns[-1].text == "message number 19 about the garden and tomatoes"  # newest kept
    assert [t.text for t in turns] == [f"message number {i} about the garden and tomatoes"
                                       for i in range(20 - len(turns), 20)]
    cost = sum(mem.encoder.count_tokens(f"[x] user: {t.text}") for t in turns)
    assert cost <= 60 + len(turns) * 4
    episodes = mem.list(user_id="u", session_id="chat-1", kinds=["episode"], limit=100)
    assert len(episodes) == 20  # fell out, still remembered
    [summary] = mem.list(user_id="u", session_id="chat-1", kinds=["summary"])  # and summarised (no LLM: extractive)
    assert episodes[0].id in summary.source_ids and summary.metadata["method"] == "extractive"
    assert "garden" in summary.text


def test_working_memory_survives_a_new_handle(tmp_path, hashing):
    from memlm import Memory

    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        m.session("u", "s", budget_tokens=200).add("user", "remember the blue door")
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        assert [t.text for t in m.session("u", "s", budget_tokens=200).turns()] == ["remember the blue door"]


@pytest.mark.parametrize("budget", [12, 40, 120, 400])
def test_context_never_exceeds_budget(mem, budget):
    for s in range(3):
        for i in range(15):
            mem.add({"role": "user", "content": f"In session {s} I talked about travel plan {i} to Japan and Kyoto"},
                    user_id="u", session_id=f"s{s}", occurred_at=f"2024-0{s + 1}-01")
    ctx = mem.context("travel to Kyoto", user_id="u", session_id="s2", budget_tokens=budget)
    assert ctx.tokens == (mem.encoder.count_tokens(ctx.text) if ctx.text else 0)
    assert ctx.tokens <= budget


def test_context_has_working_memory_then_dated_recall(mem):
    mem.add({"role": "user", "content": "My sister Lena lives in Oslo"}, user_id="u", session_id="old",
            occurred_at="2023-01-05")
    wm = mem.session("u", "now", budget_tokens=500)
    wm.add("user", "I am planning a trip north")
    wm.add("assistant", "Where would you like to go?")
    ctx = mem.context("visit my sister Lena in Oslo", user_id="u", session_id="now", budget_tokens=500)
    text = ctx.text
    assert text.index("Current session") < text.index("Recalled from long-term memory")
    assert "I am planning a trip north" in text and "[2023-01-05] (episode) user: My sister Lena lives in Oslo" in text
    assert [h.memory.text for h in ctx.recalled][0] == "My sister Lena lives in Oslo"
    assert all(h.memory.session_id != "now" for h in ctx.recalled)  # working turns are not repeated


def test_context_errors(mem):
    with pytest.raises(ValueError):
        mem.context("q", user_id="u", budget_tokens=0)
    with pytest.raises(ValueError, match="session_id"):
        mem.session("u", None)


def test_recalled_question_brings_its_answer(mem):
    mem.add([{"role": "Ben", "content": "What breed is your new dog?"},
             {"role": "Ana", "content": "A beagle named Pepper"}],
            user_id="u", session_id="s1", occurred_at="2023-06-03")
    ctx = mem.context("what breed is the dog", user_id="u", budget_tokens=300)
    assert "What breed is your new dog?\n  -> Ana: A beagle named Pepper" in ctx.text


def test_live_turns_are_dated_now(mem):
    from datetime import datetime, timedelta, timezone

    mem.session("u", "live", budget_tokens=100).add("user", "hello there")
    [turn] = mem.list(user_id="u", session_id="live")
    assert abs(turn.occurred_at - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_overflow_consolidates_only_after_enough_unsummarised_turns(mem):
    wm = mem.session("u", "s", budget_tokens=40, consolidate_every=4)
    for i in range(6):
        wm.add("user", f"note {i} on the weekly grocery list and the pantry")
    summaries = mem.list(user_id="u", session_id="s", kinds=["summary"])
    assert len(summaries) == 1  # one summary per session, updated rather than duplicated
    covered = set(summaries[0].source_ids)
    wm.add("user", "one more note about the pantry shelves")
    assert set(mem.list(user_id="u", session_id="s", kinds=["summary"])[0].source_ids) >= covered
    assert wm.end().event == "UPDATE"
    assert [h.event for h in mem.history(summaries[0].id)][0] == "ADD"
    never = mem.session("u", "t", budget_tokens=10, consolidate_every=0)
    for i in range(5):
        never.add("user", f"turn {i} of a long story about sailing boats")
    assert mem.list(user_id="u", session_id="t", kinds=["summary"]) == []
