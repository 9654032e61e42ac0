"""Fact extraction on write: an LLM turns new turns into short facts about the speaker,
and each fact is gated against the owner's nearest stored facts.

For each new turn (not the assistant's), the LLM proposes facts (prompts.extract_facts);
facts must be valid (pydantic), grounded (most of their content words occur in the turn,
which catches a small model copying its examples) and new within the batch. Each fact
is compared with its nearest current facts of the same owner; if one is similar enough
(cosine >= gate.update_threshold) the LLM decides (prompts.decide_fact):
  ADD        store the fact;
  UPDATE n   fact n gets the new text (the old text stays in history);
  DELETE n   fact n is superseded (valid_to = now, superseded_by = the new fact, kept in
             history and export) and the new fact is stored;
  NOOP n     already known.
Invalid output is retried once; then the turn keeps only its episode (extraction) or the
similarity rule of write/gate.py decides (decision), and the event's `note` says so.
Facts record the episodes they came from in `source_ids`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from memlm import prompts
from memlm.llm.base import LLM
from memlm.llm.output import ask, find_json, repetitive
from memlm.stores.base import Filters
from memlm.text import content_words, memory_text, norm_hash
from memlm.types import Event, MemoryRecord, Scope
from memlm.write.gate import decide
from memlm.write.inputs import Draft

if TYPE_CHECKING:
    from memlm.engine import Memory

ASSISTANT_ROLES = frozenset({"assistant", "system", "tool", "ai", "bot"})
FactText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]


class FactList(BaseModel):
    facts: list[FactText] = Field(max_length=12)


class FactOp(BaseModel):
    op: Literal["ADD", "UPDATE", "DELETE", "NOOP"]
    index: int | None = None


def parse_facts(raw: str) -> list[str]:
    """A JSON list of strings, or {"facts": [...]}; raises ValueError otherwise."""
    value = find_json(raw)
    try:
        return FactList(facts=value if isinstance(value, list) else value.get("facts")).facts
    except (ValidationError, AttributeError) as exc:
        raise ValueError(str(exc).splitlines()[0]) from None


def parse_op(raw: str, n: int) -> FactOp:
    """"ADD", "UPDATE 2", "DELETE 0", "NOOP 1" or JSON {"op", "index"}; the index must name one of n facts."""
    text = raw.strip()
    try:
        value = find_json(text)
        op = FactOp.model_validate({**value, "op": str(value.get("op", "")).upper()})
    except (ValueError, AttributeError, ValidationError):
        words = text.replace(":", " ").split()
        if not words:
            raise ValueError("empty answer") from None
        index = int(words[1]) if len(words) > 1 and words[1].isdigit() else None
        try:
            op = FactOp(op=words[0].upper(), index=index)
        except ValidationError:
            raise ValueError(f"unknown decision {words[0]!r}") from None
    if op.op in ("UPDATE", "DELETE") and op.index is None:
        raise ValueError(f"{op.op} needs the number of a remembered fact")
    if op.index is not None and not 0 <= op.index < n:
        raise ValueError(f"no remembered fact {op.index}")
    return op


def grounded(fact: str, source: str, speaker: str) -> bool:
    """Most of the fact's content words occur in what was said (or in the speaker's name)."""
    said = set(content_words(f"{source} {speaker}"))
    words = set(content_words(fact))
    return bool(words) and len(words & said) >= 0.5 * len(words)


@dataclass
class Proposed:
    text: str  # the fact
    episode: MemoryRecord  # the turn it came from


class FactExtractor:
    """Runs extraction and the fact gate for one Memory handle and LLM."""

    def __init__(self, memory: Memory, llm: LLM) -> None:
        self.memory = memory
        self.llm = llm

    def run(self, events: list[Event]) -> list[Event]:
        """Facts from the turns these write events added; returns the fact events."""
        ids = [e.id for e in events if e.event == "ADD" and e.kind == "episode"]
        episodes = self.memory.store.fetch(self.memory.tenant, ids)
        by_id = {e.id: e for e in events}
        proposed: list[Proposed] = []
        seen: set[str] = set()
        for mid in ids:
            record = episodes.get(mid)
            if record is None or (record.role or "user").lower() in ASSISTANT_ROLES:
                continue
            facts, why = self._facts(record)
            if why:
                by_id[mid].note = f"fact extraction failed, stored the episode only: {why}"
            for fact in facts:
                if norm_hash(fact) not in seen:
                    seen.add(norm_hash(fact))
                    proposed.append(Proposed(fact, record))
        return [e for p in proposed for e in self._write(p)]

    def _facts(self, record: MemoryRecord) -> tuple[list[str], str | None]:
        speaker = record.role if record.role and record.role.lower() != "user" else "The user"
        facts, why = ask(self.llm, prompts.extract_facts(speaker, record.text), parse_facts, max_tokens=160)
        if facts is None:
            return [], why
        return [f for f in facts if grounded(f, record.text, speaker) and not repetitive(f)], None

    def _write(self, p: Proposed) -> list[Event]:
        mem, ep = self.memory, p.episode
        scope = Scope(ep.user_id, ep.agent_id, ep.session_id)
        draft = Draft(p.text, "fact", scope, None, ep.occurred_at,
                      {"extracted_by": self.llm.name, "prompt_version": prompts.VERSION}, [ep.id])
        vector = mem.encoder.encode([memory_text(draft.text, None, draft.metadata)])[0]
        near = self._near(scope, vector)
        op, note = self._decide(draft, near)  # the LLM is asked outside the write transaction
        with mem.store.transaction():
            if op.index is not None and mem.store.get(mem.tenant, near[op.index][0].id) is None:
                op = FactOp(op="ADD")  # the fact it referred to was deleted meanwhile
            return self._apply(op, draft, vector, near, note)

    def _near(self, scope: Scope, vector: np.ndarray) -> list[tuple[MemoryRecord, float]]:
        mem = self.memory
        filters = Filters(mem.tenant, scope.user_id, scope.agent_id, kinds=("fact",))
        scored = mem.store.dense(filters, vector[None], 5)[0]
        records = mem.store.fetch(mem.tenant, [m for m, _ in scored])
        threshold = mem.config.gate.update_threshold
        return [(records[m], s) for m, s in scored if m in records and s >= threshold]

    def _decide(self, draft: Draft, near: list[tuple[MemoryRecord, float]]) -> tuple[FactOp, str | None]:
        digest = norm_hash(draft.text)
        same = next((i for i, (r, _) in enumerate(near) if norm_hash(r.text) == digest), None)
        if same is not None:  # stored already, word for word
            return FactOp(op="NOOP", index=same), None
        if not near:
            return FactOp(op="ADD"), None
        remembered = [r.text for r, _ in near]
        op, why = ask(self.llm, prompts.decide_fact(remembered, draft.text),
                      lambda raw: parse_op(raw, len(near)), max_tokens=12)
        if op is not None:
            return op, None
        rule = decide(draft, near, self.memory.config.gate)  # the similarity rule, as without an LLM
        index = [r.id for r, _ in near].index(rule.target.id) if rule.target is not None else None
        return FactOp(op=rule.event, index=index), f"LLM decision failed, the similarity rule decided: {why}"

    def _apply(self, op: FactOp, draft: Draft, vector: np.ndarray, near: list[tuple[MemoryRecord, float]],
               note: str | None) -> list[Event]:
        store, now = self.memory.store, datetime.now(timezone.utc)
        target, sim = near[op.index] if op.index is not None else (None, None)
        if op.op == "NOOP":
            return [Event("NOOP", target.id, target.text, similarity=sim, kind="fact", note=note)]
        if op.op == "UPDATE":
            old = target.text
            target.text, target.updated_at = draft.text, now
            target.source_ids = list(dict.fromkeys(target.source_ids + draft.source_ids))
            target.metadata = {**target.metadata, **draft.metadata}
            store.update(target, vector, old)
            return [Event("UPDATE", target.id, draft.text, previous=old, similarity=sim, kind="fact", note=note)]
        record = draft.to_record(self.memory.tenant, now)
        store.insert([record], vector[None])
        events = [Event("ADD", record.id, record.text, kind="fact", note=note)]
        if op.op == "DELETE":
            store.supersede(self.memory.tenant, target.id, now, record.id)
            events.append(Event("SUPERSEDE", target.id, target.text, similarity=sim, kind="fact"))
        return events
