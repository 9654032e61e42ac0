"""Consolidation: a session becomes one summary memory linked to its episodes."""

from __future__ import annotations

import pytest
from tests.llm.doubles import ScriptedLLM

from memlm import Memory

TALK = [{"role": "Ana", "content": "I adopted a beagle puppy called Rex today."},
        {"role": "Ben", "content": "Congratulations! Are you training him?"},
        {"role": "Ana", "content": "Yes, obedience classes start on Monday."},
        {"role": "Ben", "content": "My cat Tom will be jealous."}]


def fill(m: Memory) -> list[str]:
    return [e.id for e in m.add(TALK, user_id="ana", session_id="s1", occurred_at="2023-05-08")]


def test_without_an_llm_the_summary_is_extractive_and_linked(mem):
    ids = fill(mem)
    event = mem.consolidate(user_id="ana", session_id="s1")
    summary = mem.get(event.id)
    assert (event.event, summary.kind, summary.session_id) == ("ADD", "summary", "s1")
    assert summary.source_ids == ids and summary.metadata["method"] == "extractive"
    assert summary.text.startswith("Session of 2023-05-08") and "Rex" in summary.text
    assert mem.search("puppy", user_id="ana", kinds=["summary"])[0].memory.id == event.id


def test_an_llm_summary_is_checked_and_a_bad_one_replaced(tmp_path, hashing):
    good = "On 2023-05-08 Ana adopted a beagle puppy called Rex; obedience classes start Monday."
    llm = ScriptedLLM(summary=["", "la la la la la la la la la la la la la la la la", good])
    m = Memory(tmp_path / "s.db", encoder=hashing, llm=llm)
    fill(m)
    first = m.consolidate(user_id="ana", session_id="s1")
    assert m.get(first.id).metadata["method"] == "extractive" and "rejected" in first.note
    again = m.consolidate(user_id="ana", session_id="s1")
    assert (again.event, again.id, again.text) == ("UPDATE", first.id, good)
    assert m.get(first.id).metadata["method"] == "llm" and m.history(first.id)[-1].old_text == first.text


def test_ungrounded_summaries_are_refused(tmp_path, hashing):
    llm = ScriptedLLM(summary=["The stock market rallied as investors cheered earnings."] * 2)
    m = Memory(tmp_path / "s.db", encoder=hashing, llm=llm)
    fill(m)
    event = m.consolidate(user_id="ana", session_id="s1")
    assert "not grounded" in event.note and m.get(event.id).metadata["method"] == "extractive"


def test_consolidate_needs_a_session_with_turns(mem):
    with pytest.raises(ValueError, match="no turns"):
        mem.consolidate(user_id="ana", session_id="empty")
