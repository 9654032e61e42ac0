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
rule gate of write/gate.py decides (decision), and the event's `note` says so. The LLM's
decision goes through the Writer (write/writer.py), which checks it and applies it.
Facts record the episodes they came from in `source_ids`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, ValidationError

from memlm import prompts
from memlm.llm.base import LLM
from memlm.llm.output import ask, find_json, repetitive
from memlm.text import content_words, norm_hash
from memlm.types import Event, MemoryRecord, Scope
from memlm.write.gate import Decision, same_text
from memlm.write.inputs import Draft
from memlm.write.writer import Batch, Candidates, Writer

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
    """Runs extraction for one Writer and LLM; the Writer decides and applies each fact."""

    def __init__(self, writer: Writer, llm: LLM) -> None:
        self.writer = writer
        self.llm = llm

    def run(self, events: list[Event]) -> list[Event]:
        """Facts from the turns these write events added; returns the fact events."""
        ids = [e.id for e in events if e.event == "ADD" and e.kind == "episode"]
        episodes = self.writer.store.fetch(self.writer.tenant, ids)
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
        writer, ep = self.writer, p.episode
        scope = Scope(ep.user_id, ep.agent_id, ep.session_id)
        draft = Draft(p.text, "fact", scope, None, ep.occurred_at,
                      {"extracted_by": self.llm.name, "prompt_version": prompts.VERSION}, [ep.id])
        vector = writer.embed([draft])[0]
        near = writer.candidates([draft], vector[None], min_similarity=writer.config.gate.update_threshold)[0]
        decision = self._decide(draft, near)  # the LLM is asked outside the write transaction
        with writer.store.transaction():
            batch = Batch()
            events = writer.apply(writer.still_there(decision), draft, vector, batch)
            writer.flush(batch)
        return events

    def _decide(self, draft: Draft, near: Candidates) -> Decision:
        rule = self.writer.decide(draft, near)
        # stored already, word for word (a NOOP always has its target)
        if rule.event == "NOOP" and rule.target is not None and same_text(draft, rule.target):
            return rule
        if not near:
            return Decision("ADD")
        remembered = [r.text for r, _ in near]
        op, why = ask(self.llm, prompts.decide_fact(remembered, draft.text),
                      lambda raw: parse_op(raw, len(near)), max_tokens=12)
        if op is None:  # the rule gate, as without an LLM
            rule.note = f"LLM decision failed, the similarity rule decided: {why}"
            return rule
        target, sim = near[op.index] if op.index is not None else (None, None)
        event = {"DELETE": "SUPERSEDE"}.get(op.op, op.op)
        return self.writer.decide(draft, near, Decision(event, target, sim))
