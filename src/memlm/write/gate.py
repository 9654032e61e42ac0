"""The write gate: the LSTM's input and forget gates as policy, without an LLM.

For each new memory the gate looks at its nearest stored neighbours in the same scope:
- NOOP   the same text (after case/space normalisation) is stored already; or a fact is
         similar (cosine >= update_threshold) and adds no content word the stored one lacks;
         or it is a paraphrase in other words (cosine >= duplicate_threshold, little word
         overlap); or an episode is a near-duplicate of one by the same speaker in the same
         session (cosine >= episode_duplicate_threshold).
- UPDATE a fact restates a stored fact with a change: cosine >= update_threshold, the two
         share at least `update_overlap` of the shorter one's content words, and the new one
         has content words the old one lacks ("I live in Paris" -> "I live in Berlin now",
         "my number is 555-1234" -> "my number is 555-9876"). The old text stays in history.
- ADD    anything else. Episodes are never UPDATEd: they record what was said, when.
"""

from __future__ import annotations

from dataclasses import dataclass

from memlm.config import GateConfig
from memlm.text import content_words, norm_hash
from memlm.types import MemoryRecord
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
    for record, sim in neighbours:
        if _comparable(draft, record) and same_text(draft, record):
            return Decision("NOOP", record, sim)
    for record, sim in neighbours:
        if not _comparable(draft, record):
            continue
        if draft.kind == "episode":
            if sim >= config.episode_duplicate_threshold and record.role == draft.role:
                return Decision("NOOP", record, sim)
            continue
        if sim < config.update_threshold:
            continue
        verdict = restatement(record.text, draft.text, config.update_overlap)
        if verdict is not None:
            return Decision(verdict, record, sim)
        if sim >= config.duplicate_threshold:  # a paraphrase in other words
            return Decision("NOOP", record, sim)
    return Decision("ADD")


def restatement(old: str, new: str, min_overlap: float) -> str | None:
    """"UPDATE" if new restates old with a change, "NOOP" if it adds nothing, else None."""
    a, b = set(content_words(old)), set(content_words(new))
    if not a or not b:
        return None
    if b <= a:
        return "NOOP"
    overlap = len(a & b) / min(len(a), len(b))
    return "UPDATE" if overlap >= min_overlap else None


def check_proposal(draft: Draft, proposal: Decision, config: GateConfig) -> Decision:
    """An LLM's proposed decision, as it stands after the rule gate's final check."""
    return proposal


def same_text(draft: Draft, record: MemoryRecord) -> bool:
    """The same statement word for word (case and spacing aside); a turn only as the same
    turn re-ingested (same session, speaker and time)."""
    if norm_hash(record.text) != norm_hash(draft.text):
        return False
    return draft.kind != "episode" or (record.session_id, record.role, record.occurred_at) == (
        draft.scope.session_id, draft.role, draft.occurred_at)


def _comparable(draft: Draft, record: MemoryRecord) -> bool:
    """Only memories of the same kind and owner gate each other; episodes only within a session."""
    if record.kind != draft.kind:
        return False
    if (record.user_id, record.agent_id) != (draft.scope.user_id, draft.scope.agent_id):
        return False
    return draft.kind != "episode" or record.session_id == draft.scope.session_id
