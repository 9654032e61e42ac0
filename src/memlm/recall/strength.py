"""A memory's strength (MemoryBank's forgetting curve), read from its recalls into a context.

Each recall of a memory into a context (`Memory.context`) is counted with its time (the
store's `recalls` table); strength = (1 + recalls) halved every
`RecallConfig.strength_half_life_days` since the last recall (or since the writing). The one
place it is computed (`strength`, read through `strengths`), for the ranking prior
(`strength_prior`, with `RecallConfig.strength_weight` > 0), the inspector
(`Retriever.strengths`), the forget gate's `forget(weaker_than=)` (write/writer.py) and the
capacity's order (write/capacity.py): none of them can disagree on a memory's strength.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import NamedTuple

from memlm.config import RecallConfig
from memlm.stores.base import Store
from memlm.types import Hit, MemoryRecord

SECONDS_PER_DAY = 86400.0  # a unit, not a tuning constant (the half life is RecallConfig's)


class Strength(NamedTuple):
    """A memory's strength (recalls into a context, decaying) and what it is read from."""

    strength: float  # (1 + recalls) halved every strength_half_life_days since the last recall (or writing)
    recall_count: int  # times it was recalled into a context
    last_recalled_at: datetime | None  # the last of those, None if never


def strength(record: MemoryRecord, recalls: tuple[int, datetime | None] | None, now: datetime,
             config: RecallConfig) -> float:
    """(1 + recalls) halved every `config.strength_half_life_days` since the last recall (or the
    memory's writing); `recalls` is the store's (count, last time), None if never recalled."""
    count, last = recalls or (0, None)
    since = last or record.created_at or now
    days = max(0.0, (now - since).total_seconds() / SECONDS_PER_DAY)
    return (1 + count) * 0.5 ** (days / config.strength_half_life_days)


def strengths(store: Store, tenant: str, records: Sequence[MemoryRecord], now: datetime | None,
              config: RecallConfig) -> dict[str, Strength]:
    """Each record's strength as of `now` (default: the present), with its recall count and last
    recall, from the tenant's recall counts."""
    now = now or datetime.now(timezone.utc)
    counts = store.recall_counts(tenant, [r.id for r in records])
    out: dict[str, Strength] = {}
    for r in records:
        recalls = counts.get(r.id)
        count, last = recalls or (0, None)
        out[r.id] = Strength(strength(r, recalls, now, config), count, last)
    return out


def strength_prior(hits: list[Hit], strength_of: dict[str, Strength], weight: float) -> list[Hit]:
    """Each score mixed with its memory's strength s, (1 - weight) * score + weight * s / (1 + s)
    (reasons["strength"] = s), best first again."""
    for h in hits:
        s = strength_of[h.memory.id].strength
        h.reasons["strength"] = s
        h.score = (1 - weight) * h.score + weight * s / (1 + s)
    return sorted(hits, key=lambda h: -h.score)
