"""The team backend: PostgreSQL with pgvector (HNSW, cosine) and tsvector + GIN (ts_rank).

Connections come from a psycopg 3 pool; a connection is checked before it is lent, so
the pool reconnects by itself after a server restart, and a failure to reach the server
is raised as `StoreUnavailable` (the HTTP server answers 503). Writers take a
transaction-scoped advisory lock, which serialises them across threads and processes as
SQLite's ``BEGIN IMMEDIATE`` does, so row ids (``rid``) are committed in increasing order
and an owner's cached matrix can be extended by high-water mark. Every statement names
the tenant first.
"""

from __future__ import annotations

import builtins
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import numpy as np
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from memlm.config import IndexConfig
from memlm.settings import timeout_from_env
from memlm.stores import pg_sql as q
from memlm.stores import redact
from memlm.stores.base import (
    SCRUB_ORPHAN_HISTORY,
    Embed,
    Filters,
    Progress,
    Scored,
    StoreUnavailable,
    StoreWriteError,
    embedded,
    expires_of,
    history_owner,
)
from memlm.stores.migrate import migrations
from memlm.stores.vecindex import OwnerView, Row, ViewCache
from memlm.text import norm_hash
from memlm.types import HistoryEntry, MemoryRecord


@dataclass(frozen=True)
class PoolConfig:
    """How the store talks to the server."""

    min_size: int = 1  # connections kept open
    max_size: int = 16  # most connections at once (one per busy thread)
    # how long a caller waits for a connection before StoreUnavailable (env MEMLM_PG_TIMEOUT)
    timeout_s: float = field(default_factory=lambda: timeout_from_env("pg_timeout"))
    connect_timeout_s: int = 5  # per connection attempt
    ef_search: int = 100  # hnsw.ef_search: candidates an HNSW scan keeps (recall vs speed)
    check_idle_s: float = 1.0  # a connection idle longer than this is checked (one round trip) before use


class PostgresStore:
    """A memory store in a PostgreSQL database with the pgvector extension."""

    def __init__(self, url: str, config: PoolConfig | None = None, *, index: IndexConfig | None = None) -> None:
        self.url = url  # postgresql://user:password@host:port/db
        self.config = config or PoolConfig()
        self.index = index or IndexConfig()  # the vector index's sizes and BLAS switch
        self._pool: ConnectionPool | None = None
        self._lock = threading.RLock()
        self._local = threading.local()  # the thread's transaction connection, if any
        self._cache: ViewCache | None = None
        self._used: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # connection -> last use

    # -- connections ------------------------------------------------------------
    @property
    def pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._migrate()
                self._pool = ConnectionPool(
                    self.url, min_size=self.config.min_size, max_size=self.config.max_size,
                    timeout=self.config.timeout_s, configure=self._configure, check=self._check,
                    kwargs={"autocommit": True, "connect_timeout": self.config.connect_timeout_s},
                    name="memlm", open=False,
                )
                try:
                    self._pool.open(wait=True, timeout=self.config.timeout_s)
                except PoolTimeout as exc:
                    self._pool.close()
                    self._pool = None
                    raise StoreUnavailable(f"cannot reach PostgreSQL at {redact(self.url)}") from exc
            return self._pool

    def _configure(self, conn: psycopg.Connection) -> None:
        q.register_vector(conn)
        conn.execute("SET timezone TO 'UTC'")
        conn.execute(f"SET hnsw.ef_search = {int(self.config.ef_search)}")
        conn.execute("SET hnsw.iterative_scan = relaxed_order")  # filtered HNSW scans still find k rows

    def _check(self, conn: psycopg.Connection) -> None:
        """Before a connection is lent: a round trip if it sat idle (it may have died with a
        server restart); a connection used within check_idle_s is lent as is. A dead one
        raises, and the pool replaces it."""
        if time.monotonic() - self._used.get(conn, 0.0) > self.config.check_idle_s:
            ConnectionPool.check_connection(conn)

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """The thread's transaction connection, or one borrowed from the pool (autocommit)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        try:
            with self.pool.connection() as conn:
                try:
                    yield conn
                finally:
                    self._used[conn] = time.monotonic()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable: {_line(exc)}") from exc

    def _migrate(self) -> None:
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.config.connect_timeout_s)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot reach PostgreSQL at {redact(self.url)}: {_line(exc)}") from exc
        with conn:
            wanted = {m.version for m in migrations("postgres")}
            if q.scalar(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL") and wanted <= {
                    v for (v,) in conn.execute("SELECT version FROM schema_migrations")}:
                return  # up to date: no write needed (a read-only database still opens)
            self._apply_migrations(conn)

    def _apply_migrations(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (q.WRITE_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                         "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
            done = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
            for m in migrations("postgres"):
                if m.version not in done:
                    for statement in q.statements(m.sql):
                        conn.execute(statement)
                    m.run_step(conn)
                    conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, now())", (m.version, m.name))

    def schema_versions(self) -> list[int]:
        return [v for (v,) in self.sql("SELECT version FROM schema_migrations ORDER BY version")]

    def sql(self, statement: str, params: Sequence = ()) -> list[tuple]:
        """Run one statement written with ``?`` placeholders (as for SQLite); its rows, if any."""
        with self._conn() as conn:
            cur = conn.execute(statement.replace("?", "%s"), list(params))
            return cur.fetchall() if cur.description else []

    def check_encoder(self, name: str, dim: int) -> None:
        with self.transaction(), self._conn() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('encoder', 'dim')").fetchall())
            if not meta:
                conn.execute("INSERT INTO meta VALUES ('encoder', %s), ('dim', %s)", (name, str(dim)))
                conn.execute(f"ALTER TABLE memories ALTER COLUMN vector TYPE vector({int(dim)})")
                conn.execute("CREATE INDEX memories_vector ON memories USING hnsw (vector vector_cosine_ops)")
            elif meta.get("encoder") != name or int(meta.get("dim", -1)) != dim:
                raise ValueError(
                    f"{redact(self.url)} was built with encoder {meta.get('encoder')!r} (dim {meta.get('dim')}), "
                    f"not {name!r} (dim {dim}); open it with that encoder or re-embed it"
                )
        if self._cache is None or self._cache.dim != dim:
            self._cache = ViewCache(dim, config=self.index)

    def encoder_info(self) -> tuple[str, int] | None:
        meta = dict(self.sql("SELECT key, value FROM meta WHERE key IN ('encoder', 'dim')"))
        return (meta["encoder"], int(meta["dim"])) if meta else None

    def reembed(self, name: str, dim: int, embed: Embed, *, batch_size: int = 256,
                progress: Progress | None = None) -> int:
        """New vectors for every memory and the new encoder in meta, in one transaction (Store.reembed):
        the HNSW index is dropped, the column's dimension freed, rows rewritten, then the column typed
        vector(dim) and the index rebuilt. The table is locked (ACCESS EXCLUSIVE) until it commits."""
        done = 0
        with self.transaction(), self._conn() as conn:
            total = q.scalar(conn, "SELECT count(*) FROM memories")
            for statement in q.REEMBED_BEGIN:
                conn.execute(statement)
            with conn.cursor(name="memlm_reembed") as rows_cur:  # server-side: rows come batch by batch
                rows_cur.execute(f"SELECT {q.COLUMNS} FROM memories ORDER BY rid")
                while rows := rows_cur.fetchmany(max(1, batch_size)):
                    records = [q.record(r) for r in rows]
                    vectors = embedded(embed, records, dim)
                    with conn.cursor() as cur:
                        cur.executemany(q.REEMBED_UPDATE, [(v, r.tenant, r.id) for r, v in zip(records, vectors)])
                    done += len(rows)
                    if progress:
                        progress(done, total)
            for statement in q.reembed_end(dim):
                conn.execute(statement)
            conn.execute(q.SET_ENCODER, (name, str(dim)))
            self._bump(conn)
        self._cache = ViewCache(dim, config=self.index)  # every cached owner matrix holds old vectors (one atomic swap)
        return done

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:  # nested: join the outer transaction
            yield
            return
        with self._conn() as conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (q.WRITE_LOCK,))
                    self._local.conn = conn
                    try:
                        yield
                    finally:
                        self._local.conn = None
            except (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.DiskFull,
                    psycopg.errors.InsufficientResources) as exc:
                raise StoreWriteError(f"cannot write {redact(self.url)}: {_line(exc)}") from exc
            except psycopg.OperationalError as exc:
                raise StoreUnavailable(f"PostgreSQL unavailable: {_line(exc)}") from exc

    @contextmanager
    def bulk_load(self, maintenance_work_mem: str = "1GB") -> Iterator[None]:
        """Load many rows into a new or quiet store: the HNSW index is dropped, then rebuilt once at
        the end (parallel, in memory), which is ~10x faster than growing it row by row. Dense
        queries meanwhile fall back to exact scans; recall is unaffected (it uses owner views)."""
        if self._cache is None:
            raise RuntimeError("check_encoder() must be called before loading")
        self.sql("DROP INDEX IF EXISTS memories_vector")
        try:
            yield
        finally:
            with self._conn() as conn:
                conn.execute(f"SET maintenance_work_mem = '{maintenance_work_mem}'")
                conn.execute("CREATE INDEX IF NOT EXISTS memories_vector ON memories USING hnsw "
                             "(vector vector_cosine_ops)")
                conn.execute("RESET maintenance_work_mem")

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    # -- writes -------------------------------------------------------------------
    def insert(self, records: Sequence[MemoryRecord], vectors: np.ndarray) -> None:
        with self.transaction(), self._conn() as conn, conn.cursor() as cur:
            rows = [(*q.row(r), norm_hash(r.text), q.index_text(r), np.asarray(v), expires_of(r.metadata))
                    for r, v in zip(records, vectors, strict=True)]
            cur.executemany(q.INSERT_SQL, rows)
            cur.executemany(
                "INSERT INTO history (tenant, memory_id, user_id, agent_id, event, old_text, new_text, at) "
                "VALUES (%s, %s, %s, %s, 'ADD', NULL, %s, %s)",
                [(r.tenant, r.id, r.user_id, r.agent_id, r.text, q.utc(r.created_at)) for r in records],
            )

    def update(self, record: MemoryRecord, vector: np.ndarray, old_text: str, event: str = "UPDATE") -> None:
        with self.transaction(), self._conn() as conn:
            cur = conn.execute(
                f"UPDATE memories SET text=%s, norm_hash=%s, updated_at=%s, metadata=%s, source_ids=%s, vector=%s, "
                f"tsv=to_tsvector('{q.TS_CONFIG}', %s), expires_at=%s WHERE tenant=%s AND id=%s",
                (record.text, norm_hash(record.text), q.utc(record.updated_at), q.Jsonb(record.metadata),
                 q.Jsonb(record.source_ids), np.asarray(vector), q.index_text(record), expires_of(record.metadata),
                 record.tenant, record.id),
            )
            if cur.rowcount == 0:
                raise KeyError(record.id)
            self._log(conn, record, event, old_text, record.text, record.updated_at)
            self._bump(conn)

    def delete(self, tenant: str, memory_id: str) -> MemoryRecord | None:
        with self.transaction(), self._conn() as conn:
            row = conn.execute(f"DELETE FROM memories WHERE tenant=%s AND id=%s RETURNING {q.COLUMNS}",
                               (tenant, memory_id)).fetchone()
            if row is None:
                return None
            record = q.record(row)
            conn.execute(q.SCRUB_HISTORY, (tenant, memory_id))  # events and times stay, the text goes
            conn.execute("DELETE FROM recalls WHERE tenant=%s AND id=%s", (tenant, memory_id))
            _scrub_legacy(conn)
            self._log(conn, record, "DELETE", None, None, datetime.now(timezone.utc))
            self._bump(conn)
            return record

    def supersede(self, tenant: str, memory_id: str, at: datetime, by: str | None) -> MemoryRecord | None:
        with self.transaction(), self._conn() as conn:
            row = conn.execute(
                f"UPDATE memories SET valid_to=%s, superseded_by=%s WHERE tenant=%s AND id=%s RETURNING {q.COLUMNS}",
                (q.utc(at), by, tenant, memory_id)).fetchone()
            if row is None:
                return None
            record = q.record(row)
            self._log(conn, record, "SUPERSEDE", record.text, record.text, at)
            self._bump(conn)
            return record

    def expired(self, tenant: str, as_of: datetime) -> list[str]:
        """Store.expired, by the memories_expires index."""
        with self._conn() as conn:
            rows = conn.execute("SELECT id FROM memories WHERE tenant=%s AND expires_at IS NOT NULL "
                                "AND expires_at <= %s ORDER BY rid", (tenant, q.utc(as_of))).fetchall()
        return [mid for (mid,) in rows]

    def expired_tenants(self, as_of: datetime) -> list[str]:
        with self._conn() as conn:
            rows = conn.execute("SELECT DISTINCT tenant FROM memories WHERE expires_at IS NOT NULL "
                                "AND expires_at <= %s ORDER BY tenant", (q.utc(as_of),)).fetchall()
        return [t for (t,) in rows]

    def note_recalls(self, tenant: str, ids: Sequence[str], at: datetime) -> None:
        """Count one recall (into a context) of each memory, at `at`."""
        with self.transaction(), self._conn() as conn:
            for mid in dict.fromkeys(ids):
                conn.execute("INSERT INTO recalls (tenant, id, count, last_at) VALUES (%s, %s, 1, %s) "
                             "ON CONFLICT (tenant, id) DO UPDATE SET count = recalls.count + 1, "
                             "last_at = excluded.last_at", (tenant, mid, q.utc(at)))

    def recall_counts(self, tenant: str, ids: Sequence[str]) -> dict[str, tuple[int, datetime | None]]:
        """(recalls, last recalled) of the memories that were ever recalled."""
        with self._conn() as conn:
            rows = conn.execute("SELECT id, count, last_at FROM recalls WHERE tenant=%s AND id = ANY(%s)",
                                (tenant, list(dict.fromkeys(ids)))).fetchall()
        return {mid: (int(n), last) for mid, n, last in rows}

    def delete_scope(self, filters: Filters) -> int:
        """Store.delete_scope: rows (their tsvector with them), history, superseded facts too."""
        clause, params = q.where(replace(filters, include_superseded=True))
        with self.transaction(), self._conn() as conn:
            ids = [i for (i,) in conn.execute(f"DELETE FROM memories m WHERE {clause} RETURNING m.id", params)]
            conn.execute("DELETE FROM history WHERE tenant=%s AND memory_id = ANY(%s)", (filters.tenant, ids))
            conn.execute("DELETE FROM recalls WHERE tenant=%s AND id = ANY(%s)", (filters.tenant, ids))
            owner, owner_params = history_owner(filters, ph="%s")
            if owner:  # memories of the owner deleted one by one before: their events go too
                conn.execute(f"DELETE FROM history WHERE tenant=%s AND {owner} AND NOT EXISTS "
                             "(SELECT 1 FROM memories m WHERE m.tenant = history.tenant AND m.id = history.memory_id)",
                             (filters.tenant, *owner_params))
            _scrub_legacy(conn)
            self._bump(conn)
        return len(ids)

    def purge(self, wait_s: float | None = None) -> str:
        """Store.purge: "logical". A committed delete is gone from every table, index lookup and
        pg_dump at once; the bytes of dead tuples stay in the server's heap, index and WAL files
        until VACUUM and new writes reuse them (docs/forgetting.md says how to force it)."""
        return "logical"

    def erasure(self) -> str:
        return "logical"

    def restore(self, record: MemoryRecord, vector: np.ndarray, history: list[HistoryEntry]) -> None:
        with self.transaction(), self._conn() as conn:
            if conn.execute("SELECT 1 FROM memories WHERE tenant=%s AND id=%s", (record.tenant, record.id)).fetchone():
                raise ValueError(f"memory {record.id} already exists")
            conn.execute(q.INSERT_SQL, (*q.row(record), norm_hash(record.text), q.index_text(record),
                                        np.asarray(vector), expires_of(record.metadata)))
            for h in history:
                self._log(conn, record, h.event, h.old_text, h.new_text, h.at)

    def _log(self, conn: psycopg.Connection, record: MemoryRecord, event: str, old: str | None, new: str | None,
             at: datetime | None) -> None:
        conn.execute(
            "INSERT INTO history (tenant, memory_id, user_id, agent_id, event, old_text, new_text, at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (record.tenant, record.id, record.user_id, record.agent_id, event, old, new, q.utc(at)),
        )

    def _bump(self, conn: psycopg.Connection) -> None:
        conn.execute("INSERT INTO meta VALUES ('generation', '1') "
                     "ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text")

    # -- reads --------------------------------------------------------------------
    def _records(self, statement: str, params: Sequence) -> list[MemoryRecord]:
        with self._conn() as conn:
            return [q.record(r) for r in conn.execute(statement, list(params))]

    def get(self, tenant: str, memory_id: str) -> MemoryRecord | None:
        found = self._records(f"SELECT {q.COLUMNS} FROM memories WHERE tenant=%s AND id=%s", (tenant, memory_id))
        return found[0] if found else None

    def fetch(self, tenant: str, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        found = self._records(f"SELECT {q.COLUMNS} FROM memories WHERE tenant=%s AND id = ANY(%s)", (tenant, list(ids)))
        return {r.id: r for r in found}

    def list(self, filters: Filters, *, limit: int, offset: int = 0) -> builtins.list[MemoryRecord]:
        clause, params = q.where(filters)
        return self._records(
            f"SELECT {q.COLUMNS} FROM memories m WHERE {clause} "
            "ORDER BY occurred_at IS NULL, occurred_at, rid LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )

    def recent(self, filters: Filters, limit: int) -> builtins.list[MemoryRecord]:
        clause, params = q.where(filters)
        return self._records(f"SELECT {q.COLUMNS} FROM memories m WHERE {clause} ORDER BY rid DESC LIMIT %s",
                             (*params, limit))[::-1]

    def count(self, filters: Filters) -> int:
        clause, params = q.where(filters)
        return self.sql(f"SELECT count(*) FROM memories m WHERE {clause}".replace("%s", "?"), params)[0][0]

    def history(self, tenant: str, memory_id: str) -> builtins.list[HistoryEntry]:
        rows = self.sql("SELECT memory_id, event, old_text, new_text, at FROM history "
                        "WHERE tenant=? AND memory_id=? ORDER BY hid", (tenant, memory_id))
        return [HistoryEntry(r[0], r[1], r[2], r[3], q.utc(r[4])) for r in rows]

    def find_exact(self, filters: Filters, digest: str) -> builtins.list[MemoryRecord]:
        clause, params = q.where(filters)
        return self._records(f"SELECT {q.COLUMNS} FROM memories m WHERE {clause} AND m.norm_hash=%s", (*params, digest))

    def lexical(self, filters: Filters, terms: Sequence[str], k: int) -> Scored:
        """ts_rank over the rows in scope, divided by the best match's (which scores 1): a
        per-row score, so only the owner's rows decide it (pg_sql's docstring)."""
        expr, terms = q.tsquery(terms)
        if not terms:
            return []
        clause, params = q.where(filters)
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT m.id, ts_rank(m.tsv, query) AS score FROM memories m, ({'SELECT ' + expr} AS query) t "
                f"WHERE {clause} AND m.tsv @@ query ORDER BY score DESC, m.rid LIMIT %s", (*terms, *params, k),
            ).fetchall()
        if not rows:
            return []
        best = max(float(rows[0][1]), 1e-12)
        return [(mid, float(min(1.0, max(0.0, s / best)))) for mid, s in rows]

    def lexical_rows(self, view: OwnerView, filters: Filters, terms: Sequence[str],
                     k: int) -> tuple[np.ndarray, np.ndarray]:
        found = self.lexical(filters, terms, k)
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        ids, scores = zip(*found)
        rows = view.rows_of(ids)
        keep = rows >= 0  # written after the view was taken
        return rows[keep], np.array(scores)[keep]

    def dense(self, filters: Filters, queries: np.ndarray, k: int) -> builtins.list[Scored]:
        """Nearest rows by cosine distance (<=>): the HNSW index when the scope is large,
        the owner's index rows otherwise (the planner chooses)."""
        clause, params = q.where(filters)
        out = []
        with self._conn() as conn:
            for query in np.atleast_2d(queries):
                vec = np.asarray(query, dtype=np.float32)
                rows = conn.execute(
                    f"SELECT m.id, 1 - (m.vector <=> %s) AS sim, m.rid FROM memories m WHERE {clause} "
                    f"ORDER BY m.vector <=> %s LIMIT %s", (vec, *params, vec, k),
                ).fetchall()
                rows.sort(key=lambda r: (-_finite(r[1]), r[2]))
                out.append([(mid, float(min(1.0, max(0.0, _finite(s))))) for mid, s, _ in rows])
        return out

    def owner(self, filters: Filters) -> OwnerView:
        if self._cache is None:
            raise RuntimeError("check_encoder() must be called before searching")
        with self._lock, self._conn() as conn:  # one connection for the generation and the rows
            row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            generation = int(row[0]) if row else 0
            return self._cache.owner(filters.owner_key(), generation,
                                     lambda after: self._vector_rows(conn, filters, after))

    def _vector_rows(self, conn: psycopg.Connection, filters: Filters, after: int) -> builtins.list[Row]:
        clause, params = q.where(Filters(*filters.owner_key(), include_superseded=True))
        with conn.cursor(binary=True) as cur:
            cur.adapters.register_loader(conn.adapters.types["vector"].oid, q.VectorRawLoader)
            rows = cur.execute(f"SELECT rid, id, kind, session_id, role, extract(epoch FROM occurred_at)::float8, "
                               f"(position('?' in text) > 0 OR position('？' in text) > 0), valid_to IS NULL, vector, "
                               f"extract(epoch FROM expires_at)::float8 FROM memories m "
                               f"WHERE {clause} AND rid > %s ORDER BY rid", (*params, after)).fetchall()
        if not rows:
            return []
        matrix = q.vectors_from_raw([r[8] for r in rows])  # one conversion, not one per row
        return [(*r[:8], v, 0, r[9]) for r, v in zip(rows, matrix)]  # 0: ts_rank needs no row lengths

    def vectors(self, tenant: str, ids: Sequence[str]) -> np.ndarray:
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        with self._conn() as conn, conn.cursor(binary=True) as cur:
            found = dict(cur.execute("SELECT id, vector FROM memories WHERE tenant=%s AND id = ANY(%s)",
                                     (tenant, list(ids))).fetchall())
        missing = [m for m in ids if m not in found]
        if missing:
            raise KeyError(missing[0])
        return np.stack([found[m] for m in ids])

    def neighbors(self, record: MemoryRecord, before: int, after: int) -> builtins.list[MemoryRecord]:
        if record.session_id is None:
            return []
        base = (f"SELECT {q.COLUMNS} FROM memories WHERE tenant=%s AND session_id=%s AND kind='episode' "
                "AND user_id IS NOT DISTINCT FROM %s AND agent_id IS NOT DISTINCT FROM %s AND valid_to IS NULL "
                "AND rid {op} (SELECT rid FROM memories WHERE tenant=%s AND id=%s) ORDER BY rid {order} LIMIT %s")
        key = (record.tenant, record.session_id, record.user_id, record.agent_id, record.tenant, record.id)
        prev = self._records(base.format(op="<", order="DESC"), (*key, before))[::-1]
        return prev + self._records(base.format(op=">", order="ASC"), (*key, after))

    def iter_all(self, tenant: str) -> Iterator[tuple[MemoryRecord, np.ndarray, builtins.list[HistoryEntry]]]:
        with self._conn() as conn, conn.cursor(binary=True) as cur:
            rows = cur.execute(f"SELECT {q.COLUMNS}, vector FROM memories WHERE tenant=%s ORDER BY rid",
                               (tenant,)).fetchall()
            hist: dict[str, builtins.list[HistoryEntry]] = {}
            for mid, event, old, new, at in cur.execute(
                    "SELECT memory_id, event, old_text, new_text, at FROM history WHERE tenant=%s ORDER BY hid",
                    (tenant,)):
                hist.setdefault(mid, []).append(HistoryEntry(mid, event, old, new, q.utc(at)))
        for values in rows:
            record = q.record(values[:-1])
            yield record, values[-1], hist.get(record.id, [])


def _scrub_legacy(conn: psycopg.Connection) -> None:
    """Once per database, in the first delete's transaction: the history text older versions
    kept for deleted memories goes (base.SCRUB_ORPHAN_HISTORY)."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'history_scrubbed'").fetchone() is None:
        conn.execute(SCRUB_ORPHAN_HISTORY)
        conn.execute("INSERT INTO meta VALUES ('history_scrubbed', '1') ON CONFLICT (key) DO NOTHING")


def _line(exc: BaseException) -> str:
    """A driver error as one line (libpq's messages span several)."""
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def _finite(x: float | None) -> float:
    return float(x) if x is not None and np.isfinite(x) else 0.0
