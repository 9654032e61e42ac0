"""The shared training loop: learning, determinism, checkpoints, early stopping, QA accuracy."""

from __future__ import annotations

import math

import pytest
import torch

from memlm.lab.checkpoint import load_checkpoint
from memlm.lab.optim import lr_at
from memlm.lab.tasks.base import IGNORE
from memlm.lab.tasks.charlm import CharLMTask
from memlm.lab.train import TrainConfig, evaluate, model_config_for, split_overrides, train

TINY_TF = dict(n_layer=1, n_head=2, n_embd=16)


@pytest.fixture(scope="module")
def charlm() -> CharLMTask:
    return CharLMTask(block_size=16)


def cfg(tmp_path, **kw) -> TrainConfig:
    base = dict(max_iters=30, batch_size=8, lr=1e-2, warmup_iters=2, eval_interval=10, eval_iters=2,
                out_dir=str(tmp_path), seed=3)
    return TrainConfig(**{**base, **kw})


def test_training_lowers_loss_and_saves_checkpoint(tmp_path, charlm) -> None:
    res = train("transformer", "charlm", {"block_size": 16}, TINY_TF, cfg(tmp_path), task=charlm)
    hist = res["history"]
    assert len(hist) == 3 and hist[-1]["loss"] < hist[0]["loss"] < math.log(65) + 0.5
    assert res["metrics"]["bits_per_char"] == pytest.approx(res["metrics"]["loss"] / math.log(2))
    model, ckpt = load_checkpoint(res["checkpoint"])  # no flags needed
    assert ckpt["model_config"]["n_embd"] == 16 and ckpt["task"] == {"name": "charlm", "kwargs": {"block_size": 16}}
    assert ckpt["vocab"] == charlm.chars
    x = torch.randint(0, 65, (2, 16))
    trained = res["module"].eval()
    assert torch.allclose(model(x)[0], trained(x)[0])


def test_same_seed_same_result(tmp_path, charlm) -> None:
    model = dict(n_embd=8, n_hidden=16, n_layer=1)
    a = train("lstm", "charlm", {}, model, cfg(tmp_path, max_iters=8), task=charlm, save=False)
    b = train("lstm", "charlm", {}, model, cfg(tmp_path, max_iters=8), task=charlm, save=False)
    c = train("lstm", "charlm", {}, model, cfg(tmp_path, max_iters=8, seed=4), task=charlm, save=False)
    assert a["metrics"]["loss"] == b["metrics"]["loss"]
    for p, q in zip(a["module"].parameters(), b["module"].parameters()):
        assert torch.equal(p, q)
    assert a["metrics"]["loss"] != c["metrics"]["loss"]


def test_init_from_checkpoint_warm_starts(tmp_path) -> None:
    from memlm.lab.tasks.mqar import MQARTask

    kw = dict(n_layer=1, n_head=2, n_embd=16, pos="rope", block_size=32, conv=2)
    first = train("transformer", "mqar", {"seq_len": 16, "n_pairs": 2}, kw, cfg(tmp_path, max_iters=5),
                  task=MQARTask(seq_len=16, n_pairs=2))
    c = cfg(tmp_path, max_iters=1, lr=0.0, min_lr=0.0, init_from=first["checkpoint"], checkpoint="second.pt")
    second = train("transformer", "mqar", {"seq_len": 32, "n_pairs": 2}, kw, c, task=MQARTask(seq_len=32, n_pairs=2))
    for p, q in zip(first["module"].parameters(), second["module"].parameters()):
        assert torch.equal(p, q)  # lr 0: the weights are the loaded ones


def test_early_stopping(tmp_path, charlm) -> None:
    res = train("gru", "charlm", {}, dict(n_embd=8, n_hidden=8, n_layer=1),
                cfg(tmp_path, max_iters=200, lr=0.0, min_lr=0.0, eval_interval=2, patience=2), task=charlm, save=False)
    assert res["stopped"] == "early_stopping" and res["iters"] == 6


def test_lr_schedule() -> None:
    c = TrainConfig(lr=1.0, min_lr=0.1, warmup_iters=10)
    assert lr_at(0, 0.0, c) < lr_at(9, 0.0, c) < 1.0
    assert lr_at(10, 0.0, c) == pytest.approx(1.0)
    assert lr_at(50, 0.5, c) == pytest.approx(0.55)
    assert lr_at(100, 1.0, c) == pytest.approx(0.1)


class LastTokenTask:
    """QA-shaped toy task: y is IGNORE except the last position, which asks for x[:, 0]."""

    name, vocab_size = "toyqa", 7

    def batch(self, split, batch_size, generator):
        x = torch.randint(0, 7, (batch_size, 5), generator=generator)
        y = torch.full_like(x, IGNORE)
        y[:, -1] = x[:, 0]
        return x, y

    def decode(self, ids):
        return " ".join(map(str, ids))

    def model_overrides(self):
        return {"n_hidden": 9, "not_a_field": 1}


class FirstTokenOracle(torch.nn.Module):
    """Returns logits (B, 1, V) for the last position only, like the DMN."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx, targets=None):
        logits = torch.nn.functional.one_hot(idx[:, :1], 7).float() * 5 + self.w
        loss = torch.nn.functional.cross_entropy(logits[:, 0], targets[:, -1]) if targets is not None else None
        return logits, loss


def test_evaluate_qa_accuracy_on_last_position() -> None:
    out = evaluate(FirstTokenOracle(), LastTokenTask(), iters=3, batch_size=4)
    assert out["accuracy"] == 1.0 and out["examples"] == 12 and "bits_per_char" not in out


def test_model_config_from_task_and_overrides() -> None:
    config = model_config_for("lstm", LastTokenTask(), {"n_layer": 3})
    assert (config.vocab_size, config.block_size, config.n_hidden, config.n_layer) == (7, 5, 9, 3)
    with pytest.raises(ValueError):
        model_config_for("lstm", LastTokenTask(), {"bogus": 1})


def test_split_overrides_routes_keys() -> None:
    train_kw, task_kw, model_kw = split_overrides(
        "transformer", "charlm", {"max_iters": 5, "block_size": 32, "n_layer": 2, "model.block_size": 8})
    assert train_kw == {"max_iters": 5} and task_kw == {"block_size": 32}
    assert model_kw == {"n_layer": 2, "block_size": 8}
    with pytest.raises(ValueError):
        split_overrides("transformer", "charlm", {"no_such_option": 1})
