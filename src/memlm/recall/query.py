"""What a query asks for: its content words (for BM25) and the time it names."""

from __future__ import annotations

from memlm.text import STOPWORDS, words

# Question words and fillers that name no topic; dropped from lexical queries.
QUERY_STOPWORDS = STOPWORDS | frozenset(
    "did does do kind type sort think would might likely ever tell remember know describe".split()
)


def lexical_terms(query: str) -> list[str]:
    """Distinct content words of the query, in order (possessive 's dropped)."""
    seen: list[str] = []
    for w in words(query):
        w = w[:-2] if w.endswith("'s") else w
        if w in QUERY_STOPWORDS or len(w) < 2 and not w.isdigit():
            continue
        if w not in seen:
            seen.append(w)
    return seen


def fts_match(terms: list[str]) -> str | None:
    """An FTS5 query matching any of the terms (each quoted, so no term is read as syntax)."""
    quoted = ['"' + t.replace('"', "") + '"' for t in terms if t.replace('"', "")]
    return " OR ".join(quoted) if quoted else None
