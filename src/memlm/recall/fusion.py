"""Combining retrievers' scores into one relevance in [0, 1].

Each retriever's scores are first made comparable within the query (divided by the
query's best score, so each retriever's top candidate scores 1), then mixed with weights
that sum to 1: a soft attention over the candidate memories, where a memory both
retrievers rank high keeps the most weight.
"""

from __future__ import annotations

from collections.abc import Mapping

Scored = list[tuple[str, float]]


def relative(scored: Scored) -> dict[str, float]:
    """Scores divided by the best one (the top candidate scores 1)."""
    if not scored:
        return {}
    best = max(s for _, s in scored)
    if best <= 0:
        return {mid: 0.0 for mid, _ in scored}
    return {mid: s / best for mid, s in scored}


def weighted(components: Mapping[str, dict[str, float]], weights: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Per-memory component scores, plus a "fused" entry: the weighted mean over components."""
    total = sum(weights[name] for name in components) or 1.0
    ids = set().union(*(c.keys() for c in components.values())) if components else set()
    out: dict[str, dict[str, float]] = {}
    for mid in ids:
        parts = {name: comp.get(mid, 0.0) for name, comp in components.items()}
        fused = sum(weights[name] * parts[name] for name in parts) / total
        out[mid] = {**parts, "fused": fused}
    return out
