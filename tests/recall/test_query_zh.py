"""Query plans in Chinese and mixed text: speakers named without spaces around them."""

from __future__ import annotations

from memlm.recall import query
from memlm.recall.query import plan

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
