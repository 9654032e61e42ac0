"""Record types shared by every layer, defined once."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Kind = Literal["episode", "fact", "summary"]
KINDS: tuple[str, ...] = ("episode", "fact", "summary")
EventType = Literal["ADD", "UPDATE", "NOOP", "DELETE", "SUPERSEDE"]
SCOPE_KEYS: tuple[str, ...] = ("user_id", "agent_id", "session_id")


@dataclass(frozen=True)
class Scope:
    """Who a memory belongs to. At least one of user_id / agent_id is required to write."""

    user_id: str | None = None  # the end user the memory is about
    agent_id: str | None = None  # the agent / assistant that owns it
    session_id: str | None = None  # the conversation it came from

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scope:
        """Build a scope from a mapping, refusing unknown keys."""
        unknown = set(data) - set(SCOPE_KEYS)
        if unknown:
            raise ValueError(f"unknown scope key(s): {', '.join(sorted(unknown))}; expected {', '.join(SCOPE_KEYS)}")
        return cls(**{k: data.get(k) for k in SCOPE_KEYS})

    def validate(self, *, require_owner: bool = True) -> Scope:
        """Check the ids are non-empty, valid strings (memlm.validate.check_id); require user_id or
        agent_id when asked."""
        from memlm.validate import check_id

        for key in SCOPE_KEYS:
            value = getattr(self, key)
            if value is not None:
                check_id(value, key)
        if require_owner and self.user_id is None and self.agent_id is None:
            raise ValueError("a scope needs user_id or agent_id")
        return self

    def is_empty(self) -> bool:
        return all(getattr(self, k) is None for k in SCOPE_KEYS)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k in SCOPE_KEYS if (v := getattr(self, k)) is not None}


@dataclass
class MemoryRecord:
    """One stored memory: an episode (a turn), a fact or a summary."""

    id: str  # uuid4 hex
    kind: str  # "episode" | "fact" | "summary"
    text: str  # the memory's content
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    role: str | None = None  # speaker of an episode ("user", "assistant", a name)
    created_at: datetime | None = None  # when memlm stored it (UTC)
    updated_at: datetime | None = None  # last text change (UTC)
    occurred_at: datetime | None = None  # when the recorded event happened (caller's time)
    metadata: dict[str, Any] = field(default_factory=dict)
    source_ids: list[str] = field(default_factory=list)  # provenance: episodes a fact came from
    tenant: str = "default"  # isolation boundary; never crosses
    valid_to: datetime | None = None  # set when a later fact superseded this one (UTC); None: current
    superseded_by: str | None = None  # the memory that superseded it, if any

    @property
    def scope(self) -> Scope:
        return Scope(self.user_id, self.agent_id, self.session_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (datetimes as ISO 8601 strings), sharing nothing mutable with the record."""
        return {  # field by field: dataclasses.asdict's generic deep copy was a visible cost per search hit
            "id": self.id, "kind": self.kind, "text": self.text, "user_id": self.user_id,
            "agent_id": self.agent_id, "session_id": self.session_id, "role": self.role,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
            "occurred_at": _iso(self.occurred_at),
            "metadata": copy.deepcopy(self.metadata) if self.metadata else {},
            "source_ids": list(self.source_ids), "tenant": self.tenant, "valid_to": _iso(self.valid_to),
            "superseded_by": self.superseded_by,
        }


@dataclass
class Hit:
    """A recalled memory with its relevance score in [0, 1] (higher is better)."""

    memory: MemoryRecord
    score: float
    reasons: dict[str, float] = field(default_factory=dict)  # component scores: lexical, dense, time, ...
    context: list[MemoryRecord] = field(default_factory=list)  # neighbouring turns, oldest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "memory": self.memory.to_dict(),
            "score": round(self.score, 6),
            "reasons": {k: round(v, 6) for k, v in self.reasons.items()},
            "context": [m.to_dict() for m in self.context],
        }


@dataclass
class Event:
    """What a write did: ADD a new memory, UPDATE an old one, NOOP (already known),
    SUPERSEDE (an old fact stopped being true: it keeps its row with a valid_to) or DELETE."""

    event: str  # "ADD" | "UPDATE" | "NOOP" | "SUPERSEDE" | "DELETE"
    id: str  # the memory written, updated, matched or superseded
    text: str  # the text as written (or the matched / superseded text)
    previous: str | None = None  # the old text, for UPDATE
    similarity: float | None = None  # cosine to the matched memory, for UPDATE / NOOP
    kind: str | None = None  # the memory's kind ("episode", "fact", "summary")
    note: str | None = None  # why, when the write took a fallback (e.g. the LLM's output was invalid)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class HistoryEntry:
    """One change to a memory, oldest first in `Memory.history`."""

    memory_id: str
    event: str  # "ADD" | "UPDATE" | "SUPERSEDE" | "DELETE"
    old_text: str | None
    new_text: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = _iso(self.at)
        return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
