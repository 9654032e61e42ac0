"""The write gate: when in doubt ADD; NOOP only for the same statement; UPDATE only for a new
value of the same subject's single-valued attribute. English and Chinese alike."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from tests.conftest import SHARED_DATA
from tests.llm.doubles import ScriptedLLM

from memlm import GateConfig, Memory, MemoryConfig
from memlm.bench.gate import load_pairs, run

PAIRS = Path(__file__).resolve().parents[2] / "benchmarks" / "gate"

DISTINCT = [  # each pair: two facts that are both true (the losses, and their kind)
    ("I am allergic to peanuts", "I am allergic to penicillin"),
    ("I am allergic to peanuts", "I am allergic to shellfish"),
    ("My sister lives in Rome", "My brother lives in Rome"),
    ("I work at Google", "My wife works at Google"),
    ("I speak Spanish", "I speak Japanese"),
    ("我姐姐住在北京", "我哥哥住在北京"),
    ("我每天早上喝咖啡", "我每天晚上喝绿茶"),
    ("我对花生过敏", "我对青霉素过敏"),
    ("I moved to Canada in 2015", "I moved to Toronto in 2018"),
    ("I live in Paris", "I want to live in Tokyo"),
]
UPDATES = [
    ("I live in Paris", "I moved to Berlin"),
    ("我今年三十岁", "我今年三十一岁"),
    ("我住在北京", "我搬到了上海"),
    ("My manager is Sarah", "My manager is now Tom"),
    ("I eat meat", "I no longer eat meat"),
    ("我的手机号是13511112222", "我的手机号换成了13633334444"),
]


@pytest.mark.parametrize("old, new", DISTINCT)
def test_distinct_facts_are_both_kept(mem, old, new):
    [a] = mem.add(old, user_id="u")
    [b] = mem.add(new, user_id="u")
    assert (a.event, b.event) == ("ADD", "ADD")
    assert {m.text for m in mem.list(user_id="u")} == {old, new}


@pytest.mark.parametrize("old, new", UPDATES)
def test_a_new_value_of_a_single_valued_attribute_updates_and_keeps_history(mem, old, new):
    [a] = mem.add(old, user_id="u")
    [b] = mem.add(new, user_id="u")
    assert (b.event, b.id, b.previous) == ("UPDATE", a.id, old)
    assert [m.text for m in mem.list(user_id="u")] == [new]
    assert [(h.event, h.old_text) for h in mem.history(a.id)] == [("ADD", None), ("UPDATE", old)]


def test_add_many_keeps_every_distinct_fact(mem):
    events = mem.add_many(["fact one", "fact two about cats"], user_id="u")
    assert [e.event for e in events] == ["ADD", "ADD"] and len(mem.list(user_id="u")) == 2


def test_the_same_statement_is_a_noop_in_both_languages(mem):
    for old, new in (("I'm vegetarian", "I am a vegetarian."), ("I live in Paris", "I moved to Paris"),
                     ("我住在上海", "我现在住在上海"), ("我三十岁", "我今年30岁")):
        [a] = mem.add(old, user_id=old)
        [b] = mem.add(new, user_id=old)
        assert (b.event, b.id) == ("NOOP", a.id), (old, new)


def test_updates_can_be_turned_off(tmp_path, hashing):
    with Memory(tmp_path / "m.db", encoder=hashing, config=MemoryConfig(gate=GateConfig(updates=False))) as m:
        m.add("I live in Paris", user_id="u")
        assert m.add("I moved to Berlin", user_id="u")[0].event == "ADD"
        assert m.add("I live in Paris", user_id="u")[0].event == "NOOP"


@pytest.mark.parametrize("name", ["pairs.jsonl", "heldout.jsonl", "blind.jsonl"])
def test_the_labelled_pairs_lose_nothing(mem, name):
    pairs = load_pairs(PAIRS / name)
    result = run(mem, pairs)
    assert set(result) == {"en", "zh"}
    for lang, stats in result.items():
        assert stats["losses"] == 0, (lang, stats["wrong"])
        assert stats["right_share"] >= 0.9, (lang, stats["wrong"])
    if name == "pairs.jsonl":
        assert len(pairs) >= 150 and {p["label"] for p in pairs} == {"ADD", "UPDATE", "NOOP"}


def test_random_distinct_sentences_are_not_dropped(mem):
    """Tatoeba's first-person sentences, as one user's facts: none is a NOOP (dropped)."""
    path = SHARED_DATA / "tatoeba-cmn" / "cmn.txt"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    for col, pattern in ((0, r"^(?:I|My|I'm|I've) "), (1, r"^我")):
        pool = sorted({r[col].strip() for r in rows if len(r) > col and re.match(pattern, r[col])
                       and len(r[col]) > (12 if col == 0 else 6)})
        sample = random.Random(col).sample(pool, 100)
        events = mem.add_many(sample, user_id=f"u{col}")
        kept = {m.text for m in mem.list(user_id=f"u{col}", limit=1000)}
        dropped = [t for t, e in zip(sample, events) if e.event == "NOOP"]
        assert dropped == [] and len(kept) >= 98, (dropped, set(sample) - kept)


def turn(text):
    return [{"role": "Ana", "content": text}]


def test_an_llm_update_of_another_value_of_a_multi_valued_relation_is_refused(tmp_path, hashing):
    llm = ScriptedLLM(facts=['["Ana is allergic to peanuts"]', '["Ana is allergic to penicillin"]'],
                      decide=["UPDATE 0"])
    with Memory(tmp_path / "x.db", encoder=hashing, llm=llm) as m:
        [_, old] = m.add(turn("I'm allergic to peanuts"), user_id="ana", extract=True)
        [_, new] = m.add(turn("I'm allergic to penicillin"), user_id="ana", extract=True)
        assert new.event == "ADD" and new.id != old.id
        assert "refused" in new.note and "allergy" in new.note
        assert {f.text for f in m.list(user_id="ana", kinds=["fact"])} == {"Ana is allergic to peanuts",
                                                                           "Ana is allergic to penicillin"}


def test_an_llm_delete_of_another_subjects_fact_is_refused(tmp_path, hashing):
    llm = ScriptedLLM(facts=['["My sister lives in Rome"]', '["My brother lives in Rome"]'], decide=["DELETE 0"])
    with Memory(tmp_path / "x.db", encoder=hashing, llm=llm) as m:
        [_, old] = m.add(turn("My sister lives in Rome"), user_id="ana", extract=True)
        events = m.add(turn("My brother lives in Rome"), user_id="ana", extract=True)
        assert [e.event for e in events] == ["ADD", "ADD"] and "different subject" in events[1].note
        assert m.get(old.id).valid_to is None


def test_an_llm_update_that_the_rule_allows_stands(tmp_path, hashing):
    llm = ScriptedLLM(facts=['["Ana lives in Paris"]', '["Ana lives in Berlin now"]'], decide=["UPDATE 0"])
    with Memory(tmp_path / "x.db", encoder=hashing, llm=llm) as m:
        [_, old] = m.add(turn("I live in Paris"), user_id="ana", extract=True)
        [_, new] = m.add(turn("I live in Berlin now"), user_id="ana", extract=True)
        assert (new.event, new.id, new.note) == ("UPDATE", old.id, None)


@pytest.mark.parametrize("first, second", [("I live in Paris", "I live in Berlin"),
                                           ("I live in Berlin", "I live in Paris"),
                                           ("我住在北京", "我住在上海")])
def test_recall_puts_the_newer_of_two_current_values_first(tmp_path, hashing, first, second):
    """Two current values of one attribute, stored before the gate replaced such facts."""
    old_gate = MemoryConfig(gate=GateConfig(updates=False))
    with Memory(tmp_path / "m.db", encoder=hashing, config=old_gate) as m:
        m.add(first, user_id="u", occurred_at="2023-01-01")
        m.add("I like tea", user_id="u", occurred_at="2023-06-01")
        [newer] = m.add(second, user_id="u", occurred_at="2024-01-01")
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        for query in ("where do I live now?", "我现在住在哪里？"):
            hits = [h for h in m.search(query, user_id="u") if h.memory.text in (first, second)]
            assert [h.memory.id for h in hits][0] == newer.id
            assert hits[0].score >= hits[1].score
        scores = [h.score for h in m.search("where do I live now?", user_id="u")]
        assert scores == sorted(scores, reverse=True)
