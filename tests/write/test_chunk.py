import re

import pytest

from memlm.encoders.hashing import estimate_tokens
from memlm.text import segment
from memlm.write.chunk import chunk_text


def count(text: str) -> int:
    return len(text.split())


def test_short_text_is_one_chunk():
    assert chunk_text("a short note.", 10, count) == ["a short note."]


def test_long_text_split_at_sentences_without_losing_words():
    text = " ".join(f"Sentence {i} has five words." for i in range(40))
    chunks = chunk_text(text, 20, count)
    assert len(chunks) > 5 and all(count(c) <= 20 for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_overlong_sentence_is_split_between_words():
    text = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_text(text, 10, count)
    assert all(count(c) <= 10 for c in chunks)
    assert " ".join(chunks).split() == text.split()


# --- Chinese and full-width punctuation ----------------------------------------------------


def han_count(text: str) -> int:
    """One token per character but spaces: a stand-in for WordPiece on Chinese."""
    return sum(not ch.isspace() for ch in text)


def assert_slices(chunks: list[str], text: str) -> None:
    """The chunks are slices of the text, in order, with only whitespace between them."""
    pos = 0
    for c in chunks:
        at = text.index(c, pos)
        assert text[pos:at].strip() == ""
        pos = at + len(c)
    assert text[pos:].strip() == ""


def test_chinese_sentences_are_cut_at_full_width_stops():
    text = "我今天去了超市。买了很多水果！你喜欢吃苹果吗？我更喜欢香蕉；它很甜。"
    chunks = chunk_text(text, 12, han_count)
    assert chunks == ["我今天去了超市。", "买了很多水果！", "你喜欢吃苹果吗？", "我更喜欢香蕉；它很甜。"]
    assert "".join(chunks) == text


def test_sentences_are_packed_up_to_the_budget():
    text = "我很好。" * 30  # 4 characters a sentence
    chunks = chunk_text(text, 10, han_count)
    assert all(c == "我很好。我很好。" for c in chunks[:-1])  # two sentences fit, a third does not
    assert "".join(chunks) == text


def test_a_closing_quote_stays_with_its_sentence():
    text = "他说：“我明天去北京。”然后就走了。她问：“真的吗？”"
    chunks = chunk_text(text, 14, han_count)
    assert chunks[0] == "他说：“我明天去北京。”"
    assert "".join(chunks) == text


def test_full_width_and_ascii_stops_next_to_chinese():
    text = "好的!然后我们去吃饭?可以.明天见。"
    chunks = chunk_text(text, 8, han_count)
    assert chunks == ["好的!", "然后我们去吃饭?", "可以.明天见。"]


def test_a_long_sentence_is_cut_at_commas_first():
    clause = "我们在公园里散步"
    text = "，".join([clause] * 40) + "。"
    chunks = chunk_text(text, 30, han_count)
    assert all(han_count(c) <= 30 for c in chunks)
    assert all(c.endswith("，") for c in chunks[:-1])  # at a clause boundary, not inside one
    assert "".join(chunks) == text


def test_long_chinese_text_without_punctuation_is_split_between_words():
    text = "我们今天下午在公园里散步然后去了一家新开的咖啡馆点了两杯拿铁和一块蛋糕聊了很多关于工作和家庭的事情" * 60
    chunks = chunk_text(text, 50, han_count)
    assert len(chunks) > 40 and all(han_count(c) <= 50 for c in chunks)
    assert "".join(chunks) == text  # never truncated
    assert_slices(chunks, text)
    bounds, pos = {0}, 0
    for word in segment(text).split():
        pos += len(word)
        bounds.add(pos)
    pos = 0
    for c in chunks[:-1]:
        pos += len(c)
        assert pos in bounds  # each cut falls between two segmented words


def test_mixed_scripts_emoji_and_full_width_text():
    text = ("Ana 上周去了 Lisbon😀，跑了半程马拉松！Then she said: it was great. "
            "她的狗Pepper很可爱（是一只比格犬）。") * 20
    chunks = chunk_text(text, 40, estimate_tokens)
    assert all(estimate_tokens(c) <= 40 for c in chunks)
    assert_slices(chunks, text)
    assert re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", text)


def test_english_decimals_and_abbreviated_numbers_are_not_sentence_ends():
    text = "Version 3.5 costs 1,000 yuan. " * 10
    chunks = chunk_text(text, 12, count)
    assert all(c == "Version 3.5 costs 1,000 yuan. Version 3.5 costs 1,000 yuan." for c in chunks)


@pytest.mark.parametrize("encoder", ["minilm", "e5"])
def test_real_tokenizers_chinese_chunks_fit_and_lose_nothing(encoder, request):
    enc = request.getfixturevalue(encoder)
    text = ("我对花生过敏所以从来不吃花生酱我住在上海浦东每天坐地铁去公司上班周末喜欢去西湖边散步" * 40
            + "。我的妹妹在北京读大学，她学的是计算机。" * 10)
    chunks = chunk_text(text, 64, enc.count_tokens)
    assert len(chunks) > 5 and all(enc.count_tokens(c) <= 64 for c in chunks)
    assert "".join(chunks) == text
    # packed by the tokenizer's count of the whole slice: no chunk but the last is far under budget
    assert all(enc.count_tokens(c) > 32 for c in chunks[:-1] if not c.endswith("。"))
