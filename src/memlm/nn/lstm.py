"""LSTM language model: embedding -> torch.nn.LSTM (n layers) -> linear head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from memlm.nn import first_scored, lm_loss, sample_next


@dataclass
class LSTMConfig:
    vocab_size: int = 65  # number of token ids (set from the task)
    block_size: int = 64  # training sequence length (informational; RNNs take any length)
    n_layer: int = 2  # stacked recurrent layers
    n_embd: int = 128  # token embedding size
    n_hidden: int = 256  # recurrent state size per layer
    dropout: float = 0.0  # dropout between layers and before the head
    tie_weights: bool = False  # share embedding and head weights (needs n_embd == n_hidden)


class RecurrentLM(nn.Module):
    """Shared body of the LSTM and GRU language models; subclasses set ``rnn_cls``."""

    rnn_cls: type[nn.LSTM] | type[nn.GRU] = nn.LSTM

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.rnn = self.rnn_cls(
            config.n_embd, config.n_hidden, num_layers=config.n_layer, batch_first=True,
            dropout=config.dropout if config.n_layer > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
        self.lm_head = nn.Linear(config.n_hidden, config.vocab_size)
        if config.tie_weights:
            if config.n_embd != config.n_hidden:
                raise ValueError("tie_weights needs n_embd == n_hidden")
            self.lm_head.weight = self.wte.weight

    def step(self, idx: torch.Tensor, state=None, start: int = 0):
        """Run idx (B, T) from state; returns logits (B, T - start, V) and the new state."""
        x = self.drop(self.wte(idx))  # (B, T, n_embd)
        h, state = self.rnn(x, state)  # h: (B, T, n_hidden)
        return self.lm_head(self.drop(h[:, start:])), state

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) -> logits (B, T', V), loss (scalar or None).

        T' = T without targets; with targets, positions before the first scored one are skipped.
        """
        logits, _ = self.step(idx, start=first_scored(targets))
        return logits, lm_loss(logits, targets)

    @torch.no_grad()
    def generate(
        self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
        top_k: int | None = None, generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend idx (B, T) by max_new_tokens, carrying the recurrent state (constant memory)."""
        logits, state = self.step(idx)
        out = [idx]
        for _ in range(max_new_tokens):
            nxt = sample_next(logits[:, -1], temperature, top_k, generator)  # (B, 1)
            out.append(nxt)
            logits, state = self.step(nxt, state)
        return torch.cat(out, dim=1)


class LSTM(RecurrentLM):
    """LSTM language model."""

    rnn_cls = nn.LSTM
