"""Request and response bodies of the REST API (pydantic, unknown fields refused).

Limits here are part of the published schema; the engine still validates everything
(empty or whitespace text, unknown kinds, unreadable dates) and its ValueError is a 400.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from memlm import validate
from memlm.validate import check_json

Kind = Literal["episode", "fact", "summary"]
MAX_ID = 256  # characters in a user / agent / session id
MAX_TEXT = 200_000  # characters in one text (the engine's max_text_chars)
MAX_MESSAGES = 1000  # messages in one add request
MAX_K = 100  # memories one search or context may return
MAX_DEPTH = validate.MAX_DEPTH  # nesting of metadata objects and lists



def _id() -> Any:
    return Field(None, min_length=1, max_length=MAX_ID)


def _when() -> Any:
    return Field(None, max_length=100, description="ISO 8601 or a free-form date ('2023-06-03 10:15')")



class Strict(BaseModel):
    """Base of every body: unknown fields are refused, strings must be valid Unicode."""

    model_config = ConfigDict(extra="forbid", strict=True)  # strict: no "10" for 10, no false for 0

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        _check_json(data, 0)
        return data


def _check_json(value: Any, depth: int) -> None:
    check_json(value, "the request body", max_depth=MAX_DEPTH - depth, max_chars=None)  # as the engine checks


# -- requests --------------------------------------------------------------------
class Message(Strict):
    """One conversation turn; `content` (or `text`) is what was said."""

    role: str | None = Field(None, max_length=MAX_ID, description="speaker: user, assistant or a name")
    content: str | None = Field(None, max_length=MAX_TEXT)
    text: str | None = Field(None, max_length=MAX_TEXT, description="same as content")
    speaker: str | None = Field(None, max_length=MAX_ID)
    name: str | None = Field(None, max_length=MAX_ID)
    occurred_at: str | None = _when()
    metadata: dict[str, Any] | None = None
    kind: Kind | None = None


# A memory's owner: user_id or agent_id (a string) must be given; documented, checked by the engine.
OWNER_REQUIRED: JsonDict = {"anyOf": [{"required": [key], "properties": {key: {"type": "string"}}}
                            for key in ("user_id", "agent_id")]}


class Scoped(Strict):
    """Whose memories: user_id and/or agent_id, optionally one session."""

    user_id: str | None = _id()
    agent_id: str | None = _id()
    session_id: str | None = _id()


class AddRequest(Scoped):
    """Remember a text (a fact by default) or messages (episodes); give exactly one."""

    model_config = ConfigDict(json_schema_extra={"allOf": [
        OWNER_REQUIRED, {"oneOf": [
        {"required": ["text"], "properties": {"text": {"type": "string"}}},
        {"required": ["messages"], "properties": {"messages": {"type": "array"}}}]}]})

    messages: list[Message] | None = Field(None, min_length=1, max_length=MAX_MESSAGES)
    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    occurred_at: str | None = _when()
    metadata: dict[str, Any] | None = None
    kind: Kind | None = None
    source_ids: list[str] | None = Field(None, max_length=1000, description="ids of the episodes this came from")
    extract: bool = Field(False, description="also have the server's LLM extract facts from new turns")
    expires_at: str | None = Field(None, max_length=100, description="expire at this date: hidden from then on, "
                                                                     "deleted by POST /v1/memories/purge")
    ttl: float | None = Field(None, gt=0, le=10**10, description="expire after this many seconds")

    @model_validator(mode="after")
    def _one_input(self) -> AddRequest:
        if (self.messages is None) == (self.text is None):
            raise ValueError("give exactly one of 'messages' or 'text'")
        return self


class SearchRequest(Scoped):
    """Recall the k most relevant memories of an owner."""

    model_config = ConfigDict(json_schema_extra=OWNER_REQUIRED)
    query: str = Field(min_length=1, max_length=MAX_TEXT)
    k: int = Field(10, ge=1, le=MAX_K)
    kinds: list[Kind] | None = Field(None, min_length=1, max_length=3)
    since: str | None = _when()
    until: str | None = _when()
    hops: int | None = Field(None, ge=1, le=2, description="2 = a second, conditioned pass (multi-hop)")
    neighbors: int = Field(0, ge=0, le=5, description="neighbouring turns attached to each hit")
    include_superseded: bool = Field(False, description="also recall facts that a later fact superseded")
    now: str | None = Field(
        None, max_length=100, description="the time 'recent' and relative dates are read from (default: now)"
    )


class ConsolidateRequest(Scoped):
    """Whose session to summarise."""

    model_config = ConfigDict(json_schema_extra=OWNER_REQUIRED)
    session_id: str = Field(min_length=1, max_length=MAX_ID)


class ForgetRequest(Scoped):
    """Forget by rule: memories of the scope older than `before`, of `kinds`, in `session_id`."""

    before: str | None = _when()
    kinds: list[Kind] | None = Field(None, min_length=1, max_length=3)
    weaker_than: float | None = Field(None, gt=0, le=10**6, description="strength (recalls, decaying) below this")
    dry_run: bool = Field(True, description="only list what would be forgotten (the default)")
    now: str | None = Field(None, max_length=100, description="the time strength decays to (default: now)")


class PurgeRequest(Strict):
    """Optional body of POST /v1/memories/purge."""

    now: str | None = Field(None, max_length=100, description="what counts as expired is read from this time "
                                                               "(default: now)")


class SupersedeRequest(Strict):
    """Mark a memory as no longer true, keeping it (and its history) out of recall."""

    by: str | None = Field(None, min_length=1, max_length=MAX_ID, description="the memory that replaces it")
    at: str | None = Field(None, max_length=100, description="when it stopped being true (default: now)")


class UpdateRequest(Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    expires_at: str | None = Field(None, max_length=100, description="a new expiry date: hidden from then on")
    ttl: float | None = Field(None, gt=0, le=10**10, description="a new expiry, this many seconds from now")


class ContextRequest(Scoped):
    """The prompt block for a query: the session's recent turns, then recalled memories."""

    model_config = ConfigDict(json_schema_extra=OWNER_REQUIRED)
    query: str = Field(min_length=1, max_length=MAX_TEXT)
    budget_tokens: int = Field(2000, ge=1, le=100_000)
    k: int = Field(10, ge=1, le=MAX_K)
    now: str | None = Field(
        None, max_length=100, description="the time 'recent' and relative dates are read from (default: now)"
    )
    count_recall: bool = Field(True, description="count each recalled memory's recall (its strength); false "
                                                 "to look without changing it (the inspector)")


# -- responses -------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemoryOut(Out):
    id: str
    kind: Kind
    text: str
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    role: str | None
    created_at: str | None
    updated_at: str | None
    occurred_at: str | None
    metadata: dict[str, Any]
    source_ids: list[str]
    tenant: str
    valid_to: str | None = None
    superseded_by: str | None = None


class MemoryDetailOut(MemoryOut):
    """A memory with its strength, as GET /v1/memories/{id} and the inspector's browse give it."""

    strength: float = Field(description="(1 + recalls into a context) halved every recall.strength_half_life_days "
                                        "since the last recall (or its writing); read-only")
    recall_count: int = Field(description="times it was recalled into a context")
    last_recalled_at: str | None = Field(description="the last of those recalls; null if never")


class EventOut(Out):
    event: Literal["ADD", "UPDATE", "NOOP", "SUPERSEDE", "DELETE"]
    id: str
    text: str
    previous: str | None = None
    similarity: float | None = None
    kind: Kind | None = None
    note: str | None = None


class EventsOut(Out):
    events: list[EventOut]


class HitOut(Out):
    memory: MemoryOut
    score: float
    reasons: dict[str, float]
    context: list[MemoryOut]


class SearchOut(Out):
    results: list[HitOut]


class MemoryListOut(Out):
    memories: list[MemoryOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


class HistoryEntryOut(Out):
    memory_id: str
    event: str
    old_text: str | None
    new_text: str | None
    at: str | None


class HistoryOut(Out):
    history: list[HistoryEntryOut]


class DeletedOut(Out):
    deleted: int
    # complete: no byte of deleted text remains in the store's files; pending: a reader holds an
    # older snapshot (retried); logical: PostgreSQL, gone from every table and pg_dump
    erasure: Literal["complete", "pending", "logical"]


class PurgedOut(Out):
    purged: int  # expired memories deleted


class ForgottenOut(Out):
    dry_run: bool
    count: int
    memories: list[MemoryOut]


class ContextOut(Out):
    text: str
    tokens: int
    working: list[MemoryOut]
    recalled: list[HitOut]


class HealthOut(Out):
    status: Literal["ok"]
    version: str


class ErrorDetail(Out):
    type: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(Out):
    error: ErrorDetail
