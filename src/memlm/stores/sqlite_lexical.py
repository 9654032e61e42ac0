"""The SQLite backend's full-text side: what its FTS5 rows hold, and BM25 over them by two routes.

Scores are FTS5's `bm25()` of the body column (k1 1.2, b 0.75, idf over the whole file).
- An owner holding a small share of the file: a MATCH narrowed by the owner's scope
  token, ranked by `bm25()` in SQLite, the best `limit` rows.
- An owner holding most of the file: `bm25()` costs about 1 us per matching row (a docsize
  lookup and an instance scan each), and a common word matches thousands of an owner's
  memories. The same formula is computed in numpy from FTS5's own data instead: each query
  token's instances from an `fts5vocab` table, the file's row and token counts from FTS5's
  averages record, each row's token count from the owner view (loaded from the docsize
  table with the vectors). Every match gets its exact score, 2-3x faster
  (tests/stores/test_sqlite_lexical.py compares the two routes score by score).
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
from collections.abc import Sequence

import numpy as np

from memlm.stores.base import Filters
from memlm.stores.vecindex import OwnerView, topk
from memlm.text import memory_text
from memlm.types import MemoryRecord

K1, B = 1.2, 0.75  # FTS5's bm25() constants
BODY_WEIGHT = 1.0  # recall ranks by the body column only (the scope column weighs 0)
_TERMS = re.compile(r'^"([^"]*)"(?: OR "([^"]*)")*$')  # what recall sends: quoted terms joined by OR
_TEMP = (  # per connection (temp tables live and die with it)
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memlm_instances USING fts5vocab(main, memories_fts, instance)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memlm_tokenize USING fts5(t, tokenize = {tokenizer})",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memlm_tokenize_terms USING fts5vocab(temp, memlm_tokenize, instance)",
)
MAX_CACHED_TERMS = 100_000  # query words whose index tokens are remembered (cleared when full)

RowScores = tuple[np.ndarray, np.ndarray]  # (rows of a view, BM25 scores)


def or_terms(match: str) -> list[str] | None:
    """The terms of a query of quoted terms joined by OR, or None for any other FTS5 query."""
    if not _TERMS.match(match):
        return None
    return re.findall(r'"([^"]*)"', match)


def fts_bm25(conn: sqlite3.Connection, view: OwnerView, query: str, limit: int | None) -> tuple[RowScores, bool]:
    """FTS5's ranking: the best `limit` matches (all when None) that are rows of the view, and
    whether those were every match."""
    sql = "SELECT rowid, -bm25(memories_fts, 0.0, 1.0) AS s FROM memories_fts WHERE memories_fts MATCH ?"
    rows = conn.execute(sql + (" ORDER BY s DESC LIMIT ?" if limit else ""),
                        (query, limit) if limit else (query,)).fetchall()
    complete = limit is None or len(rows) < limit
    if not rows:
        return (np.zeros(0, dtype=np.int64), np.zeros(0)), complete
    rids, scores = zip(*rows)
    at = view.rows_of_rids(np.array(rids, dtype=np.int64))
    keep = at >= 0  # rows of other owners, or written after this view was taken
    return (at[keep], np.array(scores, dtype=np.float64)[keep]), complete


def rank(conn: sqlite3.Connection, lexicon: Lexicon, view: OwnerView, filters: Filters, match: str, k: int,
         file_rows: int) -> RowScores:
    """The best k matches among the view's rows that pass the filters: (rows, BM25 / the best's).
    An owner holding a quarter of the file's `file_rows` or more: every match scored by the
    Lexicon (a phrase: FTS5's bm25() over the terms alone, other owners' rows dropped); a
    smaller owner: the owner's scope token narrows FTS5's MATCH."""
    mask = view.mask(filters)
    found = None
    large = view.n * 4 >= file_rows
    if large and (terms := or_terms(match)) is not None:
        found = lexicon.bm25(conn, view, terms)
    if found is None:
        found = _fts_best(conn, view, filters, match, k, file_rows, mask, large)
    rows, scores = found
    if mask is not None:
        scores = np.where(mask[rows], scores, -np.inf)
    order = topk(scores, k)
    if len(order) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return rows[order], np.clip(scores[order] / max(float(scores[order[0]]), 1e-9), 0.0, 1.0)


def _fts_best(conn: sqlite3.Connection, view: OwnerView, filters: Filters, match: str, k: int, file_rows: int,
              mask: np.ndarray | None, large: bool) -> RowScores:
    """FTS5's ranking, 2k matches at a time (a large owner: room for the other owners' matches in
    proportion to their share, 2x at most); every match when filtered-out rows crowd those out."""
    if large:
        query, limit = f"body : ({match})", min(2 * k, int(k * 1.1 * file_rows / view.n) + 10)
    else:
        query, limit = f"scope : {owner_match(filters)} AND body : ({match})", 2 * k
    found, complete = fts_bm25(conn, view, query, limit)
    passing = len(found[0]) if mask is None else int(mask[found[0]].sum())
    if passing < k and not complete:
        found, _ = fts_bm25(conn, view, query, None)
    return found


class Lexicon:
    """BM25 of every match in numpy from FTS5's index data (one per store; thread-safe: each
    thread reads through its own connection, and the term cache is replaced, never changed)."""

    def __init__(self, tokenizer: str) -> None:
        self.tokenizer = tokenizer  # the FTS5 table's tokenize option, e.g. 'porter unicode61 ...'
        self._tokens: dict[str, tuple[str, ...]] = {}  # query word -> its index tokens

    @classmethod
    def of(cls, conn: sqlite3.Connection) -> Lexicon:
        """The lexicon for this file's FTS5 table (its tokenizer read from the schema)."""
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'memories_fts'").fetchone()[0]
        found = re.search(r"tokenize\s*=\s*('(?:[^']|'')*'|\"[^\"]*\")", sql)
        return cls(found.group(1) if found else "'unicode61'")

    def bm25(self, conn: sqlite3.Connection, view: OwnerView, terms: Sequence[str]) -> RowScores | None:
        """(rows of the view, scores) of every match of any term, or None when a term is more
        than one index token (a phrase: FTS5's route handles it)."""
        tokens = self.tokens(conn, terms)
        if any(len(t) > 1 for t in tokens):
            return None
        distinct = list(dict.fromkeys(t[0] for t in tokens if t))  # a term without tokens matches nothing
        averages, instances = self._read(conn, distinct)
        n_rows, avgdl = _averages(averages)
        postings = {token: _postings(view, joined) for token, joined in zip(distinct, instances)}
        lengths = view.columns["tokens"]
        found: list[RowScores] = []
        for (token,) in (t for t in tokens if t):  # each term counts, as each phrase does in FTS5
            rows, tf, hits = postings[token]
            if len(rows):
                idf = max(math.log((n_rows - hits + 0.5) / (hits + 0.5)), 1e-6)
                norm = K1 * (1.0 - B + B * lengths[rows] / avgdl)
                found.append((rows, idf * BODY_WEIGHT * tf * (K1 + 1.0) / (tf + norm)))
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        rows = np.concatenate([r for r, _ in found])
        unique, at = np.unique(rows, return_inverse=True)
        return unique, np.bincount(at, weights=np.concatenate([s for _, s in found]))

    def _read(self, conn: sqlite3.Connection, tokens: list[str]) -> tuple[bytes | None, tuple[str | None, ...]]:
        """FTS5's averages record and each token's body instances (comma-separated doc ids), in
        ONE statement: statistics and postings come from the same commit."""
        sql = "SELECT (SELECT block FROM memories_fts_data WHERE id = 1)" + "".join(
            ", (SELECT group_concat(doc) FROM temp.memlm_instances WHERE term = ? AND col = 'body')" for _ in tokens)
        try:
            row = conn.execute(sql, tokens).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            ensure_temp_tables(conn, self.tokenizer)  # this connection's first BM25
            row = conn.execute(sql, tokens).fetchone()
        return row[0], row[1:]

    def tokens(self, conn: sqlite3.Connection, terms: Sequence[str]) -> list[tuple[str, ...]]:
        """Each term as the index tokens FTS5 makes of it (its own tokenizer, via a temp table)."""
        cache = self._tokens  # this call's view of the cache: another thread may swap it
        missing = [t for t in dict.fromkeys(terms) if t not in cache]
        if not missing:
            return [cache[t] for t in terms]
        ensure_temp_tables(conn, self.tokenizer)
        conn.execute("DELETE FROM temp.memlm_tokenize")
        conn.executemany("INSERT INTO temp.memlm_tokenize(rowid, t) VALUES (?, ?)", enumerate(missing))
        by_row: dict[int, list[tuple[int, str]]] = {}
        for token, row, offset in conn.execute("SELECT term, doc, offset FROM temp.memlm_tokenize_terms"):
            by_row.setdefault(row, []).append((offset, token))
        conn.execute("DELETE FROM temp.memlm_tokenize")
        found = {term: tuple(token for _, token in sorted(by_row.get(i, []))) for i, term in enumerate(missing)}
        if len(cache) + len(found) > MAX_CACHED_TERMS:
            self._tokens = found  # start again with a new dict: other threads keep reading theirs
        else:
            cache.update(found)  # entries are only ever added to a dict, never removed
        return [found[t] if t in found else cache[t] for t in terms]


def owner_tokens(tenant: str, user_id: str | None, agent_id: str | None) -> list[str]:
    """Opaque FTS tokens naming a row's owners; a MATCH on one reaches only that owner."""
    tokens = []
    if user_id is not None:
        tokens.append("u" + _digest(tenant, "user", user_id))
    if agent_id is not None:
        tokens.append("a" + _digest(tenant, "agent", agent_id))
    return tokens or ["t" + _digest(tenant, "tenant", "")]


def owner_match(filters: Filters) -> str:
    tokens = owner_tokens(filters.tenant, filters.user_id, filters.agent_id)
    return " AND ".join(tokens)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def index_text(record: MemoryRecord) -> str:
    return memory_text(record.text, record.role, record.metadata)


def _runs(docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct docs, instances of each): a term's instances come in doc order, so runs of
    equal docs are its counts (np.unique's sort for anything else)."""
    if len(docs) > 1 and not bool(np.all(docs[1:] >= docs[:-1])):
        return np.unique(docs, return_counts=True)
    starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
    return docs[starts], np.diff(np.append(starts, len(docs)))


def ensure_temp_tables(conn: sqlite3.Connection, tokenizer: str) -> None:
    """The temp tables BM25 reads through: FTS5's instances, and a scratch table to tokenize with."""
    for statement in _TEMP:
        conn.execute(statement.format(tokenizer=tokenizer))


def _postings(view: OwnerView, joined: str | None) -> tuple[np.ndarray, np.ndarray, int]:
    """A token's instances (comma-separated doc ids, in doc order) as (rows of the view holding
    it, its count in each, how many rows of the whole file hold it: the idf's n)."""
    if not joined:
        return np.zeros(0, dtype=np.int64), np.zeros(0), 0
    docs, tf = _runs(np.array(joined.split(","), dtype=np.int64))
    rows = view.rows_of_rids(docs)
    keep = rows >= 0  # other owners' rows count for idf only
    return rows[keep], tf[keep].astype(np.float64), len(docs)


def _averages(block: bytes | None) -> tuple[int, float]:
    """(rows in the FTS5 table, average tokens per row over all columns) from FTS5's averages
    record (id 1 of its data table: a varint row count, then a varint token total per column)."""
    values = varints(block) if block else []
    n_rows = values[0] if values else 0
    return n_rows, (sum(values[1:]) / n_rows if n_rows else 1.0)


def row_tokens(blob: bytes | None) -> int:
    """A row's size in tokens, all columns, from its FTS5 docsize record (a varint per column)."""
    if not blob:
        return 0
    return sum(blob) if max(blob) < 0x80 else sum(varints(blob))  # every column < 128 tokens: a byte each


def varints(blob: bytes) -> list[int]:
    """SQLite's varints (big-endian, 7 bits a byte, the ninth byte all 8)."""
    out, i = [], 0
    while i < len(blob):
        value = 0
        for j in range(9):
            byte = blob[i]
            i += 1
            if j == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        out.append(value)
    return out
