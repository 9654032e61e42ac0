"""Readable LSTM/GRU cells match torch.nn.LSTM / GRU with copied weights."""

from __future__ import annotations

import torch

from memlm.nn import build_model
from memlm.nn.cells import ReadableGRU, ReadableLSTM, lstm_gates

torch.set_num_threads(1)


def test_lstm_matches_torch() -> None:
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(5, 7, num_layers=2, batch_first=True)
    x = torch.randn(3, 11, 5)
    h0, c0 = torch.randn(2, 3, 7), torch.randn(2, 3, 7)
    ref, (h_ref, c_ref) = rnn(x, (h0, c0))
    out, (h, c), gates = ReadableLSTM.from_torch(rnn)(x, (h0, c0))
    assert (out - ref).abs().max() < 1e-5
    assert (h - h_ref).abs().max() < 1e-5 and (c - c_ref).abs().max() < 1e-5
    assert len(gates) == 2 and gates[1]["forget"].shape == (3, 11, 7)
    assert torch.allclose(gates[1]["hidden"], out)


def test_gru_matches_torch() -> None:
    torch.manual_seed(1)
    rnn = torch.nn.GRU(4, 6, num_layers=3, batch_first=True)
    x = torch.randn(2, 9, 4)
    h0 = torch.randn(3, 2, 6)
    ref, h_ref = rnn(x, h0)
    out, h, gates = ReadableGRU.from_torch(rnn)(x, h0)
    assert (out - ref).abs().max() < 1e-5 and (h - h_ref).abs().max() < 1e-5
    assert set(gates[0]) == {"reset", "update", "candidate", "hidden"}


def test_lstm_gates_of_language_model() -> None:
    torch.manual_seed(0)
    model = build_model("lstm", vocab_size=10, n_layer=2, n_embd=8, n_hidden=12).eval()
    idx = torch.randint(0, 10, (1, 6))
    gates = lstm_gates(model, idx)
    for name in ("input", "forget", "output"):
        g = gates[0][name]
        assert g.shape == (1, 6, 12) and float(g.min()) > 0 and float(g.max()) < 1
    _, (h, _) = model.rnn(model.wte(idx))
    assert (gates[1]["hidden"][:, -1] - h[1]).abs().max() < 1e-5
