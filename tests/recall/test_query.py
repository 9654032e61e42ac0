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


ZH_SPEAKERS = frozenset({"小明", "李雪", "张曼婷", "Ana", "AI", "Ana Maria"})


def test_a_speaker_named_in_a_chinese_question():
    p = plan("小明昨天去了哪里？", ZH_SPEAKERS)
    assert p.speaker == "小明"
    assert "小明" not in p.dense_text and "昨天" in p.dense_text
    assert "小明" not in p.terms


def test_a_chinese_name_the_segmenter_glues_to_the_next_word():
    # rjieba cuts 李雪去了厦门 as 李雪去 / 了 / 厦门: the name is found as a substring all the same,
    # and leaves the lexical terms whole rather than as the glued word
    p = plan("李雪去了厦门吗", ZH_SPEAKERS)
    assert p.speaker == "李雪"
    assert "厦门" in p.terms and not any("李雪" in t for t in p.terms)
    assert "李雪" not in p.dense_text


def test_a_latin_name_inside_chinese_text():
    p = plan("Ana上周说了什么", ZH_SPEAKERS)
    assert p.speaker == "Ana" and "ana" not in p.terms and "Ana" not in p.dense_text
    assert plan("Ana的狗叫什么名字", ZH_SPEAKERS).speaker == "Ana"
    assert plan("我问了AI什么问题", ZH_SPEAKERS).speaker == "AI"
    # letters on both sides still make a longer word, as in English
    assert plan("Anatomy课上讲了什么", ZH_SPEAKERS).speaker is None
    assert plan("我喜欢 banana 吗", ZH_SPEAKERS).speaker is None


def test_two_speakers_named_in_chinese_give_no_preference():
    p = plan("小明和张曼婷什么时候见面的？", ZH_SPEAKERS)
    assert p.speaker is None
    assert "小明" not in p.dense_text and "张曼婷" not in p.dense_text


def test_mixed_language_questions_name_speakers():
    assert plan("What did 小明 say about the trip?", ZH_SPEAKERS).speaker == "小明"
    assert plan("张曼婷's favourite film", ZH_SPEAKERS).speaker == "张曼婷"
    assert plan("what did Ana Maria say 上周", ZH_SPEAKERS).speaker is None  # Ana and Ana Maria, as in English


def test_no_speaker_in_a_chinese_question():
    p = plan("我对什么过敏？", ZH_SPEAKERS)
    assert p.speaker is None and p.dense_text == "我对什么过敏？"


def test_a_question_that_is_only_a_chinese_name_is_kept_whole():
    p = plan("小明？", ZH_SPEAKERS)
    assert p.speaker == "小明" and p.dense_text == "小明？"


def test_full_width_punctuation_and_emoji_around_names():
    assert plan("（小明）昨天说了什么？！", ZH_SPEAKERS).speaker == "小明"
    assert plan("😀Ana😀上周去了哪里", ZH_SPEAKERS).speaker == "Ana"
    assert plan("😀😀😀", ZH_SPEAKERS).speaker is None


def test_english_speakers_are_not_found_inside_chinese_words_wrongly():
    # the per-name pattern for an English name still treats letters and digits as word parts
    assert query._name_pattern("Ana").search("ana上周") is not None
    assert query._name_pattern("Ana").search("上周ana") is not None
    assert query._name_pattern("Ana").search("上周ana2") is None
    assert query._name_pattern("Ana").search("上周_ana") is None
    assert query._name_pattern("小明").search("我和小明") is not None
