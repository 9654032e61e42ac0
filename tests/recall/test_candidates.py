"""Large owners are scored by candidates (coarse PCA pass + lexical matches + neighbours):
the ranking must match exhaustive scoring."""

from __future__ import annotations

import numpy as np

from memlm import Memory
from memlm.config import MemoryConfig, RecallConfig
from memlm.stores import vecindex
from memlm.stores.base import Filters

TOPICS = ["tomatoes on the balcony", "a beagle called Rex", "the half marathon in May", "jazz records",
          "a trip to Lisbon", "learning the cello", "the new job at the bakery", "my sister's wedding"]


def fill(m: Memory) -> None:
    rng = np.random.default_rng(0)
    turns = []
    for i in range(400):
        a, b = rng.choice(len(TOPICS), size=2, replace=False)
        turns.append({"role": ["Ana", "Ben"][i % 2], "content": f"Talking about {TOPICS[a]} and {TOPICS[b]}, day {i}"})
    m.add_many([turns[i : i + 20] for i in range(0, 400, 20)], user_id="u", session_id="s")


def test_candidate_scoring_ranks_like_exhaustive_scoring(tmp_path, hashing):
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        fill(m)
        small = Memory(tmp_path / "m.db", encoder=hashing,
                       config=MemoryConfig(recall=RecallConfig(exact_below=0, dense_candidates=50)))
        for q in ["How is Rex the beagle?", "When was the half marathon?", "What did Ben say about jazz?"]:
            exact = [h.memory.id for h in m.search(q, user_id="u", k=5)]
            approx = [h.memory.id for h in small.search(q, user_id="u", k=5)]
            assert approx == exact, q
        small.close()


def test_nearest_neighbours_of_a_large_owner_use_the_coarse_pass(tmp_path, hashing, monkeypatch):
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        fill(m)
        f = Filters("default", "u")
        q = hashing.encode(["a trip to Lisbon with Rex"])
        exact = m.store.dense(f, q, 5)[0]
        monkeypatch.setattr(vecindex, "EXACT_SCAN_MAX", 10)
        monkeypatch.setattr(vecindex, "COARSE_CANDIDATES", 100)
        approx = m.store.dense(f, q, 5)[0]
        assert [i for i, _ in approx] == [i for i, _ in exact]
        assert np.allclose([s for _, s in approx], [s for _, s in exact], atol=1e-6)
