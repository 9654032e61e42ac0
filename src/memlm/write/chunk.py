"""Splitting long texts into chunks the encoder can see whole (nothing is truncated).

A text over budget is cut at the strongest boundary that makes its pieces fit: sentences
(". ", "!", "?", and in Chinese 。！？；… with any closing quote), then clauses (，、： and
", "), then words (spaces; a Chinese run is cut between the words the segmenter finds, so
a long unpunctuated Chinese text is split between words, never inside one). Pieces are
packed into chunks as large as the budget allows, measured by the encoder's own tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from memlm.text import has_han, segment

Span = tuple[int, int]
Counter = Callable[[str], int]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_CLOSE = "”’」』）】》〉\"')\\]"  # closing quotes and brackets stay with the sentence they end
_SENTENCE_END = re.compile(rf"[。！？；…]+[{_CLOSE}]*|[.!?]+[{_CLOSE}]*(?=\s|$|[{_HAN}])|\n{{2,}}")
_CLAUSE_END = re.compile(r"[，、：]+|[,;:](?=\s)")
_WORD = re.compile(r"\S+")


def chunk_text(text: str, max_tokens: int, count_tokens: Counter) -> list[str]:
    """Split at sentence boundaries into pieces of at most ~max_tokens; words are never cut.

    A sentence longer than the budget is split at clauses, then between words (Chinese
    words as segmented). The chunks are slices of the text, in order, with only whitespace
    between them: nothing is lost (an English text's chunks joined with spaces give back its
    words; an unspaced Chinese text's chunks joined with "" give back the text). Only a single
    word longer than the budget makes a chunk over it.
    """
    if count_tokens(text) <= max_tokens:
        return [text]
    units = list(_units(text, 0, len(text), 0, max_tokens, count_tokens))
    return [text[a:b] for a, b in _pack(text, units, max_tokens, count_tokens)]


def _sentences(text: str, start: int, end: int) -> Iterator[Span]:
    return _cut_after(text, start, end, _SENTENCE_END)


def _clauses(text: str, start: int, end: int) -> Iterator[Span]:
    return _cut_after(text, start, end, _CLAUSE_END)


def _words(text: str, start: int, end: int) -> Iterator[Span]:
    """Whitespace-separated words; a word with Chinese in it as its segmented words."""
    for m in _WORD.finditer(text, start, end):
        word = m.group(0)
        parts = segment(word).split() if has_han(word) else [word]
        if "".join(parts) != word:  # cannot happen (segment only adds spaces); keep the word whole
            parts = [word]
        pos = m.start()
        for part in parts:
            yield pos, pos + len(part)
            pos += len(part)


_LEVELS = (_sentences, _clauses, _words)


def _cut_after(text: str, start: int, end: int, boundary: re.Pattern[str]) -> Iterator[Span]:
    """text[start:end] cut after each boundary match, each piece without its outer whitespace."""
    pos = start
    for m in boundary.finditer(text, start, end):
        yield from _stripped(text, pos, m.end())
        pos = m.end()
    yield from _stripped(text, pos, end)


def _stripped(text: str, a: int, b: int) -> Iterator[Span]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if a < b:
        yield a, b


def _units(text: str, start: int, end: int, level: int, budget: int, count: Counter) -> Iterator[Span]:
    """Spans of text[start:end] (over budget) within budget: this level's pieces, those over it
    cut at the next level. A level that finds no boundary passes the span on uncounted (counting
    a long text can take seconds)."""
    pieces = list(_LEVELS[level](text, start, end))
    last = level == len(_LEVELS) - 1
    if not last and len(pieces) == 1 and text[start:end].strip() == text[pieces[0][0]:pieces[0][1]]:
        yield from _units(text, *pieces[0], level + 1, budget, count)
        return
    for a, b in pieces:
        if last or count(text[a:b]) <= budget:
            yield a, b
        else:
            yield from _units(text, a, b, level + 1, budget, count)


def _pack(text: str, units: list[Span], budget: int, count: Counter) -> Iterator[Span]:
    """Consecutive units joined into the longest slices that fit, measured as whole slices (a
    subword tokenizer may count a slice as fewer tokens than its parts). The search starts from
    the previous chunk's length (chunks of one text are alike: ~3 counts a chunk), gallops
    up or down from it, then bisects."""
    i, n, guess = 0, len(units), 1

    def fits(k: int) -> bool:  # units i .. i+k-1 as one slice (one unit always: it cannot be cut)
        return k == 1 or count(text[units[i][0]:units[i + k - 1][1]]) <= budget

    while i < n:

        guess = min(guess, n - i)
        if fits(guess):  # good fits; bad does not, or is past the end
            good, step = guess, 1
            while good + step <= n - i and fits(good + step):
                good, step = good + step, step * 2
            bad = min(good + step, n - i + 1)
        else:
            bad, step = guess, 1
            while bad - step > 1 and not fits(bad - step):
                bad, step = bad - step, step * 2
            good = max(1, bad - step)
        while bad - good > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if fits(mid) else (good, mid)
        yield units[i][0], units[i + good - 1][1]
        i += good
        guess = good
