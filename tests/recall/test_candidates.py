"""Large owners are scored by candidates (coarse PCA pass + lexical matches + neighbours):
the ranking must match exhaustive scoring."""

from __future__ import annotations

import numpy as np

from memlm import Memory
from memlm.config import IndexConfig, MemoryConfig, RecallConfig
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
                       config=MemoryConfig(recall=RecallConfig(dense_candidates=50), index=IndexConfig(exact_below=0)))
        for q in ["How is Rex the beagle?", "When was the half marathon?", "What did Ben say about jazz?"]:
            exact = [h.memory.id for h in m.search(q, user_id="u", k=5)]
            approx = [h.memory.id for h in small.search(q, user_id="u", k=5)]
            assert approx == exact, q
        small.close()


def test_nearest_neighbours_of_a_large_owner_use_the_coarse_pass(tmp_path, hashing):
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        fill(m)
        f = Filters("default", "u")
        q = hashing.encode(["a trip to Lisbon with Rex"])
        exact = m.store.dense(f, q, 5)[0]
        assert m.store.owner(f)._owner._coarse is None  # exact scan below IndexConfig.exact_below rows
        n = m.store.owner(f).n
    # from this size on (a setting of the store's index): the coarse pass
    index = IndexConfig(exact_below=n, coarse_candidates=100)
    with Memory(tmp_path / "m.db", encoder=hashing, config=MemoryConfig(index=index)) as m:
        approx = m.store.dense(f, q, 5)[0]
        assert m.store.owner(f)._owner._coarse is not None
        assert [i for i, _ in approx] == [i for i, _ in exact]
        assert np.allclose([s for _, s in approx], [s for _, s in exact], atol=1e-6)


def test_blas_and_einsum_routes_agree_and_candidate_ranking_holds_on_both(tmp_path, hashing, monkeypatch):
    rng = np.random.default_rng(1)
    matrix, vector = rng.standard_normal((300, 32)).astype(np.float32), rng.standard_normal(32).astype(np.float32)
    assert np.allclose(vecindex.matvec(matrix, vector, False), vecindex.matvec(matrix, vector, True), atol=1e-5)
    routes = []
    real = vecindex.matvec
    monkeypatch.setattr(vecindex, "matvec", lambda a, b, blas=False: routes.append(blas) or real(a, b, blas))
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        fill(m)
        q = "How is Rex the beagle?"
        exact = [h.memory.id for h in m.search(q, user_id="u", k=5)]
        for blas in (False, True):  # a setting of the handle's store, not a process global
            routes.clear()
            config = MemoryConfig(recall=RecallConfig(dense_candidates=50),
                                  index=IndexConfig(exact_below=0, blas_gemv=blas))
            with Memory(tmp_path / "m.db", encoder=hashing, config=config) as small:
                assert [h.memory.id for h in small.search(q, user_id="u", k=5)] == exact
            assert routes and set(routes) == {blas}


def test_the_coarse_pass_score_statistics_equal_the_sample_s(tmp_path, hashing):
    """Mean and deviation of a query's cosines with the fixed sample, from the sample's moments."""
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        fill(m)
        view = m.store.owner(Filters("default", "u"))
        _, _, (mean, gram) = view.coarse()
        coarse = view._owner._coarse
        rng = np.random.default_rng(0)
        sample = view.matrix[np.sort(rng.choice(view.n, size=min(view.n, IndexConfig().stats_sample), replace=False))]
        assert coarse is not None and len(sample) == view.n  # 400 rows: the sample is every row
        q = hashing.encode(["the half marathon in May"])[0]
        cos = sample @ q
        mu = float(q @ mean)
        sd = float(np.sqrt(q @ gram @ q - mu * mu))
        assert abs(mu - cos.mean()) < 1e-5 and abs(sd - cos.std()) < 1e-4


def test_lexical_moments_do_not_grow_with_the_owner_beyond_the_reference():
    """BM25 is 0 for most memories: over n memories a match's z-score would grow like
    sqrt(n / matches). Up to `reference` memories the moments are the plain ones; beyond,
    they stop depending on n."""
    from memlm.recall.search import lexical_moments

    scores = np.array([1.0, 0.8, 0.5, 0.2])
    for n in (10, 300, 1000):
        dense = np.zeros(n)
        dense[: len(scores)] = scores
        mean, sd = lexical_moments(scores, n, 1000)
        assert np.isclose(mean, dense.mean()) and np.isclose(sd, dense.std())
    assert (lexical_moments(scores, 5000, 1000) == lexical_moments(scores, 50_000, 1000)
            == lexical_moments(scores, 1000, 1000))
    many = np.linspace(1.0, 0.1, 900)  # more matches than half the reference: at least twice the matches
    mean, sd = lexical_moments(many, 50_000, 1000)
    assert np.isclose(mean, many.sum() / 1800) and 0 < sd < 1 and (1.0 - mean) / sd > 0
    assert lexical_moments(np.zeros(0), 50, 1000)[1] == float("inf")  # no match: every z-score 0


def test_candidate_scoring_follows_filters_and_the_second_pass(tmp_path, hashing):
    """Filtered and two-pass searches of a large owner rank like exhaustive scoring: the
    neighbours scored are those of the best candidates that pass the filters."""
    from datetime import datetime, timezone

    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        rng = np.random.default_rng(0)
        for s in range(20):  # 20 sessions of 20 turns, one a day
            turns = [{"role": ["Ana", "Ben"][i % 2],
                      "content": f"Talking about {TOPICS[int(rng.integers(len(TOPICS)))]}, day {s}"}
                     for i in range(20)]
            m.add_many([turns], user_id="u", session_id=f"s{s}",
                       occurred_at=datetime(2024, 1, 1 + s, tzinfo=timezone.utc))
        small = Memory(tmp_path / "m.db", encoder=hashing,
                       config=MemoryConfig(recall=RecallConfig(dense_candidates=50, neighbor_candidates=20),
                                          index=IndexConfig(exact_below=0)))
        since = datetime(2024, 1, 15, tzinfo=timezone.utc)
        for q, kw in [("How is Rex the beagle?", {"session_id": "s3"}),
                      ("What about the cello?", {"since": since}),
                      ("Tell me about Lisbon", {"hops": 2}),
                      ("Tell me about jazz records", {"hops": 2, "session_id": "s7"})]:
            exact = [h.memory.id for h in m.search(q, user_id="u", k=5, **kw)]
            approx = [h.memory.id for h in small.search(q, user_id="u", k=5, **kw)]
            assert approx == exact and exact, (q, kw)
        small.close()
