"""Character-level language modelling on tiny Shakespeare (first 90% train, last 10% val)."""

from __future__ import annotations

from pathlib import Path

import torch

from memlm.lab.data import find_data


class CharLMTask:
    """Random blocks of ``block_size`` characters; y is x shifted by one."""

    name = "charlm"

    def __init__(self, block_size: int = 64, path: str | None = None, train_frac: float = 0.9) -> None:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else find_data("tinyshakespeare/input.txt").read_text(encoding="utf-8")
        )
        self.block_size = block_size
        self.chars = sorted(set(text))
        self.vocab_size = len(self.chars)
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}
        data = torch.tensor(self.encode(text), dtype=torch.long)
        n = int(train_frac * len(data))
        self.splits = {"train": data[:n], "val": data[n:]}

    def encode(self, text: str) -> list[int]:
        """Characters to ids (unknown characters are dropped)."""
        return [self.stoi[ch] for ch in text if ch in self.stoi]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def batch(self, split: str, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of shape (B, block_size), y[t] = x[t + 1]."""
        data = self.splits[split]
        ix = torch.randint(len(data) - self.block_size - 1, (batch_size,), generator=generator)
        offsets = torch.arange(self.block_size + 1)
        chunk = data[ix[:, None] + offsets]  # (B, block_size + 1)
        return chunk[:, :-1], chunk[:, 1:]


CharLM = CharLMTask  # short alias
