"""An owner's memories as arrays: the matrix that recall attends over.

`OwnerIndex` holds one owner's (tenant, user, agent) rows in insertion order in
append-only, capacity-doubling numpy buffers: the unit vectors, and per row the kind,
session, speaker, time, whether the text asks a question, and the previous / next turn of
the same session. New rows are appended incrementally (by rowid high-water mark); an
update or delete bumps the store's generation and a fresh index is built.

Readers get an `OwnerView`: an immutable snapshot of the first n rows. Appends never
move or change rows a snapshot sees (a reallocated buffer is a new array; the only
in-place change, an older row's `next` link, is clamped to the snapshot), so searches in
other threads stay consistent while writes continue. Session, kind and time filters are
masks over a view: a search scores the owner's rows with one matrix product and never
sees another owner's rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from memlm.config import IndexConfig
from memlm.stores.base import Filters, Scored

# A row as loaders yield it:
# (rid, id, kind, session_id, role, occurred_at timestamp or None, asks, current (not superseded), vector,
#  tokens: the row's size in the lexical index, 0 where the backend keeps no such count,
#  expires_at timestamp or None)
Row = tuple[int, str, str, str | None, str | None, float | None, bool, bool, np.ndarray, int, float | None]
COLUMNS = {"prev": np.int64, "next": np.int64, "asks": bool, "current": bool, "occurred": np.float64,
           "expires": np.float64,
           "roles": object, "kinds": np.int16, "sessions": object,
           "rids": np.int64, "tokens": np.int32}
# kinds: a code per kind, numbered as the owner's rows bring them (OwnerIndex.kind_codes), so a
# mask by kind compares small ints, not strings; rids: the store's row ids, ascending (rows are
# loaded in rowid order); tokens: see Row (SQLite's BM25 needs each row's length); expires: the
# row's expires_at as a timestamp, +inf where it never expires (Filters.as_of masks by it)


# The index's sizes and the BLAS switch are settings: config.IndexConfig, handed to the store.


def matvec(matrix: np.ndarray, vector: np.ndarray, blas: bool = False) -> np.ndarray:
    """(n, d) @ (d,) -> (n,): through BLAS, or numpy's einsum loop (see IndexConfig.blas_gemv)."""
    return matrix @ vector if blas else np.einsum("ij,j->i", matrix, vector)


class Coarse:
    """A large owner's rows projected on their top principal directions, append-only: a
    cheap first pass that picks which rows recall scores exactly (recall/search.py)."""

    def __init__(self, matrix: np.ndarray, n: int, config: IndexConfig) -> None:
        rng = np.random.default_rng(0)
        sample = np.sort(rng.choice(n, size=min(n, config.stats_sample), replace=False))
        rows = matrix[sample]
        _, _, vt = np.linalg.svd(rows - rows.mean(axis=0), full_matrices=False)
        self.basis = np.ascontiguousarray(vt[: config.coarse_dims].T, dtype=np.float32)  # (dim, k)
        # moments of a fixed random sample of rows: a query's cosines with the sample have mean
        # q.mean and second moment q' gram q, so score statistics cost one (dim, dim) product
        sample64 = rows.astype(np.float64)
        self.mean = sample64.mean(axis=0).astype(np.float32)  # (dim,)
        self.gram = ((sample64.T @ sample64) / len(rows)).astype(np.float32)  # (dim, dim)
        self.projected = np.zeros((0, self.basis.shape[1]), dtype=np.float32)  # (capacity, k)
        self.n = 0
        self.lock = threading.Lock()

    def upto(self, matrix: np.ndarray, n: int) -> np.ndarray:
        """The projected first n rows (projecting the newer ones first)."""
        with self.lock:
            if n > self.n:
                if n > self.projected.shape[0]:
                    grown = np.zeros((max(n, 2 * self.projected.shape[0]), self.basis.shape[1]), dtype=np.float32)
                    grown[: self.n] = self.projected[: self.n]
                    self.projected = grown  # a new array: older views keep theirs
                self.projected[self.n : n] = matrix[self.n : n] @ self.basis
                self.n = n
            return self.projected[:n]


class OwnerIndex:
    """One owner's rows, append-only (mutated only under the cache's lock)."""

    def __init__(self, dim: int, generation: int, config: IndexConfig | None = None) -> None:
        self.dim = dim
        self.config = config or IndexConfig()  # sizes and the BLAS switch
        self.generation = generation  # the store generation this index reflects
        self.hwm = 0  # highest rowid loaded
        self.n = 0
        self.superseded = 0  # rows with a valid_to
        self.expiring = 0  # rows with an expires_at
        self.ids: list[str] = []
        self.index: dict[str, int] = {}  # id -> row
        self._last_in_session: dict[str, int] = {}
        self._speakers: set[str] = set()  # distinct speakers of episodes
        self.kind_codes: dict[str, int] = {}  # kind -> its code in the "kinds" column (append-only)
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._cols = {name: np.zeros(0, dtype=dtype) for name, dtype in COLUMNS.items()}
        self._view: OwnerView | None = None
        self._coarse: Coarse | None = None
        self._coarse_lock = threading.Lock()

    def coarse(self, n: int) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """(basis, projected first n rows, (sample mean, sample gram)) for a view of n rows;
        fitted on first use."""
        with self._coarse_lock:
            if self._coarse is None:
                self._coarse = Coarse(self._matrix, n, self.config)
            coarse = self._coarse
        return coarse.basis, coarse.upto(self._matrix, n), (coarse.mean, coarse.gram)

    def append(self, rows: Iterable[Row]) -> None:
        """Add rows (in rowid order) after the loaded ones: columns are filled a slice at a time
        (a per-row loop was a third of a cold 1,000-row owner load); then session links."""
        rows = list(rows)
        if not rows:
            return
        start, stop = self.n, self.n + len(rows)
        self._reserve(stop)
        rids, mids, kinds, sessions, roles, occurred, asks, current, vectors, tokens, expires = zip(*rows)
        self._matrix[start:stop] = np.stack(vectors)
        c, at = self._cols, range(start, stop)
        codes = self.kind_codes
        c["kinds"][start:stop] = [codes.setdefault(k, len(codes)) for k in kinds]
        c["sessions"][start:stop], c["roles"][start:stop] = sessions, roles
        c["occurred"][start:stop] = [np.nan if o is None else o for o in occurred]
        c["asks"][start:stop], c["current"][start:stop] = asks, current
        c["expires"][start:stop] = [np.inf if e is None else e for e in expires]
        self.expiring += sum(e is not None for e in expires)
        c["prev"][start:stop] = c["next"][start:stop] = -1
        c["rids"][start:stop], c["tokens"][start:stop] = rids, tokens
        self.superseded += len(rows) - sum(map(bool, current))
        self.ids.extend(mids)
        self.index.update(zip(mids, at))
        self.hwm = max(self.hwm, max(rids))
        self._link_sessions(at, kinds, sessions, roles)
        self.n = stop

    def _link_sessions(self, at: range, kinds: tuple, sessions: tuple, roles: tuple) -> None:
        """Each episode's previous and next turn in its session; the episodes' speakers."""
        last, later, earlier = self._last_in_session, [], []
        for i, kind, session, role in zip(at, kinds, sessions, roles):
            if kind != "episode":
                continue
            if role:
                self._speakers.add(role)
            if session is not None:
                before = last.get(session, -1)
                if before >= 0:
                    later.append(i)
                    earlier.append(before)
                last[session] = i
        if later:
            self._cols["prev"][later] = earlier
            self._cols["next"][earlier] = later

    def _reserve(self, size: int) -> None:
        capacity = self._matrix.shape[0]
        if size <= capacity:
            return
        capacity = max(size, 2 * capacity, 1024)
        matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        matrix[: self.n] = self._matrix[: self.n]
        self._matrix = matrix
        for name, old in self._cols.items():
            new = np.empty(capacity, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            self._cols[name] = new

    def view(self) -> OwnerView:
        """A snapshot of the rows loaded so far (reused until rows are appended)."""
        if self._view is None or self._view.n != self.n:
            n = self.n
            cols = {name: arr[:n] for name, arr in self._cols.items()}
            cols["next"] = np.where(cols["next"] < n, cols["next"], -1)  # links into rows this view lacks
            self._view = OwnerView(n, self.ids, self.index, self._matrix[:n], cols,
                                   frozenset(self._speakers), self.superseded, self, self.kind_codes, self.config,
                                   self.expiring)
        return self._view


@dataclass
class OwnerView:
    """An immutable snapshot of an owner's first n rows."""

    n: int
    ids: list[str]  # shared, append-only: rows < n are this view's
    _index: dict[str, int]
    matrix: np.ndarray  # (n, dim) float32 unit vectors
    columns: dict[str, np.ndarray]  # per-row arrays of length n (see COLUMNS)
    _speakers: frozenset[str] = field(default_factory=frozenset, repr=False)
    superseded: int = 0  # how many rows are superseded facts (hidden unless filters include them)
    _owner: OwnerIndex | None = field(default=None, repr=False)
    _kind_codes: dict[str, int] = field(default_factory=dict, repr=False)  # shared, append-only
    config: IndexConfig = field(default_factory=IndexConfig, repr=False)  # the store's index settings
    expiring: int = 0  # how many rows have an expires_at (hidden from Filters.as_of on)

    def matvec(self, matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """(n, d) @ (d,) -> (n,) by the route the store's IndexConfig.blas_gemv picks."""
        return matvec(matrix, vector, self.config.blas_gemv)

    def coarse(self) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """(basis (dim, k), this view's rows projected (n, k), (mean (dim,), gram (dim, dim)) of a
        fixed sample of rows)."""
        if self._owner is None:
            raise RuntimeError("this view has no owner index")
        return self._owner.coarse(self.n)

    def row_of(self, memory_id: str) -> int | None:
        i = self._index.get(memory_id)
        return i if i is not None and i < self.n else None

    def rows_of_rids(self, rids: np.ndarray) -> np.ndarray:
        """This view's row of each store row id, -1 where it has none (a binary search: the
        view's row ids ascend)."""
        rows, found = lookup_sorted(self.columns["rids"], rids)
        return np.where(found, rows, -1)

    def rows_of(self, memory_ids: Sequence[str]) -> np.ndarray:
        """This view's row of each memory id, -1 where it has none."""
        rows = np.fromiter(map(self._index.get, memory_ids, repeat(-1)), dtype=np.int64, count=len(memory_ids))
        return np.where(rows < self.n, rows, -1)

    def arrays(self) -> dict[str, np.ndarray]:
        return self.columns

    def speakers(self) -> frozenset[str]:
        """Distinct speakers of the owner's episodes."""
        return self._speakers

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask of rows passing the non-owner filters, or None when all pass."""
        c = self.columns
        mask = None
        if self.superseded and not filters.include_superseded:
            mask = c["current"].copy()
        if self.expiring and filters.as_of is not None:
            m = c["expires"] > filters.as_of.timestamp()
            mask = m if mask is None else mask & m
        if filters.session_id is not None:
            m = c["sessions"] == filters.session_id
            mask = m if mask is None else mask & m
        if filters.kinds is not None:
            m = np.zeros(self.n, dtype=bool)
            for code in {self._kind_codes[k] for k in filters.kinds if k in self._kind_codes}:
                m |= c["kinds"] == code  # a few kinds: cheaper than np.isin's set machinery
            mask = m if mask is None else mask & m
        if filters.since is not None or filters.until is not None:
            occ = c["occurred"]
            m = ~np.isnan(occ)
            if filters.since is not None:
                m &= occ >= filters.since.timestamp()
            if filters.until is not None:
                m &= occ < filters.until.timestamp()
            mask = m if mask is None else mask & m
        return mask

    def search(self, filters: Filters, queries: np.ndarray, k: int) -> list[Scored]:
        """The k nearest rows by cosine for each query row (scores clipped to [0, 1]). Owners
        of IndexConfig.exact_below rows or more: the exact cosine of the coarse pass's best rows."""
        if self.n == 0:
            return [[] for _ in range(len(queries))]
        queries = queries.astype(np.float32, copy=False)
        mask = self.mask(filters)
        if self.n < self.config.exact_below:  # every row; one product for a batch (the write gate's), einsum for one
            rows = None
            sims = (np.einsum("ij,j->i", self.matrix, queries[0])[None] if len(queries) == 1
                    else queries @ self.matrix.T)  # (q, n)
        else:  # the coarse pass picks the rows, scored exactly
            basis, projected, _ = self.coarse()
            rough = [self.matvec(projected, q @ basis) for q in queries]  # q x (n,)
            rows = [np.sort(about_top(r, max(self.config.coarse_candidates, 4 * k))) for r in rough]
            sims = [self.matvec(self.matrix[r], q) for r, q in zip(rows, queries)]
        out = []
        for i, row in enumerate(sims):
            picked = None if rows is None else rows[i]
            if mask is not None:
                row = np.where(mask if picked is None else mask[picked], row, -np.inf)
            best = topk(row, k)
            ids = best if picked is None else picked[best]
            out.append([(self.ids[m], float(min(1.0, max(0.0, row[j])))) for m, j in zip(ids, best)])
        return out

def topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest finite scores, best first (ties by row order)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.lexsort((idx, -scores[idx]))]
    return idx[np.isfinite(scores[idx])]


def lookup_sorted(keys: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each entry of x: its position in the ascending `keys` and whether it is there (a
    binary search each; where it is not, the position is meaningless)."""
    if len(keys) == 0:
        return np.zeros(len(x), dtype=np.int64), np.zeros(len(x), dtype=bool)
    pos = np.minimum(np.searchsorted(keys, x), len(keys) - 1)
    return pos, keys[pos] == x


def about_top(x: np.ndarray, k: int) -> np.ndarray:
    """Roughly the k largest entries (a threshold from a strided sample: 10x cheaper than an
    exact partition of a large array, and candidates need not be exactly k)."""
    if len(x) <= 8 * k:
        return topk(x, k)
    sample = x[:: max(1, len(x) // 8192)]
    at = min(len(sample) - 1, int(len(sample) * (1.0 - k / len(x))))
    picked = np.flatnonzero(x >= np.partition(sample, at)[at])
    return picked if len(picked) >= k // 2 else topk(x, k)


class ViewCache:
    """LRU of owners' indexes, safe to share between threads."""

    def __init__(self, dim: int, max_owners: int = 16, config: IndexConfig | None = None) -> None:
        self.dim = dim
        self.config = config or IndexConfig()  # every owner's index settings
        self.max_owners = max_owners
        self._owners: OrderedDict[tuple, OwnerIndex] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every owner (the next search reloads from the store)."""
        with self._lock:
            self._owners.clear()

    def owner(self, key: tuple, generation: int, load: Callable[[int], Iterable[Row]]) -> OwnerView:
        """A snapshot of the owner's rows, current as of `generation`; load(after_rid) yields newer rows."""
        with self._lock:
            index = self._owners.get(key)
            if index is None or index.generation != generation:
                index = OwnerIndex(self.dim, generation, self.config)
                self._owners[key] = index
            index.append(load(index.hwm))
            self._owners.move_to_end(key)
            while len(self._owners) > self.max_owners:
                self._owners.popitem(last=False)
            return index.view()
