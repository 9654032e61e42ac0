"""Query plans: content words for BM25, speaker names turned into a speaker preference."""

from __future__ import annotations

import re

from memlm.recall import query
from memlm.recall.query import lexical_terms, plan

SPEAKERS = frozenset({"Caroline", "Melanie", "Ana Maria", "Ana", "O'Brien", "Dr. Smith"})


def _named_by_regex(q: str, speakers: frozenset[str]) -> set[str]:
    """The definition: a name (or its possessive) appears in the query as whole words."""
    return {s for s in speakers if re.search(rf"\b{re.escape(s)}(?:['\u2019]s)?\b", q, re.IGNORECASE)}


def test_a_named_speaker_becomes_a_preference_and_leaves_both_queries():
    p = plan("What did Caroline's sister paint?", SPEAKERS)
    assert p.speaker == "Caroline" and "caroline" not in p.terms and "Caroline" not in p.dense_text
    assert p.terms == ["sister", "paint"]
    two = plan("When did Caroline and Melanie meet?", SPEAKERS)
    assert two.speaker is None and "melanie" not in two.terms


def test_names_match_as_the_per_name_pattern_does():
    queries = ["what did ana maria say", "ana's dog", "Is O'Brien's car red?", "did dr. smith call",
               "anatomy class", "smith", "banana", "ANA MARIA and Melanie", "Caroline\u2019s job"]
    assert set(query._speaker_index(SPEAKERS)[0]["ana"]) == {"Ana Maria", "Ana"}
    for q in queries:
        named = _named_by_regex(q, SPEAKERS)
        p = plan(q, SPEAKERS)
        assert p.speaker == (next(iter(named)) if len(named) == 1 else None), q


def test_hundreds_of_speakers_are_indexed_once_per_speaker_set():
    many = frozenset(f"Speaker{i} Surname{i}" for i in range(800)) | SPEAKERS
    query._speaker_index.cache_clear()
    for q in ["what did Speaker7 Surname7 say about Melanie", "what did Speaker12 Surname12 do"] * 20:
        named = _named_by_regex(q, many)
        assert plan(q, many).speaker == (next(iter(named)) if len(named) == 1 else None)
    assert query._speaker_index.cache_info().misses == 1


def test_lexical_terms_drop_stop_words_and_possessives():
    assert lexical_terms("What is Caroline's favourite book, and the book's author?") == [
        "caroline", "favourite", "book", "author"]


def test_lexical_terms_drop_chinese_stop_and_question_words():
    assert lexical_terms("我不能吃什么？") == ["吃"]
    assert lexical_terms("我住在哪里？") == ["住"]
    assert lexical_terms("你还记得我对什么过敏吗") == ["过敏"]
    assert lexical_terms("为什么我的猫不吃东西了") == ["猫", "不吃", "东西"]  # a one-character Chinese word is a word
    assert lexical_terms("上海浦东有哪些好吃的？") == ["上海浦东", "好吃"]
    assert lexical_terms("What does Ana eat in 上海?") == ["ana", "eat", "上海"]
    for word in ("我", "你", "的", "了", "吗", "什么", "哪里", "哪些", "怎么", "为什么"):
        assert lexical_terms(word) == [], word
