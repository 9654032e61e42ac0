"""Lab tasks and their registry: ``get_task(name, **kwargs) -> Task``.

Names: ``charlm`` (tiny Shakespeare, characters), ``mqar``, ``copy``, ``babiN`` for the
generated bAbI tasks N in 1, 2, 3, 6, 7, 8, 9, 11, ``babi1-real`` (the real task-1 files) and
``hayN`` / ``haystackN`` (bAbI task N hidden in Shakespeare; ``length=`` sets the size).
Task modules are imported lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

from memlm.lab.tasks.base import IGNORE, Task

BABI_IDS = (1, 2, 3, 6, 7, 8, 9, 11)
HAYSTACK_IDS = (1, 2, 3, 6, 7, 8, 9, 11)
TASKS: list[str] = (
    ["charlm", "mqar", "copy"]
    + [f"babi{i}" for i in BABI_IDS]
    + ["babi1-real"]
    + [f"haystack{i}" for i in HAYSTACK_IDS]
    + ["haystack1-real"]
)

# fixed names -> (module, class name)
_SIMPLE = {"charlm": ("charlm", "CharLM"), "mqar": ("mqar", "MQARTask"), "copy": ("copy", "CopyTask")}


def _cls(module: str, name: str) -> type:
    return getattr(importlib.import_module(f"memlm.lab.tasks.{module}"), name)


def task_class(name: str) -> type:
    """The class behind a task name (its constructor parameters are the task's options)."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; choose from {', '.join(TASKS)}")
    if name in _SIMPLE:
        return _cls(*_SIMPLE[name])
    return _cls("babi", "BabiTask") if name.startswith("babi") else _cls("haystack", "HaystackTask")


def get_task(name: str, **kwargs: Any) -> Task:
    """Build a task by registry name; keyword arguments go to its constructor."""
    cls = task_class(name)
    if name in _SIMPLE:
        return cls(**kwargs)
    base = name.removesuffix("-real")
    task_id = int(base.removeprefix("babi").removeprefix("haystack"))
    return cls(task_id, real=name.endswith("-real"), **kwargs)


__all__ = ["IGNORE", "TASKS", "Task", "get_task", "task_class"]
