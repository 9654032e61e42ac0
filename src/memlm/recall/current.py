"""Newest value first: when recall returns two current facts giving values of the same
single-valued attribute of the same subject ("I live in Paris", later "I live in Berlin",
both stored before the write gate replaced such facts), the newer takes the better rank.

The hits keep their places' scores, so scores still fall with rank; the one moved up has
`reasons["newer_value"] = 1`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from memlm.types import Hit, MemoryRecord
from memlm.write.facts import slot_key

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def newest_first(hits: list[Hit]) -> list[Hit]:
    """The hits with each group of same-attribute facts reordered newest first, in the places
    the group held."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, h in enumerate(hits):
        if h.memory.kind == "fact":
            key = slot_key(h.memory.text)
            if key is not None:
                groups.setdefault(key, []).append(i)
    out = list(hits)
    for places in groups.values():
        if len(places) < 2:
            continue
        ordered = sorted((hits[i] for i in places), key=lambda h: _when(h.memory), reverse=True)
        for place, hit in zip(places, ordered):
            if hit is not hits[place]:
                moved_up = places.index(hits.index(hit)) > places.index(place)
                reasons = {**hit.reasons, "newer_value": 1.0} if moved_up else dict(hit.reasons)
                hit = Hit(hit.memory, hits[place].score, reasons, hit.context)
            out[place] = hit
    return out


def _when(m: MemoryRecord) -> datetime:
    return m.occurred_at or m.updated_at or m.created_at or _EPOCH
