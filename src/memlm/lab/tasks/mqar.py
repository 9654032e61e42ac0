"""Multi-query associative recall (MQAR, Arora et al. 2023, "Zoology").

A sequence starts with ``n_pairs`` key-value pairs ``k1 v1 k2 v2 ...``; later every key is
queried once, at a gap drawn from a power law (short distances likely): the query key is
followed by its value, and only the position of the query key is scored (its target is the
value). Keys come from the lower half of the vocabulary, values from the upper half; all other
positions hold random tokens. Token 0 is never used.
"""

from __future__ import annotations

import torch

from memlm.lab.tasks.base import IGNORE
from memlm.lab.tasks.distance import eval_by_distance


class MQARTask:
    """Associative recall with ``n_pairs`` pairs in sequences of ``seq_len`` tokens."""

    def __init__(self, seq_len: int = 128, n_pairs: int = 8, vocab_size: int = 256, power_a: float = 0.01):
        if seq_len < 4 * n_pairs:
            raise ValueError("seq_len must be at least 4 * n_pairs")
        if vocab_size // 2 - 1 < n_pairs:
            raise ValueError("vocab_size too small for n_pairs distinct keys")
        self.name, self.seq_len, self.n_pairs, self.vocab_size = "mqar", seq_len, n_pairs, vocab_size
        space = (seq_len - 2 * n_pairs) // 2  # query slots (each takes 2 positions)
        g = torch.arange(1, space + 1, dtype=torch.float64)
        self.gap_probs = (power_a * g ** (power_a - 1)).float()  # Zoology's power law over slots

    def batch_with_distance(
        self, split: str, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x, y, dist), each (B, T); dist is key-to-query distance where scored, else 0."""
        B, N, T, V = batch_size, self.n_pairs, self.seq_len, self.vocab_size
        half = V // 2
        keys = torch.rand(B, half - 1, generator=generator).argsort(dim=1)[:, :N] + 1  # distinct, in [1, half)
        values = torch.randint(half, V, (B, N), generator=generator)
        x = torch.randint(1, V, (B, T), generator=generator)  # background noise
        x[:, 0 : 2 * N : 2], x[:, 1 : 2 * N : 2] = keys, values
        slots = torch.multinomial(self.gap_probs.expand(B, -1), N, replacement=False, generator=generator)
        qpos = 2 * N + 2 * slots  # (B, N) position of each query key
        rows = torch.arange(B).unsqueeze(1)
        x[rows, qpos], x[rows, qpos + 1] = keys, values
        y = torch.full((B, T), IGNORE, dtype=torch.long)
        y[rows, qpos] = values
        dist = torch.zeros(B, T, dtype=torch.long)
        dist[rows, qpos] = qpos - 2 * torch.arange(N).unsqueeze(0)
        return x, y, dist

    def batch(self, split: str, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of shape (B, seq_len); y is IGNORE except at query keys."""
        x, y, _ = self.batch_with_distance(split, batch_size, generator)
        return x, y

    def decode(self, ids: list[int]) -> str:
        return " ".join(map(str, ids))

    def eval_by_distance(self, model: torch.nn.Module, n_batches: int, generator: torch.Generator) -> dict[int, float]:
        """Validation accuracy per key-to-query distance bucket (1, 2, 4, ...)."""
        return eval_by_distance(self, model, n_batches, generator)
