"""`Memory`: the engine's public face. Backend-agnostic write and read paths.

Write: validate -> the Writer (write/writer.py: chunk, encode, gate, apply in one transaction).
Read: the Retriever (recall/search.py: lexical + dense, time, hops, then the strength prior) ->
hits; context assembles a prompt block (working.py).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from memlm.config import MemoryConfig, default_db_path
from memlm.encoders.base import Encoder
from memlm.llm.base import LLM
from memlm.recall.search import Retriever
from memlm.stores.base import Filters, Store
from memlm.text import memory_text
from memlm.types import KINDS, Event, HistoryEntry, Hit, MemoryRecord, Scope
from memlm.write.forget import expiry, with_expiry
from memlm.write.inputs import Draft, check_kind, check_text, drafts_from_input, parse_time
from memlm.write.writer import Writer


def encoder_spec_for(store: Callable[[], Store], spec: str | None) -> str | None:
    """The encoder spec to open a store with: `spec` or $MEMLM_ENCODER when given; otherwise the
    spec of the encoder the store was made with (its recorded vector space), so an existing file
    keeps its encoder when the default changes; None (the default encoder) for a new store or a
    space no spec rebuilds (a fine-tuned MiniLM: the check then names the encoder it needs)."""
    from memlm.encoders import spec_for_space
    from memlm.settings import from_env

    if spec is not None or from_env("encoder"):
        return spec

    info = store().encoder_info()
    return spec_for_space(info[0]) if info else None


class Memory:
    """Long-term and working memory for an LLM application, in one store.

    `path` is a SQLite file or URL (default $MEMLM_HOME/memory.db; ``sqlite:///path``) or a
    ``postgresql://`` URL; `encoder` an Encoder or a
    spec such as "e5", "minilm" or "hashing" (default: $MEMLM_ENCODER, else the encoder an
    existing store was made with, else the packaged multilingual-e5-small). `llm` is optional:
    an LLM or a spec ("local", "openai:MODEL"; default $MEMLM_LLM, else none); with one, writes
    can extract facts and sessions get written
    summaries. Nothing is opened or loaded until first use.
    """

    def __init__(self, path: str | Path | None = None, encoder: Encoder | str | None = None, *,
                 config: MemoryConfig | None = None, store: Store | None = None, llm: LLM | str | None = None) -> None:
        from memlm.stores import normalize

        # a SQLite file's Path, or a postgresql:// URL (str); "sqlite:///x.db" becomes Path("/x.db")
        self.path = normalize(path) if path is not None else default_db_path()
        self.config = config or MemoryConfig()
        self._encoder_spec = encoder
        self._encoder: Encoder | None = encoder if encoder is not None and not isinstance(encoder, str) else None
        self._store = store
        self._llm_spec = llm
        self._llm: LLM | None = llm if llm is not None and not isinstance(llm, str) else None
        self._llm_resolved = self._llm is not None  # the spec has been turned into an LLM (or None)
        self._ready = False
        self._writer: Writer | None = None
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    # -- lazy parts ------------------------------------------------------------
    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            from memlm.encoders import get_encoder

            spec = self._encoder_spec if isinstance(self._encoder_spec, str) else None
            self._encoder = get_encoder(encoder_spec_for(self._open_store, spec))
        return self._encoder

    def _open_store(self) -> Store:
        with self._lock:
            if self._store is None:
                from memlm.stores import open_store

                self._store = open_store(self.path, index=self.config.index)
            return self._store

    @property
    def llm(self) -> LLM | None:
        """The LLM, loaded on first use; None when none is configured."""
        if not self._llm_resolved:
            from memlm.llm import get_llm

            self._llm = get_llm(self._llm_spec if isinstance(self._llm_spec, str) else None)
            self._llm_resolved = True
        return self._llm

    @property
    def store(self) -> Store:
        return self._ready_store()

    def _ready_store(self) -> Store:
        """The store, opened, with the encoder loaded and checked against it."""
        store = self._open_store()
        if not self._ready:
            encoder = self.encoder  # outside the lock: choosing it may read the store's record
            with self._lock:
                if not self._ready:
                    store.check_encoder(encoder.name, encoder.dim)
                    self._ready = True
        return store

    @property
    def writer(self) -> Writer:
        """The write path (write/writer.py) over this handle's store, encoder and config."""
        store = self.store
        if self._writer is None or self._writer.store is not store:
            self._writer = Writer(store, self.encoder, self.config)
        return self._writer

    @property
    def retriever(self) -> Retriever:
        """The read path (recall/search.py) over this handle's store, encoder and recall config."""
        store, config = self.store, self.config.recall
        if self._retriever is None or self._retriever.store is not store or self._retriever.config is not config:
            self._retriever = Retriever(store, self.encoder, config)
        return self._retriever

    @property
    def tenant(self) -> str:
        return self.config.tenant

    def open(self) -> None:
        """Open the store and load the encoder now rather than on first use, so that a bad path
        or encoder fails here."""
        self._ready_store()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------
    def add(self, messages_or_text: Any, *, user_id: str | None = None, agent_id: str | None = None,
            session_id: str | None = None, occurred_at: Any = None, metadata: dict | None = None,
            kind: str | None = None, source_ids: Sequence[str] | None = None,
            extract: bool | None = None, expires_at: Any = None, ttl: Any = None) -> list[Event]:
        """Remember a text (a fact by default) or conversation messages (episodes), gated.

        `source_ids` records provenance: the ids of the episodes a fact or summary came from.
        `extract` (default `config.extract_facts`) also has the LLM extract facts from new turns
        (write/extract.py); their events follow the episodes'. `expires_at` (a date) or `ttl`
        (seconds) makes the memories expire: hidden from then on, deleted by `purge`.
        """
        metadata = with_expiry(metadata, expiry(expires_at, ttl))
        extract = self.config.extract_facts if extract is None else extract
        llm = self.llm if extract else None  # loaded only when facts are to be extracted
        if extract and llm is None:
            raise ValueError("fact extraction needs an LLM: pass llm= (e.g. 'local') or set MEMLM_LLM")
        drafts = drafts_from_input(
            messages_or_text, scope=Scope(user_id, agent_id, session_id), occurred_at=occurred_at,
            metadata=metadata, kind=kind, max_chars=self.config.max_text_chars,
        )
        sources = _check_sources(source_ids)
        for d in drafts:
            d.source_ids = list(sources)
        events = self._write(drafts)
        if llm is not None:  # extract
            events += self.writer.facts(events, llm)
        return events

    def add_many(self, items: Iterable[Any], *, user_id: str | None = None, agent_id: str | None = None,
                 session_id: str | None = None, occurred_at: Any = None, kind: str | None = None,
                 progress: bool = False, expires_at: Any = None, ttl: Any = None) -> list[Event]:
        """Bulk ingestion: batched embedding, one transaction per batch of `config.batch_size`."""
        scope = Scope(user_id, agent_id, session_id)
        metadata = with_expiry(None, expiry(expires_at, ttl))
        events: list[Event] = []
        batch: list[Draft] = []
        bar = tqdm(desc="memories", unit="mem", disable=not progress)
        for item in items:
            batch.extend(drafts_from_input(item if isinstance(item, (str, dict)) else list(item), scope=scope,
                                           occurred_at=occurred_at, metadata=metadata, kind=kind,
                                           max_chars=self.config.max_text_chars))
            if len(batch) >= self.config.batch_size:
                events.extend(self._write(batch))
                bar.update(len(batch))
                batch = []
        if batch:
            events.extend(self._write(batch))
            bar.update(len(batch))
        bar.close()
        return events

    def _write(self, drafts: list[Draft]) -> list[Event]:
        return self.writer.write(drafts)

    # -- reading ---------------------------------------------------------------
    def search(self, query: str, *, user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None, k: int = 10, kinds: Sequence[str] | None = None,
               since: Any = None, until: Any = None, hops: int | None = None, neighbors: int = 0,
               now: Any = None, include_superseded: bool = False) -> list[Hit]:
        """Recall the k memories most relevant to the query, best first, scores in [0, 1].
        Superseded facts are left out unless `include_superseded`; of two current values of one
        single-valued attribute the newer ranks first (recall/current.py)."""
        query = check_text(query, max_chars=self.config.max_text_chars)
        if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        when = parse_time(now)
        filters = self._filters(user_id, agent_id, session_id, kinds, since, until,
                                include_superseded=include_superseded, as_of=when)
        return self.retriever.recall(query, filters, k, hops=hops, neighbors=neighbors, now=when,  # expired: not seen
                                     archived=self.config.capacity.limited)

    def _filters(self, user_id, agent_id, session_id, kinds=None, since=None, until=None,
                 require_owner: bool = True, include_superseded: bool = False,
                 as_of: datetime | None = None) -> Filters:
        """The store's filter; expiry is applied as of `as_of` (default: the present)."""
        Scope(user_id, agent_id, session_id).validate(require_owner=require_owner)
        if kinds is not None:
            kinds = tuple(check_kind(k) for k in ([kinds] if isinstance(kinds, str) else kinds))
        return Filters(self.tenant, user_id, agent_id, session_id, kinds, parse_time(since), parse_time(until),
                       bool(include_superseded), as_of or datetime.now(timezone.utc))

    def get(self, memory_id: str) -> MemoryRecord | None:
        return self.store.get(self.tenant, memory_id)

    def list(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
             kinds: Sequence[str] | None = None, limit: int = 100, offset: int = 0,
             include_superseded: bool = False, now: Any = None) -> builtins.list[MemoryRecord]:
        """Memories in scope, oldest first (paged); superseded facts only if asked for; expired
        ones (as of `now`, default the present) never."""
        if limit <= 0 or offset < 0:
            raise ValueError("limit must be positive and offset non-negative")
        filters = self._filters(user_id, agent_id, session_id, kinds, require_owner=False,
                                include_superseded=include_superseded, as_of=parse_time(now))
        return self.store.list(filters, limit=limit, offset=offset)  # expired ones: left out by the store

    def update(self, memory_id: str, text: str, *, expires_at: Any = None, ttl: Any = None) -> Event:
        """Replace a memory's text by hand; the old text stays in history. `expires_at` / `ttl`
        set a new expiry."""
        return self.writer.revise(memory_id, check_text(text, max_chars=self.config.max_text_chars),
                                  expires=expiry(expires_at, ttl))

    def purge(self, *, now: Any = None) -> int:
        """Delete the tenant's expired memories (as of `now`, default the present) and erase their
        bytes as `erase(0)` does (the rest is retried in the background); returns how many."""
        n = len(self.writer.purge(parse_time(now)))
        if n:
            self.store.purge(0.0)
        return n

    def forget(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
               before: Any = None, kind: str | Sequence[str] | None = None, weaker_than: float | None = None,
               dry_run: bool = True, now: Any = None) -> builtins.list[MemoryRecord]:
        """Forget on purpose: the scope's memories older than `before` (occurred_at, else
        created_at), of `kind`, in `session_id`, with a strength under `weaker_than` (recalls into
        a context, decaying; write/forget.py). With `dry_run` (the default) nothing is deleted:
        the memories that would go are returned; else they are deleted and returned."""
        filters = self._filters(user_id, agent_id, session_id, kind, require_owner=False, include_superseded=True)
        if before is None and kind is None and session_id is None and weaker_than is None:
            raise ValueError("forget needs a rule: before, kind, session_id or weaker_than")
        if weaker_than is not None and (isinstance(weaker_than, bool) or not isinstance(weaker_than, (int, float))
                                        or not weaker_than > 0):
            raise ValueError(f"weaker_than must be a positive number, got {weaker_than!r}")
        return self.writer.forget(filters, parse_time(before), weaker_than=weaker_than, dry_run=bool(dry_run),
                                  now=parse_time(now))

    def enforce_capacity(self, *, user_id: str | None = None, agent_id: str | None = None,
                         session_id: str | None = None, max_memories: int | None = None,
                         max_tokens: int | None = None, policy: str | None = None, dry_run: bool = False,
                         now: Any = None) -> dict[str, Any]:
        """Bring an owner within its capacity (`config.capacity`, or the limits given here):
        the weakest old episodes of its closed sessions (not `session_id`, default the session
        of its latest episode) are summarised into their session's summary, then archived
        (hidden from recall, kept for export) or deleted, by policy (write/capacity.py).
        Facts are never taken. Returns what was (with `dry_run`: would be) taken."""
        from memlm.config import CapacityConfig
        from memlm.write.capacity import enforce

        Scope(user_id, agent_id, None).validate()
        base = self.config.capacity
        config = CapacityConfig(max_memories=base.max_memories if max_memories is None else max_memories,
                                max_tokens=base.max_tokens if max_tokens is None else max_tokens,
                                policy=base.policy if policy is None else policy, on_write=base.on_write)
        if not config.limited:
            raise ValueError("no capacity limit: set max_memories or max_tokens (here or in config.capacity)")
        relief = enforce(self.writer, user_id, agent_id, config=config,
                         now=parse_time(now) or datetime.now(timezone.utc), current_session=session_id,
                         llm=self.llm, dry_run=bool(dry_run))
        return relief.to_dict()

    def supersede(self, memory_id: str, *, by: str | None = None, at: Any = None) -> Event:
        """Mark a memory as no longer true (e.g. a fact the user contradicted) without erasing it:
        it gets valid_to (`at`, default now) and `superseded_by`, keeps its history, and is left
        out of recall unless asked for."""
        when = parse_time(at) or datetime.now(timezone.utc)
        record = self.store.supersede(self.tenant, memory_id, when, by)
        if record is None:
            raise KeyError(f"no memory {memory_id!r}")
        return Event("SUPERSEDE", memory_id, record.text, kind=record.kind)

    def consolidate(self, *, user_id: str | None = None, session_id: str, agent_id: str | None = None) -> Event:
        """Summarise a session into its `summary` memory, linked to its episodes (by the LLM if
        there is one, else extractively); a second call updates the summary."""
        return self.writer.summary(Scope(user_id, agent_id, session_id).validate(), self.llm)

    def delete(self, memory_id: str) -> Event:
        record = self.store.delete(self.tenant, memory_id)
        if record is None:
            raise KeyError(f"no memory {memory_id!r}")
        return Event("DELETE", memory_id, record.text, kind=record.kind)

    def delete_all(self, *, user_id: str | None = None, agent_id: str | None = None,
                   session_id: str | None = None) -> int:
        """Erase every memory in the scope (superseded facts too), with its vectors, index rows and
        history; the bytes leave the store's files too (see `erase`). Refuses an empty scope."""
        scope = Scope(user_id, agent_id, session_id)
        if scope.is_empty():
            raise ValueError("delete_all needs a scope (user_id, agent_id or session_id); refusing to erase everything")
        scope.validate(require_owner=False)
        return self.store.delete_scope(Filters(self.tenant, user_id, agent_id, session_id))

    def erase(self, wait_s: float | None = None) -> str:
        """Remove the bytes of every memory deleted so far from the store's files: "complete",
        "pending" (a reader holds an older snapshot; retried in the background) or "logical"
        (PostgreSQL: gone from every table and pg_dump). docs/forgetting.md."""
        return self.store.purge(wait_s)

    def history(self, memory_id: str) -> builtins.list[HistoryEntry]:
        entries = self.store.history(self.tenant, memory_id)
        if not entries:
            raise KeyError(f"no memory {memory_id!r}")
        return entries

    def _require(self, memory_id: str) -> MemoryRecord:
        record = self.get(memory_id)
        if record is None:
            raise KeyError(f"no memory {memory_id!r}")
        return record

    # -- portability and working memory (see portability.py, working.py) -------
    def export(self, path: str | Path, *, user_id: str | None = None, agent_id: str | None = None) -> int:
        """Write the tenant's memories (only this user's / agent's when given) to a JSONL file."""
        from memlm.portability import export_jsonl

        Scope(user_id, agent_id, None).validate(require_owner=False)
        return export_jsonl(self.store, self.encoder, self.tenant, Path(path), user_id=user_id, agent_id=agent_id)

    def import_(self, path: str | Path) -> int:
        """Load a JSONL export; memories already here unchanged are skipped. Returns how many were written."""
        from memlm.portability import import_jsonl

        return import_jsonl(self.store, self.encoder, self.tenant, Path(path)).imported

    def session(self, user_id: str, session_id: str, *, budget_tokens: int = 1000,
                agent_id: str | None = None, consolidate_every: int = 8):
        """Working memory for one session; turns that overflow it get summarised (see consolidate)."""
        from memlm.working import WorkingMemory

        return WorkingMemory(self, self._reader(), Scope(user_id, agent_id, session_id).validate(), budget_tokens,
                             consolidate_every)

    def context(self, query: str, *, user_id: str | None = None, session_id: str | None = None,
                agent_id: str | None = None, budget_tokens: int = 2000, k: int = 10, now: Any = None,
                count_recall: bool = True):
        """The prompt block for this query: working memory, then recalled memories with dates.
        Each recalled memory's recall is counted (its strength grows) unless `count_recall` is
        False (an inspector looking, not a model using it)."""
        from memlm.working import build_context

        ctx = build_context(self._reader(), query, Scope(user_id, agent_id, session_id).validate(),
                            budget_tokens=budget_tokens, k=k, now=now)
        if ctx.recalled and count_recall:  # recalled into a context: stronger (the forget gate's strength)
            self.store.note_recalls(self.tenant, [h.memory.id for h in ctx.recalled],
                                    parse_time(now) or datetime.now(timezone.utc))
        return ctx

    def _reader(self):
        from memlm.working import Reader

        def search(query: str, scope: Scope, k: int, now: Any) -> builtins.list[Hit]:
            return self.search(query, user_id=scope.user_id, agent_id=scope.agent_id, k=k, now=now)

        return Reader(self.store, self.tenant, self.encoder.count_tokens, search)


def reembed(path: str | Path, encoder: Encoder | str, *, batch_size: int = 256,
            progress: bool = False) -> dict[str, Any]:
    """Re-embed every memory of the store at `path` (all tenants) with `encoder` and make it the
    store's recorded encoder: all or nothing (see `Store.reembed`). Stop other processes using the
    store first; they would keep querying with the old encoder. Returns what changed."""
    from memlm.encoders import get_encoder
    from memlm.stores import normalize, open_store

    target = normalize(path)
    if isinstance(target, Path) and not target.is_file():
        raise FileNotFoundError(f"no memory database at {target}")
    enc = get_encoder(encoder) if isinstance(encoder, str) else encoder
    store = open_store(target)
    try:
        before = store.encoder_info()
        with tqdm(desc="re-embedding", unit="mem", disable=not progress) as bar:
            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            n = store.reembed(enc.name, enc.dim, lambda recs: enc.encode(
                [memory_text(r.text, r.role, r.metadata) for r in recs]), batch_size=batch_size, progress=advance)
    finally:
        store.close()
    return {"reembedded": n, "encoder": enc.name, "dim": enc.dim,
            "previous_encoder": before[0] if before else None, "previous_dim": before[1] if before else None}


def _check_sources(source_ids: Sequence[str] | None) -> list[str]:
    if source_ids is None:
        return []
    if isinstance(source_ids, str) or not all(isinstance(x, str) and x for x in source_ids):
        raise ValueError("source_ids must be a list of memory ids (non-empty strings)")
    return list(source_ids)


__all__ = ["KINDS", "Memory", "reembed"]
