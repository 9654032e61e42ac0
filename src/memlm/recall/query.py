"""What a query asks for: content words for BM25, text for the encoder, a named speaker.

Speaker names are special in conversation memory: half the turns carry each name, so a
name matches everything lexically and pulls the query vector towards every turn that
mentions it. The plan removes the owner's speaker names from both queries and turns a
name the question mentions into a speaker preference instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from memlm.text import STOPWORDS, ZH_STOPWORDS, has_han, words

# Question words and fillers that name no topic, in English and Chinese; dropped from lexical queries.
QUERY_STOPWORDS = (
    STOPWORDS
    | ZH_STOPWORDS
    | frozenset(
        "did does do kind type sort think would might may likely ever tell remember know describe "
        "s t d ll m re ve".split()
        + "曾经 以前 之前 还记得 记不记得 是什么 是谁 在哪 在哪里 在哪儿 干什么 做什么 怎么办 如何 几时 何时 "
        "多久 多长 为何 能不能 可不可以 吃什么 有什么 叫什么 到底 究竟 一般 通常 大概 关于 不能 不会 应该 可能 "
        "已经 还有".split()
    )
)


@dataclass(frozen=True)
class QueryPlan:
    terms: list[str]  # lexical terms (no stop words, no speaker names)
    dense_text: str  # what the encoder embeds (speaker names removed)
    speaker: str | None  # the one speaker the query names, if exactly one


def plan(query: str, speakers: AbstractSet[str]) -> QueryPlan:
    by_first_word, names, han_names = _speaker_index(frozenset(speakers))
    said = set(words(query))
    said |= {w[:-2] for w in said if w.endswith("'s")}
    maybe = {s for w in said for s in by_first_word.get(w, ())}  # a name can only match where its first word is
    folded = query.casefold()
    maybe |= {s for s in han_names if s.casefold() in folded}  # Chinese has no spaces: a name is a substring
    named = sorted(s for s in maybe if _name_pattern(s).search(query))
    lexical_query = query
    for s in named:
        if s in han_names:  # the segmenter may glue a Chinese name to the next word (李雪去了 -> 李雪去)
            lexical_query = _name_pattern(s).sub(" ", lexical_query)
    terms = [t for t in lexical_terms(lexical_query) if t not in names]
    dense = query
    for s in named:
        dense = _name_pattern(s).sub(" ", dense)
    dense = " ".join(dense.split())
    if len(words(dense)) < 2:  # the query was mostly a name: keep it whole
        dense = query
    return QueryPlan(terms, dense, named[0] if len(named) == 1 else None)


@functools.lru_cache(maxsize=64)
def _speaker_index(speakers: frozenset[str]) -> tuple[dict[str, tuple[str, ...]], frozenset[str], frozenset[str]]:
    """The speakers by the first word of their name, every word of every name, and the names
    written with Chinese characters (found by substring: segmentation cannot be trusted to cut a
    name out of the text around it). Per owner's speaker set: an owner may have hundreds of
    speakers, and plan() runs per query."""
    by_first: dict[str, list[str]] = {}
    for s in speakers:
        name_words = words(s)
        if name_words:
            by_first.setdefault(name_words[0], []).append(s)
    han = frozenset(s for s in speakers if _SPACELESS_CHAR.search(s))
    return {w: tuple(v) for w, v in by_first.items()}, frozenset(w for s in speakers for w in words(s)), han


# Characters of scripts written without spaces between words (Han, kana): a name next to them
# is a whole name ("Ana上周说了什么"), where \b sees none (both sides are word characters).
_SPACELESS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_SPACELESS_CHAR = re.compile(f"[{_SPACELESS}]")


@functools.lru_cache(maxsize=1024)
def _name_pattern(name: str) -> re.Pattern[str]:
    """The name (or its possessive) as whole words: a letter or digit at its edge may not touch
    another one, unless that one is Chinese; a Chinese character at its edge may touch anything."""
    def edge(ch: str, before: bool) -> str:
        if _SPACELESS_CHAR.match(ch):
            return ""
        if not re.match(r"\w", ch):
            return r"\b"
        return rf"(?:(?<!\w)|(?<=[{_SPACELESS}]))" if before else rf"(?:(?!\w)|(?=[{_SPACELESS}]))"

    name = name.strip()
    if not name:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile(rf"{edge(name[0], True)}{re.escape(name)}(?:['\u2019]s)?{edge(name[-1], False)}", re.IGNORECASE)


def lexical_terms(query: str) -> list[str]:
    """Distinct content words of the query, in order (Chinese segmented into words, possessive 's
    dropped); stop and question words and single letters are left out (a one-character Chinese
    word such as 猫 is a word)."""
    seen: list[str] = []
    for w in words(query):
        w = w[:-2] if w.endswith("'s") else w
        if w in QUERY_STOPWORDS or (len(w) < 2 and not w.isdigit() and not has_han(w)):
            continue
        if w not in seen:
            seen.append(w)
    return seen

