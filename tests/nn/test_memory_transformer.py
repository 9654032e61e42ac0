"""Memory Transformer: segment recurrence, truncated backprop and constant-memory streaming."""

from __future__ import annotations

import pytest
import torch

from memlm.nn import IGNORE
from memlm.nn.memory_transformer import MemoryTransformer, MemoryTransformerConfig, prepend_mask

torch.set_num_threads(1)
V, S, M = 11, 4, 3


def make(mode: str = "prepend", pos: str = "learned", bptt: int = 0, conv: int = 0, **kw) -> MemoryTransformer:
    torch.manual_seed(0)
    cfg = MemoryTransformerConfig(vocab_size=V, segment_len=S, n_mem=M, mem_mode=mode, pos=pos, bptt_segments=bptt,
                                  n_layer=2, n_head=2, n_embd=16, conv=conv, **kw)
    return MemoryTransformer(cfg).eval()


@pytest.mark.parametrize("mode,pos,conv,gate", [("prepend", "learned", 0, False), ("prepend", "rope", 0, False),
                                                ("cross", "learned", 0, False), ("prepend", "learned", 3, False),
                                                ("cross", "rope", 3, False), ("prepend", "learned", 3, True),
                                                ("cross", "learned", 0, True)])
def test_streaming_matches_full_forward_with_constant_state(mode: str, pos: str, conv: int, gate: bool) -> None:
    model = make(mode, pos, conv=conv, mem_gate=gate)
    if conv:
        for p in model.parameters():  # ShortConv starts near zero: make it matter
            if p.dim() == 3:
                torch.nn.init.normal_(p)
    x = torch.randint(0, V, (2, 5 * S + 2))
    full, _ = model(x)
    stream, outs, sizes = model.stream(2), [], []
    for t in range(x.size(1)):
        outs.append(stream.feed(x[:, t:t + 1]))
        sizes.append(stream.memory.numel())
        assert stream.buffer.size(1) < S
    assert (torch.cat(outs, dim=1) - full).abs().max() < 1e-5
    assert len(set(sizes)) == 1 and sizes[0] == 2 * M * 16
    chunked = model.stream(2)
    parts = [chunked.feed(x[:, :3]), chunked.feed(x[:, 3:13]), chunked.feed(x[:, 13:])]
    assert (torch.cat(parts, dim=1) - full).abs().max() < 1e-5


def test_memory_carries_information_across_segments() -> None:
    model = make()
    x = torch.randint(0, V, (1, 3 * S))
    y = x.clone()
    y[0, 0] = (x[0, 0] + 1) % V  # change a token in the first segment only
    lx, ly = model(x)[0], model(y)[0]
    assert not torch.allclose(lx[:, 2 * S:], ly[:, 2 * S:])  # the third segment sees it via memory


def test_generation_state_does_not_grow() -> None:
    model = make()
    stream = model.stream(1)
    stream.feed(torch.randint(0, V, (1, 2)))
    sizes = []
    for _ in range(6 * S):
        stream.feed(torch.randint(0, V, (1, 1)))
        sizes.append(stream.state_numel())
    assert max(sizes) <= M * 16 + S - 1
    out = model.generate(torch.randint(0, V, (1, 3)), 4 * S, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 3 + 4 * S)


@pytest.mark.parametrize("bptt,expect_grad", [(0, True), (1, False)])
def test_truncated_backprop_detaches_memory(bptt: int, expect_grad: bool) -> None:
    model = make(bptt=bptt).train()
    x = torch.randint(0, V, (2, 3 * S))
    targets = torch.full_like(x, IGNORE)
    targets[:, -1] = x[:, 0]  # only the last segment is scored
    _, loss = model(x, targets)
    loss.backward()
    grad = model.mem_init.grad
    has_grad = grad is not None and float(grad.abs().sum()) > 0
    assert has_grad == expect_grad


def test_prepend_mask_layout() -> None:
    mask = prepend_mask(2, 3, write=True)
    assert mask.shape == (7, 7)
    assert mask[:, :2].all()  # everyone reads memory
    assert not mask[:2, 2:].any()  # read slots do not see tokens
    assert mask[2, 2] and not mask[2, 3] and mask[4, 2:5].all()  # causal tokens
    assert mask[5:].all()  # write slots see everything


def test_bad_mode_is_rejected() -> None:
    with pytest.raises(ValueError):
        MemoryTransformer(MemoryTransformerConfig(vocab_size=V, mem_mode="nope"))


def test_mem_gate_interpolates_between_old_and_written_memory() -> None:
    model = make(mem_gate=True)
    assert "gate.weight" in model.state_dict() and "gate.weight" not in make().state_dict()
    mem, idx = torch.randn(2, M, 16), torch.randint(0, V, (2, S))
    plain = make()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("gate.")})
    _, written = plain.segment(mem, idx)  # same weights apart from the gate
    for bias, want in ((-1e4, mem), (1e4, written)):  # gate shut: keep; gate open: overwrite
        torch.nn.init.constant_(model.gate.bias, bias)
        assert torch.allclose(model.segment(mem, idx)[1], want, atol=1e-5)
