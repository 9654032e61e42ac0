"""The forget gate, deliberate forgetting: expiry and rule-based forgetting.

- **Expiry**: a memory written with `expires_at` (a date) or `ttl` (seconds, or a timedelta)
  carries its expiry in `metadata["expires_at"]` (ISO 8601, UTC). From that moment it is
  hidden from `search`, `list` and `context` (and the write gate no longer matches it), and
  `Memory.purge()` deletes it. `get(id)` still returns it until it is purged.
- **Strength** (MemoryBank's forgetting curve, computed in recall/strength.py only): each
  recall of a memory into a context (`Memory.context`) is counted with its time; strength =
  (1 + recalls) * 0.5 ** (days since the last recall, or since it was written /
  `RecallConfig.strength_half_life_days`). With `RecallConfig.strength_weight` > 0 it is a
  small prior in ranking (off by default); `forget(weaker_than=)` and the capacity use it.
- **forget**: `Memory.forget(before=, kind=, session_id=, weaker_than=)` selects memories of
  the scope by age (occurred_at, else created_at, before the date), kind, session and
  strength; `dry_run=True` (the default) only lists what would go.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from memlm.types import MemoryRecord
from memlm.write.inputs import parse_time

EXPIRES = "expires_at"  # the metadata key that holds a memory's expiry


def expiry(expires_at: Any = None, ttl: Any = None, now: datetime | None = None) -> datetime | None:
    """When a memory written now with these options expires (UTC), or None."""
    if expires_at is not None and ttl is not None:
        raise ValueError("give expires_at or ttl, not both")
    if ttl is not None:
        if isinstance(ttl, timedelta):
            seconds = ttl.total_seconds()
        elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
            seconds = float(ttl)
        else:
            raise ValueError(f"ttl must be seconds (a number) or a timedelta, got {type(ttl).__name__}")
        if not seconds > 0 or seconds != seconds or seconds == float("inf"):
            raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
        return (now or datetime.now(timezone.utc)) + timedelta(seconds=seconds)
    return parse_time(expires_at)


def with_expiry(metadata: dict[str, Any] | None, when: datetime | None) -> dict[str, Any] | None:
    """Metadata carrying the expiry (unchanged when there is none)."""
    if when is None:
        return metadata
    return {**(metadata or {}), EXPIRES: when.isoformat()}


def expires(record: MemoryRecord) -> datetime | None:
    """The memory's expiry (metadata["expires_at"]), or None."""
    from memlm.stores.base import expires_of

    return expires_of(record.metadata)


def expired(record: MemoryRecord, now: datetime | None = None) -> bool:
    when = expires(record)
    return when is not None and when <= (now or datetime.now(timezone.utc))


def age(record: MemoryRecord) -> datetime | None:
    return record.occurred_at or record.created_at


def selected(record: MemoryRecord, *, before: datetime | None, kinds: tuple[str, ...] | None,
             weaker: bool = True) -> bool:
    """Whether `forget` takes this memory (`weaker`: it is under the strength asked for)."""
    if not weaker or (kinds is not None and record.kind not in kinds):
        return False
    if before is not None:
        when = age(record)
        if when is None or when >= before:
            return False
    return True
