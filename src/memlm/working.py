"""Working memory: the current session's recent turns within a token budget, and the
prompt block that joins them with what long-term memory recalls for a query.

Every turn is written to long-term memory as it arrives, so a turn that falls out of
the working window is already remembered. Tokens are counted with the encoder's
tokenizer (WordPiece for MiniLM: within ~10-20% of common LLM tokenizers on English, one
token a Chinese character, ~1.6x Gemma 3's count on Chinese; e5's sentencepiece: ~1.0-1.1x
in both languages; docs/chinese.md); the block's own count never exceeds the budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from memlm.stores.base import Filters, Store
from memlm.types import Event, Hit, MemoryRecord, Scope

Count = Callable[[str], int]  # tokens in a text (the encoder's tokenizer)
Search = Callable[[str, Scope, int, Any], list[Hit]]  # (query, scope, k, now) -> hits, best first


class Remembers(Protocol):
    """What a session's buffer writes through (the `Memory` handle)."""

    def add(self, messages_or_text: Any, *, user_id: str | None = None, agent_id: str | None = None,
            session_id: str | None = None, occurred_at: Any = None, metadata: dict | None = None,
            extract: bool | None = None) -> list[Event]: ...

    def consolidate(self, *, user_id: str | None = None, session_id: str, agent_id: str | None = None) -> Event: ...


@dataclass
class Reader:
    """What working memory reads: the store, the tenant, the token counter and recall."""

    store: Store
    tenant: str
    count_tokens: Count
    search: Search

WORKING_SHARE = 0.5  # share of the context budget working memory may take when a session is given
RECENT_SCAN = 500  # most recent turns looked at when filling the working window


@dataclass
class Context:
    """A prompt block and what went into it."""

    text: str  # the block to put in a system prompt
    tokens: int  # its size by the encoder's tokenizer
    working: list[MemoryRecord] = field(default_factory=list)  # session turns, oldest first
    recalled: list[Hit] = field(default_factory=list)  # long-term memories, best first

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "tokens": self.tokens, "working": [m.to_dict() for m in self.working],
                "recalled": [h.to_dict() for h in self.recalled]}


class WorkingMemory:
    """A session's buffer: `add` turns, read the recent ones that fit the budget."""

    def __init__(self, memory: Remembers, reader: Reader, scope: Scope, budget_tokens: int,
                 consolidate_every: int = 8) -> None:
        if budget_tokens <= 0:
            raise ValueError("budget_tokens must be positive")
        if consolidate_every < 0:
            raise ValueError("consolidate_every must be >= 0")
        if scope.session_id is None:
            raise ValueError("working memory needs a session_id")
        self.memory = memory
        self.reader = reader
        self.scope = scope
        self.budget_tokens = budget_tokens
        self.consolidate_every = consolidate_every  # overflowed turns not yet in the summary that trigger one; 0: never

    def add(self, role: str, content: str, *, occurred_at: Any = None, metadata: dict | None = None,
            extract: bool | None = None) -> list[Event]:
        """Record a turn (it goes to long-term memory at once), dated now unless told otherwise.
        When turns that fell out of the window pile up unsummarised, the session is consolidated."""
        msg = {"role": role, "content": content}
        when = occurred_at if occurred_at is not None else datetime.now(timezone.utc)
        s = self.scope
        events = self.memory.add(msg, user_id=s.user_id, agent_id=s.agent_id, session_id=s.session_id,
                                 occurred_at=when, metadata=metadata, extract=extract)
        if self.consolidate_every and self._overflowed() >= self.consolidate_every:
            events.append(self.end())
        return events

    def end(self) -> Event:
        """Consolidate the session into its summary memory (call when the session ends)."""
        s = self.scope
        if s.session_id is None:  # refused by __init__
            raise ValueError("working memory needs a session_id")
        return self.memory.consolidate(user_id=s.user_id, agent_id=s.agent_id, session_id=s.session_id)

    def _overflowed(self) -> int:
        """Turns that left the working window and the session summary does not cover yet."""
        s, r = self.scope, self.reader
        recent = session_turns(r, s)
        window = len(fit_window(r.count_tokens, recent, self.budget_tokens))
        summary = r.store.recent(Filters(r.tenant, s.user_id, s.agent_id, s.session_id, ("summary",)), 1)
        covered = set(summary[0].source_ids) if summary else set()
        return sum(r.id not in covered for r in recent[: len(recent) - window])

    def turns(self, budget_tokens: int | None = None) -> list[MemoryRecord]:
        """The most recent turns that fit the budget, oldest first."""
        return recent_turns(self.reader, self.scope, budget_tokens or self.budget_tokens)

    def context(self, query: str, *, budget_tokens: int = 2000, k: int = 10, now: Any = None) -> Context:
        return build_context(self.reader, query, self.scope, budget_tokens=budget_tokens, k=k, now=now)


def recent_turns(reader: Reader, scope: Scope, budget: int) -> list[MemoryRecord]:
    return fit_window(reader.count_tokens, session_turns(reader, scope), budget)


def session_turns(reader: Reader, scope: Scope) -> list[MemoryRecord]:
    """The session's latest RECENT_SCAN turns, oldest first."""
    filters = Filters(reader.tenant, scope.user_id, scope.agent_id, scope.session_id, ("episode",),
                      as_of=datetime.now(timezone.utc))  # expired turns: left out by the store
    return reader.store.recent(filters, RECENT_SCAN)


def fit_window(count_tokens: Count, turns: list[MemoryRecord], budget: int) -> list[MemoryRecord]:
    """The most recent of these turns (oldest first) whose lines fit the token budget."""
    kept: list[MemoryRecord] = []
    used = 0
    for record in reversed(turns):
        cost = count_tokens(turn_line(record)) + 1
        if used + cost > budget:
            break
        kept.append(record)
        used += cost
    return kept[::-1]


def build_context(reader: Reader, query: str, scope: Scope, *, budget_tokens: int, k: int, now: Any) -> Context:
    """Working memory (if a session is given) then recalled memories, never over budget."""
    if budget_tokens <= 0:
        raise ValueError("budget_tokens must be positive")
    count = reader.count_tokens
    working = recent_turns(reader, scope, int(budget_tokens * WORKING_SHARE)) if scope.session_id else []
    seen = {m.id for m in working}
    owner = Scope(scope.user_id, scope.agent_id)
    hits = [h for h in reader.search(query, owner, k + len(seen), now) if h.memory.id not in seen][:k]
    sections = []
    if working:
        sections.append(("## Current session (working memory)", [turn_line(m) for m in working]))
    recalled = [recall_line(h, _answer(reader.store, h, seen)) for h in hits]
    sections.append(("## Recalled from long-term memory", recalled))
    lines, kept_hits = _fit(sections, hits, budget_tokens, count)
    text = "\n".join(lines)
    return Context(text, count(text) if text else 0, working if working else [], kept_hits)


def _fit(sections, hits: list[Hit], budget: int, count) -> tuple[list[str], list[Hit]]:
    """Add headers and lines in order while the block stays within budget."""
    lines: list[str] = ["# Memory"]
    kept: list[Hit] = []
    for header, body in sections:
        is_recall = header.startswith("## Recalled")
        if not body:
            continue
        trial = lines + [header]
        for i, line in enumerate(body):
            if count("\n".join(trial + [line])) > budget:
                break
            trial.append(line)
            if is_recall:
                kept.append(hits[i])
        if len(trial) > len(lines) + 1:
            lines = trial
    if count("\n".join(lines)) > budget:  # even the title does not fit
        return [], []
    return lines, kept


def turn_line(m: MemoryRecord) -> str:
    when = m.occurred_at.strftime("%Y-%m-%d %H:%M") if m.occurred_at else "undated"
    return f"[{when}] {m.role or 'unknown'}: {m.text}"


def _answer(store: Store, hit: Hit, seen: set[str]) -> MemoryRecord | None:
    """A recalled turn that asks a question brings the reply that followed it."""
    if hit.memory.kind != "episode" or ("?" not in hit.memory.text and "？" not in hit.memory.text):
        return None
    after = store.neighbors(hit.memory, 0, 1)
    return after[0] if after and after[0].id not in seen else None


def recall_line(h: Hit, reply: MemoryRecord | None = None) -> str:
    m = h.memory
    when = m.occurred_at.strftime("%Y-%m-%d") if m.occurred_at else "undated"
    who = f" {m.role}:" if m.role else ""
    line = f"- [{when}] ({m.kind}){who} {m.text}"
    if reply is not None:
        line += f"\n  -> {reply.role or 'reply'}: {reply.text}"
    return line
