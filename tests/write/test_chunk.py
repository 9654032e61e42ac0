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
