"""The storage Protocol every backend implements exactly, and the filter type it takes.

Scores returned by a store are higher-is-better in [0, 1]: lexical scores are the
backend's full-text score divided by the best match's (the top lexical hit scores 1), computed
from the owner's rows alone (no other owner's writes change them); dense scores are cosine
similarities clipped at 0. Lexical search takes query terms (words), never a backend's query
syntax: each backend builds its own query from them (docs/recall.md, "Lexical index").
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from memlm.text import has_han, memory_text, segment, words
from memlm.types import HistoryEntry, MemoryRecord

if TYPE_CHECKING:
    from memlm.stores.vecindex import OwnerView


@dataclass(frozen=True)
class Filters:
    """Which memories an operation may see. The tenant is always fixed."""

    tenant: str  # isolation boundary, applied to every statement
    user_id: str | None = None  # None: any user of the tenant
    agent_id: str | None = None  # None: any agent
    session_id: str | None = None  # None: any session
    kinds: tuple[str, ...] | None = None  # None: every kind
    since: datetime | None = None  # occurred_at >= since (memories without a time are excluded)
    until: datetime | None = None  # occurred_at < until
    include_superseded: bool = False  # False: facts with a valid_to (superseded) are hidden
    # expiry as of this time: memories whose expires_at <= as_of are hidden (in the store's SQL
    # and owner views); None: expiry is not applied (purge, export, the write path's own reads)
    as_of: datetime | None = None

    def owner_key(self) -> tuple[str, str | None, str | None]:
        """The part of the filter that selects an owner's rows (what caches are keyed by)."""
        return (self.tenant, self.user_id, self.agent_id)


def where_clause(filters: Filters, *, ph: str, when: Callable[[datetime], Any],
                 array_param: bool) -> tuple[str, list]:
    """The filter as SQL over alias m, tenant first: (clause, params). `ph` is the driver's
    placeholder, `when` formats a datetime for the column, `array_param` binds the kinds as
    one array (`= ANY(...)`) instead of one placeholder each (`IN (...)`)."""
    clauses: list[str] = [f"m.tenant = {ph}"]
    params: list[Any] = [filters.tenant]  # strings, the kinds' list, formatted datetimes
    for col in ("user_id", "agent_id", "session_id"):
        value = getattr(filters, col)
        if value is not None:
            clauses.append(f"m.{col} = {ph}")
            params.append(value)
    if filters.kinds is not None:
        if array_param:
            clauses.append(f"m.kind = ANY({ph})")
            params.append(list(filters.kinds))
        else:
            clauses.append(f"m.kind IN ({', '.join([ph] * len(filters.kinds))})")
            params.extend(filters.kinds)
    for value, op in ((filters.since, ">="), (filters.until, "<")):
        if value is not None:
            clauses.append(f"m.occurred_at {op} {ph}")
            params.append(when(value))
    if not filters.include_superseded:
        clauses.append("m.valid_to IS NULL")
    if filters.as_of is not None:
        clauses.append(f"(m.expires_at IS NULL OR m.expires_at > {ph})")
        params.append(when(filters.as_of))
    return " AND ".join(clauses), params


def expires_of(metadata: Any) -> datetime | None:
    """A memory's expiry from its metadata["expires_at"] (write/forget.py), for the indexed
    expires_at column both backends keep beside the metadata; None when it has none (or an
    unreadable one)."""
    from memlm.write.inputs import parse_time

    raw = metadata.get("expires_at") if isinstance(metadata, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        return parse_time(raw)
    except ValueError:
        return None


def lexical_text(text: str, role: str | None, metadata: dict | None) -> str:
    """What both backends' lexical indexes hold for a memory: `memory_text` with every Chinese
    run segmented into space-separated words, long words also as their parts (text.segment,
    search mode: 上海浦东 -> 上海 浦东 上海浦东), so each is a token of the index's tokenizer."""
    return segment(memory_text(text, role, metadata), search=True)


def query_words(terms: Sequence[str]) -> list[str]:
    """The terms a lexical search matches, in order: each term as given (a term of several index
    tokens, such as "e-mail", is matched as a phrase), except that a term with Chinese in it
    becomes its words (text.words: 我对花生过敏 -> 我 对 花生 过敏), each a term of its own."""
    out: list[str] = []
    for term in terms:
        out.extend(words(term) if has_han(term) else [term])
    return out


# Files written before deletes scrubbed history kept the text of deleted memories there: the
# first delete under this version (on each backend) runs this once (both dialects).
SCRUB_ORPHAN_HISTORY = ("UPDATE history SET old_text = NULL, new_text = NULL "
                        "WHERE (old_text IS NOT NULL OR new_text IS NOT NULL) AND NOT EXISTS "
                        "(SELECT 1 FROM memories m WHERE m.tenant = history.tenant AND m.id = history.memory_id)")


def history_owner(filters: Filters, *, ph: str) -> tuple[str, list]:
    """The history rows of the scope's owner, as (clause, params), when the scope is a whole
    owner (a user and/or an agent, no session); ("", []) otherwise. `ph`: the placeholder."""
    if filters.session_id is not None or (filters.user_id is None and filters.agent_id is None):
        return "", []
    owner = [(col, getattr(filters, col)) for col in ("user_id", "agent_id") if getattr(filters, col) is not None]
    return " AND ".join(f"history.{col} = {ph}" for col, _ in owner), [value for _, value in owner]


def record_values(r: MemoryRecord, when: Callable[[datetime | None], Any], dump: Callable[[Any], Any]) -> tuple:
    """The record as its 15 column values (id .. superseded_by, the backends' COLUMNS order);
    `when` converts datetimes and `dump` the JSON fields for the driver."""
    return (r.id, r.tenant, r.user_id, r.agent_id, r.session_id, r.kind, r.role, r.text, when(r.created_at),
            when(r.updated_at), when(r.occurred_at), dump(r.metadata), dump(r.source_ids), when(r.valid_to),
            r.superseded_by)


def record_from(values: Sequence, when: Callable[[Any], datetime | None], load: Callable[[Any], Any]) -> MemoryRecord:
    """The record from its 15 column values (the inverse of record_values)."""
    (mid, tenant, user, agent, session, kind, role, text, created, updated, occurred, meta, sources, valid_to,
     superseded_by) = values
    return MemoryRecord(
        id=mid, kind=kind, text=text, user_id=user, agent_id=agent, session_id=session, role=role,
        created_at=when(created), updated_at=when(updated), occurred_at=when(occurred),
        metadata=load(meta), source_ids=load(sources), tenant=tenant, valid_to=when(valid_to),
        superseded_by=superseded_by,
    )


Scored = list[tuple[str, float]]  # (memory id, score in [0, 1]), best first
# re-embedding: a batch of memories (any tenant) in, their (n, dim) float32 unit vectors out, in order
Embed = Callable[[list[MemoryRecord]], np.ndarray]
Progress = Callable[[int, int], None]  # (memories done, memories in all), after each batch


def scored_ids(view: OwnerView, rows: np.ndarray, scores: np.ndarray) -> Scored:
    """Rows of an owner view with their scores as (memory id, score) pairs."""
    ids = view.ids
    return list(zip([ids[i] for i in rows.tolist()], scores.tolist()))


def embedded(embed: Embed, records: list[MemoryRecord], dim: int) -> np.ndarray:
    """embed(records) checked to be a finite (len(records), dim) float32 array (for `Store.reembed`)."""
    vectors = np.asarray(embed(records), dtype=np.float32)
    if vectors.shape != (len(records), dim):
        raise ValueError(f"re-embedding returned an array of shape {vectors.shape}, expected ({len(records)}, {dim})")
    if not np.isfinite(vectors).all():
        raise ValueError("re-embedding returned non-finite values")
    return vectors


class StoreUnavailable(ConnectionError):
    """The store's server cannot be reached right now (the HTTP API answers 503); retry later."""


class StoreBusy(StoreUnavailable):
    """Another write held the store's write lock longer than the busy timeout; nothing of this
    write was stored (the HTTP API answers 503, the CLI one line); retry later."""


class StoreWriteError(OSError):
    """The store cannot take writes: disk full, read-only file or database. The transaction was
    rolled back, nothing of it is stored, and reads still work (the HTTP API answers 503)."""


class Store(Protocol):
    """A memory store. Writes happen inside `transaction()`; every read is tenant-scoped."""

    def check_encoder(self, name: str, dim: int) -> None:
        """Record the encoder on first use; raise ValueError if the store was built with another."""
        ...

    def encoder_info(self) -> tuple[str, int] | None:
        """The recorded encoder (name, dim), or None before the store's first use."""
        ...

    def reembed(self, name: str, dim: int, embed: Embed, *, batch_size: int = 256,
                progress: Progress | None = None) -> int:
        """Replace the vector of every memory of every tenant (superseded ones too) by
        ``embed(batch of records)`` and record (name, dim) as the store's encoder, in ONE write
        transaction: all of it, or on any error nothing (the old encoder and vectors stay).
        Texts, ids, timestamps, history and the lexical index are untouched; in-memory vector
        caches are dropped. Other writers wait meanwhile. Returns the number of memories."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """An exclusive write transaction: all or nothing, serialised across processes."""
        ...

    def insert(self, records: Sequence[MemoryRecord], vectors: np.ndarray) -> None:
        """Store new memories with their (n, dim) unit vectors, their lexical rows and ADD history."""
        ...

    def update(self, record: MemoryRecord, vector: np.ndarray, old_text: str, event: str = "UPDATE") -> None:
        """Replace a memory's text, vector and metadata; the old text goes to history."""
        ...

    def delete(self, tenant: str, memory_id: str) -> MemoryRecord | None:
        """Delete one memory with its vector, lexical row and recall counts; its history keeps
        every event and time but no text, plus a DELETE entry without text. None if it is not the tenant's."""
        ...

    def supersede(self, tenant: str, memory_id: str, at: datetime, by: str | None) -> MemoryRecord | None:
        """Mark a memory no longer current (valid_to=at, superseded_by=by); its row and history stay.
        None if it is not the tenant's."""
        ...

    def expired(self, tenant: str, as_of: datetime) -> list[str]:
        """Ids of the tenant's memories (superseded ones too) whose expires_at <= as_of, by the
        indexed expires_at column (what `purge` deletes)."""
        ...

    def expired_tenants(self, as_of: datetime) -> list[str]:
        """The tenants that have memories expired as of `as_of` (what a scheduled purge visits)."""
        ...

    def note_recalls(self, tenant: str, ids: Sequence[str], at: datetime) -> None:
        """Count one recall (into a context) of each memory at `at` (the forget gate's strength)."""
        ...

    def recall_counts(self, tenant: str, ids: Sequence[str]) -> dict[str, tuple[int, datetime | None]]:
        """(recalls, last recalled) for those of the memories that were ever recalled."""
        ...

    def delete_scope(self, filters: Filters) -> int:
        """Erase every memory of the filter's scope, superseded ones included, with its vectors,
        lexical rows, recall counts and history, and the history of the owner's memories deleted before (a
        scope without a session); then purge as far as `purge()` can without a long wait.
        Returns the number of memories deleted."""
        ...

    def purge(self, wait_s: float | None = None) -> str:
        """Remove the bytes of every memory deleted so far from the store's files, waiting up to
        wait_s for readers of older snapshots. "complete": no byte remains (SQLite: database,
        -wal, -shm, FTS index); "pending": a reader still holds an older snapshot, retried in
        the background; "logical": PostgreSQL, gone from every table and pg_dump, the server's
        files may keep dead bytes until VACUUM reuses them (docs/forgetting.md)."""
        ...

    def erasure(self) -> str:
        """What `purge()` would answer now, without waiting or writing."""
        ...

    def get(self, tenant: str, memory_id: str) -> MemoryRecord | None: ...

    def fetch(self, tenant: str, ids: Sequence[str]) -> dict[str, MemoryRecord]: ...

    def list(self, filters: Filters, *, limit: int, offset: int = 0) -> builtins.list[MemoryRecord]:
        """Memories oldest first (by occurred_at, then insertion)."""
        ...

    def history(self, tenant: str, memory_id: str) -> builtins.list[HistoryEntry]: ...

    def find_exact(self, filters: Filters, norm_hash: str) -> builtins.list[MemoryRecord]:
        """Memories in scope whose normalised text hashes to norm_hash."""
        ...

    def lexical(self, filters: Filters, terms: Sequence[str], k: int) -> Scored:
        """Full-text search for memories in scope matching any of the query terms (words, in
        English or Chinese: `query_words`; no query syntax): the best k, scores relative to the
        best (1.0), from the statistics of the filter's owner (tenant, user, agent) alone."""
        ...

    def lexical_rows(self, view: OwnerView, filters: Filters, terms: Sequence[str],
                     k: int) -> tuple[np.ndarray, np.ndarray]:
        """`lexical` for recall: the best k matches as rows of `view` (a snapshot from
        `owner(filters)`; matches it lacks are left out) and their scores, best first."""
        ...

    def dense(self, filters: Filters, queries: np.ndarray, k: int) -> builtins.list[Scored]:
        """For each (dim,) row of queries, the k nearest memories in scope by cosine."""
        ...

    def owner(self, filters: Filters) -> OwnerView:
        """Every memory of the filter's owner as arrays (vectors, sessions, speakers...), cached."""
        ...

    def vectors(self, tenant: str, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these memories, in the given order."""
        ...

    def neighbors(self, record: MemoryRecord, before: int, after: int) -> builtins.list[MemoryRecord]:
        """Current episodes around this one in its session, oldest first (itself excluded;
        archived turns, superseded by their summary, left out)."""
        ...

    def recent(self, filters: Filters, limit: int) -> builtins.list[MemoryRecord]:
        """The latest memories in scope, oldest first (for working memory)."""
        ...

    def iter_all(self, tenant: str) -> Iterator[tuple[MemoryRecord, np.ndarray, builtins.list[HistoryEntry]]]:
        """Every memory of the tenant with its vector and history (for export)."""
        ...

    def restore(self, record: MemoryRecord, vector: np.ndarray, history: builtins.list[HistoryEntry]) -> None:
        """Write a memory exactly as exported (ids and timestamps kept)."""
        ...

    def sql(self, statement: str, params: Sequence = ()) -> builtins.list[tuple]:
        """Run one statement written with ``?`` placeholders on a small side table (API keys); its rows."""
        ...

    def close(self) -> None: ...
