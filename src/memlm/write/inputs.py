"""Turning what callers pass to `add` into validated memory drafts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dateutil import parser as dateparser

from memlm.types import KINDS, SCOPE_KEYS, MemoryRecord, Scope
from memlm.validate import check_id, check_json, check_string

MESSAGE_KEYS = {"role", "speaker", "content", "text", "occurred_at", "metadata", "name", "kind"}


@dataclass
class Draft:
    """A memory about to be written: validated text plus where and when it belongs."""

    text: str
    kind: str
    scope: Scope
    role: str | None = None
    occurred_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source_ids: list[str] = field(default_factory=list)

    def to_record(self, tenant: str, now: datetime) -> MemoryRecord:
        """A new stored memory for this draft (a fresh id; created and updated now)."""
        return MemoryRecord(
            id=uuid.uuid4().hex, kind=self.kind, text=self.text, user_id=self.scope.user_id,
            agent_id=self.scope.agent_id, session_id=self.scope.session_id, role=self.role, created_at=now,
            updated_at=now, occurred_at=self.occurred_at, metadata=self.metadata, source_ids=self.source_ids,
            tenant=tenant,
        )


def check_text(text: Any, *, max_chars: int) -> str:
    """A non-empty str, valid UTF-8, at most max_chars; stripped."""
    text = check_string(text, "memory text").strip()
    if not text:
        raise ValueError("memory text is empty")
    if len(text) > max_chars:
        raise ValueError(
            f"memory text is {len(text)} characters; the limit is {max_chars} (split it, or raise max_text_chars)"
        )
    return text


def parse_time(value: Any) -> datetime | None:
    """A datetime from a datetime, an ISO or free-form date string, or epoch seconds; UTC-aware."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        out = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out = datetime.fromtimestamp(value, tz=timezone.utc)
    elif isinstance(value, str):
        try:
            out = dateparser.parse(value)
        except (ValueError, OverflowError):
            raise ValueError(f"cannot read a date from {value!r}") from None
    else:
        raise ValueError(f"occurred_at must be a datetime, a date string or epoch seconds, got {type(value).__name__}")
    return out.replace(tzinfo=timezone.utc) if out.tzinfo is None else out.astimezone(timezone.utc)


def check_metadata(metadata: Any) -> dict[str, Any]:
    """A JSON object safe to store (memlm.validate.check_json); None is {}."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a JSON object, got {type(metadata).__name__}")
    return dict(check_json(metadata, "metadata"))


def check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def drafts_from_input(
    data: Any,
    *,
    scope: Scope,
    occurred_at: Any,
    metadata: Any,
    kind: str | None,
    max_chars: int,
) -> list[Draft]:
    """Normalise a string, one message dict or a list of them into drafts.

    A bare string is a statement about the owner (kind "fact" unless `kind` says otherwise);
    a message (a dict with role/speaker and content/text) is a conversation turn ("episode").
    """
    scope.validate()
    when = parse_time(occurred_at)
    meta = check_metadata(metadata)
    if isinstance(data, str):
        return [Draft(check_text(data, max_chars=max_chars), check_kind(kind or "fact"), scope, None, when, meta)]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ValueError("add() takes a string, a message dict, or a non-empty list of message dicts")
    return [_from_message(m, scope, when, meta, kind, max_chars) for m in data]


def _from_message(msg: Any, scope: Scope, when, meta, kind, max_chars) -> Draft:
    if isinstance(msg, str):
        return Draft(check_text(msg, max_chars=max_chars), check_kind(kind or "episode"), scope, None, when, dict(meta))
    if not isinstance(msg, dict):
        raise ValueError(f"a message must be a dict or a string, got {type(msg).__name__}")
    unknown = set(msg) - MESSAGE_KEYS - set(SCOPE_KEYS)
    if unknown:
        raise ValueError(f"unknown message key(s): {', '.join(sorted(unknown))}")
    text = msg.get("content", msg.get("text"))
    role = msg.get("speaker") or msg.get("name") or msg.get("role")
    if role is not None:
        check_id(role, "a message's role/speaker")
    own_scope = Scope.from_dict({**scope.as_dict(), **{k: msg[k] for k in SCOPE_KEYS if k in msg}}).validate()
    merged_meta = {**meta, **check_metadata(msg.get("metadata"))}
    if msg.get("role") and msg.get("speaker") and msg["role"] != msg["speaker"]:
        merged_meta.setdefault("role", msg["role"])
    msg_time = parse_time(msg["occurred_at"]) if msg.get("occurred_at") is not None else when
    return Draft(
        check_text(text, max_chars=max_chars), check_kind(msg.get("kind") or kind or "episode"),
        own_scope, role, msg_time, merged_meta,
    )
