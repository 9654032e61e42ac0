"""An owner's memories as arrays: the matrix that recall attends over.

The view is keyed by owner (tenant, user, agent) and cached. New rows are appended
incrementally (by rowid high-water mark); any update or delete bumps the store's
generation, which rebuilds the view. Besides the vectors it keeps what the read path
needs per memory: kind, session, speaker, time, whether the turn asks a question, and
the previous / next turn of the same session, so neighbour propagation is a gather.
Session, kind and time filters are masks: a search scores the owner's rows with one
matrix product and never sees another owner's rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from memlm.stores.base import Filters, Scored

# A row as loaders yield it: (rid, id, kind, session_id, role, occurred_at timestamp or None, asks, vector)
Row = tuple[int, str, str, str | None, str | None, float | None, bool, np.ndarray]


@dataclass
class OwnerView:
    """One owner's memories in insertion order, as parallel arrays."""

    dim: int
    generation: int
    hwm: int = 0  # highest rowid loaded
    ids: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    sessions: list[str | None] = field(default_factory=list)
    roles: list[str | None] = field(default_factory=list)
    occurred: list[float] = field(default_factory=list)  # epoch seconds, NaN when unknown
    asks: list[bool] = field(default_factory=list)  # the text contains a question mark
    prev: list[int] = field(default_factory=list)  # index of the previous turn in the session, -1 if none
    next: list[int] = field(default_factory=list)  # index of the next turn in the session, -1 if none
    index: dict[str, int] = field(default_factory=dict)  # id -> row
    rows_by_rid: dict[int, int] = field(default_factory=dict)  # store rowid -> row
    _last_in_session: dict[str, int] = field(default_factory=dict)
    _chunks: list[np.ndarray] = field(default_factory=list)
    _matrix: np.ndarray | None = None
    _arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.ids)

    def append(self, rows: Iterable[Row]) -> None:
        vecs = []
        for rid, mid, kind, session, role, occurred, asks, vec in rows:
            i = len(self.ids)
            self.hwm = max(self.hwm, rid)
            self.ids.append(mid)
            self.index[mid] = i
            self.rows_by_rid[rid] = i
            self.kinds.append(kind)
            self.sessions.append(session)
            self.roles.append(role)
            self.occurred.append(np.nan if occurred is None else occurred)
            self.asks.append(asks)
            self.prev.append(-1)
            self.next.append(-1)
            if kind == "episode" and session is not None:
                before = self._last_in_session.get(session, -1)
                if before >= 0:
                    self.prev[i], self.next[before] = before, i
                self._last_in_session[session] = i
            vecs.append(vec)
        if vecs:
            self._chunks.append(np.stack(vecs).astype(np.float32, copy=False))

    @property
    def matrix(self) -> np.ndarray:
        """(n, dim) float32 unit vectors."""
        if self._chunks:
            parts = ([self._matrix] if self._matrix is not None else []) + self._chunks
            self._matrix = np.concatenate(parts, axis=0)
            self._chunks = []
        if self._matrix is None:
            self._matrix = np.zeros((0, self.dim), dtype=np.float32)
        return self._matrix

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-row lists as numpy arrays (rebuilt only after rows were appended)."""
        if self._arrays.get("n") is None or int(self._arrays["n"][0]) != self.n:
            self._arrays = {
                "n": np.array([self.n]),
                "prev": np.array(self.prev, dtype=np.int64),
                "next": np.array(self.next, dtype=np.int64),
                "asks": np.array(self.asks, dtype=bool),
                "roles": np.array(self.roles, dtype=object),
                "kinds": np.array(self.kinds, dtype=object),
                "sessions": np.array(self.sessions, dtype=object),
                "occurred": np.array(self.occurred, dtype=np.float64),
            }
        return self._arrays

    def speakers(self) -> set[str]:
        """Distinct speakers of the owner's episodes."""
        a = self.arrays()
        if "speakers" not in a:
            a["speakers"] = np.array(sorted({r for r, k in zip(self.roles, self.kinds) if r and k == "episode"}), dtype=object)
        return set(a["speakers"])

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask of rows passing the non-owner filters, or None when all pass."""
        a = self.arrays()
        mask = None
        if filters.session_id is not None:
            mask = a["sessions"] == filters.session_id
        if filters.kinds is not None:
            m = np.isin(a["kinds"], list(filters.kinds))
            mask = m if mask is None else mask & m
        if filters.since is not None or filters.until is not None:
            occ = a["occurred"]
            m = ~np.isnan(occ)
            if filters.since is not None:
                m &= occ >= filters.since.timestamp()
            if filters.until is not None:
                m &= occ < filters.until.timestamp()
            mask = m if mask is None else mask & m
        return mask

    def search(self, filters: Filters, queries: np.ndarray, k: int) -> list[Scored]:
        """The k nearest rows by cosine for each query row (scores clipped to [0, 1])."""
        if self.n == 0:
            return [[] for _ in range(len(queries))]
        sims = queries.astype(np.float32, copy=False) @ self.matrix.T  # (q, n)
        mask = self.mask(filters)
        if mask is not None:
            sims[:, ~mask] = -np.inf
        return [[(self.ids[i], float(min(1.0, max(0.0, row[i])))) for i in topk(row, k)] for row in sims]


def topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest finite scores, best first (ties by row order)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.lexsort((idx, -scores[idx]))]
    return idx[np.isfinite(scores[idx])]


class ViewCache:
    """LRU of owners' views, safe to share between threads."""

    def __init__(self, dim: int, max_owners: int = 16) -> None:
        self.dim = dim
        self.max_owners = max_owners
        self._owners: OrderedDict[tuple, OwnerView] = OrderedDict()
        self._lock = threading.Lock()

    def owner(self, key: tuple, generation: int, load: Callable[[int], Iterable[Row]]) -> OwnerView:
        """The owner's view, current as of `generation`; load(after_rid) yields newer rows."""
        with self._lock:
            view = self._owners.get(key)
            if view is None or view.generation != generation:
                view = OwnerView(dim=self.dim, generation=generation)
                self._owners[key] = view
            view.append(load(view.hwm))
            self._owners.move_to_end(key)
            while len(self._owners) > self.max_owners:
                self._owners.popitem(last=False)
            view.matrix  # noqa: B018 - stack pending rows while holding the lock
            return view
