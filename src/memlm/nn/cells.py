"""Readable LSTM and GRU cells written from their gate equations.

They use torch.nn.LSTM / torch.nn.GRU's parameter layout, so weights can be copied from a
trained model (``from_torch``) and every gate activation recorded for plots. Slow: for
inspection only, never for training.

LSTM (gate order i, f, g, o as in torch):
    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate
    f = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)         candidate cell
    o = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate
    c' = f * c + i * g ;  h' = o * tanh(c')
GRU (gate order r, z, n):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      reset gate
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)      update gate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   candidate state
    h' = (1 - z) * n + z * h
"""

from __future__ import annotations

import torch
from torch import nn


class LSTMCell(nn.Module):
    """One LSTM step from the gate equations."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.w_ih = nn.Parameter(torch.randn(4 * hidden_size, input_size) * 0.1)
        self.w_hh = nn.Parameter(torch.randn(4 * hidden_size, hidden_size) * 0.1)
        self.b_ih = nn.Parameter(torch.zeros(4 * hidden_size))
        self.b_hh = nn.Parameter(torch.zeros(4 * hidden_size))

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """x (B, I), h (B, H), c (B, H) -> h', c', gates dict of (B, H) tensors."""
        pre = x @ self.w_ih.T + self.b_ih + h @ self.w_hh.T + self.b_hh  # (B, 4H)
        i, f, g, o = pre.chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        return h, c, {"input": i, "forget": f, "candidate": g, "output": o, "cell": c, "hidden": h}


class GRUCell(nn.Module):
    """One GRU step from the gate equations."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.w_ih = nn.Parameter(torch.randn(3 * hidden_size, input_size) * 0.1)
        self.w_hh = nn.Parameter(torch.randn(3 * hidden_size, hidden_size) * 0.1)
        self.b_ih = nn.Parameter(torch.zeros(3 * hidden_size))
        self.b_hh = nn.Parameter(torch.zeros(3 * hidden_size))

    def forward(self, x: torch.Tensor, h: torch.Tensor):
        """x (B, I), h (B, H) -> h', gates dict of (B, H) tensors."""
        xr, xz, xn = (x @ self.w_ih.T + self.b_ih).chunk(3, dim=1)
        hr, hz, hn = (h @ self.w_hh.T + self.b_hh).chunk(3, dim=1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        return h, {"reset": r, "update": z, "candidate": n, "hidden": h}


class _Stacked(nn.Module):
    """Layers of cells unrolled over time, recording gates of every layer and step."""

    cell_cls: type[nn.Module] = LSTMCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.cells = nn.ModuleList(self.cell_cls(s, hidden_size) for s in sizes)

    @classmethod
    def from_torch(cls, rnn: nn.RNNBase):
        """Copy weights from a batch_first torch.nn.LSTM / GRU (unidirectional, with biases)."""
        model = cls(rnn.input_size, rnn.hidden_size, rnn.num_layers)
        with torch.no_grad():
            for k, cell in enumerate(model.cells):
                for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
                    getattr(cell, name).copy_(
                        getattr(rnn, f"{name.replace('w_', 'weight_').replace('b_', 'bias_')}_l{k}")
                    )
        return model


class ReadableLSTM(_Stacked):
    """Multi-layer LSTM from LSTMCell; forward returns outputs, (h, c) and recorded gates."""

    cell_cls = LSTMCell

    def forward(self, x: torch.Tensor, state=None):
        """x (B, T, I) -> out (B, T, H), (h, c) each (L, B, H), gates[layer][name] (B, T, H)."""
        B, T, _ = x.shape
        h = [x.new_zeros(B, self.hidden_size) for _ in self.cells] if state is None else list(state[0])
        c = [x.new_zeros(B, self.hidden_size) for _ in self.cells] if state is None else list(state[1])
        record: list[dict[str, list[torch.Tensor]]] = [{} for _ in self.cells]
        outs = []
        for t in range(T):
            inp = x[:, t]
            for k, cell in enumerate(self.cells):
                h[k], c[k], gates = cell(inp, h[k], c[k])
                for name, val in gates.items():
                    record[k].setdefault(name, []).append(val)
                inp = h[k]
            outs.append(inp)
        gates = [{n: torch.stack(v, dim=1) for n, v in r.items()} for r in record]
        return torch.stack(outs, dim=1), (torch.stack(h), torch.stack(c)), gates


class ReadableGRU(_Stacked):
    """Multi-layer GRU from GRUCell; forward returns outputs, h and recorded gates."""

    cell_cls = GRUCell

    def forward(self, x: torch.Tensor, state=None):
        """x (B, T, I) -> out (B, T, H), h (L, B, H), gates[layer][name] (B, T, H)."""
        B, T, _ = x.shape
        h = [x.new_zeros(B, self.hidden_size) for _ in self.cells] if state is None else list(state)
        record: list[dict[str, list[torch.Tensor]]] = [{} for _ in self.cells]
        outs = []
        for t in range(T):
            inp = x[:, t]
            for k, cell in enumerate(self.cells):
                h[k], gates = cell(inp, h[k])
                for name, val in gates.items():
                    record[k].setdefault(name, []).append(val)
                inp = h[k]
            outs.append(inp)
        gates = [{n: torch.stack(v, dim=1) for n, v in r.items()} for r in record]
        return torch.stack(outs, dim=1), torch.stack(h), gates


@torch.no_grad()
def lstm_gates(model: nn.Module, idx: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """Gate activations of a trained ``memlm.nn.lstm.LSTM`` over idx (B, T), per layer."""
    rnn, wte = model.get_submodule("rnn"), model.get_submodule("wte")
    assert isinstance(rnn, nn.LSTM), f"not an LSTM language model: {type(rnn).__name__}"
    readable = ReadableLSTM.from_torch(rnn)
    _, _, gates = readable(wte(idx))
    return gates
