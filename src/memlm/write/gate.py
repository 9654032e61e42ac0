"""The write gate: what is new (ADD), already known (NOOP) or a change (UPDATE), without an LLM.

When in doubt, ADD: a duplicate costs a little context, a lost fact costs trust. For each new
memory the gate reads its candidates (stored memories of the same owner and kind with the
same text, and the nearest ones; see write/writer.py) as statements (write/facts.py):
- NOOP   the same statement: the same words once case, spacing, punctuation, contractions,
         articles and particles are set aside ("I'm vegetarian" / "I am a vegetarian"); or the
         same value of the same attribute of the same subject in no more words ("I moved to
         Paris" after "I live in Paris"). A turn (episode) is a NOOP only when it is the same
         turn ingested again (same text, session, speaker and time).
- UPDATE the same subject's single-valued attribute gets a new value ("I live in Paris" ->
         "I moved to Berlin", 我今年三十岁 -> 我今年三十一岁), or the same statement is negated
         ("I eat meat" -> "I no longer eat meat"). A different subject (my sister / my brother,
         I / my wife), a multi-valued relation (allergies, languages, pets, hobbies, places),
         a past or wished-for statement ("used to", "want to", 以前, 打算) is never an update.
         The old text stays in history. Episodes are never UPDATEd: they record what was said.
- ADD    anything else.
An LLM's UPDATE / DELETE (with `extract=True`) goes through `check_proposal`: refused, it is
recorded as an ADD with a note saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

from memlm.config import GateConfig
from memlm.text import norm_hash
from memlm.types import MemoryRecord
from memlm.write.facts import compare, differs, parse
from memlm.write.inputs import Draft


@dataclass
class Decision:
    event: str  # "ADD" | "UPDATE" | "NOOP" | "SUPERSEDE" (add the new memory, mark the target no longer true)
    target: MemoryRecord | None = None  # the memory matched (NOOP), to update (UPDATE) or to supersede
    similarity: float | None = None  # cosine between the draft and the target
    note: str | None = None  # why, when the decision took a fallback or refused a proposal
    replace: bool = False  # UPDATE: the draft's metadata and sources replace the target's (a summary)


def decide(draft: Draft, neighbours: list[tuple[MemoryRecord, float]], config: GateConfig) -> Decision:
    """Gate one draft against its candidates (same owner, most similar first)."""
    comparable = [(r, s) for r, s in neighbours if _comparable(draft, r)]
    for record, sim in comparable:
        if same_text(draft, record):
            return Decision("NOOP", record, sim)
    if draft.kind == "episode":
        return Decision("ADD")
    new = parse(draft.text)
    updates: list[tuple[MemoryRecord, float]] = []
    for record, sim in comparable:
        verdict = compare(parse(record.text), new)
        if verdict == "NOOP":
            return Decision("NOOP", record, sim)
        if verdict == "UPDATE" and config.updates:
            updates.append((record, sim))
    if updates:  # the newest current value is the one replaced
        record, sim = max(updates, key=lambda rs: _when(rs[0]))
        return Decision("UPDATE", record, sim)
    return Decision("ADD")


def check_proposal(draft: Draft, proposal: Decision, config: GateConfig) -> Decision:
    """An LLM's proposed decision, after the rule gate's final check: an UPDATE or SUPERSEDE of a
    memory about another subject or attribute (or another value of a multi-valued relation) is
    refused and becomes an ADD with a note; the rest stands."""
    if proposal.event not in ("UPDATE", "SUPERSEDE") or proposal.target is None:
        return proposal
    why = differs(parse(proposal.target.text), parse(draft.text))
    if why is None:
        return proposal
    op = "DELETE" if proposal.event == "SUPERSEDE" else "UPDATE"
    return Decision("ADD", note=f"the LLM's {op} of {proposal.target.id} was refused ({why}); added as a new fact")


def same_text(draft: Draft, record: MemoryRecord) -> bool:
    """The same statement word for word (case and spacing aside); a turn only as the same
    turn re-ingested (same session, speaker and time)."""
    if norm_hash(record.text) != norm_hash(draft.text):
        return False
    return draft.kind != "episode" or (record.session_id, record.role, record.occurred_at) == (
        draft.scope.session_id, draft.role, draft.occurred_at)


def _when(record: MemoryRecord) -> float:
    stamp = record.occurred_at or record.updated_at or record.created_at
    return stamp.timestamp() if stamp is not None else 0.0


def _comparable(draft: Draft, record: MemoryRecord) -> bool:
    """Only memories of the same kind and owner gate each other; episodes only within a session."""
    if record.kind != draft.kind:
        return False
    if (record.user_id, record.agent_id) != (draft.scope.user_id, draft.scope.agent_id):
        return False
    return draft.kind != "episode" or record.session_id == draft.scope.session_id
