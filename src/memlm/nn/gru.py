"""GRU language model: embedding -> torch.nn.GRU (n layers) -> linear head."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from memlm.nn.lstm import LSTMConfig, RecurrentLM


@dataclass
class GRUConfig(LSTMConfig):
    """The same fields as LSTMConfig (vocab, sizes, layers, dropout, tying), for a GRU."""


class GRU(RecurrentLM):
    """GRU language model."""

    rnn_cls = nn.GRU
