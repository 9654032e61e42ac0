"""Fact extraction and the LLM fact gate, with scripted answers of every kind."""

from __future__ import annotations

import pytest
from tests.llm.doubles import ScriptedLLM

from memlm import Memory
from memlm.write.extract import grounded, parse_facts, parse_op


def test_parse_facts_accepts_lists_and_objects_and_refuses_the_rest():
    assert parse_facts('["Ana has a dog", "Ana lives in Lisbon"]') == ["Ana has a dog", "Ana lives in Lisbon"]
    assert parse_facts('Sure! ```json\n{"facts": ["Ana has a dog"]}\n```') == ["Ana has a dog"]
    assert parse_facts("[]") == []
    for bad in ("", "Ana has a dog", '["Ana has a dog"', '{"facts": "Ana"}', '[1, 2]', '{"x": []}', '["ok", ""]'):
        with pytest.raises(ValueError):
            parse_facts(bad)


def test_parse_op_checks_the_operation_and_the_index():
    assert parse_op("DELETE 0", 2).model_dump() == {"op": "DELETE", "index": 0}
    assert parse_op(" update 1\n", 2).op == "UPDATE"
    assert parse_op('{"op": "noop", "index": 1}', 2).index == 1
    assert parse_op("ADD", 2).index is None
    for bad in ("", "UPDATE", "DELETE 5", "REPLACE 0", '{"op": "UPDATE"}'):
        with pytest.raises(ValueError):
            parse_op(bad, 2)


def test_grounded_facts_come_from_what_was_said():
    said = "I just moved to Lisbon with my dog Rex"
    assert grounded("Ana moved to Lisbon", said, "Ana")
    assert not grounded("Tom works as a nurse", said, "Ana")  # a copied example


def turn(text, role="Ana"):
    return [{"role": role, "content": text}]


@pytest.fixture
def scripted(tmp_path, hashing):
    def make(**answers):
        return Memory(tmp_path / "x.db", encoder=hashing, llm=ScriptedLLM(**answers))
    return make


def test_facts_are_added_with_provenance_and_the_assistant_is_not_mined(scripted):
    m = scripted(facts=['["Ana lives in Lisbon", "Ana has a dog named Rex", "Tom works as a nurse"]'])
    events = m.add(turn("I live in Lisbon and have a dog named Rex") + turn("Nice!", "assistant"),
                   user_id="ana", session_id="s1", occurred_at="2024-01-02", extract=True)
    assert [(e.event, e.kind) for e in events] == [("ADD", "episode"), ("ADD", "episode"), ("ADD", "fact"),
                                                    ("ADD", "fact")]  # the ungrounded third fact is dropped
    fact = m.get(events[2].id)
    assert fact.source_ids == [events[0].id] and fact.occurred_at.year == 2024
    assert fact.metadata["extracted_by"] == "scripted:test" and fact.metadata["prompt_version"]
    assert m.llm.asked("facts") == 1  # one user turn, one question


def test_a_contradicted_fact_is_superseded_not_erased(scripted):
    m = scripted(facts=['["Ana lives in Paris"]', '["Ana lives in Berlin now"]'], decide=["DELETE 0"])
    [_, old] = m.add(turn("I live in Paris"), user_id="ana", session_id="s1", extract=True)
    events = m.add(turn("I live in Berlin now"), user_id="ana", session_id="s2", extract=True)
    assert [e.event for e in events] == ["ADD", "ADD", "SUPERSEDE"]
    new, gone = events[1], events[2]
    assert gone.id == old.id
    assert [h.memory.text for h in m.search("where does Ana live", user_id="ana", kinds=["fact"])] == [new.text]
    kept = m.get(old.id)
    assert kept.valid_to is not None and kept.superseded_by == new.id
    assert [h.event for h in m.history(old.id)] == ["ADD", "SUPERSEDE"]
    again = m.search("where did Ana live", user_id="ana", kinds=["fact"], include_superseded=True)
    assert {h.memory.id for h in again} == {old.id, new.id}


def test_update_and_noop_decisions(scripted):
    m = scripted(facts=['["Ana has a dog named Rex"]', '["Ana has a dog named Rex, a beagle"]',
                        '["Ana has a dog named Rex, a beagle puppy"]'], decide=["UPDATE 0", "NOOP 0"])
    [_, first] = m.add(turn("I have a dog named Rex"), user_id="ana", extract=True)
    [_, up] = m.add(turn("Rex is a beagle"), user_id="ana", extract=True)
    assert (up.event, up.id, up.previous) == ("UPDATE", first.id, "Ana has a dog named Rex")
    assert m.history(first.id)[-1].old_text == "Ana has a dog named Rex"
    assert len(m.get(first.id).source_ids) == 2  # provenance from both turns
    [_, same] = m.add(turn("Rex the beagle is a puppy"), user_id="ana", extract=True)
    assert (same.event, same.id) == ("NOOP", first.id)


def test_invalid_output_is_retried_once(scripted):
    m = scripted(facts=["I think Ana likes tea", '["Ana likes green tea"]'])
    events = m.add(turn("I like green tea"), user_id="ana", extract=True)
    assert [e.event for e in events] == ["ADD", "ADD"] and events[1].text == "Ana likes green tea"
    temps = [t for task, _, t in m.llm.calls if task == "facts"]
    assert temps[0] == 0.0 and temps[1] > 0  # the retry samples, so it is not the same answer again


@pytest.mark.parametrize("answers", [["{not json", "still not json"], ["", ""], ["<error>"],
                                     ['["' + "tea " * 200 + '"]', '["' + "tea " * 200 + '"]']])
def test_bad_output_twice_keeps_the_episode_and_says_so(scripted, answers):
    m = scripted(facts=list(answers))
    events = m.add(turn("I like green tea"), user_id="ana", extract=True)
    assert [e.event for e in events] == ["ADD"]
    assert events[0].note and "fact extraction failed" in events[0].note
    assert [r.kind for r in m.list(user_id="ana")] == ["episode"]


def test_an_invalid_decision_falls_back_to_the_similarity_rule(scripted):
    m = scripted(facts=['["Ana lives in Paris"]', '["Ana lives in Berlin"]'], decide=["MAYBE", "REPLACE 7"])
    [_, old] = m.add(turn("I live in Paris"), user_id="ana", extract=True)
    events = m.add(turn("I live in Berlin"), user_id="ana", extract=True)
    assert events[1].note and "similarity rule" in events[1].note
    assert (events[1].event, events[1].id) == ("UPDATE", old.id)  # the gate's rule: a restatement with a change


def test_repeated_facts_in_one_batch_are_written_once(scripted):
    m = scripted(facts=['["Ana likes tea", "Ana likes tea"]', '["ana likes  tea"]'])
    events = m.add(turn("I like tea") + turn("Yes, tea, I like tea"), user_id="ana", extract=True)
    assert sum(e.kind == "fact" for e in events) == 1


def test_extraction_needs_an_llm(mem):
    with pytest.raises(ValueError, match="needs an LLM"):
        mem.add(turn("I like tea"), user_id="ana", extract=True)
