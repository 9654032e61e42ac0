"""The translation encoder-decoders: shapes, masks, a few steps lower the loss, greedy == beam 1."""

from __future__ import annotations

import pytest
import torch

from memlm.nn import build_model, get_model
from memlm.nn.seq2seq import BOS, EOS, PAD, attention_map, beam_decode, greedy_decode

NAMES = ["seq2seq-gru", "seq2seq-gru-attn", "seq2seq-transformer"]
TINY = {"seq2seq-gru": {"n_embd": 16, "n_hidden": 24, "dropout": 0.0},
        "seq2seq-gru-attn": {"n_embd": 16, "n_hidden": 24, "dropout": 0.0},
        "seq2seq-transformer": {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "dropout": 0.0}}
V = 12


def tiny(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, src_vocab_size=V, tgt_vocab_size=V, **TINY[name])


def copy_batch(n: int = 16, seed: int = 0):
    """Reverse-copy task: target = source reversed (ids 4..V-1), padded to different lengths."""
    g = torch.Generator().manual_seed(seed)
    src = torch.full((n, 7), PAD)
    tgt_in, tgt = torch.full((n, 7), PAD), torch.full((n, 7), PAD)
    for i in range(n):
        k = int(torch.randint(2, 6, (1,), generator=g))
        x = torch.randint(4, V, (k,), generator=g)
        y = x.flip(0)
        src[i, :k + 1] = torch.cat([x, torch.tensor([EOS])])
        tgt_in[i, :k + 1] = torch.cat([torch.tensor([BOS]), y])
        tgt[i, :k + 1] = torch.cat([y, torch.tensor([EOS])])
    return src, tgt_in, tgt


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_loss_falls(name: str) -> None:
    model = tiny(name)
    src, tgt_in, tgt = copy_batch()
    logits, loss = model(src, tgt_in, tgt)
    assert logits.shape == (16, 7, V) and loss is not None and torch.isfinite(loss)
    assert model(src, tgt_in)[1] is None
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = float(loss.detach())
    for _ in range(30):
        _, loss = model(src, tgt_in, tgt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first * 0.7


@pytest.mark.parametrize("name", NAMES)
def test_source_padding_is_ignored(name: str) -> None:
    model = tiny(name).eval()
    src, tgt_in, _ = copy_batch(4)
    wider = torch.cat([src, torch.full((4, 5), PAD)], dim=1)
    assert torch.allclose(model(src, tgt_in)[0], model(wider, tgt_in)[0], atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_greedy_and_beam(name: str) -> None:
    model = tiny(name).eval()
    src, _, _ = copy_batch(5, seed=3)
    greedy = greedy_decode(model, src, max_len=8)
    assert len(greedy) == 5
    for row, out in zip(src, greedy):
        assert all(4 <= i < V or i == 1 for i in out) and len(out) <= 8
        one = row[row != PAD][None]
        assert beam_decode(model, one, beam=1, max_len=8) == greedy_decode(model, one, max_len=8)[0]
        wide = beam_decode(model, one, beam=4, max_len=8, alpha=0.7)
        assert all(4 <= i < V or i == 1 for i in wide) and len(wide) <= 8


def test_causal_decoder() -> None:
    model = tiny("seq2seq-transformer").eval()
    src, tgt_in, _ = copy_batch(2)
    changed = tgt_in.clone()
    changed[:, -1] = 5
    a, b = model(src, tgt_in)[0], model(src, changed)[0]
    assert torch.allclose(a[:, :-1], b[:, :-1], atol=1e-5)


def test_attention_weights_only_with_attention() -> None:
    src, _, _ = copy_batch(1)
    src = src[:, : int((src != PAD).sum())]
    attn = attention_map(tiny("seq2seq-gru-attn").eval(), src, [4, 5, 6])
    assert attn is not None and attn.shape == (4, src.size(1))
    assert torch.allclose(attn.sum(-1), torch.ones(4), atol=1e-5)
    assert attention_map(tiny("seq2seq-gru").eval(), src, [4, 5]) is None
    assert get_model("seq2seq-gru-attn")[0]().attention and not get_model("seq2seq-gru")[0]().attention


@pytest.mark.parametrize("name", NAMES)
def test_incremental_step_matches_decode(name: str) -> None:
    """step() (recurrent state; the Transformer's key/value cache) gives the logits of decoding the
    whole prefix, at every position, including past the Transformer's block_size (16 here)."""
    model = tiny(name).eval()
    src, tgt_in, _ = copy_batch(3)
    tgt_in = torch.cat([tgt_in, tgt_in, tgt_in], dim=1)  # 21 positions
    memory = model.encode(src)
    state = None
    for t in range(tgt_in.size(1)):
        logits, state = model.step(memory, tgt_in[:, t], state)
        want = model.decode(memory, tgt_in[:, : t + 1])[0][:, -1]  # (B, V) after the prefix
        assert torch.allclose(logits, want, atol=1e-5), t


def test_beam_search_with_cache_matches_full_prefix_decoding() -> None:
    """Beam search reorders the key/value cache with its beams: the same hypotheses as without it."""
    model = tiny("seq2seq-transformer").eval()
    for p in model.parameters():  # a model that is not all ties: random weights at a larger scale
        torch.nn.init.normal_(p, std=0.5)

    class NoCache:  # the same model seen without step(), so beam search decodes the whole prefix
        encode, decode = model.encode, model.decode

    src, _, _ = copy_batch(6, seed=5)
    for row in src:
        one = row[row != PAD][None]
        for beam in (1, 3):
            assert beam_decode(model, one, beam=beam, max_len=12) == beam_decode(NoCache(), one, beam=beam,
                                                                                 max_len=12)
