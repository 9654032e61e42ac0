"""MQAR and selective copy: layout, IGNORE masks, distances, accuracy by distance."""

from __future__ import annotations

import pytest
import torch

from memlm.lab.tasks import IGNORE
from memlm.lab.tasks.copy import MARK, CopyTask
from memlm.lab.tasks.distance import bucket, eval_by_distance
from memlm.lab.tasks.mqar import MQARTask


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_mqar_scores_exactly_the_query_keys():
    task = MQARTask(seq_len=64, n_pairs=6, vocab_size=64)
    x, y, dist = task.batch_with_distance("train", 32, _gen())
    assert x.shape == y.shape == dist.shape == (32, 64)
    assert ((y != IGNORE).sum(1) == 6).all() and ((x > 0) & (x < 64)).all()
    for row_x, row_y, row_d in zip(x, y, dist):
        pairs = {int(row_x[2 * i]): int(row_x[2 * i + 1]) for i in range(6)}
        assert len(pairs) == 6 and all(k < 32 <= v for k, v in pairs.items())
        scored = (row_y != IGNORE).nonzero().flatten().tolist()
        assert {int(row_x[t]) for t in scored} == set(pairs)
        for t in scored:
            key = int(row_x[t])
            assert int(row_y[t]) == pairs[key] == int(row_x[t + 1])
            assert int(row_d[t]) == t - 2 * list(pairs).index(key) and t >= 12
        assert (row_d[row_y == IGNORE] == 0).all()


def test_mqar_is_seeded_and_short_gaps_dominate():
    task = MQARTask(seq_len=256, n_pairs=4, vocab_size=128)
    a, b = task.batch("train", 8, _gen(1)), task.batch("train", 8, _gen(1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    _, y, dist = task.batch_with_distance("train", 256, _gen(2))
    d = dist[y != IGNORE].float()
    assert d.median() < 0.5 * d.max()  # power law: most queries are near the pairs
    with pytest.raises(ValueError):
        MQARTask(seq_len=16, n_pairs=8)


@pytest.mark.parametrize("selective", [True, False])
def test_copy_targets_are_the_content_tokens_in_order(selective):
    task = CopyTask(n_tokens=5, ctx_len=12, delay=7, vocab_size=10, selective=selective)
    x, y, dist = task.batch_with_distance("train", 16, _gen())
    assert x.shape == (16, 24)
    assert (y[:, :-5] == IGNORE).all() and (x[:, -5:] == MARK).all()
    for row_x, row_y, row_d in zip(x, y, dist):
        content = row_x[:12][row_x[:12] >= 2]
        assert torch.equal(row_y[-5:], content)
        src = (row_x[:12] >= 2).nonzero().flatten()
        assert torch.equal(row_d[-5:], torch.arange(19, 24) - src)


def test_copy_at_fixed_distance():
    task = CopyTask(n_tokens=4, ctx_len=4, delay=20, selective=False)
    _, y, dist = task.batch_with_distance("val", 3, _gen())
    assert set(dist[y != IGNORE].tolist()) == {24}


def test_bucket():
    assert [bucket(d) for d in (1, 2, 3, 4, 7, 8, 100)] == [1, 2, 2, 4, 4, 8, 64]


class Oracle(torch.nn.Module):
    """Predicts the copied token perfectly for distances below ``horizon``, else token 0."""

    def __init__(self, task: CopyTask, horizon: int):
        super().__init__()
        self.task, self.horizon = task, horizon

    def forward(self, x):
        B, T = x.shape
        logits = torch.zeros(B, T, self.task.vocab_size)
        K = self.task.n_tokens
        for b in range(B):
            src = (x[b, : self.task.ctx_len] >= 2).nonzero().flatten()
            for i, s in enumerate(src.tolist()):
                t = T - K + i
                logits[b, t, int(x[b, s]) if t - s < self.horizon else 0] = 1.0
        return logits, None


def test_eval_by_distance_separates_near_and_far():
    task = CopyTask(n_tokens=4, ctx_len=40, delay=0)
    acc = task.eval_by_distance(Oracle(task, horizon=16), 4, _gen())
    assert set(acc) <= {1, 2, 4, 8, 16, 32} and acc[8] == 1.0 and acc[32] == 0.0
    assert eval_by_distance(task, Oracle(task, horizon=10**6), 2, _gen()) == dict.fromkeys(acc, 1.0)
