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
from memlm.stores.vecindex import OwnerView, about_top, matvec, topk
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
        """Score every memory of the owner for one query vector and term list (large owners:
        only candidate rows get a score, the rest -inf; see _candidates)."""
        cfg = self.config
        lex, matched = self._lexical(view, filters, terms)
        if view.n < cfg.exact_below:
            rows = None
            cos = np.einsum("ij,j->i", view.matrix, qvec)  # (n,); einsum's loop beats BLAS gemv here (docs/recall.md)
            base = cfg.dense_weight * _z(cos) + cfg.lexical_weight * _z(lex)
        else:
            rows, cos, base = self._candidates(view, qvec, lex, matched)
        score, context = self._propagate(view, base, rows)
        speaker = np.zeros(view.n)
        if qplan.speaker is not None:
            roles = view.arrays()["roles"]
            at = slice(None) if rows is None else rows
            speaker[at] = (roles[at] == qplan.speaker) * cfg.speaker_boost
        return score + speaker, {"dense": np.clip(cos, 0, 1), "lexical": lex, "context": context, "speaker": speaker}

    def _lexical(self, view: OwnerView, filters: Filters, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(n,) BM25 scores in [0, 1] of the owner's rows (0: no match), and the matched rows."""
        lex = np.zeros(view.n)
        match = fts_match(terms)
        if not match:
            return lex, np.zeros(0, dtype=np.int64)
        rows, scores = self.store.lexical_rows(view, Filters(*filters.owner_key()), match, self.config.lexical_candidates)
        lex[rows] = scores
        return lex, rows

    def _candidates(self, view: OwnerView, qvec: np.ndarray, lex: np.ndarray,
                    matched: np.ndarray) -> tuple[np.ndarray, ...]:
        """Large owners: the rows worth scoring are the coarse pass's best (cosine on the top
        principal directions) and the lexical matches, then the session neighbours of the best
        `neighbor_candidates` of those (where a turn's context can lift it). They get exact
        cosines; z-statistics come from a fixed sample's moments (dense) and exactly from the
        sparse BM25 scores (lexical). Returns (rows, cos, base), cos and base of length n
        (rows outside the candidates: cos 0, base as for an average memory with no match)."""
        cfg = self.config
        basis, projected, (mean, gram) = view.coarse()
        first = np.union1d(about_top(matvec(projected, qvec @ basis), cfg.dense_candidates), matched)
        mu = float(qvec @ mean)  # the sample's cosine mean and deviation, from its moments
        sd = max(float(np.sqrt(max(float(qvec @ (gram @ qvec)) - mu * mu, 0.0))), 1e-9)
        hits = lex[matched]  # BM25 is 0 elsewhere: its moments come from the matches alone
        lmu = float(hits.sum()) / view.n
        lsd = max(float(np.sqrt(max(float(hits @ hits) / view.n - lmu * lmu, 0.0))), 1e-9)

        def scored(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            exact = matvec(view.matrix[rows], qvec)
            return exact, cfg.dense_weight * (exact - mu) / sd + cfg.lexical_weight * (lex[rows] - lmu) / lsd

        exact, base_first = scored(first)
        strong = first[topk(base_first, cfg.neighbor_candidates)]
        a = view.arrays()
        links = np.concatenate((a["prev"][strong], a["next"][strong]))
        links = links[links >= 0]
        extra = np.unique(links[~_members(links, first)])
        exact_extra, base_extra = scored(extra)
        rows = np.concatenate((first, extra))
        cos = np.zeros(view.n, dtype=np.float32)
        cos[rows] = np.concatenate((exact, exact_extra))
        base = np.full(view.n, cfg.lexical_weight * (0.0 - lmu) / lsd)
        base[rows] = np.concatenate((base_first, base_extra))
        return rows, cos, base

    def _propagate(self, view: OwnerView, base: np.ndarray,
                   rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each turn inherits a share of its session neighbours' relevance (only `rows` are
        scored when given; the others get -inf)."""
        cfg = self.config
        a = view.arrays()
        at = slice(None) if rows is None else rows
        prev, nxt = a["prev"][at], a["next"][at]
        has_prev, has_next = prev >= 0, nxt >= 0
        share = cfg.prev_weight + cfg.prev_question_weight * a["asks"][np.where(has_prev, prev, 0)]
        ctx = np.where(has_prev, share * base[prev], 0.0) + np.where(has_next, cfg.next_weight * base[nxt], 0.0)
        if rows is None:
            return base + ctx, ctx
        context, score = np.zeros(view.n), np.full(view.n, -np.inf)
        context[rows] = ctx
        score[rows] = base[rows] + ctx
        return score, context

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
        scored = np.flatnonzero(np.isfinite(score))
        best = scored[topk(score[scored], k)] if len(scored) < view.n // 4 else topk(score, k)  # large owners
        rows = [int(i) for i in best]
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


def _members(x: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Whether each entry of x is in sorted_set (a binary search each)."""
    if len(sorted_set) == 0:
        return np.zeros(len(x), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, x), len(sorted_set) - 1)
    return sorted_set[at] == x


def _z(x: np.ndarray) -> np.ndarray:
    """Standardise over the owner's memories (all zeros when there is no spread)."""
    std = float(x.std())
    return (x - x.mean()) / std if std > 1e-9 else np.zeros_like(x)
