"""The Task protocol shared by every lab task and the one training loop.

A task yields batches of token ids. Sequence tasks (language modelling, MQAR, copy,
bAbI / haystack QA flattened to tokens) give ``(x, y)`` of shape (B, T) with
``y == IGNORE`` wherever no prediction is scored. Question-answering tasks score only the
last position (the answer) and expose ``model_overrides()`` (special token ids such as the
sentence separator, which the DMN uses to parse the flat sequence back into sentences).
"""

from __future__ import annotations

from typing import Protocol

import torch

IGNORE = -100  # target value ignored by the loss (torch's cross_entropy default)


class Task(Protocol):
    name: str  # e.g. "charlm", "mqar", "copy", "babi1", "haystack1"
    vocab_size: int  # number of token ids

    def batch(self, split: str, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) long tensors of shape (B, T); split is "train" or "val"."""
        ...

    def decode(self, ids: list[int]) -> str:
        """Token ids back to text (for samples and debugging)."""
        ...
