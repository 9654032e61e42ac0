"""The README's paragraph on what scores mean, recomputed with the real encoders: every figure it
quotes is read out of README.md and compared with what the code gives for the README's memories.
The int8 e5 graph's numbers move by about 0.01 between CPUs (tests/encoders), hence the tolerance."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memlm import Memory

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
PARAGRAPH = README[README.index("**Scores rank;"):README.index("`add_many(items")]
EAT, BIKE = "what can I not eat?", "how do I fix a flat bike tyre?"
TOL = 0.03


def quoted(pattern: str) -> float:
    match = re.search(pattern, PARAGRAPH.replace("\n", " "))
    assert match, f"README's scores paragraph lost {pattern!r}"
    return float(match.group(1))


def readme_memories(tmp_path: Path, encoder) -> Memory:
    mem = Memory(tmp_path / "readme.db", encoder=encoder)
    mem.add("I am allergic to peanuts", user_id="ana")
    mem.add([{"role": "user", "content": "We adopted a beagle called Pepper"},
             {"role": "assistant", "content": "Congratulations! How is she settling in?"}],
            user_id="ana", session_id="2023-06-03", occurred_at="2023-06-03 10:15")
    mem.add("I live in Lisbon now", user_id="ana")
    assert len(mem.list(user_id="ana")) == 4 and "four memories above" in PARAGRAPH
    return mem


def test_e5_scores_rank_but_an_unrelated_question_can_score_higher(tmp_path, e5):
    with readme_memories(tmp_path, e5) as mem:
        eat, bike = mem.search(EAT, user_id="ana"), mem.search(BIKE, user_id="ana")
        assert eat[0].memory.text == "I am allergic to peanuts"  # ranking works
        assert eat[0].score == pytest.approx(quoted(r"allergy first at (0\.\d+)"), abs=TOL)
        assert bike[0].score == pytest.approx(quoted(r"tyre\?\" scores (0\.\d+)"), abs=TOL)
        assert bike[0].score > eat[0].score  # what the paragraph warns about
        assert eat[0].reasons["dense"] == pytest.approx(quoted(r"band \((0\.\d+) for the allergy"), abs=TOL)
        assert bike[0].reasons["dense"] == pytest.approx(quoted(r"(0\.\d+) for the bike tyre"), abs=TOL)
        assert abs(eat[0].reasons["dense"] - bike[0].reasons["dense"]) < 0.05  # "a narrow band"
        assert eat[0].reasons.get("lexical", 0) == 0 == bike[0].reasons.get("lexical", 0)


def test_minilm_dense_cosines_separate_related_from_unrelated(tmp_path, minilm_encoder):
    related = quoted(r"related texts at about (0\.\d+) and up")
    unrelated = quoted(r"best matches at (0\.\d+) and below")
    with readme_memories(tmp_path, minilm_encoder) as mem:
        eat = mem.search(EAT, user_id="ana")[0]
        assert eat.memory.text == "I am allergic to peanuts"
        assert eat.reasons["dense"] == pytest.approx(quoted(r"\((0\.\d+) for the allergy\)"), abs=TOL)
        asked = [(EAT, "peanuts"), ("what is the dog called?", "Pepper"), ("where do I live?", "Lisbon")]
        for question, answer in asked:
            top = mem.search(question, user_id="ana")[0]
            assert answer in top.memory.text and top.reasons["dense"] >= related - TOL, (question, top.reasons)
        for question in (BIKE, "what is the capital of Peru?"):
            best = max(h.reasons.get("dense", 0.0) for h in mem.search(question, user_id="ana"))
            assert best <= unrelated, (question, best)
