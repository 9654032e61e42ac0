"""Character language-modelling task on tiny Shakespeare."""

from __future__ import annotations

import torch

from memlm.lab.data import find_data
from memlm.lab.tasks.charlm import CharLMTask


def test_split_batches_and_round_trip() -> None:
    task = CharLMTask(block_size=16)
    n = sum(len(v) for v in task.splits.values())
    assert abs(len(task.splits["train"]) - 0.9 * n) <= 1
    assert task.vocab_size == 65  # tiny Shakespeare has 65 distinct characters
    x, y = task.batch("val", 5, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 16)
    assert torch.equal(x[:, 1:], y[:, :-1])  # y is x shifted by one
    assert task.decode(task.encode("To be, or not")) == "To be, or not"


def test_batches_are_seeded() -> None:
    task = CharLMTask(block_size=8)
    a = task.batch("train", 3, torch.Generator().manual_seed(5))
    b = task.batch("train", 3, torch.Generator().manual_seed(5))
    c = task.batch("train", 3, torch.Generator().manual_seed(6))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


def test_memlm_data_env_var(tmp_path, monkeypatch) -> None:
    (tmp_path / "tinyshakespeare").mkdir()
    (tmp_path / "tinyshakespeare" / "input.txt").write_text("abcab" * 40)
    monkeypatch.setenv("MEMLM_DATA", str(tmp_path))
    assert find_data("tinyshakespeare/input.txt") == (tmp_path / "tinyshakespeare" / "input.txt").resolve()
    task = CharLMTask(block_size=4)
    assert task.chars == ["a", "b", "c"]
