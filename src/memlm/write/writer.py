"""The write path, in one place: the mirror of recall's `Retriever`.

A `Writer` holds a store, an encoder and the engine's config. Every write goes through it:
plain adds (`write`), facts an LLM extracted (`write/extract.py` through `facts`),
session summaries (`write/consolidate.py` through `summary`) and a caller's own edit
(`revise`). Each new memory is

1. chunked and encoded (batched);
2. compared with its candidates: stored memories with the same normalised text, its
   nearest stored neighbours of the same owner and kind, and the drafts written earlier in
   the same batch (`candidates`);
3. decided on (`decide`, the only place a NOOP / UPDATE / SUPERSEDE is chosen: the rule
   gate of write/gate.py, and with an LLM the LLM's proposal, which the same rule checks);
4. applied (`apply`, the only place a memory is added, updated or superseded), in one
   transaction per batch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

from memlm.config import MemoryConfig
from memlm.encoders.base import Encoder
from memlm.recall.strength import strengths
from memlm.stores.base import Filters, Store
from memlm.text import memory_text, norm_hash
from memlm.types import Event, MemoryRecord, Scope
from memlm.write.chunk import chunk_text
from memlm.write.forget import EXPIRES, selected, with_expiry
from memlm.write.gate import Decision, check_proposal, decide
from memlm.write.inputs import Draft

if TYPE_CHECKING:
    from memlm.llm.base import LLM

Candidates = list[tuple[MemoryRecord, float]]


@dataclass
class Batch:
    """Memories added in one transaction, inserted together at its end; they are candidates
    for the drafts that follow them in the batch."""

    records: list[MemoryRecord] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)

    def candidates(self, draft: Draft, vector: np.ndarray) -> Candidates:
        if not self.records:
            return []
        sims = np.stack(self.vectors) @ vector
        return [(rec, float(s)) for rec, s in zip(self.records, sims) if rec.kind == draft.kind]


class Writer:
    """Decides and applies every write of one store, encoder and config."""

    def __init__(self, store: Store, encoder: Encoder, config: MemoryConfig) -> None:
        self.store = store
        self.encoder = encoder
        self.config = config

    @property
    def tenant(self) -> str:
        return self.config.tenant

    # -- entry points ------------------------------------------------------------
    def write(self, drafts: list[Draft]) -> list[Event]:
        """Chunk, encode, gate and store drafts (one transaction); an event per memory."""
        drafts = self.chunk(drafts)
        if not drafts:
            return []
        vectors = self.embed(drafts)
        events: list[Event] = []
        with self.store.transaction():
            batch = Batch()
            stored = self.candidates(drafts, vectors)
            for i, draft in enumerate(drafts):
                near = stored[i] + batch.candidates(draft, vectors[i])
                near.sort(key=lambda rs: -rs[1])
                events.extend(self.apply(self.decide(draft, near), draft, vectors[i], batch))
            self.flush(batch)
        capacity = self.config.capacity
        if capacity.limited and capacity.on_write:  # the forget gate's capacity (write/capacity.py)
            self.relieve(drafts)
        return events

    def relieve(self, drafts: list[Draft]) -> None:
        """Enforce the capacity for each owner these drafts were written for, sparing the
        session each was written to (write/capacity.py)."""
        from memlm.write.capacity import enforce

        owners: dict[tuple[str | None, str | None], str | None] = {}
        for d in drafts:
            owners[(d.scope.user_id, d.scope.agent_id)] = d.scope.session_id
        for (user, agent), session in owners.items():
            if user is not None or agent is not None:
                enforce(self, user, agent, config=self.config.capacity, now=datetime.now(timezone.utc),
                        current_session=session)

    def facts(self, events: list[Event], llm: LLM) -> list[Event]:
        """Facts the LLM extracts from the turns these events added, each gated; their events."""
        from memlm.write.extract import FactExtractor

        return FactExtractor(self, llm).run(events)

    def summary(self, scope: Scope, llm: LLM | None) -> Event:
        """Summarise the scope's session into its summary memory (see write/consolidate.py)."""
        from memlm.write.consolidate import consolidate

        return consolidate(self, scope, llm)

    def revise(self, memory_id: str, text: str, *, expires: datetime | None = None) -> Event:
        """A caller's own new text for a memory (Memory.update): the old text stays in history;
        `expires` sets a new expiry (None: the memory keeps the one it has)."""
        with self.store.transaction():
            record = self.store.get(self.tenant, memory_id)
            if record is None:
                raise KeyError(f"no memory {memory_id!r}")
            meta = with_expiry(dict(record.metadata), expires) or {}
            draft = Draft(text, record.kind, record.scope, record.role, record.occurred_at, meta)
            [event] = self.apply(Decision("UPDATE", record), draft, self.embed([draft])[0], Batch())
        return event

    def purge(self, now: datetime | None = None) -> list[str]:
        """Delete the tenant's expired memories; their ids."""
        gone = self.store.expired(self.tenant, now or datetime.now(timezone.utc))  # by the indexed column
        for mid in gone:
            self.store.delete(self.tenant, mid)
        return gone

    def forget(self, filters: Filters, before: datetime | None, *, weaker_than: float | None = None,
               dry_run: bool = True, now: datetime | None = None) -> list[MemoryRecord]:
        """The memories in `filters` older than `before` and weaker than `weaker_than` (each rule
        only when given); deleted unless dry_run."""
        records = self._all(filters)
        weak = {r.id: True for r in records}
        if weaker_than is not None:  # the strength recall ranks by (recall/strength.py)
            strong = strengths(self.store, self.tenant, records, now, self.config.recall)
            weak = {r.id: strong[r.id].strength < weaker_than for r in records}
        chosen = [r for r in records if selected(r, before=before, kinds=filters.kinds, weaker=weak[r.id])]
        if not dry_run:
            for record in chosen:
                self.store.delete(self.tenant, record.id)
        return chosen

    def _all(self, filters: Filters, page: int = 1000) -> list[MemoryRecord]:
        out: list[MemoryRecord] = []
        while True:
            rows = self.store.list(filters, limit=page, offset=len(out))
            out.extend(rows)
            if len(rows) < page:
                return out

    # -- the steps -----------------------------------------------------------------
    def chunk(self, drafts: list[Draft]) -> list[Draft]:
        """Texts over `chunk_tokens` become several drafts, linked by a chunk group."""
        out: list[Draft] = []
        for d in drafts:
            pieces = chunk_text(d.text, self.config.chunk_tokens, self.encoder.count_tokens)
            if len(pieces) == 1:
                out.append(d)
                continue
            group = uuid.uuid4().hex
            for i, piece in enumerate(pieces):
                meta = {**d.metadata, "chunk": i, "chunks": len(pieces), "chunk_group": group}
                out.append(Draft(piece, d.kind, d.scope, d.role, d.occurred_at, meta, list(d.source_ids)))
        return out

    def embed(self, drafts: list[Draft]) -> np.ndarray:
        return self.encoder.encode([memory_text(d.text, d.role, d.metadata) for d in drafts])

    def candidates(self, drafts: list[Draft], vectors: np.ndarray, *, kinds: tuple[str, ...] | None = None,
                   min_similarity: float | None = None) -> list[Candidates]:
        """Each draft's stored candidates, most similar first: memories of the same owner and kind
        with the same normalised text (similarity 1) and its `gate.neighbours` nearest ones."""
        out: list[Candidates] = [[] for _ in drafts]
        groups: dict[tuple, list[int]] = {}
        for i, d in enumerate(drafts):
            groups.setdefault((d.scope.user_id, d.scope.agent_id, d.kind), []).append(i)
        for (user, agent, kind), idx in groups.items():
            filters = Filters(self.tenant, user, agent, kinds=kinds or (kind,), as_of=datetime.now(timezone.utc))
            results = self.store.dense(filters, vectors[idx], self.config.gate.neighbours)
            records = self.store.fetch(self.tenant, list({m for r in results for m, _ in r}))
            for i, scored in zip(idx, results):
                same = [(r, 1.0) for r in self.store.find_exact(filters, norm_hash(drafts[i].text))]
                seen = {r.id for r, _ in same}  # expired memories: left out by the store (filters.as_of)
                near = [(records[m], s) for m, s in scored if m in records and m not in seen]
                if min_similarity is not None:
                    near = [(r, s) for r, s in near if s >= min_similarity]
                out[i] = same + near
        return out

    def decide(self, draft: Draft, near: Candidates, proposal: Decision | None = None) -> Decision:
        """The one place a write is decided. Without a proposal, the rule gate decides. An LLM's
        proposal (UPDATE / SUPERSEDE of a candidate, NOOP, ADD) stands unless the rule gate
        refuses it: a change to a memory whose subject or attribute differs becomes an ADD with
        a note; a same-text NOOP is found by the rule before any proposal is asked for."""
        decision = decide(draft, near, self.config.gate) if proposal is None else check_proposal(
            draft, proposal, self.config.gate)
        if decision.event == "NOOP" and decision.target is not None and \
                decision.target.metadata.get(EXPIRES) != draft.metadata.get(EXPIRES):
            return Decision("UPDATE", decision.target, decision.similarity, decision.note)  # a new expiry (or none)
        return decision

    def apply(self, decision: Decision, draft: Draft, vector: np.ndarray, batch: Batch) -> list[Event]:
        """The one place a decision is written: its events (SUPERSEDE follows its ADD)."""
        now = datetime.now(timezone.utc)
        target, sim, note = decision.target, decision.similarity, decision.note
        if decision.event != "ADD" and target is None:  # Decision's invariant: only an ADD has no target
            raise ValueError(f"a {decision.event} decision needs the memory it applies to")
        if decision.event == "NOOP" and target is not None:
            return [Event("NOOP", target.id, target.text, similarity=sim, kind=draft.kind, note=note)]
        if decision.event == "UPDATE" and target is not None:
            old = target.text
            target.text, target.updated_at = draft.text, now
            if decision.replace:  # a summary: its metadata, sources and date are the new ones
                target.metadata, target.source_ids = dict(draft.metadata), list(draft.source_ids)
                target.occurred_at = draft.occurred_at
            else:
                target.metadata = {**target.metadata, **draft.metadata}
                if EXPIRES not in draft.metadata:  # the new statement's expiry (none) is the one that holds
                    target.metadata.pop(EXPIRES, None)
                target.source_ids = list(dict.fromkeys(target.source_ids + draft.source_ids))
            if target in batch.records:
                batch.vectors[batch.records.index(target)] = vector
            else:
                self.store.update(target, vector, old)
            return [Event("UPDATE", target.id, draft.text, previous=old, similarity=sim, kind=draft.kind, note=note)]
        record = draft.to_record(self.tenant, now)
        batch.records.append(record)
        batch.vectors.append(vector)
        events = [Event("ADD", record.id, record.text, kind=draft.kind, note=note)]
        if decision.event == "SUPERSEDE" and target is not None:
            self.flush(batch)  # the superseding memory exists before the old one points to it
            self.store.supersede(self.tenant, target.id, now, record.id)
            events.append(Event("SUPERSEDE", target.id, target.text, similarity=sim, kind=draft.kind))
        return events

    def flush(self, batch: Batch) -> None:
        if batch.records:
            self.store.insert(batch.records, np.stack(batch.vectors))
            batch.records.clear()
            batch.vectors.clear()

    def still_there(self, decision: Decision) -> Decision:
        """A decision taken outside the transaction, re-checked inside it: if the memory it
        refers to was deleted meanwhile, the new memory is simply added."""
        if decision.target is not None and self.store.get(self.tenant, decision.target.id) is None:
            return Decision("ADD", note=decision.note)
        return decision
