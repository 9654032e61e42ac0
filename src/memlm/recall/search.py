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
`recall` then reads the hits' own records: how many archived turns a summary stands for,
the strength prior (recall/strength.py) and the newest value first (recall/current.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np

from memlm.config import RecallConfig
from memlm.encoders.base import Encoder, encode_queries
from memlm.recall.current import newest_first
from memlm.recall.query import QueryPlan, lexical_terms, plan
from memlm.recall.strength import Strength, strength_prior, strengths
from memlm.recall.timeparse import parse_window
from memlm.stores.base import Filters, Store
from memlm.stores.vecindex import OwnerView, about_top, lookup_sorted, topk
from memlm.types import Hit, MemoryRecord

Parts = dict[str, np.ndarray]
# A pass scores the owner's rows `at`: None for every row (arrays of length n), or sorted rows
# (large owners: the candidates; arrays aligned with them, so no pass allocates n-long arrays:
# those cost ~2 ms a search at 100k rows in page faults alone).
At = np.ndarray | None


class Retriever:
    """Runs the read path over one store with one encoder."""

    def __init__(self, store: Store, encoder: Encoder, config: RecallConfig) -> None:
        self.store = store
        self.encoder = encoder
        self.config = config

    def recall(self, query: str, filters: Filters, k: int, *, hops: int | None = None, neighbors: int = 0,
               now: datetime | None = None, archived: bool = False) -> list[Hit]:
        """The read path `Memory.search` runs: `search`, then, with `archived` (a capacity is set),
        each summary's count of the archived turns it stands for (`archived_reasons`), the strength
        prior (with strength_weight > 0) and, of two current values of one attribute, the newer first."""
        hits = self.search(query, filters, k, hops=hops, neighbors=neighbors, now=now)
        if archived:
            hits = self.archived_reasons(filters.tenant, hits)
        weight = self.config.strength_weight
        if weight > 0 and hits:
            hits = strength_prior(hits, self.strengths(filters.tenant, [h.memory for h in hits], now), weight)
        return newest_first(hits)

    def strengths(self, tenant: str, records: Sequence[MemoryRecord],
                  now: datetime | None = None) -> dict[str, Strength]:
        """Each memory's strength (recall/strength.py) as the ranking prior reads it, with its
        recall count and last recall: what the inspector shows."""
        return strengths(self.store, tenant, records, now, self.config)

    def archived_reasons(self, tenant: str, hits: list[Hit]) -> list[Hit]:
        """A summary hit that stands for archived turns (write/capacity.py) says how many in
        reasons["archived"] (those turns no longer rank on their own)."""
        sources = {s for h in hits if h.memory.kind == "summary" for s in h.memory.source_ids}
        if not sources:
            return hits
        found = self.store.fetch(tenant, list(sources))
        for h in hits:
            if h.memory.kind == "summary":
                n = sum(1 for s in h.memory.source_ids if s in found and found[s].superseded_by == h.memory.id)
                if n:
                    h.reasons["archived"] = float(n)
        return hits

    def search(self, query: str, filters: Filters, k: int, *, hops: int | None = None,
               neighbors: int = 0, now: datetime | None = None) -> list[Hit]:
        """The hits the scoring passes rank best (see the module docstring)."""
        hops = self.config.hops if hops is None else hops
        if isinstance(hops, bool) or hops not in (1, 2):  # 0 or 3 would otherwise quietly mean something else
            raise ValueError(f"hops must be 1 (one pass) or 2 (a second pass conditioned on the first), got {hops!r}")
        view = self.store.owner(filters)
        if view.n == 0:
            return []
        qplan = plan(query, view.speakers())
        qvec = np.asarray(encode_queries(self.encoder, [qplan.dense_text])[0], dtype=np.float32)
        mask = view.mask(filters)  # once a search: every pass filters with it
        at, score, parts = self._attend(view, filters, mask, qvec, qplan.terms, qplan)
        if hops == 2:
            at, score, parts = self._second_pass(view, filters, mask, qvec, qplan, at, score, parts)
        window = parse_window(query, now or datetime.now(timezone.utc))
        if window is not None:
            occ = _take(view.arrays()["occurred"], at)
            parts["time"] = ((occ >= window.start.timestamp()) & (occ < window.end.timestamp())).astype(np.float64)
            score = score + self.config.time_boost * parts["time"]
        if mask is not None:
            score = np.where(_take(mask, at), score, -np.inf)
        return self._hits(view, filters, at, score, parts, k, neighbors)

    def _attend(self, view: OwnerView, filters: Filters, mask: np.ndarray | None, qvec: np.ndarray,
                terms: list[str], qplan: QueryPlan) -> tuple[At, np.ndarray, Parts]:
        """Score the owner's memories for one query vector and term list: every row, or for a
        large owner its candidate rows (see _candidates). Returns (at, score, parts)."""
        cfg = self.config
        matched, matched_scores = self._lexical(view, filters, terms)
        if view.n < view.config.exact_below:  # the store's IndexConfig: one size for recall and the gate
            at, outside = None, 0.0
            lex = np.zeros(view.n)
            lex[matched] = matched_scores
            cos = np.einsum("ij,j->i", view.matrix, qvec)  # (n,); einsum's loop beats BLAS gemv here (docs/recall.md)
            lmu, lsd = lexical_moments(matched_scores, view.n, cfg.lexical_reference)
            base = cfg.dense_weight * _z(cos) + cfg.lexical_weight * (lex - lmu) / lsd
        else:
            at, cos, lex, base, outside = self._candidates(view, qvec, matched, matched_scores, mask)
        score, context = self._propagate(view, at, base, outside)
        speaker = np.zeros(len(score))
        if qplan.speaker is not None:
            speaker = (_take(view.arrays()["roles"], at) == qplan.speaker) * cfg.speaker_boost
        return at, score + speaker, {"dense": np.clip(cos, 0, 1), "lexical": lex, "context": context,
                                     "speaker": speaker}

    def _lexical(self, view: OwnerView, filters: Filters, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The best BM25 matches among the owner's rows: (rows, scores in [0, 1])."""
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        owner = Filters(*filters.owner_key(), include_superseded=filters.include_superseded, as_of=filters.as_of)
        return self.store.lexical_rows(view, owner, terms, self.config.lexical_candidates)

    def _candidates(self, view: OwnerView, qvec: np.ndarray, matched: np.ndarray, matched_scores: np.ndarray,
                    mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """Large owners: the rows worth scoring are the coarse pass's best among those that pass
        the filters' mask (cosine on the top principal directions) and the lexical matches, then
        the session neighbours of the best `neighbor_candidates` of those that pass the mask
        (where a turn's context can lift it). They get exact
        cosines; z-statistics come from a fixed sample's moments (dense) and exactly from the
        sparse BM25 scores (lexical). Returns (at, cos, lex, base) aligned with the sorted rows
        `at`, and the base score of a row outside them (an average memory with no match)."""
        cfg = self.config
        basis, projected, (mean, gram) = view.coarse()
        rough = view.matvec(projected, qvec @ basis)  # (n,)
        if mask is None:
            dense = about_top(rough, cfg.dense_candidates)
        else:  # the best rows that pass the filters (a session, a time range: maybe none of the owner's best)
            allowed = np.flatnonzero(mask)
            dense = allowed[about_top(rough[allowed], cfg.dense_candidates)]
        first = np.union1d(dense, matched)
        lex_first = np.zeros(len(first))
        lex_first[np.searchsorted(first, matched)] = matched_scores
        mu = float(qvec @ mean)  # the sample's cosine mean and deviation, from its moments
        sd = max(float(np.sqrt(max(float(qvec @ (gram @ qvec)) - mu * mu, 0.0))), 1e-9)
        lmu, lsd = lexical_moments(matched_scores, view.n, cfg.lexical_reference)

        def scored(rows: np.ndarray, lex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            exact = view.matvec(view.matrix[rows], qvec)
            return exact, cfg.dense_weight * (exact - mu) / sd + cfg.lexical_weight * (lex - lmu) / lsd

        exact, base_first = scored(first, lex_first)
        seeds = base_first if mask is None else np.where(mask[first], base_first, -np.inf)
        strong = first[topk(seeds, cfg.neighbor_candidates)]
        a = view.arrays()
        links = np.concatenate((a["prev"][strong], a["next"][strong]))
        links = links[links >= 0]
        extra = np.unique(links[~lookup_sorted(first, links)[1]])
        exact_extra, base_extra = scored(extra, np.zeros(len(extra)))  # every match is in `first`
        at = np.concatenate((first, extra))
        order = np.argsort(at, kind="stable")
        return (at[order], np.concatenate((exact, exact_extra))[order],
                np.concatenate((lex_first, np.zeros(len(extra))))[order],
                np.concatenate((base_first, base_extra))[order], cfg.lexical_weight * (0.0 - lmu) / lsd)

    def _propagate(self, view: OwnerView, at: At, base: np.ndarray, outside: float) -> tuple[np.ndarray, np.ndarray]:
        """Each turn inherits a share of its session neighbours' relevance (a neighbour outside
        `at` counts as `outside`). Returns (score, context) aligned with `at`."""
        cfg = self.config
        a = view.arrays()
        prev, nxt = _take(a["prev"], at), _take(a["next"], at)
        has_prev, has_next = prev >= 0, nxt >= 0
        share = cfg.prev_weight + cfg.prev_question_weight * a["asks"][np.where(has_prev, prev, 0)]
        ctx = (np.where(has_prev, share * _realign(base, at, prev, outside), 0.0)
               + np.where(has_next, cfg.next_weight * _realign(base, at, nxt, outside), 0.0))
        return base + ctx, ctx

    def _second_pass(self, view: OwnerView, filters: Filters, mask: np.ndarray | None, qvec: np.ndarray,
                     qplan: QueryPlan, at: At, first: np.ndarray, parts: Parts) -> tuple[At, np.ndarray, Parts]:
        """Re-read memory with what the first pass found: the query vector moves towards the
        best memories (Rocchio) and the lexical side looks for the words they add (the bridge:
        a name, a place). A memory scores `hop_discount` of its second-pass score if that is higher."""
        cfg = self.config
        ranked = topk(first if mask is None else np.where(_take(mask, at), first, -np.inf), cfg.hop_feedback)
        if len(ranked) == 0:
            return at, first, parts
        top = _take(np.array([int(i) for i in ranked if first[i] >= first[ranked[0]] - cfg.hop_gate]), at,
                    positions=True)  # attention gate; the owner's rows
        found = self.store.fetch(filters.tenant, [view.ids[i] for i in top])
        asked = set(qplan.terms)
        bridge = [t for r in found.values() for t in lexical_terms(r.text) if t not in asked and t not in
                  {w.lower() for s in view.speakers() for w in s.split()}]
        q2 = qvec + cfg.hop_weight * view.matrix[top].mean(axis=0)
        q2 = (q2 / np.linalg.norm(q2)).astype(np.float32)
        at2, second, _ = self._attend(view, filters, mask, q2, list(dict.fromkeys(bridge)), qplan)
        both = None if at is None or at2 is None else np.union1d(at, at2)  # one view: both None or neither
        hop = cfg.hop_discount * _realign(second, at2, both, -np.inf)
        hop[
            top if both is None else np.searchsorted(both, top)
        ] = -np.inf  # what conditioned the pass keeps its first score
        parts = {name: _realign(values, at, both, 0.0) for name, values in parts.items()}
        parts["hop"] = np.maximum(hop, 0.0)
        return both, np.maximum(_realign(first, at, both, -np.inf), hop), parts

    def _hits(self, view: OwnerView, filters: Filters, at: At, score: np.ndarray, parts: Parts, k: int,
              neighbors: int) -> list[Hit]:
        cfg = self.config
        best = topk(score, k)  # positions in `at`, best first
        rows = _take(best, at, positions=True)
        records = self.store.fetch(filters.tenant, [view.ids[i] for i in rows])
        hits = []
        for i, row in zip(best.tolist(), rows.tolist()):
            record = records.get(view.ids[row])
            if record is None:  # deleted since the view was built
                continue
            prob = 1.0 / (1.0 + np.exp(-(score[i] - cfg.score_center) / cfg.score_scale))
            reasons = {name: float(arr[i]) for name, arr in parts.items()}
            hits.append(Hit(record, float(prob), reasons))
        if neighbors > 0:
            for hit in hits:
                hit.context = self.store.neighbors(hit.memory, neighbors, neighbors)
        return hits


def _take(values: np.ndarray, at: At, *, positions: bool = False) -> np.ndarray:
    """A per-row array's entries for the rows `at` (all of it when None). With positions=True,
    `values` are positions in `at` and the result is the rows they stand for."""
    if at is None:
        return values
    return at[values] if positions else values[at]


def _realign(values: np.ndarray, at: At, rows: At, fill: float) -> np.ndarray:
    """`values` aligned with `at`, looked up for `rows` (fill where a row is not in `at`; a
    row -1, no neighbour, gives a value that callers mask)."""
    if at is None:
        return values if rows is None else values[rows]
    if rows is None:
        raise ValueError("rows outside a candidate set cannot be realigned to every row")
    pos, found = lookup_sorted(at, rows)
    return np.where(found, values[pos], fill) if len(at) else np.full(len(rows), fill)


def lexical_moments(scores: np.ndarray, n: int, reference: int) -> tuple[float, float]:
    """Mean and deviation of BM25 over an owner's n memories, given the scores of the matches (BM25
    is 0 for the rest), taken as if the owner held at most `reference` memories (never fewer
    than twice the matches). Over all n, a match's z-score grows like sqrt(n / matches): in an
    owner of 22k memories lexical evidence drowned the dense evidence (docs/recall.md). The
    deviation is infinite when there is no spread (every z-score 0)."""
    n = min(n, max(reference, 2 * len(scores)))
    mean = float(scores.sum()) / n
    sd = float(np.sqrt(max(float(scores @ scores) / n - mean * mean, 0.0)))
    return mean, sd if sd > 1e-9 else float("inf")


def _z(x: np.ndarray) -> np.ndarray:
    """Standardise over the owner's memories (all zeros when there is no spread)."""
    std = float(x.std())
    return (x - x.mean()) / std if std > 1e-9 else np.zeros_like(x)
