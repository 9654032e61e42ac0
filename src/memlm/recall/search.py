"""Recall as attention over memory: every memory of the owner gets a score.

One pass, over the owner's memories as arrays (see stores/vecindex.py):
1. relevance: BM25 (lexical) and cosine (dense), each standardised over the owner's
   memories (z-scores: how unusual is this memory's match), mixed with weights;
2. context: a turn inherits part of its neighbours' relevance in the same session (more
   from a previous turn that asked a question: the answer follows the question);
3. speaker: turns by the one speaker the query names gain a bonus;
4. time: memories inside a time window the query names gain a bonus.
A second pass (hops=2) conditions the query on the first pass's best memories, as a
Dynamic Memory Network's episodic module re-reads memory with what it has found.
Scores are mapped to (0, 1) by a logistic: 0.5 is `score_center` standard deviations
above the owner's average memory (defaults in config.RecallConfig).
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from memlm.config import RecallConfig
from memlm.encoders.base import Encoder
from memlm.recall.query import QueryPlan, fts_match, lexical_terms, plan
from memlm.recall.timeparse import parse_window
from memlm.stores.base import Filters, Store
from memlm.stores.vecindex import OwnerView, topk
from memlm.types import Hit

Parts = dict[str, np.ndarray]


class Retriever:
    """Runs the read path over one store with one encoder."""

    def __init__(self, store: Store, encoder: Encoder, config: RecallConfig) -> None:
        self.store = store
        self.encoder = encoder
        self.config = config

    def search(self, query: str, filters: Filters, k: int, *, hops: int | None = None,
               neighbors: int = 0, now: datetime | None = None) -> list[Hit]:
        view = self.store.owner(filters)
        if view.n == 0:
            return []
        qplan = plan(query, view.speakers())
        qvec = np.asarray(self.encoder.encode([qplan.dense_text])[0], dtype=np.float32)
        score, parts = self._attend(view, filters, qvec, qplan.terms, qplan)
        if (hops or self.config.hops) >= 2:
            score = self._second_pass(view, filters, qvec, qplan, score, parts)
        window = parse_window(query, now or datetime.now(timezone.utc))
        if window is not None:
            occ = view.arrays()["occurred"]
            inside = (occ >= window.start.timestamp()) & (occ < window.end.timestamp())
            parts["time"] = inside.astype(np.float64)
            score = score + self.config.time_boost * parts["time"]
        mask = view.mask(filters)
        if mask is not None:
            score = np.where(mask, score, -np.inf)
        return self._hits(view, filters, score, parts, k, neighbors)

    def _attend(self, view: OwnerView, filters: Filters, qvec: np.ndarray, terms: list[str],
                qplan: QueryPlan) -> tuple[np.ndarray, Parts]:
        """Score every memory of the owner for one query vector and term list."""
        cfg = self.config
        cos = np.einsum("ij,j->i", view.matrix, qvec)  # (n,); einsum's loop beats BLAS gemv here (docs/recall.md)
        lex = np.zeros(view.n)
        match = fts_match(terms)
        if match:
            for mid, s in self.store.lexical(Filters(*filters.owner_key()), match, cfg.lexical_candidates):
                row = view.row_of(mid)
                if row is not None:  # else written after this view was taken
                    lex[row] = s
        base = cfg.dense_weight * _z(cos) + cfg.lexical_weight * _z(lex)
        score, context = self._propagate(view, base)
        speaker = np.zeros(view.n)
        if qplan.speaker is not None:
            speaker = (view.arrays()["roles"] == qplan.speaker).astype(np.float64) * cfg.speaker_boost
        return score + speaker, {"dense": np.clip(cos, 0, 1), "lexical": lex, "context": context, "speaker": speaker}

    def _propagate(self, view: OwnerView, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each turn inherits a share of its session neighbours' relevance."""
        cfg = self.config
        a = view.arrays()
        prev, nxt = a["prev"], a["next"]
        has_prev, has_next = prev >= 0, nxt >= 0
        share = cfg.prev_weight + cfg.prev_question_weight * a["asks"][np.where(has_prev, prev, 0)]
        context = np.where(has_prev, share * base[prev], 0.0) + np.where(has_next, cfg.next_weight * base[nxt], 0.0)
        return base + context, context

    def _second_pass(self, view: OwnerView, filters: Filters, qvec: np.ndarray, qplan: QueryPlan,
                     first: np.ndarray, parts: Parts) -> np.ndarray:
        """Re-read memory with what the first pass found: the query vector moves towards the
        best memories (Rocchio) and the lexical side looks for the words they add (the bridge:
        a name, a place). A memory scores `hop_discount` of its second-pass score if that is higher."""
        cfg = self.config
        mask = view.mask(filters)
        ranked = topk(first if mask is None else np.where(mask, first, -np.inf), cfg.hop_feedback)
        if len(ranked) == 0:
            return first
        top = [int(i) for i in ranked if first[i] >= first[ranked[0]] - cfg.hop_gate]  # attention gate
        found = self.store.fetch(filters.tenant, [view.ids[i] for i in top])
        asked = set(qplan.terms)
        bridge = [t for r in found.values() for t in lexical_terms(r.text) if t not in asked and t not in
                  {w.lower() for s in view.speakers() for w in s.split()}]
        q2 = qvec + cfg.hop_weight * view.matrix[top].mean(axis=0)
        q2 = (q2 / np.linalg.norm(q2)).astype(np.float32)
        second, _ = self._attend(view, filters, q2, list(dict.fromkeys(bridge)), qplan)
        hop = cfg.hop_discount * second
        hop[top] = -np.inf  # what conditioned the pass keeps its first score
        parts["hop"] = np.maximum(hop, 0.0)
        return np.maximum(first, hop)

    def _hits(self, view: OwnerView, filters: Filters, score: np.ndarray, parts: Parts, k: int,
              neighbors: int) -> list[Hit]:
        cfg = self.config
        rows = [int(i) for i in topk(score, k)]
        records = self.store.fetch(filters.tenant, [view.ids[i] for i in rows])
        hits = []
        for i in rows:
            record = records.get(view.ids[i])
            if record is None:  # deleted since the view was built
                continue
            prob = 1.0 / (1.0 + np.exp(-(score[i] - cfg.score_center) / cfg.score_scale))
            reasons = {name: float(arr[i]) for name, arr in parts.items()}
            hits.append(Hit(record, float(prob), reasons))
        if neighbors > 0:
            for hit in hits:
                hit.context = self.store.neighbors(hit.memory, neighbors, neighbors)
        return hits


def _z(x: np.ndarray) -> np.ndarray:
    """Standardise over the owner's memories (all zeros when there is no spread)."""
    std = float(x.std())
    return (x - x.mean()) / std if std > 1e-9 else np.zeros_like(x)
