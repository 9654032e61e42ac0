"""Selective copy: recall tokens seen a controlled distance earlier.

The sequence is a context region of ``ctx_len`` positions holding ``n_tokens`` content tokens
(at random positions when ``selective``, else contiguous at its start) among blanks, then
``delay`` blanks, then ``n_tokens`` recall markers. At the i-th marker the target is the i-th
content token; nothing else is scored. With ``selective=False`` and ``ctx_len == n_tokens``
every token is recalled at distance exactly ``n_tokens + delay``.
"""

from __future__ import annotations

import torch

from memlm.lab.tasks.base import IGNORE
from memlm.lab.tasks.distance import eval_by_distance

BLANK, MARK = 0, 1  # content tokens are 2 .. vocab_size - 1


class CopyTask:
    """Copy ``n_tokens`` tokens across at least ``delay`` positions."""

    def __init__(
        self, n_tokens: int = 8, ctx_len: int = 32, delay: int = 0, vocab_size: int = 16, selective: bool = True
    ):
        if ctx_len < n_tokens or vocab_size < 3:
            raise ValueError("need ctx_len >= n_tokens and vocab_size >= 3")
        self.name, self.vocab_size = "copy", vocab_size
        self.n_tokens, self.ctx_len, self.delay, self.selective = n_tokens, ctx_len, delay, selective
        self.seq_len = ctx_len + delay + n_tokens

    def _positions(self, B: int, generator: torch.Generator) -> torch.Tensor:
        """(B, n_tokens) sorted positions of the content tokens in the context region."""
        if not self.selective:
            return torch.arange(self.n_tokens).expand(B, -1)
        return torch.rand(B, self.ctx_len, generator=generator).argsort(dim=1)[:, : self.n_tokens].sort(dim=1).values

    def batch_with_distance(
        self, split: str, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x, y, dist), each (B, T); dist is source-to-recall distance where scored, else 0."""
        B, K, T = batch_size, self.n_tokens, self.seq_len
        content = torch.randint(2, self.vocab_size, (B, K), generator=generator)
        pos, rows = self._positions(B, generator), torch.arange(B).unsqueeze(1)
        x = torch.full((B, T), BLANK, dtype=torch.long)
        x[rows, pos] = content
        x[:, T - K :] = MARK
        y = torch.full((B, T), IGNORE, dtype=torch.long)
        y[:, T - K :] = content
        dist = torch.zeros(B, T, dtype=torch.long)
        dist[:, T - K :] = torch.arange(T - K, T) - pos
        return x, y, dist

    def batch(self, split: str, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of shape (B, seq_len); y is IGNORE except at the recall markers."""
        x, y, _ = self.batch_with_distance(split, batch_size, generator)
        return x, y

    def decode(self, ids: list[int]) -> str:
        return " ".join({BLANK: ".", MARK: "?"}.get(i, str(i)) for i in ids)

    def eval_by_distance(self, model: torch.nn.Module, n_batches: int, generator: torch.Generator) -> dict[int, float]:
        """Validation accuracy per source-to-recall distance bucket (1, 2, 4, ...)."""
        return eval_by_distance(self, model, n_batches, generator)
