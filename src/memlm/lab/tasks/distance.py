"""Accuracy broken down by recall distance (shared by the MQAR and copy tasks)."""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol

import torch

from memlm.lab.tasks.base import IGNORE


class DistanceTask(Protocol):
    def batch_with_distance(
        self, split: str, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]: ...


def bucket(distance: int) -> int:
    """Power-of-two bucket of a distance >= 1: its lower bound (1, 2, 4, 8, ...)."""
    return 1 << (max(distance, 1).bit_length() - 1)


def model_logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits (B, T', V) of a model returning logits or (logits, loss)."""
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


@torch.no_grad()
def eval_by_distance(
    task: DistanceTask, model: torch.nn.Module, n_batches: int, generator: torch.Generator, batch_size: int = 32
) -> dict[int, float]:
    """Validation accuracy per distance bucket ``{lower bound: accuracy}`` (buckets 1, 2, 4, 8, ...)."""
    was_training = model.training
    model.eval()
    hits: dict[int, int] = defaultdict(int)
    counts: dict[int, int] = defaultdict(int)
    for _ in range(n_batches):
        x, y, dist = task.batch_with_distance("val", batch_size, generator)
        logits = model_logits(model, x)
        y, dist = y[:, -logits.size(1):], dist[:, -logits.size(1):]
        mask = y != IGNORE
        correct = (logits.argmax(-1) == y)[mask].tolist()
        for d, c in zip(dist[mask].tolist(), correct):
            hits[bucket(d)] += int(c)
            counts[bucket(d)] += 1
    model.train(was_training)
    return {b: hits[b] / counts[b] for b in sorted(counts)}
