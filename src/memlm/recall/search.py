"""Recall as attention over memory: score every memory in scope against the query.

One pass = BM25 over the lexical index + cosine over the vectors, fused into [0, 1].
A second pass (hops=2) conditions the query on the first pass's best memories, as a
Dynamic Memory Network's episodic module re-reads memory with what it has found.
Time named in the query, and neighbouring turns, then adjust the scores.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from memlm.config import RecallConfig
from memlm.encoders.base import Encoder
from memlm.recall.fusion import relative, weighted
from memlm.recall.query import fts_match, lexical_terms
from memlm.recall.timeparse import TimeWindow, parse_window
from memlm.stores.base import Filters, Store
from memlm.types import Hit, MemoryRecord


class Retriever:
    """Runs the read path over one store with one encoder."""

    def __init__(self, store: Store, encoder: Encoder, config: RecallConfig) -> None:
        self.store = store
        self.encoder = encoder
        self.config = config

    def search(
        self, query: str, filters: Filters, k: int, *, hops: int | None = None,
        neighbors: int = 0, now: datetime | None = None,
    ) -> list[Hit]:
        cfg = self.config
        qvec = self.encoder.encode([query])[0]
        match = fts_match(lexical_terms(query))
        scores = self._pass(qvec, match, filters)
        if (hops or cfg.hops) >= 2 and scores:
            scores = self._second_pass(qvec, match, filters, scores)
        records = self.store.fetch(filters.tenant, list(scores))
        window = parse_window(query, now or datetime.now(timezone.utc))
        if window is not None:
            _time_adjust(scores, records, window, cfg.time_boost)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1]["score"], kv[0]))[:k]
        hits = [Hit(records[mid], parts.pop("score"), parts) for mid, parts in ranked
                if mid in records and parts["score"] > 0]
        if neighbors > 0:
            for hit in hits:
                hit.context = self.store.neighbors(hit.memory, neighbors, neighbors)
        return hits

    def _pass(self, qvec: np.ndarray, match: str | None, filters: Filters) -> dict[str, dict[str, float]]:
        n = self.config.candidates
        dense = relative(self.store.dense(filters, qvec[None, :], n)[0])
        lexical = relative(self.store.lexical(filters, match, n)) if match else {}
        comps = {"dense": dense, "lexical": lexical}
        weights = {"dense": self.config.dense_weight, "lexical": self.config.lexical_weight}
        fused = weighted(comps, weights)
        for parts in fused.values():
            parts["score"] = parts.pop("fused")
        return fused

    def _second_pass(self, qvec, match, filters, first: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """Re-read memory with the query moved towards what the first pass found (Rocchio)."""
        cfg = self.config
        top = sorted(first, key=lambda m: -first[m]["score"])[: cfg.hop_feedback]
        feedback = self.store.vectors(filters.tenant, top)
        q2 = qvec + cfg.hop_weight * feedback.mean(axis=0)
        q2 = (q2 / np.linalg.norm(q2)).astype(np.float32)
        second = self._pass(q2, match, filters)
        merged = dict(first)
        for mid, parts in second.items():
            hop = parts["score"]
            base = merged.get(mid, {"dense": 0.0, "lexical": 0.0, "score": 0.0})
            merged[mid] = {**base, "hop": hop, "score": max(base["score"], hop * (1 - cfg.hop_weight))}
        return merged


def _time_adjust(scores: dict[str, dict[str, float]], records: dict[str, MemoryRecord], window: TimeWindow, boost: float) -> None:
    """Mix in time: memories inside the window the query names gain `boost` of the score."""
    for mid, parts in scores.items():
        inside = 1.0 if mid in records and window.contains(records[mid].occurred_at) else 0.0
        parts["time"] = inside
        parts["score"] = (1 - boost) * parts["score"] + boost * inside
