"""The embedded backend: one SQLite file in WAL mode, FTS5 for BM25, numpy for cosine.

A memory's row holds its vector, and its FTS5 row is written in the same transaction,
so a crash can never leave one without the other. Writers take ``BEGIN IMMEDIATE``,
which serialises them across threads and processes; readers never block.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from memlm.stores.base import (
    Embed,
    Filters,
    Progress,
    Scored,
    StoreWriteError,
    embedded,
    record_from,
    record_values,
    scored_ids,
    where_clause,
)
from memlm.stores.migrate import migrate_sqlite
from memlm.stores.sqlite_lexical import (
    Lexicon,
    index_text,
    owner_tokens,
    rank,
    row_tokens,
)
from memlm.stores.vecindex import OwnerView, Row, ViewCache
from memlm.text import norm_hash
from memlm.types import HistoryEntry, MemoryRecord

COLUMNS = (
    "id, tenant, user_id, agent_id, session_id, kind, role, text, created_at, updated_at, "
    "occurred_at, metadata, source_ids, valid_to, superseded_by"
)
PLACEHOLDERS = ", ".join("?" * 17)  # COLUMNS, norm_hash, vector


class SQLiteStore:
    """A memory store in one SQLite file (``:memory:`` is refused: use a temp file)."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)  # the database file; created on first use
        self.synchronous = synchronous  # FULL: a committed write survives power loss too
        self.busy_timeout_s = busy_timeout_s  # how long a writer waits for another's lock
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()  # the writer connection: one write transaction at a time
        self._cache: ViewCache | None = None
        self._view_lock = threading.Lock()  # the owner-view cache (never held across a commit)
        self._local = threading.local()  # per thread: its read connection, whether it is writing
        self._readers: list[sqlite3.Connection] = []  # every read connection, closed with the store
        self._readers_lock = threading.Lock()  # guards _readers
        self._lexicon_of_file: Lexicon | None = None  # BM25 over FTS5's data (sqlite_lexical.py), on first use

    # -- connection and schema -------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            return self._conn

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection for a read: the writer's inside this thread's write transaction (to
        see its own changes), else this thread's own connection. WAL readers see the last
        commit and never wait for a writer's commit (fsync) or see its uncommitted rows."""
        if getattr(self._local, "writing", False):
            return self.conn
        reader = getattr(self._local, "reader", None)
        if reader is None:
            if self._conn is None:
                self.conn  # opens and migrates the file first
            reader = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                     check_same_thread=False)
            reader.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            with self._readers_lock:
                self._readers.append(reader)
            self._local.reader = reader
        return reader

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
        migrate_sqlite(conn, _now())
        return conn

    def schema_versions(self) -> list[int]:
        return [v for (v,) in self._db.execute("SELECT version FROM schema_migrations ORDER BY version")]

    def sql(self, statement: str, params: Sequence = ()) -> list[tuple]:
        """Run one statement (``?`` placeholders); its rows, if any. Backend-neutral, for small tables."""
        if statement.lstrip()[:6].upper() == "SELECT":
            return self._db.execute(statement, tuple(params)).fetchall()
        with self._lock:
            return self.conn.execute(statement, tuple(params)).fetchall()

    def check_encoder(self, name: str, dim: int) -> None:
        with self.transaction():
            meta = dict(self.conn.execute("SELECT key, value FROM meta WHERE key IN ('encoder', 'dim')").fetchall())
            if not meta:
                self.conn.executemany("INSERT INTO meta VALUES (?, ?)", [("encoder", name), ("dim", str(dim))])
            elif meta.get("encoder") != name or int(meta.get("dim", -1)) != dim:
                raise ValueError(
                    f"{self.path} was built with encoder {meta.get('encoder')!r} (dim {meta.get('dim')}), "
                    f"not {name!r} (dim {dim}); open it with that encoder or re-embed it"
                )
        if self._cache is None or self._cache.dim != dim:  # handles sharing this store share its cache
            self._cache = ViewCache(dim)

    def encoder_info(self) -> tuple[str, int] | None:
        meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('encoder', 'dim')").fetchall())
        return (meta["encoder"], int(meta["dim"])) if meta else None

    def reembed(self, name: str, dim: int, embed: Embed, *, batch_size: int = 256,
                progress: Progress | None = None) -> int:
        """New vectors for every memory and the new encoder in meta, in one transaction (Store.reembed)."""
        done, after = 0, 0
        with self.transaction():
            total = self.conn.execute("SELECT count(*) FROM memories").fetchone()[0]
            while rows := self.conn.execute(f"SELECT rid, {COLUMNS} FROM memories WHERE rid > ? ORDER BY rid LIMIT ?",
                                            (after, max(1, batch_size))).fetchall():
                vectors = embedded(embed, [_record(r[1:]) for r in rows], dim)
                self.conn.executemany("UPDATE memories SET vector=? WHERE rid=?",
                                      [(_blob(v), r[0]) for r, v in zip(rows, vectors)])
                after, done = rows[-1][0], done + len(rows)
                if progress:
                    progress(done, total)
            self.conn.executemany("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                                  [("encoder", name), ("dim", str(dim))])
            self._bump()
        self._cache = ViewCache(dim)  # every cached owner matrix holds old vectors (one atomic swap)
        return done

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            conn = self.conn
            if conn.in_transaction:  # nested: join the outer transaction
                yield
                return
            self._local.writing = True
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if _write_fault(exc):
                    raise StoreWriteError(f"cannot write {self.path}: {exc}") from exc
                raise
            finally:
                self._local.writing = False

    def optimize(self) -> None:
        """Merge the full-text index into one segment and refresh the planner's statistics. Each
        write transaction adds an FTS5 segment and a MATCH consults every segment, so after a
        bulk load per-owner lexical search would cost ~10x more at 1M rows until merged."""
        with self._lock:
            self.conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
            self.conn.execute("PRAGMA optimize")

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Load many rows (migrations, benchmarks), then optimize() once at the end."""
        try:
            yield
        finally:
            self.optimize()

    def close(self) -> None:
        with self._lock:
            with self._readers_lock:
                for reader in self._readers:
                    reader.close()
                self._readers.clear()
            self._local = threading.local()  # threads open a new reader if the store is reused
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- writes ----------------------------------------------------------------
    def insert(self, records: Sequence[MemoryRecord], vectors: np.ndarray) -> None:
        with self.transaction():
            for record, vector in zip(records, vectors, strict=True):
                cur = self.conn.execute(
                    f"INSERT INTO memories ({COLUMNS}, norm_hash, vector) VALUES ({PLACEHOLDERS})",
                    (*_row(record), norm_hash(record.text), _blob(vector)),
                )
                self._index(cur.lastrowid, record)
                self._log(record, "ADD", None, record.text, record.created_at)

    def update(self, record: MemoryRecord, vector: np.ndarray, old_text: str, event: str = "UPDATE") -> None:
        with self.transaction():
            rid = self._rid(record.tenant, record.id)
            if rid is None:
                raise KeyError(record.id)
            self.conn.execute(
                "UPDATE memories SET text=?, norm_hash=?, updated_at=?, metadata=?, source_ids=?, vector=? WHERE rid=?",
                (record.text, norm_hash(record.text), _ts(record.updated_at), json.dumps(record.metadata),
                 json.dumps(record.source_ids), _blob(vector), rid),
            )
            self.conn.execute("DELETE FROM memories_fts WHERE rowid=?", (rid,))
            self._index(rid, record)
            self._log(record, event, old_text, record.text, record.updated_at)
            self._bump()

    def delete(self, tenant: str, memory_id: str) -> MemoryRecord | None:
        with self.transaction():
            record = self.get(tenant, memory_id)
            if record is None:
                return None
            rid = self._rid(tenant, memory_id)
            self.conn.execute("DELETE FROM memories_fts WHERE rowid=?", (rid,))
            self.conn.execute("DELETE FROM memories WHERE rid=?", (rid,))
            self._log(record, "DELETE", record.text, None, datetime.now(timezone.utc))
            self._bump()
            return record

    def supersede(self, tenant: str, memory_id: str, at: datetime, by: str | None) -> MemoryRecord | None:
        with self.transaction():
            record = self.get(tenant, memory_id)
            if record is None:
                return None
            record.valid_to, record.superseded_by = at, by
            self.conn.execute("UPDATE memories SET valid_to=?, superseded_by=? WHERE id=? AND +tenant=?",
                              (_ts(at), by, memory_id, tenant))
            self._log(record, "SUPERSEDE", record.text, record.text, at)
            self._bump()
            return record

    def note_recalls(self, tenant: str, ids: Sequence[str], at: datetime) -> None:
        """Count one recall (into a context) of each memory, at `at`."""
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO recalls (tenant, id, count, last_at) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (tenant, id) DO UPDATE SET count = count + 1, last_at = excluded.last_at",
                [(tenant, mid, _ts(at)) for mid in dict.fromkeys(ids)])

    def recall_counts(self, tenant: str, ids: Sequence[str]) -> dict[str, tuple[int, datetime | None]]:
        """(recalls, last recalled) of the memories that were ever recalled."""
        out = {}
        for mid in dict.fromkeys(ids):
            row = self._db.execute("SELECT count, last_at FROM recalls WHERE tenant=? AND id=?", (tenant, mid)).fetchone()
            if row is not None:
                out[mid] = (int(row[0]), _dt(row[1]) if row[1] else None)
        return out

    def delete_scope(self, filters: Filters) -> int:
        where, params = _where(filters)
        with self.transaction():
            rows = self.conn.execute(f"SELECT rid, id FROM memories m WHERE {where}", params).fetchall()
            for rid, mid in rows:
                self.conn.execute("DELETE FROM memories_fts WHERE rowid=?", (rid,))
                self.conn.execute("DELETE FROM history WHERE tenant=? AND memory_id=?", (filters.tenant, mid))
            self.conn.execute(f"DELETE FROM memories AS m WHERE {where}", params)
            self._bump()
        if rows:  # purge deleted terms from the FTS segments and the WAL, so nothing readable remains
            self.conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(rows)

    def restore(self, record: MemoryRecord, vector: np.ndarray, history: list[HistoryEntry]) -> None:
        with self.transaction():
            if self._rid(record.tenant, record.id) is not None:
                raise ValueError(f"memory {record.id} already exists")
            cur = self.conn.execute(
                f"INSERT INTO memories ({COLUMNS}, norm_hash, vector) VALUES ({PLACEHOLDERS})",
                (*_row(record), norm_hash(record.text), _blob(vector)),
            )
            self._index(cur.lastrowid, record)
            for h in history:
                self._log(record, h.event, h.old_text, h.new_text, h.at)

    def _index(self, rid: int, record: MemoryRecord) -> None:
        self.conn.execute(
            "INSERT INTO memories_fts(rowid, scope, body) VALUES (?, ?, ?)",
            (rid, " ".join(owner_tokens(record.tenant, record.user_id, record.agent_id)), index_text(record)),
        )

    def _log(self, record: MemoryRecord, event: str, old: str | None, new: str | None, at: datetime | None) -> None:
        self.conn.execute(
            "INSERT INTO history (tenant, memory_id, user_id, agent_id, event, old_text, new_text, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record.tenant, record.id, record.user_id, record.agent_id, event, old, new, _ts(at)),
        )

    def _bump(self) -> None:
        self.conn.execute(
            "INSERT INTO meta VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def _rid(self, tenant: str, memory_id: str) -> int | None:
        row = self._db.execute("SELECT rid FROM memories WHERE id=? AND +tenant=?", (memory_id, tenant)).fetchone()
        return row[0] if row else None

    # -- reads -----------------------------------------------------------------
    def get(self, tenant: str, memory_id: str) -> MemoryRecord | None:
        row = self._db.execute(f"SELECT {COLUMNS} FROM memories WHERE id=? AND +tenant=?", (memory_id, tenant)).fetchone()
        return _record(row) if row else None

    def fetch(self, tenant: str, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        out: dict[str, MemoryRecord] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            # "+tenant": look rows up by the unique id index, then check the tenant
            sql = f"SELECT {COLUMNS} FROM memories WHERE id IN ({', '.join('?' * len(part))}) AND +tenant=?"
            for row in self._db.execute(sql, (*part, tenant)):
                out[row[0]] = _record(row)
        return out

    def list(self, filters: Filters, *, limit: int, offset: int = 0) -> list[MemoryRecord]:
        where, params = _where(filters)
        sql = f"SELECT {COLUMNS} FROM memories m WHERE {where} ORDER BY occurred_at IS NULL, occurred_at, rid LIMIT ? OFFSET ?"
        return [_record(r) for r in self._db.execute(sql, (*params, limit, offset))]

    def recent(self, filters: Filters, limit: int) -> list[MemoryRecord]:
        where, params = _where(filters)
        sql = f"SELECT {COLUMNS} FROM memories m WHERE {where} ORDER BY rid DESC LIMIT ?"
        return [_record(r) for r in self._db.execute(sql, (*params, limit))][::-1]

    def count(self, filters: Filters) -> int:
        where, params = _where(filters)
        return self._db.execute(f"SELECT count(*) FROM memories m WHERE {where}", params).fetchone()[0]

    def history(self, tenant: str, memory_id: str) -> list[HistoryEntry]:
        rows = self._db.execute(
            "SELECT memory_id, event, old_text, new_text, at FROM history WHERE tenant=? AND memory_id=? ORDER BY hid",
            (tenant, memory_id),
        )
        return [HistoryEntry(r[0], r[1], r[2], r[3], _dt(r[4])) for r in rows]

    def find_exact(self, filters: Filters, digest: str) -> list[MemoryRecord]:
        where, params = _where(filters)
        sql = f"SELECT {COLUMNS} FROM memories m WHERE m.norm_hash=? AND {where}"
        return [_record(r) for r in self._db.execute(sql, (digest, *params))]

    def lexical(self, filters: Filters, match: str, k: int) -> Scored:
        view = self.owner(filters)
        return scored_ids(view, *self.lexical_rows(view, filters, match, k))

    def lexical_rows(self, view: OwnerView, filters: Filters, match: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 over the view's rows (sqlite_lexical.rank)."""
        if view.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        conn = self._db
        return rank(conn, self._lexicon(conn), view, filters, match, k, self._row_estimate())

    def _lexicon(self, conn: sqlite3.Connection) -> Lexicon:
        if self._lexicon_of_file is None:
            self._lexicon_of_file = Lexicon.of(conn)
        return self._lexicon_of_file

    def _row_estimate(self) -> int:
        return self._db.execute("SELECT coalesce(max(rid), 0) FROM memories").fetchone()[0]

    def dense(self, filters: Filters, queries: np.ndarray, k: int) -> list[Scored]:
        return self.owner(filters).search(filters, np.atleast_2d(queries), k)

    def owner(self, filters: Filters) -> OwnerView:
        if self._cache is None:
            raise RuntimeError("check_encoder() must be called before searching")
        with self._view_lock:
            generation = self._generation()
            return self._cache.owner(filters.owner_key(), generation, lambda after: self._vector_rows(filters, after))

    def _generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _vector_rows(self, filters: Filters, after: int) -> Iterator[Row]:
        owner = Filters(*filters.owner_key(), include_superseded=True)
        where, params = _where(owner)
        sql = (f"SELECT m.rid, m.id, m.kind, m.session_id, m.role, m.occurred_at, instr(m.text, '?') > 0, "
               f"m.valid_to IS NULL, m.vector, d.sz FROM memories m LEFT JOIN memories_fts_docsize d ON d.id = m.rid "
               f"WHERE {where} AND m.rid > ? ORDER BY m.rid")
        for rid, mid, kind, session, role, occurred, asks, current, blob, size in self._db.execute(sql, (*params, after)):
            ts = _dt(occurred).timestamp() if occurred else None
            yield (rid, mid, kind, session, role, ts, bool(asks), bool(current), np.frombuffer(blob, dtype=np.float32),
                   row_tokens(size))

    def vectors(self, tenant: str, ids: Sequence[str]) -> np.ndarray:
        found = {}
        for mid in ids:
            row = self._db.execute("SELECT vector FROM memories WHERE id=? AND +tenant=?", (mid, tenant)).fetchone()
            if row is None:
                raise KeyError(mid)
            found[mid] = np.frombuffer(row[0], dtype=np.float32)
        return np.stack([found[m] for m in ids]) if ids else np.zeros((0, 0), dtype=np.float32)

    def neighbors(self, record: MemoryRecord, before: int, after: int) -> list[MemoryRecord]:
        rid = self._rid(record.tenant, record.id)
        if rid is None or record.session_id is None:
            return []
        base = "SELECT " + COLUMNS + " FROM memories WHERE tenant=? AND session_id=? AND kind='episode' AND user_id IS ? AND agent_id IS ? AND rid {op} ? ORDER BY rid {order} LIMIT ?"
        key = (record.tenant, record.session_id, record.user_id, record.agent_id, rid)
        prev = [_record(r) for r in self._db.execute(base.format(op="<", order="DESC"), (*key, before))][::-1]
        nxt = [_record(r) for r in self._db.execute(base.format(op=">", order="ASC"), (*key, after))]
        return prev + nxt

    def iter_all(self, tenant: str) -> Iterator[tuple[MemoryRecord, np.ndarray, list[HistoryEntry]]]:
        rows = self._db.execute(f"SELECT {COLUMNS}, vector FROM memories WHERE tenant=? ORDER BY rid", (tenant,)).fetchall()
        for row in rows:
            record = _record(row[:-1])
            yield record, np.frombuffer(row[-1], dtype=np.float32), self.history(tenant, record.id)


# -- helpers -------------------------------------------------------------------
def _where(filters: Filters) -> tuple[str, list]:
    return where_clause(filters, ph="?", when=_ts, array_param=False)


def _row(r: MemoryRecord) -> tuple:
    return record_values(r, _ts, json.dumps)


def _record(row: Sequence) -> MemoryRecord:
    return record_from(row, _dt, json.loads)


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def _ts(value: datetime | None) -> str | None:
    """UTC ISO 8601 with microseconds: sorts as text in time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _now() -> str:
    return _ts(datetime.now(timezone.utc))


def _write_fault(exc: BaseException) -> bool:
    """A full disk, a read-only file or an I/O error while writing (not a bug in the statement)."""
    name = getattr(exc, "sqlite_errorname", "")
    return isinstance(exc, sqlite3.OperationalError) and name.startswith(("SQLITE_FULL", "SQLITE_READONLY",
                                                                           "SQLITE_IOERR", "SQLITE_CANTOPEN"))
