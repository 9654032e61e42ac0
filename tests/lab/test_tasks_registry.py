"""The task registry."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from memlm.lab.tasks import IGNORE, TASKS, get_task, task_class

SMALL = {"n_train": 30, "n_val": 10}


@pytest.mark.parametrize("name", [n for n in TASKS if n != "charlm"])
def test_every_task_builds_and_batches(name):
    kwargs = {} if name in ("mqar", "copy") else SMALL | ({"length": 512} if name.startswith("haystack") else {})
    try:
        task = get_task(name, **kwargs)
    except FileNotFoundError:
        pytest.skip("data not found")
    x, y = task.batch("train", 3, torch.Generator().manual_seed(0))
    assert task.name == name and x.shape == y.shape and int(x.max()) < task.vocab_size
    assert (y != IGNORE).any() and isinstance(task.decode(x[0].tolist()), str)


@pytest.mark.skipif(importlib.util.find_spec("memlm.lab.tasks.charlm") is None, reason="charlm not written yet")
def test_charlm_is_registered():
    assert get_task("charlm").name == "charlm"


def test_required_names_and_unknown_name():
    required = {"charlm", "mqar", "copy", "babi1-real", "haystack1"} | {f"babi{i}" for i in (1, 2, 3, 6, 7, 8, 9, 11)}
    assert required <= set(TASKS)
    with pytest.raises(KeyError):
        get_task("babi4")
    assert "n_train" in task_class("babi2").__init__.__code__.co_varnames
    assert "length" in task_class("haystack2").__init__.__code__.co_varnames
