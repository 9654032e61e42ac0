"""The SQLite backend's full-text side: what its FTS5 rows hold, and BM25 over one owner's rows.

Index text: the memory's text as the indexes see it (`base.lexical_text`: Chinese segmented into
space-separated words), so FTS5's unicode61 tokenizer makes a token of each Chinese word while
English keeps porter stemming. The scope column holds opaque owner tokens (`owner_tokens`).

BM25 (k1 1.2, b 0.75) takes every statistic from the owner's own rows, the rows of its
`OwnerView` (tenant + user and/or agent, superseded facts included): N is the owner's row count,
avgdl their mean body length, a term's df how many of them hold it. Nothing another owner
writes changes any of these, so no tenant (or other user) can move this owner's ranking or
scores, nor read its vocabulary off them. It is computed in numpy from FTS5's own index: each
query token's instances from an `fts5vocab` table (doc ids; offsets for a phrase), kept where
they are the view's rows (an owner holding a small share of the file: its rows holding each
term by a MATCH of its scope tokens, counts from highlight(); see Lexicon.bm25), and each row's
body length from FTS5's docsize record (loaded with the vectors; the scope column's owner
tokens are not counted, in lengths or anywhere else). A term
that is several index tokens ("e-mail") is a phrase: its instances are its tokens' instances at
consecutive offsets. idf is ln(1 + (N - df + 0.5) / (df + 0.5)), which stays positive: per owner,
N is often small and a word in half of the owner's memories still counts a little
(tests/stores/test_sqlite_lexical.py checks every score against a plain-Python BM25).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Sequence

import numpy as np

from memlm.stores.base import Filters, lexical_text, query_words
from memlm.stores.vecindex import OwnerView, topk
from memlm.text import memory_text
from memlm.types import MemoryRecord

K1, B = 1.2, 0.75  # BM25's constants (as FTS5's bm25())
_TEMP = (  # per connection (temp tables live and die with it)
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memlm_instances USING fts5vocab(main, memories_fts, instance)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memlm_tokenize USING fts5(t, tokenize = {tokenizer})",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memlm_tokenize_terms USING fts5vocab(temp, memlm_tokenize, instance)",
)
MAX_CACHED_TERMS = 100_000  # query words whose index tokens are remembered (cleared when full)
_SPAN = 1 << 32  # a phrase instance's key: view row * _SPAN + its first token's offset

RowScores = tuple[np.ndarray, np.ndarray]  # (rows of a view, BM25 scores)
_NONE: RowScores = (np.zeros(0, dtype=np.int64), np.zeros(0))


def rank(conn: sqlite3.Connection, lexicon: Lexicon, view: OwnerView, filters: Filters, terms: Sequence[str],
         k: int, file_rows: int) -> RowScores:
    """The best k matches of any term among the view's rows that pass the filters: (rows, BM25 /
    the best's), best first (ties by row order). An owner holding under a quarter of the file's
    `file_rows` (and named by a user or agent) takes the MATCH route (Lexicon.bm25)."""
    small = view.n * 4 < file_rows and (filters.user_id is not None or filters.agent_id is not None)
    rows, scores = lexicon.bm25(conn, view, terms, owner_match(filters) if small else None)
    mask = view.mask(filters)
    if mask is not None and len(rows):
        scores = np.where(mask[rows], scores, -np.inf)
    order = topk(scores, k)
    if len(order) == 0:
        return _NONE
    return rows[order], np.clip(scores[order] / max(float(scores[order[0]]), 1e-12), 0.0, 1.0)


class Lexicon:
    """BM25 with the owner's statistics, in numpy from FTS5's index data (one per store;
    thread-safe: each thread reads through its own connection, and the term cache is replaced,
    never changed)."""

    def __init__(self, tokenizer: str) -> None:
        self.tokenizer = tokenizer  # the FTS5 table's tokenize option, e.g. 'porter unicode61 ...'
        self._tokens: dict[str, tuple[str, ...]] = {}  # query word -> its index tokens

    @classmethod
    def of(cls, conn: sqlite3.Connection) -> Lexicon:
        """The lexicon for this file's FTS5 table (its tokenizer read from the schema)."""
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'memories_fts'").fetchone()[0]
        found = re.search(r"tokenize\s*=\s*('(?:[^']|'')*'|\"[^\"]*\")", sql)
        return cls(found.group(1) if found else "'unicode61'")

    def bm25(self, conn: sqlite3.Connection, view: OwnerView, terms: Sequence[str],
             scope: str | None = None) -> RowScores:
        """(rows of the view, scores) of every row matching any term (`base.query_words`: a
        Chinese term is its words), each term counting once per time it is given.

        Where each term's rows and counts come from (the scores are the same either way):
        without `scope`, the term's instances in the whole file (an fts5vocab scan: ~1 us per
        instance, every owner's); with `scope` (the owner's scope-token MATCH, for an owner
        holding a small share of the file), an FTS5 MATCH of the owner's rows holding the term
        (FTS5 intersects doclists: the cost follows the owner's matches), each row's count of
        it read off highlight() (the markers it inserts). A phrase that can overlap itself
        ("a a") is merged into one highlight, so it always takes the instances."""
        if view.n == 0:
            return _NONE
        words = query_words(terms)
        pairs = [(w, t) for w, t in zip(words, self.tokens(conn, words)) if t]  # a term without tokens matches nothing
        if not pairs:
            return _NONE
        matched = [w for w, t in pairs if scope is not None and not _self_overlapping(t)]
        by_match = _matches(conn, view, scope, list(dict.fromkeys(matched))) if matched else {}
        rest = [t for w, t in pairs if w not in by_match]
        in_phrase = {tok for p in rest if len(p) > 1 for tok in p}
        distinct = list(dict.fromkeys(tok for p in rest for tok in p))
        instances = dict(zip(distinct, self._read(conn, distinct, in_phrase))) if distinct else {}
        lengths = view.columns["tokens"]
        avgdl = float(lengths.mean()) or 1.0
        found: list[RowScores] = []
        for word, phrase in pairs:
            if word in by_match:
                rows, tf = by_match[word]
            else:
                rows, tf = (_postings(view, instances[phrase[0]]) if len(phrase) == 1
                            else _phrase_postings(view, [instances[tok] for tok in phrase]))
            if len(rows):
                idf = math.log(1.0 + (view.n - len(rows) + 0.5) / (len(rows) + 0.5))
                norm = K1 * (1.0 - B + B * lengths[rows] / avgdl)
                found.append((rows, idf * tf * (K1 + 1.0) / (tf + norm)))
        if not found:
            return _NONE
        rows = np.concatenate([r for r, _ in found])
        unique, at = np.unique(rows, return_inverse=True)
        return unique, np.bincount(at, weights=np.concatenate([s for _, s in found]))

    def _read(self, conn: sqlite3.Connection, tokens: list[str], in_phrase: set[str]) -> tuple[str | None, ...]:
        """Each token's body instances in ONE statement (every posting from the same commit):
        comma-separated doc ids, or for a phrase's token comma-separated 'doc offset' pairs."""
        parts = ", ".join("(SELECT group_concat(" + ("doc || ' ' || offset" if t in in_phrase else "doc") +
                          ") FROM temp.memlm_instances WHERE term = ? AND col = 'body')" for t in tokens)
        try:
            return conn.execute("SELECT " + parts, tokens).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            ensure_temp_tables(conn, self.tokenizer)  # this connection's first BM25
            return conn.execute("SELECT " + parts, tokens).fetchone()

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
    """An FTS5 expression matching the rows of the filter's owner by their scope tokens (an
    owner named by a user and/or agent: a tenant-wide owner's rows carry their users' tokens)."""
    return " AND ".join(owner_tokens(filters.tenant, filters.user_id, filters.agent_id))


def _matches(conn: sqlite3.Connection, view: OwnerView, scope: str | None,
             words: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each word's (rows of the view holding it, its count in each) by FTS5 MATCHes of the owner's
    scope, in ONE statement (one commit): highlight() inserts a one-character marker before
    each instance, so the row's count is how much longer the highlighted body is."""
    sql = " UNION ALL ".join(f"SELECT {i}, rowid, length(highlight(memories_fts, 1, char(1), '')) - length(body) "
                             "FROM memories_fts WHERE memories_fts MATCH ?" for i in range(len(words)))
    params = [f'scope : ({scope}) AND body : "' + w.replace('"', '""') + '"' for w in words]
    got = np.array(conn.execute(sql, params).fetchall(), dtype=np.int64).reshape(-1, 3)
    out = {}
    for i, word in enumerate(words):
        mine = got[got[:, 0] == i]
        rows = view.rows_of_rids(mine[:, 1])  # ascending: MATCH returns rowid order, rows follow rowids
        keep = rows >= 0  # rows newer than the view
        out[word] = rows[keep], mine[keep, 2].astype(np.float64)
    return out


def _self_overlapping(tokens: tuple[str, ...]) -> bool:
    """Whether two instances of the phrase can overlap (a proper suffix equals a prefix)."""
    return any(tokens[s:] == tokens[: len(tokens) - s] for s in range(1, len(tokens)))


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def index_text(record: MemoryRecord) -> str:
    """What the FTS5 body column holds for a memory."""
    return lexical_text(record.text, record.role, record.metadata)


def reindex(conn: sqlite3.Connection) -> int:
    """Migration 4: every FTS5 row whose memory has Chinese in it is indexed again with its
    words segmented (rows written before it held a run of Han characters as one token); the
    others are unchanged by segmentation and left alone. Returns the rows re-indexed."""
    done, after = 0, 0
    sql = "SELECT rid, text, role, metadata FROM memories WHERE rid > ? ORDER BY rid LIMIT 5000"
    while rows := conn.execute(sql, (after,)).fetchall():  # a batch at a time: any size of file
        for rid, text, role, meta in rows:
            metadata = _metadata(meta)
            body = lexical_text(text, role, metadata)
            if body != memory_text(text, role, metadata):
                conn.execute("UPDATE memories_fts SET body = ? WHERE rowid = ?", (body, rid))
                done += 1
        after = rows[-1][0]
    return done


def _metadata(value: str | None) -> dict | None:
    try:
        found = json.loads(value) if value else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


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


def _postings(view: OwnerView, joined: str | None) -> tuple[np.ndarray, np.ndarray]:
    """A token's instances (comma-separated doc ids) as (rows of the view holding it, its count
    in each); other owners' rows (and rows newer than the view) are dropped."""
    if not joined:
        return _NONE
    docs, tf = _runs(np.array(joined.split(","), dtype=np.int64))
    rows = view.rows_of_rids(docs)
    keep = rows >= 0
    return rows[keep], tf[keep].astype(np.float64)


def _phrase_postings(view: OwnerView, joined: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """A phrase's instances in the view's rows: where its i-th token sits at offset o + i for
    every i, (rows holding it, its count in each)."""
    starts = None
    for i, pairs in enumerate(joined):
        if not pairs:
            return _NONE
        flat = np.array(pairs.replace(" ", ",").split(","), dtype=np.int64).reshape(-1, 2)
        rows, offsets = view.rows_of_rids(flat[:, 0]), flat[:, 1] - i
        keep = (rows >= 0) & (offsets >= 0)
        keys = np.unique(rows[keep] * _SPAN + offsets[keep])
        starts = keys if starts is None else np.intersect1d(starts, keys, assume_unique=True)
        if len(starts) == 0:
            return _NONE
    assert starts is not None
    rows, tf = _runs(starts // _SPAN)
    return rows, tf.astype(np.float64)


def row_tokens(blob: bytes | None) -> int:
    """A row's body length in tokens from its FTS5 docsize record (a varint per column: scope,
    then body; the scope column's owner tokens are not counted)."""
    if not blob:
        return 0
    if max(blob) < 0x80:  # every column < 128 tokens: a byte each
        return blob[1] if len(blob) > 1 else 0
    sizes = varints(blob)
    return sizes[1] if len(sizes) > 1 else 0


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
