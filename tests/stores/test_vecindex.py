"""The owner index: rows appended in any chunking give the same view, and episodes link to
their session neighbours (other kinds and session-less rows stay unlinked)."""

from __future__ import annotations

import numpy as np

from memlm.stores.base import Filters
from memlm.stores.vecindex import OwnerIndex


def _rows(n: int, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = str(rng.choice(["episode", "episode", "fact", "summary", "note"]))
        session = [None, "s1", "s2"][i % 3]
        out.append((2 * i + 1, f"m{i}", kind, session, ["Ana", "Ben", None][i % 3],
                    None if i % 5 == 0 else float(i), i % 4 == 0, i % 7 != 0, rng.standard_normal(4).astype(np.float32),
                    3 + i % 5, float(i) if i % 6 == 0 else None))
    return out


def _view(chunks: list[list[tuple]]):
    index = OwnerIndex(4, 0)
    for chunk in chunks:
        index.append(chunk)
    return index, index.view()


def test_chunked_appends_equal_one_append_and_links_follow_sessions():
    rows = _rows(40)
    whole, v1 = _view([rows])
    parts, v2 = _view([rows[:7], [], rows[7:8], rows[8:]])
    assert v1.ids[: v1.n] == v2.ids[: v2.n] and np.array_equal(v1.matrix, v2.matrix)
    for name in v1.columns:
        a, b = v1.columns[name], v2.columns[name]
        assert list(a) == list(b) if a.dtype == object else np.array_equal(a, b, equal_nan=True), name
    assert whole.index == parts.index and whole.hwm == parts.hwm == 79
    assert list(v1.rows_of_rids(np.array([1, 2, 79, 81, 3]))) == [0, -1, 39, -1, 1]
    assert list(v1.rows_of(["m0", "m39", "nope"])) == [0, 39, -1]
    c = v1.columns
    for kinds in (("episode",), ("fact", "note"), ("summary",), ("nothing",)):  # masks by kind, by their codes
        assert list(v1.mask(Filters("t", kinds=kinds, include_superseded=True))) == [r[2] in kinds for r in rows]
    assert len({int(x) for x in c["kinds"]}) == len({r[2] for r in rows}) == 4
    assert v1.superseded == sum(not r[7] for r in rows)
    assert v1.speakers() == {r[4] for r in rows if r[2] == "episode" and r[4]} == {"Ana", "Ben"}
    for session in ("s1", "s2"):
        episodes = [i for i, r in enumerate(rows) if r[2] == "episode" and r[3] == session]
        for before, after in zip(episodes, episodes[1:]):
            assert c["next"][before] == after and c["prev"][after] == before
        assert c["prev"][episodes[0]] == -1 and c["next"][episodes[-1]] == -1
    unlinked = [i for i, r in enumerate(rows) if r[2] != "episode" or r[3] is None]
    assert all(c["prev"][i] == -1 and c["next"][i] == -1 for i in unlinked)
