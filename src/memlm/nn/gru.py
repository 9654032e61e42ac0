"""GRU language model: embedding -> torch.nn.GRU (n layers) -> linear head."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from memlm.nn.lstm import RecurrentLM


@dataclass
class GRUConfig:
    vocab_size: int = 65  # number of token ids (set from the task)
    block_size: int = 64  # training sequence length (informational; RNNs take any length)
    n_layer: int = 2  # stacked recurrent layers
    n_embd: int = 128  # token embedding size
    n_hidden: int = 256  # recurrent state size per layer
    dropout: float = 0.0  # dropout between layers and before the head
    tie_weights: bool = False  # share embedding and head weights (needs n_embd == n_hidden)


class GRU(RecurrentLM):
    """GRU language model."""

    rnn_cls = nn.GRU
