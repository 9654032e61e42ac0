"""The embedded backend: one SQLite file in WAL mode, FTS5 for BM25, numpy for cosine.

A memory's row holds its vector, and its FTS5 row is written in the same transaction,
so a crash can never leave one without the other. Writers take ``BEGIN IMMEDIATE``,
which serialises them across threads and processes; readers never block. A writer that
waits longer than the busy timeout gets `StoreBusy` (HTTP 503). Deletes erase the text
physically as well (sqlite_erase.py).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import overload

import numpy as np

from memlm.config import IndexConfig
from memlm.settings import seconds, timeout_from_env
from memlm.stores.base import (
    Embed,
    Filters,
    Progress,
    Scored,
    StoreBusy,
    StoreWriteError,
    embedded,
    expires_of,
    history_owner,
    record_from,
    record_values,
    scored_ids,
    where_clause,
)
from memlm.stores.migrate import migrate_sqlite
from memlm.stores.sqlite_erase import EraseConfig, Eraser, count_delete, merge
from memlm.stores.sqlite_file import connect, open_writer
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
PLACEHOLDERS = ", ".join("?" * 18)  # COLUMNS, norm_hash, vector, expires_at


class SQLiteStore:
    """A memory store in one SQLite file (``:memory:`` is refused: use a temp file)."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", busy_timeout_s: float | None = None,
                 erase: EraseConfig | None = None, index: IndexConfig | None = None) -> None:
        self.path = Path(path)  # the database file; created on first use
        self.index = index or IndexConfig()  # the vector index's sizes and BLAS switch
        self.synchronous = synchronous  # FULL: a committed write survives power loss too
        # how long a writer waits for another's lock before StoreBusy; None: $MEMLM_BUSY_TIMEOUT, else 60 s
        self.busy_timeout_s = (timeout_from_env("busy_timeout") if busy_timeout_s is None
                               else seconds("busy_timeout", busy_timeout_s))
        self._eraser = Eraser(self, erase or EraseConfig())  # the physical half of deletes (sqlite_erase.py)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()  # the writer connection: one write transaction at a time
        self._cache: ViewCache | None = None
        self._view_lock = threading.Lock()  # the owner-view cache (never held across a commit)
        self._local = threading.local()  # per thread: its read connection, whether it is writing
        self._readers: list[sqlite3.Connection] = []  # every read connection, closed with the store
        self._readers_lock = threading.Lock()  # guards _readers
        self._lexicon_of_file: Lexicon | None = None  # BM25 over FTS5's data (sqlite_lexical.py), on first use
        self.read_only: str | None = None  # how the file is opened when it cannot be written ("ro", "immutable")

    # -- connection and schema -------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        return self._writer()

    def _writer(self) -> sqlite3.Connection:
        """The writer connection, opened (and the file migrated) on first use."""
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
                self._writer()  # opens and migrates the file first
            reader = connect(self.path, self.busy_timeout_s, self.read_only)
            reader.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            with self._readers_lock:
                self._readers.append(reader)
            self._local.reader = reader
        return reader

    def _open(self) -> sqlite3.Connection:
        # a folder, a non-SQLite or damaged file, another application's database: DatabaseFileError;
        # a file that cannot be written opens read-only (self.read_only; writes get StoreWriteError)
        conn, self.read_only = open_writer(self.path, self.busy_timeout_s, self.synchronous)
        try:
            migrate_sqlite(conn, _now())
        except sqlite3.OperationalError as exc:
            conn.close()
            if self.read_only and _write_fault(exc):
                raise StoreWriteError(f"{self.path} is read-only and needs a schema upgrade: open it once "
                                      f"where it can be written") from exc
            raise
        return conn

    def schema_versions(self) -> list[int]:
        return [v for (v,) in self._db.execute("SELECT version FROM schema_migrations ORDER BY version")]

    def sql(self, statement: str, params: Sequence = ()) -> list[tuple]:
        """Run one statement (``?`` placeholders); its rows, if any. Backend-neutral, for small tables."""
        if statement.lstrip()[:6].upper() == "SELECT":
            return self._db.execute(statement, tuple(params)).fetchall()
        with self.write_lock(self.busy_timeout_s):
            return self.conn.execute(statement, tuple(params)).fetchall()

    def check_encoder(self, name: str, dim: int) -> None:
        if self.encoder_info() is None:  # a new file: record the encoder (a write); else only read (read-only files)
            with self.transaction():
                if self.encoder_info() is None:
                    self.conn.executemany("INSERT INTO meta VALUES (?, ?)", [("encoder", name), ("dim", str(dim))])
        found = self.encoder_info() or (None, None)
        if found != (name, dim):
            raise ValueError(
                f"{self.path} was built with encoder {found[0]!r} (dim {found[1]}), "
                f"not {name!r} (dim {dim}); open it with that encoder or re-embed it"
            )
        if self._cache is None or self._cache.dim != dim:  # handles sharing this store share its cache
            self._cache = ViewCache(dim, config=self.index)

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
        self._cache = ViewCache(dim, config=self.index)  # every cached owner matrix holds old vectors (one atomic swap)
        return done

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.write_lock(self.busy_timeout_s):
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
                if _busy(exc):
                    raise self._busy_error() from exc
                raise
            finally:
                self._local.writing = False

    @contextmanager
    def write_lock(self, timeout_s: float) -> Iterator[None]:
        """The writer connection, for this thread alone; StoreBusy after timeout_s."""
        if not self._lock.acquire(timeout=max(timeout_s, 0.0)):
            raise self._busy_error()
        try:
            yield
        finally:
            self._lock.release()

    def _busy_error(self) -> StoreBusy:
        return StoreBusy(f"{self.path} is busy: another write held its lock for more than "
                         f"{self.busy_timeout_s:g} s; nothing was written, retry later")

    def optimize(self) -> None:
        """Merge the full-text index into one segment and refresh the planner's statistics. Each
        write transaction adds an FTS5 segment and a MATCH consults every segment, so after a
        bulk load per-owner lexical search would cost ~10x more at 1M rows until merged."""
        with self.write_lock(self.busy_timeout_s):
            self.conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
            self.conn.execute("PRAGMA optimize")

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Load many rows (migrations, benchmarks), then optimize() once at the end."""
        try:
            yield
        finally:
            self.optimize()

    def purge(self, wait_s: float | None = None) -> str:
        """Erase the bytes of every memory deleted so far from the file, WAL and FTS index
        (Store.purge; sqlite_erase.py): "complete", or "pending" while a reader holds an older
        snapshot after wait_s (default EraseConfig.wait_s); a background thread keeps trying."""
        return self._eraser.purge(wait_s)

    def erasure(self) -> str:
        """"complete" when every deleted memory's bytes are gone from the files, else "pending"."""
        return self._eraser.state()

    def close(self) -> None:
        self._eraser.stop()
        if self._conn is not None:
            self._eraser.final()
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
                    f"INSERT INTO memories ({COLUMNS}, norm_hash, vector, expires_at) VALUES ({PLACEHOLDERS})",
                    (*_row(record), norm_hash(record.text), _blob(vector), _ts(expires_of(record.metadata))),
                )
                self._index(_inserted_rid(cur), record)
                self._log(record, "ADD", None, record.text, record.created_at)

    def update(self, record: MemoryRecord, vector: np.ndarray, old_text: str, event: str = "UPDATE") -> None:
        with self.transaction():
            rid = self._rid(record.tenant, record.id)
            if rid is None:
                raise KeyError(record.id)
            self.conn.execute(
                "UPDATE memories SET text=?, norm_hash=?, updated_at=?, metadata=?, source_ids=?, vector=?, "
                "expires_at=? WHERE rid=?",
                (record.text, norm_hash(record.text), _ts(record.updated_at), json.dumps(record.metadata),
                 json.dumps(record.source_ids), _blob(vector), _ts(expires_of(record.metadata)), rid),
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
            self.conn.execute("DELETE FROM recalls WHERE tenant=? AND id=?", (tenant, memory_id))
            self.conn.execute("UPDATE history SET old_text=NULL, new_text=NULL WHERE tenant=? AND memory_id=?",
                              (tenant, memory_id))  # events and times stay, the text goes
            self._log(record, "DELETE", None, None, datetime.now(timezone.utc))
            count_delete(self.conn)
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

    def expired(self, tenant: str, as_of: datetime) -> list[str]:
        """Store.expired, by the memories_expires index."""
        sql = "SELECT id FROM memories WHERE tenant=? AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY rid"
        return [mid for (mid,) in self._db.execute(sql, (tenant, _ts(as_of)))]

    def expired_tenants(self, as_of: datetime) -> list[str]:
        sql = "SELECT DISTINCT tenant FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY tenant"
        return [t for (t,) in self._db.execute(sql, (_ts(as_of),))]

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
            row = self._db.execute(
                "SELECT count, last_at FROM recalls WHERE tenant=? AND id=?", (tenant, mid)
            ).fetchone()
            if row is not None:
                out[mid] = (int(row[0]), _dt(row[1]) if row[1] else None)
        return out

    def delete_scope(self, filters: Filters) -> int:
        """Store.delete_scope; then the bytes are erased from the file (up to EraseConfig.wait_s,
        then in the background: `erasure()` says where it stands)."""
        where, params = _where(replace(filters, include_superseded=True))  # superseded facts too
        with self.transaction():
            conn = self.conn
            rows = conn.execute(f"SELECT rid, id FROM memories m WHERE {where}", params).fetchall()
            conn.executemany("DELETE FROM memories_fts WHERE rowid=?", [(rid,) for rid, _ in rows])
            conn.executemany(
                "DELETE FROM history WHERE tenant=? AND memory_id=?", [(filters.tenant, m) for _, m in rows]
            )
            conn.executemany("DELETE FROM recalls WHERE tenant=? AND id=?", [(filters.tenant, m) for _, m in rows])
            conn.execute(f"DELETE FROM memories AS m WHERE {where}", params)
            owner, owner_params = history_owner(filters, ph="?")
            if owner:  # memories of the owner deleted one by one before: their events go too
                conn.execute(f"DELETE FROM history WHERE tenant=? AND {owner} AND NOT EXISTS "
                             "(SELECT 1 FROM memories m WHERE m.id = history.memory_id AND m.tenant = history.tenant)",
                             (filters.tenant, *owner_params))
            ticket = count_delete(conn)
            merge(conn)  # the index without the deleted rows' tokens, in the same commit
            self._bump()
        with suppress(StoreWriteError):  # the delete has committed: its bytes wait for the next purge()
            self._eraser.purge(ticket=ticket, merged=ticket)
        return len(rows)

    def restore(self, record: MemoryRecord, vector: np.ndarray, history: list[HistoryEntry]) -> None:
        with self.transaction():
            if self._rid(record.tenant, record.id) is not None:
                raise ValueError(f"memory {record.id} already exists")
            cur = self.conn.execute(
                f"INSERT INTO memories ({COLUMNS}, norm_hash, vector, expires_at) VALUES ({PLACEHOLDERS})",
                (*_row(record), norm_hash(record.text), _blob(vector), _ts(expires_of(record.metadata))),
            )
            self._index(_inserted_rid(cur), record)
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
        row = self._db.execute(
            f"SELECT {COLUMNS} FROM memories WHERE id=? AND +tenant=?", (memory_id, tenant)
        ).fetchone()
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

    def list(self, filters: Filters, *, limit: int, offset: int = 0) -> builtins.list[MemoryRecord]:
        where, params = _where(filters)
        sql = (f"SELECT {COLUMNS} FROM memories m WHERE {where} "
               "ORDER BY occurred_at IS NULL, occurred_at, rid LIMIT ? OFFSET ?")
        return [_record(r) for r in self._db.execute(sql, (*params, limit, offset))]

    def recent(self, filters: Filters, limit: int) -> builtins.list[MemoryRecord]:
        where, params = _where(filters)
        sql = f"SELECT {COLUMNS} FROM memories m WHERE {where} ORDER BY rid DESC LIMIT ?"
        return [_record(r) for r in self._db.execute(sql, (*params, limit))][::-1]

    def count(self, filters: Filters) -> int:
        where, params = _where(filters)
        return self._db.execute(f"SELECT count(*) FROM memories m WHERE {where}", params).fetchone()[0]

    def history(self, tenant: str, memory_id: str) -> builtins.list[HistoryEntry]:
        rows = self._db.execute(
            "SELECT memory_id, event, old_text, new_text, at FROM history WHERE tenant=? AND memory_id=? ORDER BY hid",
            (tenant, memory_id),
        )
        return [HistoryEntry(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4])) for r in rows]  # at: NOT NULL

    def find_exact(self, filters: Filters, digest: str) -> builtins.list[MemoryRecord]:
        where, params = _where(filters)
        sql = f"SELECT {COLUMNS} FROM memories m WHERE m.norm_hash=? AND {where}"
        return [_record(r) for r in self._db.execute(sql, (digest, *params))]

    def lexical(self, filters: Filters, terms: Sequence[str], k: int) -> Scored:
        view = self.owner(filters)
        return scored_ids(view, *self.lexical_rows(view, filters, terms, k))

    def lexical_rows(self, view: OwnerView, filters: Filters, terms: Sequence[str],
                     k: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 over the view's rows with the owner's statistics (sqlite_lexical.rank)."""
        if view.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        conn = self._db
        return rank(conn, self._lexicon(conn), view, filters, terms, k, self._row_estimate())

    def _lexicon(self, conn: sqlite3.Connection) -> Lexicon:
        if self._lexicon_of_file is None:
            self._lexicon_of_file = Lexicon.of(conn)
        return self._lexicon_of_file

    def _row_estimate(self) -> int:
        return self._db.execute("SELECT coalesce(max(rid), 0) FROM memories").fetchone()[0]

    def dense(self, filters: Filters, queries: np.ndarray, k: int) -> builtins.list[Scored]:
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
        sql = (f"SELECT m.rid, m.id, m.kind, m.session_id, m.role, m.occurred_at, "
               f"(instr(m.text, '?') > 0 OR instr(m.text, '？') > 0), "
               f"m.valid_to IS NULL, m.vector, d.sz, m.expires_at FROM memories m "
               f"LEFT JOIN memories_fts_docsize d ON d.id = m.rid WHERE {where} AND m.rid > ? ORDER BY m.rid")
        for rid, mid, kind, session, role, occurred, asks, current, blob, size, until in self._db.execute(
                sql, (*params, after)):
            ts = datetime.fromisoformat(occurred).timestamp() if occurred else None
            yield (rid, mid, kind, session, role, ts, bool(asks), bool(current), np.frombuffer(blob, dtype=np.float32),
                   row_tokens(size), datetime.fromisoformat(until).timestamp() if until else None)

    def vectors(self, tenant: str, ids: Sequence[str]) -> np.ndarray:
        found = {}
        for mid in ids:
            row = self._db.execute("SELECT vector FROM memories WHERE id=? AND +tenant=?", (mid, tenant)).fetchone()
            if row is None:
                raise KeyError(mid)
            found[mid] = np.frombuffer(row[0], dtype=np.float32)
        return np.stack([found[m] for m in ids]) if ids else np.zeros((0, 0), dtype=np.float32)

    def neighbors(self, record: MemoryRecord, before: int, after: int) -> builtins.list[MemoryRecord]:
        rid = self._rid(record.tenant, record.id)
        if rid is None or record.session_id is None:
            return []
        base = ("SELECT " + COLUMNS + " FROM memories WHERE tenant=? AND session_id=? AND kind='episode' "
                "AND user_id IS ? AND agent_id IS ? AND valid_to IS NULL AND rid {op} ? ORDER BY rid {order} LIMIT ?")
        key = (record.tenant, record.session_id, record.user_id, record.agent_id, rid)
        prev = [_record(r) for r in self._db.execute(base.format(op="<", order="DESC"), (*key, before))][::-1]
        nxt = [_record(r) for r in self._db.execute(base.format(op=">", order="ASC"), (*key, after))]
        return prev + nxt

    def iter_all(self, tenant: str) -> Iterator[tuple[MemoryRecord, np.ndarray, builtins.list[HistoryEntry]]]:
        rows = self._db.execute(
            f"SELECT {COLUMNS}, vector FROM memories WHERE tenant=? ORDER BY rid", (tenant,)
        ).fetchall()
        for row in rows:
            record = _record(row[:-1])
            yield record, np.frombuffer(row[-1], dtype=np.float32), self.history(tenant, record.id)


# -- helpers -------------------------------------------------------------------
def backfill_expiry(conn: sqlite3.Connection) -> int:
    """Migration 6: the expires_at column of every memory whose metadata holds an expiry
    (written before the column existed). Returns the rows filled."""
    done, after = 0, 0
    sql = ("SELECT rid, metadata FROM memories WHERE rid > ? AND metadata LIKE '%expires_at%' "
           "ORDER BY rid LIMIT 5000")
    while rows := conn.execute(sql, (after,)).fetchall():
        for rid, meta in rows:
            when = expires_of(json.loads(meta) if meta else None)
            if when is not None:
                conn.execute("UPDATE memories SET expires_at=? WHERE rid=?", (_ts(when), rid))
                done += 1
        after = rows[-1][0]
    return done


def _where(filters: Filters) -> tuple[str, list]:
    return where_clause(filters, ph="?", when=_ts, array_param=False)


def _row(r: MemoryRecord) -> tuple:
    return record_values(r, _ts, json.dumps)


def _record(row: Sequence) -> MemoryRecord:
    return record_from(row, _dt, json.loads)


def _inserted_rid(cur: sqlite3.Cursor) -> int:
    """The rowid of the row an INSERT just made (sqlite3 leaves lastrowid None only without one)."""
    if cur.lastrowid is None:
        raise RuntimeError("INSERT made no row")
    return cur.lastrowid


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


@overload
def _ts(value: datetime) -> str: ...


@overload
def _ts(value: datetime | None) -> str | None: ...


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


def _busy(exc: BaseException) -> bool:
    """Another connection held the lock past the busy timeout."""
    name = getattr(exc, "sqlite_errorname", "")
    return isinstance(exc, sqlite3.OperationalError) and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _write_fault(exc: BaseException) -> bool:
    """A full disk, a read-only file or an I/O error while writing (not a bug in the statement)."""
    name = getattr(exc, "sqlite_errorname", "")
    return isinstance(exc, sqlite3.OperationalError) and name.startswith(("SQLITE_FULL", "SQLITE_READONLY",
                                                                           "SQLITE_IOERR", "SQLITE_CANTOPEN"))
