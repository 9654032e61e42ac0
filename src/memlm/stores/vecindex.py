"""Exact dense search over one owner's vectors, cached in memory as a numpy matrix.

The cache is keyed by owner (tenant, user, agent). New rows are appended incrementally
(by rowid high-water mark); any update or delete bumps the store's generation, which
drops the cached matrix. Session, kind and time filters are masks, so a search scores
the owner's rows with one matrix product and never sees another owner's rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from memlm.stores.base import Filters, Scored

# A row as loaders yield it: (rid, id, kind, session_id, occurred_at timestamp or None, vector)
Row = tuple[int, str, str, str | None, float | None, np.ndarray]


@dataclass
class OwnerVectors:
    """One owner's vectors and the columns that filters mask on."""

    dim: int
    generation: int
    hwm: int = 0  # highest rowid loaded
    ids: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    sessions: list[str | None] = field(default_factory=list)
    occurred: list[float] = field(default_factory=list)  # NaN when unknown
    chunks: list[np.ndarray] = field(default_factory=list)  # pending rows, stacked lazily
    matrix: np.ndarray | None = None  # (n, dim) float32

    def append(self, rows: Iterable[Row]) -> None:
        vecs = []
        for rid, mid, kind, session, occurred, vec in rows:
            self.hwm = max(self.hwm, rid)
            self.ids.append(mid)
            self.kinds.append(kind)
            self.sessions.append(session)
            self.occurred.append(np.nan if occurred is None else occurred)
            vecs.append(vec)
        if vecs:
            self.chunks.append(np.stack(vecs).astype(np.float32, copy=False))

    def mat(self) -> np.ndarray:
        if self.chunks:
            parts = ([self.matrix] if self.matrix is not None else []) + self.chunks
            self.matrix = np.concatenate(parts, axis=0)
            self.chunks = []
        if self.matrix is None:
            self.matrix = np.zeros((0, self.dim), dtype=np.float32)
        return self.matrix

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask of rows passing the non-owner filters, or None when all pass."""
        mask = None
        if filters.session_id is not None:
            mask = np.array([s == filters.session_id for s in self.sessions], dtype=bool)
        if filters.kinds is not None:
            m = np.isin(np.array(self.kinds, dtype=object), list(filters.kinds))
            mask = m if mask is None else mask & m
        if filters.since is not None or filters.until is not None:
            occ = np.array(self.occurred, dtype=np.float64)
            m = ~np.isnan(occ)
            if filters.since is not None:
                m &= occ >= filters.since.timestamp()
            if filters.until is not None:
                m &= occ < filters.until.timestamp()
            mask = m if mask is None else mask & m
        return mask

    def search(self, filters: Filters, queries: np.ndarray, k: int) -> list[Scored]:
        mat = self.mat()
        if mat.shape[0] == 0:
            return [[] for _ in range(len(queries))]
        sims = queries.astype(np.float32, copy=False) @ mat.T  # (q, n)
        mask = self.mask(filters)
        if mask is not None:
            sims[:, ~mask] = -np.inf
        return [_topk(row, self.ids, k) for row in sims]


def _topk(row: np.ndarray, ids: list[str], k: int) -> Scored:
    k = min(k, row.shape[0])
    idx = np.argpartition(-row, k - 1)[:k]
    idx = idx[np.argsort(-row[idx], kind="stable")]
    return [(ids[i], float(min(1.0, max(0.0, row[i])))) for i in idx if np.isfinite(row[i])]


class VectorCache:
    """LRU of owners' vector matrices, safe to share between threads."""

    def __init__(self, dim: int, max_owners: int = 16) -> None:
        self.dim = dim
        self.max_owners = max_owners
        self._owners: OrderedDict[tuple, OwnerVectors] = OrderedDict()
        self._lock = threading.Lock()

    def owner(self, key: tuple, generation: int, load: Callable[[int], Iterable[Row]]) -> OwnerVectors:
        """The owner's vectors, current as of `generation`; load(after_rid) yields newer rows."""
        with self._lock:
            entry = self._owners.get(key)
            if entry is None or entry.generation != generation:
                entry = OwnerVectors(dim=self.dim, generation=generation)
                self._owners[key] = entry
            entry.append(load(entry.hwm))
            self._owners.move_to_end(key)
            while len(self._owners) > self.max_owners:
                self._owners.popitem(last=False)
            entry.mat()
            return entry

    def clear(self) -> None:
        with self._lock:
            self._owners.clear()
