"""Erasure on SQLite: the bytes of deleted memories leave the database file, its WAL and the FTS5 index.

Where a deleted memory's text lives after its DELETE commits, and what removes it:
- its rows (memories, history, the FTS5 content table): ``PRAGMA secure_delete=ON`` on the
  writing connection overwrites each deleted cell, and each page it frees, with zeros;
- the FTS5 index: a delete only writes a delete marker into a new segment, and the row's
  tokens stay in the older segments until they are merged. ``'optimize'`` merges every
  segment into one, which holds no token of a deleted row;
- the WAL (``-wal``): it keeps the page images written before the delete (the text) until a
  checkpoint copies the newest images into the database file and truncates it
  (``PRAGMA wal_checkpoint(TRUNCATE)``). That is only possible when no connection still reads
  a snapshot older than the delete: such a reader can still SELECT the text, so its bytes
  must exist. SQLite cannot take the snapshot away, and memlm does not claim otherwise.

`Eraser.purge` merges the index (one write transaction), then tries the checkpoint: each try
holds the writer lock and waits for readers at most `attempt_s`, so other writes keep going
between tries, until it succeeds or the caller's wait runs out. It answers "complete" only
after a checkpoint that followed the merge truncated the WAL to zero bytes; else "pending",
and a background thread keeps trying (backing off to one try per `retry_max_s`) until it
succeeds or the store closes. Two counters in ``meta`` make this hold across processes and
restarts: ``deletes`` (every delete adds one, in its own transaction) and ``erased_through``
(the ``deletes`` value every delete up to which is physically gone), so any later `purge`
by any process finishes what an earlier one left pending. memlm's own readers hold a snapshot
for one statement at a time, so only another program's long read transaction (or a process
that keeps a statement open) can keep an erasure pending.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memlm.stores.base import SCRUB_ORPHAN_HISTORY, StoreUnavailable

if TYPE_CHECKING:
    from memlm.stores.sqlite import SQLiteStore

log = logging.getLogger("memlm.stores")

COMPLETE = "complete"  # no byte of a deleted memory's text remains in the database, -wal, -shm or FTS index
PENDING = "pending"  # a reader holds a snapshot older than the delete: the bytes stay until it ends (retried)
LOGICAL = "logical"  # PostgreSQL: gone from every table, index lookup and pg_dump (see docs/forgetting.md)


@dataclass(frozen=True)
class EraseConfig:
    """How long a delete waits to erase its bytes physically (SQLite)."""

    wait_s: float = 2.0  # how long delete_scope waits for readers of an older snapshot before answering "pending"
    attempt_s: float = 0.2  # one checkpoint try's wait for readers (other writers wait at most this long for it)
    retry_max_s: float = 1.0  # the background retry backs off to one try per this many seconds


def count_delete(conn: sqlite3.Connection) -> int:
    """Inside a write transaction that deletes: count it; returns this delete's ticket. The
    file's first count also scrubs what older versions left: deleted memories' history text."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'deletes'").fetchone() is None:
        conn.execute(SCRUB_ORPHAN_HISTORY)
    conn.execute("INSERT INTO meta VALUES ('deletes', '1') "
                 "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
    return _counter(conn, "deletes")


def merge(conn: sqlite3.Connection) -> int:
    """Inside a write transaction: merge the FTS index into one segment, which drops every
    deleted row's tokens; returns the deletes count the merge covers."""
    conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
    return _counter(conn, "deletes")


def _legacy(conn: sqlite3.Connection) -> bool:
    """A file written before deletes were counted, which has deleted memories (whose text an
    older version kept in history and left in the index and WAL)."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'deletes'").fetchone() is not None:
        return False
    return conn.execute("SELECT 1 FROM history WHERE event = 'DELETE' LIMIT 1").fetchone() is not None


def _counter(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


class Eraser:
    """The physical half of a delete for one SQLiteStore (thread-safe)."""

    def __init__(self, store: SQLiteStore, config: EraseConfig) -> None:
        self.store = store
        self.config = config
        self._target: int | None = 0  # the ticket the background thread must see erased (None: the latest)
        self._wanted = False  # a purge went pending in this process: closing makes one last try
        self._guard = threading.Lock()  # guards _target and _thread
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def state(self) -> str:
        """COMPLETE when every delete so far is physically gone, else PENDING (reads two meta rows)."""
        conn = self.store._db
        if _legacy(conn):
            return PENDING
        return COMPLETE if _counter(conn, "erased_through") >= _counter(conn, "deletes") else PENDING

    def purge(self, wait_s: float | None = None, ticket: int | None = None, merged: int | None = None) -> str:
        """Erase the bytes of every delete up to `ticket` (default: every delete so far), trying
        until `wait_s` (default config.wait_s) has passed, at least once; `merged`: the index was
        merged already, in the transaction that counted that many deletes. COMPLETE or PENDING;
        StoreWriteError when the file cannot be written (read-only, disk full)."""
        deadline = time.monotonic() + (self.config.wait_s if wait_s is None else max(0.0, wait_s))
        try:
            if ticket is None:
                ticket = self._ticket()
            if merged is None:
                merged = self._merge(ticket)
                if merged is None:
                    return COMPLETE
            while True:
                if self._checkpoint():
                    self._record(merged)
                    return COMPLETE  # merged >= ticket: everything up to it is gone
                if time.monotonic() >= deadline:
                    break
                time.sleep(min(0.05, deadline - time.monotonic()))
        except (StoreUnavailable, sqlite3.Error) as exc:  # busy now: the thread retries
            log.info("erasure of %s deferred: %s", self.store.path, exc)
        self._later(ticket)
        return PENDING

    def _ticket(self) -> int:
        """The latest delete's ticket; on a file from before deletes were counted, a count that
        covers its earlier deletes (and scrubs their history text)."""
        if not _legacy(self.store._db):
            return _counter(self.store._db, "deletes")
        with self.store.transaction():
            return count_delete(self.store.conn) if _legacy(self.store.conn) else _counter(self.store.conn, "deletes")

    def _merge(self, ticket: int) -> int | None:
        """Merge the FTS index into one segment (dropping deleted rows' tokens); the deletes
        count it covers, or None when everything up to `ticket` is already erased."""
        with self.store.transaction():
            conn = self.store.conn
            if _counter(conn, "erased_through") >= ticket:
                return None
            return merge(conn)

    def _checkpoint(self) -> bool:
        """One try at copying the WAL into the database and truncating it: True when it did."""
        store = self.store
        wait = self.config.attempt_s
        if not store._lock.acquire(timeout=wait):  # another thread is writing: try again later
            return False
        try:
            conn = store.conn
            conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            try:
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                conn.execute(f"PRAGMA busy_timeout={int(store.busy_timeout_s * 1000)}")
            wal = store.path.with_name(store.path.name + "-wal")
            return busy == 0 and (not wal.exists() or wal.stat().st_size == 0)
        finally:
            store._lock.release()

    def _record(self, merged: int) -> None:
        with self.store.transaction():
            conn = self.store.conn
            if _counter(conn, "erased_through") < merged:
                conn.execute("INSERT INTO meta VALUES ('erased_through', ?) ON CONFLICT(key) DO UPDATE "
                             "SET value = excluded.value", (str(merged),))

    # -- the background retry ------------------------------------------------------
    def _later(self, ticket: int | None) -> None:
        """Keep trying in a background thread until every delete up to `ticket` (None: every
        delete when it tries) is erased, or the store closes."""
        with self._guard:
            self._wanted = True
            self._target = None if ticket is None or self._target is None else max(self._target, ticket)
            if self._stop.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._retry, name="memlm-erase", daemon=True)
            self._thread.start()

    def _retry(self) -> None:
        delay = 0.05
        while not self._stop.wait(delay):
            with self._guard:
                target = self._target
            try:
                if self._try_once(target):
                    with self._guard:
                        if self._target == target:  # nothing newer was asked for meanwhile
                            self._thread, self._target, self._wanted = None, 0, False
                            return
            except Exception as exc:
                log.info("erasure of %s still pending: %s", self.store.path, exc)
            delay = min(delay * 2, self.config.retry_max_s)

    def _try_once(self, target: int | None) -> bool:
        if target is None:
            target = self._ticket()
        merged = self._merge(target)
        if merged is None:
            return True
        if self._stop.is_set():
            return False
        if self._checkpoint():
            self._record(merged)
            return True
        return False

    def final(self) -> None:
        """The store is closing: one last try, no wait and no thread, if a purge of this process
        went pending (single deletes alone wait for the next purge: a merge costs the whole index)."""
        if not self._wanted:
            return
        try:
            if self._try_once(self._target):
                self._wanted = False
        except Exception as exc:
            log.info("erasure of %s left pending at close: %s", self.store.path, exc)

    def stop(self) -> None:
        """Stop the background thread before the store closes (a later purge() starts a new one)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.config.attempt_s * 4 + 2.0)
        with self._guard:
            if self._thread is None or not self._thread.is_alive():
                self._thread = None
                self._stop.clear()
