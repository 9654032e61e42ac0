"""The forget gate's capacity: a per-owner limit, relieved by summarising old conversation.

When an owner (a user and/or an agent) holds more current memories than
`CapacityConfig.max_memories`, or more tokens of text than `max_tokens`, the weakest episodes of
its CLOSED sessions give way, one at a time until the owner is within its limit:

- weakest first by strength (recall/strength.py, as recall ranks by it: recalls into a
  context, halved every `strength_half_life_days` since the last recall or the writing),
  then oldest first;
- a closed session is any session but the owner's current one (the session being written to,
  else the session of the owner's latest episode);
- facts, summaries and notes are never taken, nor expired memories (purge deletes those);
- every session that loses turns is consolidated first (write/consolidate.py: extractive
  without an LLM), so its summary lists them in `source_ids`; then the turns are archived
  (policy "archive": superseded by the summary, so hidden from recall, kept in history and
  export) or deleted (policy "delete").

Nothing is taken that is not summarised. A session's summary counts as a memory: relieving a
session with no summary yet costs one memory back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from memlm.config import CapacityConfig
from memlm.recall.strength import strengths
from memlm.stores.base import Filters
from memlm.types import MemoryRecord, Scope
from memlm.write.forget import age

if TYPE_CHECKING:
    from memlm.llm.base import LLM
    from memlm.write.writer import Writer


@dataclass
class Relief:
    """What enforcing the capacity did (or, in a dry run, would do) for one owner."""

    memories: int  # current memories the owner held before
    tokens: int  # their tokens (0 when no token limit is set)
    taken: list[MemoryRecord] = field(default_factory=list)  # episodes archived or deleted, weakest first
    summaries: dict[str, str] = field(default_factory=dict)  # session -> the summary that covers its taken turns
    policy: str = "archive"
    dry_run: bool = False

    def to_dict(self) -> dict:
        return {"memories": self.memories, "tokens": self.tokens, "policy": self.policy, "dry_run": self.dry_run,
                "taken": [r.to_dict() for r in self.taken], "summaries": self.summaries}


def enforce(writer: Writer, user_id: str | None, agent_id: str | None, *, config: CapacityConfig, now: datetime,
            current_session: str | None = None, llm: LLM | None = None, dry_run: bool = False) -> Relief:
    """Bring the owner within `config`'s limits (see the module docstring); a Relief."""
    records = writer._all(Filters(writer.tenant, user_id, agent_id, as_of=now))  # current, unexpired
    tokens = {r.id: writer.encoder.count_tokens(r.text) for r in records} if config.max_tokens else {}
    count, total = len(records), sum(tokens.values())
    relief = Relief(count, total, policy=config.policy, dry_run=dry_run)

    def over() -> bool:
        return bool((config.max_memories and count > config.max_memories)
                    or (config.max_tokens and total > config.max_tokens))

    if not over():
        return relief
    episodes = [r for r in records if r.kind == "episode" and r.session_id is not None]
    if current_session is None and episodes:
        current_session = max(episodes, key=_when).session_id
    closed = [r for r in episodes if r.session_id != current_session]
    strong = strengths(writer.store, writer.tenant, closed, now, writer.config.recall)
    closed.sort(key=lambda r: (strong[r.id].strength, _when(r)))
    summarised = {r.session_id for r in records if r.kind == "summary"}
    for record in closed:
        if not over():
            break
        relief.taken.append(record)
        count, total = count - 1, total - tokens.get(record.id, 0)
        if record.session_id not in summarised:  # its new summary is a memory too
            summarised.add(record.session_id)
            count += 1
    if dry_run or not relief.taken:
        return relief
    for session in dict.fromkeys(r.session_id for r in relief.taken):
        assert session is not None
        event = writer.summary(Scope(user_id, agent_id, session), llm)  # covers every turn of the session
        relief.summaries[session] = event.id
    for record in relief.taken:
        if config.policy == "delete":
            writer.store.delete(writer.tenant, record.id)
        else:
            writer.store.supersede(writer.tenant, record.id, now, relief.summaries[record.session_id or ""])
    return relief


def _when(record: MemoryRecord) -> float:
    when = age(record)
    return when.timestamp() if when is not None else 0.0
