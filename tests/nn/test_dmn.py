"""The Dynamic Memory Network (DMN+)."""

from __future__ import annotations

import pytest
import torch

from memlm.lab.tasks.babi import BabiTask
from memlm.nn import build_model
from memlm.nn.dmn import DMN, DMNConfig, parse, position_encode

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def task() -> BabiTask:
    return BabiTask(1, n_train=64, n_val=16, seed=0)


def _model(task: BabiTask, **kw) -> DMN:
    torch.manual_seed(0)
    return DMN(DMNConfig(**task.model_overrides(), n_embd=24, n_hidden=24, **kw))


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_shapes_and_loss(task):
    model = _model(task, n_hops=2)
    x, y = task.batch("train", 5, _gen())
    logits, loss = model(x, y)
    assert logits.shape == (5, 1, task.vocab_size) and loss.ndim == 0 and loss.item() > 0
    assert model(x)[1] is None


def test_parse_hand_built_sequence():
    cfg = DMNConfig()  # pad 0, sep 2, question 3, query end 4
    idx = torch.tensor([[0, 0, 7, 8, 2, 9, 2, 3, 10, 11, 4]])
    p = parse(idx, cfg)
    assert p["fact"].tolist() == [[-1, -1, 0, 0, -1, 1, -1, -1, -1, -1, -1]]
    assert p["word"][0, [2, 3, 5]].tolist() == [1, 2, 1]
    assert p["n_facts"].tolist() == [2] and p["question"].tolist() == [[10, 11]] and p["q_len"].tolist() == [2]
    p = parse(idx, DMNConfig(max_facts=1))
    assert p["fact"].tolist() == [[-1, -1, -1, -1, -1, 0, -1, -1, -1, -1, -1]] and p["n_facts"].tolist() == [1]


def test_position_encoding_depends_on_word_order():
    emb = torch.randn(1, 3, 4)
    fact, word = torch.tensor([[0, 0, 0]]), torch.tensor([[1, 2, 3]])
    a = position_encode(emb, fact, word, 1)
    b = position_encode(emb[:, [1, 0, 2]], fact, word, 1)
    assert a.shape == (1, 1, 4) and not torch.allclose(a, b)


def test_left_padding_does_not_change_the_answer(task):
    model = _model(task).eval()
    x, _ = task.batch("val", 6, _gen(1))
    batch_logits, _ = model(x)
    for i in range(6):
        row = x[i][x[i] != task.vocab.pad_id][None]
        assert torch.allclose(model(row)[0], batch_logits[i : i + 1], atol=1e-5)


def test_max_facts_reads_only_the_last_facts(task):
    model = _model(task, max_facts=2).eval()
    x, _ = task.batch("val", 1, _gen(2))
    row = x[0][x[0] != task.vocab.pad_id].tolist()
    seps = [i for i, t in enumerate(row) if t == task.vocab.sep_id]
    short = torch.tensor([row[seps[-3] + 1 :]])
    assert torch.allclose(model(torch.tensor([row]))[0], model(short)[0], atol=1e-5)


def test_overfits_a_tiny_batch(task):
    model = _model(task, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = task.batch("train", 16, _gen(3))
    for _ in range(80):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    logits, loss = model(x, y)
    assert loss.item() < 0.05 and (logits[:, -1].argmax(-1) == y[:, -1]).all()


def test_registered_in_model_registry(task):
    model = build_model("dmn", **task.model_overrides(), n_hidden=16, n_embd=16)
    assert isinstance(model, DMN) and model.config.sep_id == task.vocab.sep_id


# --- gate supervision (strong supervision with the supporting facts) ----------------------


@pytest.fixture(scope="module")
def task2() -> BabiTask:
    return BabiTask(2, n_train=64, n_val=16, seed=0, support=True)


def test_support_targets_name_each_pass_fact(task2):
    from memlm.nn.dmn import support_targets

    x, y = task2.collate(task2.encoded["train"][:6])
    cfg = DMNConfig(**task2.model_overrides(), n_hops=3)
    sup = support_targets(y, parse(x, cfg)["sep_fact"], cfg.n_hops)  # (B, 3)
    for row, ex in zip(sup.tolist(), task2.examples["train"][:6]):
        assert row[: len(ex.support)] == ex.support and row[len(ex.support):] == [-1] * (3 - len(ex.support))


def test_gate_weight_adds_the_gate_loss_only_with_marked_targets(task2):
    x, y = task2.batch("train", 8, _gen())
    plain = _model(task2, n_hops=2).eval()
    supervised = _model(task2, n_hops=2, gate_weight=1.0).eval()  # same seed: same weights
    base, extra = plain(x, y)[1], supervised(x, y)[1]
    assert extra.item() > base.item()
    y_plain = torch.where(torch.arange(y.size(1)) == y.size(1) - 1, y, -100)  # answer only
    assert supervised(x, y_plain)[1].item() == pytest.approx(base.item(), rel=1e-5)


def test_gate_supervision_moves_the_gates_onto_the_supporting_facts(task2):
    from memlm.nn.dmn import support_targets

    model = _model(task2, n_hops=2, gate_weight=1.0, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = task2.collate(task2.encoded["train"][:16])
    sup = support_targets(y, parse(x, model.config)["sep_fact"], 2)

    def hit_rate() -> float:
        model(x)
        return float((model.last_gates.argmax(-1) == sup)[sup >= 0].float().mean())

    before = hit_rate()
    for _ in range(60):
        loss = model.gate_loss(model.memory(*_encoded(model, x))[1], sup)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert hit_rate() > max(0.9, before)


def _encoded(model: DMN, x: torch.Tensor):
    from memlm.nn.dmn import run_gru

    p = parse(x, model.config)
    facts, mask = model.encode_facts(x, p)
    q = run_gru(model.question, model.embed(p["question"]), p["q_len"])[1][-1]
    return facts, q, mask
