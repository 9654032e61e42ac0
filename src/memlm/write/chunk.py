"""Splitting long texts into chunks the encoder can see whole (nothing is truncated)."""

from __future__ import annotations

import re
from collections.abc import Callable

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n{2,}")


def chunk_text(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> list[str]:
    """Split at sentence boundaries into pieces of at most ~max_tokens; words are never cut.

    A sentence longer than the budget is split between words. Joining the chunks with
    spaces gives back every word of the input, in order.
    """
    if count_tokens(text) <= max_tokens:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in _pieces(text, max_tokens, count_tokens):
        cost = count_tokens(piece)
        if current and size + cost > max_tokens:
            chunks.append(" ".join(current))
            current, size = [], 0
        current.append(piece)
        size += cost
    if current:
        chunks.append(" ".join(current))
    return chunks


def _pieces(text: str, max_tokens: int, count_tokens: Callable[[str], int]):
    """Sentences, with any sentence over budget broken into word runs."""
    for sentence in _SENTENCE.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if count_tokens(sentence) <= max_tokens:
            yield sentence
            continue
        words = sentence.split()
        step = max(1, max_tokens // 2)  # words cost >= 1 token; halve for subword-heavy text
        for start in range(0, len(words), step):
            yield " ".join(words[start : start + step])
