"""SQL helpers for the PostgreSQL backend: pgvector adapters, WHERE clauses, row <-> record,
the lexical index text and the tsquery built from query terms.

Lexical index: `tsv` is to_tsvector('english', base.lexical_text(...)): Chinese arrives
segmented into space-separated words; PostgreSQL's default parser makes each a `word` token
(it treats every non-ASCII letter as a letter, in any locale), which the english configuration's
Snowball stemmer leaves as it is (it only strips English suffixes) and its stop list never
holds, so Chinese words are indexed exactly as the `simple` configuration would index them,
while English words keep their stemming, in one tsvector whose positions follow the text
(phrases work across both; tests/stores/test_lexical.py checks the Chinese lexemes against
`simple`'s). Ranking is ts_rank, a per-document score (term frequencies in that row, no
corpus statistics), taken relative to the best match in the owner's scope: no other owner's
rows enter any score."""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, overload

import numpy as np
from psycopg import Connection
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo
from psycopg.types.json import Jsonb

from memlm.stores.base import Filters, expires_of, lexical_text, query_words, record_from, record_values, where_clause
from memlm.text import memory_text
from memlm.types import MemoryRecord

COLUMNS = (
    "id, tenant, user_id, agent_id, session_id, kind, role, text, created_at, updated_at, "
    "occurred_at, metadata, source_ids, valid_to, superseded_by"
)
TS_CONFIG = "english"  # text search configuration: Snowball English stemming, like FTS5's porter
WRITE_LOCK = 0x6D656D6C6D  # advisory lock key ("memlm") that serialises writers, as BEGIN IMMEDIATE does
INSERT_SQL = (  # COLUMNS, norm_hash, the lexical text, the vector, expires_at (see `insert_values`)
    f"INSERT INTO memories ({COLUMNS}, norm_hash, tsv, vector, expires_at) "
    f"VALUES ({', '.join(['%s'] * 16)}, to_tsvector('{TS_CONFIG}', %s), %s, %s)"
)

# re-embedding (PostgresStore.reembed), inside one transaction: drop the HNSW index and the column's
# dimension, rewrite every row's vector, then type the column with the new dimension and re-index
REEMBED_BEGIN = ("DROP INDEX IF EXISTS memories_vector", "ALTER TABLE memories ALTER COLUMN vector TYPE vector")
REEMBED_UPDATE = "UPDATE memories SET vector = %s WHERE tenant = %s AND id = %s"
SCRUB_HISTORY = "UPDATE history SET old_text = NULL, new_text = NULL WHERE tenant = %s AND memory_id = %s"
SET_ENCODER = ("INSERT INTO meta VALUES ('encoder', %s), ('dim', %s) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value")


def reembed_end(dim: int) -> tuple[str, ...]:
    return (f"ALTER TABLE memories ALTER COLUMN vector TYPE vector({int(dim)})",
            "CREATE INDEX memories_vector ON memories USING hnsw (vector vector_cosine_ops)")


# -- pgvector binary adapters ----------------------------------------------------
class VectorDumper(Dumper):
    """numpy array -> pgvector binary (int16 dim, int16 unused, float32 big-endian)."""

    format = Format.BINARY

    def dump(self, obj: np.ndarray) -> bytes:
        a = np.ascontiguousarray(obj, dtype=">f4").reshape(-1)
        return struct.pack(">HH", a.shape[0], 0) + a.tobytes()


class VectorBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> np.ndarray:
        return np.frombuffer(bytes(data), dtype=">f4", offset=4).astype(np.float32)


class VectorRawLoader(Loader):
    """pgvector binary as bytes, for many vectors converted at once by `vectors_from_raw`."""

    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def vectors_from_raw(blobs: Sequence[bytes]) -> np.ndarray:
    """(n, dim) float32 from n pgvector binary values in one conversion: each is a 4-byte
    header (dim, unused) then big-endian float32s, so the header is one column to drop."""
    flat = np.frombuffer(b"".join(blobs), dtype=">f4").reshape(len(blobs), -1)
    return flat[:, 1:].astype(np.float32)


class VectorTextLoader(Loader):
    format = Format.TEXT

    def load(self, data: Buffer) -> np.ndarray:
        return np.array(bytes(data)[1:-1].split(b","), dtype=np.float32)


def scalar(conn: Connection, sql: str) -> Any:
    """The one value of a query that always returns one row (an aggregate, a function call)."""
    row = conn.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {sql!r}")
    return row[0]


def register_vector(conn: Connection) -> bool:
    """Teach a connection the pgvector type; False if the extension is not installed yet."""
    info = TypeInfo.fetch(conn, "vector")
    if info is None:
        return False
    dumper = type("BoundVectorDumper", (VectorDumper,), {"oid": info.oid})
    conn.adapters.register_dumper(np.ndarray, dumper)
    conn.adapters.register_loader(info.oid, VectorBinaryLoader)
    conn.adapters.register_loader(info.oid, VectorTextLoader)
    info.register(conn)  # by name too: cursors swap in VectorRawLoader for bulk reads
    return True


# -- WHERE clauses ---------------------------------------------------------------
def where(filters: Filters) -> tuple[str, list]:
    """The filter as a WHERE clause over alias m, tenant first."""
    return where_clause(filters, ph="%s", when=utc, array_param=True)


def tsquery(terms: Sequence[str]) -> tuple[str, list[str]]:
    """The query terms (`base.query_words`) as a tsquery expression matching any of them: each
    is phraseto_tsquery(...) (a word, or a phrase of its lexemes), OR-ed (||); a term that is
    only stop words or punctuation is left out by PostgreSQL. ("", []) when there is no term."""
    found = [t for t in query_words(terms) if t.strip()]
    expr = " || ".join([f"phraseto_tsquery('{TS_CONFIG}', %s)"] * len(found))
    return expr, found


# -- rows and records --------------------------------------------------------------
def row(r: MemoryRecord) -> tuple:
    """The record as the first 15 INSERT parameters (COLUMNS order)."""
    return record_values(r, utc, Jsonb)


def record(values: Sequence) -> MemoryRecord:
    return record_from(values, utc, _json)


def _json(value: Any) -> Any:
    """jsonb arrives parsed; text (a cast, another driver) is parsed here."""
    return value if isinstance(value, (dict, list)) else json.loads(value)


def index_text(r: MemoryRecord) -> str:
    """What the lexical side indexes (the same text SQLite's FTS5 row holds)."""
    return lexical_text(r.text, r.role, r.metadata)


def reindex(conn: Connection) -> int:
    """Migration 2: every row whose memory has Chinese in it gets its tsvector made again from
    the segmented text (earlier rows held a run of Han characters as one lexeme); the others are
    unchanged by segmentation and left alone. Returns the rows re-indexed."""
    done, after = 0, 0
    sql = "SELECT rid, text, role, metadata FROM memories WHERE rid > %s ORDER BY rid LIMIT 5000"
    with conn.cursor() as cur:
        while rows := cur.execute(sql, (after,)).fetchall():  # a batch at a time: any size of table
            for rid, text, role, meta in rows:
                metadata = meta if isinstance(meta, dict) else None
                body = lexical_text(text, role, metadata)
                if body != memory_text(text, role, metadata):
                    cur.execute(f"UPDATE memories SET tsv = to_tsvector('{TS_CONFIG}', %s) WHERE rid = %s",
                                (body, rid))
                    done += 1
            after = rows[-1][0]
    return done


def backfill_expiry(conn: Connection) -> int:
    """Migration 4: the expires_at column of every memory whose metadata holds an expiry
    (written before the column existed). Returns the rows filled."""
    done, after = 0, 0
    sql = "SELECT rid, metadata FROM memories WHERE rid > %s AND metadata ? 'expires_at' ORDER BY rid LIMIT 5000"
    with conn.cursor() as cur:
        while rows := cur.execute(sql, (after,)).fetchall():
            for rid, meta in rows:
                when = expires_of(meta if isinstance(meta, dict) else None)
                if when is not None:
                    cur.execute("UPDATE memories SET expires_at = %s WHERE rid = %s", (when, rid))
                    done += 1
            after = rows[-1][0]
    return done


@overload
def utc(value: datetime) -> datetime: ...


@overload
def utc(value: datetime | None) -> datetime | None: ...


def utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetimes in and out (naive ones are taken as UTC, as SQLite does)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def statements(sql: str) -> list[str]:
    """Split a migration into statements (they contain no semicolons inside literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
