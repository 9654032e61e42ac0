"""The HTTP API's wire format, without I/O: JSON bodies to memlm's types, error responses to
exceptions, and when to retry. Shared by the sync and async clients."""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from memlm.errors import ApiError, AuthenticationError, InvalidRequest, MemoryNotFound, RateLimited, ServerUnavailable
from memlm.types import Event, HistoryEntry, Hit, MemoryRecord
from memlm.working import Context

RETRY_STATUSES = frozenset({429, 503})  # the server says "later": rate limited, store unavailable


@dataclass(frozen=True)
class RetryPolicy:
    """How the clients retry a request the server turned away for now (429, 503) or that never
    reached it (connection refused / reset before a response)."""

    attempts: int = 4  # tries in all, the first included; 1: never retry
    backoff_s: float = 0.25  # first wait without a Retry-After header; doubles each try
    max_backoff_s: float = 8.0  # cap on one wait, Retry-After included
    jitter: float = 0.1  # each computed wait is stretched by up to this share at random (spreads herds)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff_s < 0 or self.max_backoff_s < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy: attempts >= 1, non-negative waits, jitter in [0, 1]")

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before try `attempt + 1` (attempt counts from 1): the server's
        Retry-After if it sent one, else exponential backoff; capped by max_backoff_s."""
        after = retry_after(response) if response is not None else None
        if after is not None:
            return min(after, self.max_backoff_s)
        wait = self.backoff_s * 2 ** (attempt - 1)
        return min(wait * (1 + self.jitter * random.random()), self.max_backoff_s)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds (either form: delta-seconds or an HTTP date); None if absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


# -- errors ------------------------------------------------------------------------
def error_message(response: httpx.Response) -> tuple[str, str]:
    """(type, message) from the server's {"error": {"type", "message"}} body, or from the status."""
    try:
        error = response.json()["error"]
        return str(error["type"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:200]
        return "error", f"HTTP {response.status_code}" + (f": {text}" if text else "")


def raise_for_error(response: httpx.Response) -> None:
    """The exception a local Memory would raise for this error response (nothing for a 2xx)."""
    status = response.status_code
    if status < 400:
        return
    kind, message = error_message(response)
    if status == 404 and kind == "not_found":
        raise MemoryNotFound(message)
    if status in (400, 413, 422):
        raise InvalidRequest(message)
    if status in (401, 403):
        raise AuthenticationError(message, status=status, type=kind)
    if status == 429:
        raise RateLimited(message, status=status, type=kind)
    if status == 503:
        raise ServerUnavailable(message, status=status, type=kind)
    raise ApiError(message, status=status, type=kind)


# -- bodies to types ------------------------------------------------------------------
def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def record(data: dict[str, Any]) -> MemoryRecord:
    return MemoryRecord(
        id=data["id"], kind=data["kind"], text=data["text"], user_id=data.get("user_id"),
        agent_id=data.get("agent_id"), session_id=data.get("session_id"), role=data.get("role"),
        created_at=_time(data.get("created_at")), updated_at=_time(data.get("updated_at")),
        occurred_at=_time(data.get("occurred_at")), metadata=data.get("metadata") or {},
        source_ids=list(data.get("source_ids") or []), tenant=data.get("tenant", "default"),
        valid_to=_time(data.get("valid_to")), superseded_by=data.get("superseded_by"),
    )


def hit(data: dict[str, Any]) -> Hit:
    return Hit(record(data["memory"]), float(data["score"]), dict(data.get("reasons") or {}),
               [record(m) for m in data.get("context") or []])


def event(data: dict[str, Any]) -> Event:
    return Event(data["event"], data["id"], data["text"], previous=data.get("previous"),
                 similarity=data.get("similarity"), kind=data.get("kind"), note=data.get("note"))


def history_entry(data: dict[str, Any]) -> HistoryEntry:
    at = _time(data.get("at"))
    return HistoryEntry(data["memory_id"], data["event"], data.get("old_text"), data.get("new_text"),
                        at if at is not None else datetime.fromtimestamp(0, UTC))


def context(data: dict[str, Any]) -> Context:
    return Context(data["text"], int(data["tokens"]), [record(m) for m in data.get("working") or []],
                   [hit(h) for h in data.get("recalled") or []])


def iso(value: Any) -> Any:
    """A time argument as the server reads it: datetimes as ISO 8601 (naive ones taken as UTC,
    as the engine does), epoch seconds as an ISO date, strings as given."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"cannot read a date from {value!r}") from None
    return value
