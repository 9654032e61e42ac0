"""Shapes, tiny overfit, generation and registry of the lab language models."""

from __future__ import annotations

import pytest
import torch

from memlm.nn import IGNORE, build_model, get_model, lm_loss, model_names, sample_next

torch.set_num_threads(1)
V, T = 13, 16
TINY = {
    "lstm": dict(n_layer=2, n_embd=16, n_hidden=24),
    "gru": dict(n_layer=2, n_embd=16, n_hidden=24),
    "transformer": dict(n_layer=2, n_head=2, n_embd=16, block_size=T),
    "transformer_rope": dict(n_layer=2, n_head=2, n_embd=16, block_size=T, pos="rope"),
    "transformer_conv": dict(n_layer=2, n_head=2, n_embd=16, block_size=T, pos="rope", conv=3),
    "memory_transformer": dict(n_layer=1, n_head=2, n_embd=16, segment_len=4, n_mem=2),
    "memory_transformer_cross": dict(n_layer=1, n_head=2, n_embd=16, segment_len=4, n_mem=2, mem_mode="cross"),
}


def make(key: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(key.split("_rope")[0].split("_conv")[0].split("_cross")[0], vocab_size=V, **TINY[key])


@pytest.mark.parametrize("key", TINY)
def test_forward_shapes_and_loss(key: str) -> None:
    model = make(key)
    x = torch.randint(0, V, (3, T))
    logits, loss = model(x, x)
    assert logits.shape == (3, T, V)
    assert loss.ndim == 0 and torch.isfinite(loss)
    logits2, loss2 = model(x)
    assert loss2 is None and torch.allclose(logits, logits2)


@pytest.mark.parametrize("key", TINY)
def test_tiny_overfit_lowers_loss(key: str) -> None:
    model = make(key)
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, V, (4, T + 1), generator=gen)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        _, loss = model(x[:, :-1], x[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("key", TINY)
def test_generate_extends_prompt(key: str) -> None:
    model = make(key).eval()
    prompt = torch.randint(0, V, (2, 5))
    out = model.generate(prompt, 7, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 12)
    assert torch.equal(out[:, :5], prompt)
    assert int(out.min()) >= 0 and int(out.max()) < V


@pytest.mark.parametrize("key", TINY)
def test_greedy_generation_follows_forward_argmax(key: str) -> None:
    model = make(key).eval()
    prompt = torch.randint(0, V, (1, 6))
    out = model.generate(prompt, 1, temperature=0)
    logits, _ = model(prompt)
    assert out[0, -1] == logits[0, -1].argmax()


def test_transformer_crops_to_window() -> None:
    model = make("transformer").eval()
    x = torch.randint(0, V, (2, 3 * T))
    logits, loss = model(x, x)
    assert logits.shape == (2, T, V)
    assert torch.allclose(logits, model(x[:, -T:])[0])
    assert torch.allclose(loss, lm_loss(logits, x[:, -T:]))


@pytest.mark.parametrize("key", ["transformer_rope", "transformer_conv"])
def test_transformer_is_causal(key: str) -> None:
    model = make(key).eval()
    x = torch.randint(0, V, (1, T))
    y = x.clone()
    y[0, -1] = (x[0, -1] + 1) % V
    assert torch.allclose(model(x)[0][:, :-1], model(y)[0][:, :-1], atol=1e-6)
    assert not torch.allclose(model(x)[0][:, -1], model(y)[0][:, -1])


def test_short_conv_is_causal_depthwise() -> None:
    from memlm.nn.transformer import ShortConv

    conv = ShortConv(4, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.arange(12.0).view(4, 1, 3))
    x = torch.randn(2, 6, 4)
    out = conv(x)
    # out[t, c] = sum_j w[c, j] * x[t - 2 + j, c] (zeros before the start)
    padded = torch.cat([torch.zeros(2, 2, 4), x], dim=1)
    want = sum(conv.weight[:, 0, j] * padded[:, j:j + 6] for j in range(3))
    assert torch.allclose(out, want, atol=1e-6)


def test_rnn_tie_weights_needs_equal_sizes() -> None:
    with pytest.raises(ValueError):
        build_model("lstm", vocab_size=V, n_embd=8, n_hidden=16, tie_weights=True)
    model = build_model("gru", vocab_size=V, n_embd=8, n_hidden=8, tie_weights=True)
    assert model.lm_head.weight is model.wte.weight


def test_lm_loss_ignores_targets_and_aligns_last_positions() -> None:
    logits = torch.randn(2, 1, V)
    y = torch.full((2, 5), IGNORE)
    y[:, -1] = torch.tensor([3, 4])
    expected = torch.nn.functional.cross_entropy(logits[:, 0], y[:, -1])
    assert torch.allclose(lm_loss(logits, y), expected)


def test_sample_next_top_k_and_argmax() -> None:
    logits = torch.tensor([[0.0, 5.0, 1.0, 4.0]])
    assert sample_next(logits, temperature=0).item() == 1
    gen = torch.Generator().manual_seed(0)
    draws = {sample_next(logits, 1.0, top_k=2, generator=gen).item() for _ in range(50)}
    assert draws <= {1, 3}


def test_registry() -> None:
    assert set(model_names()) >= {"lstm", "gru", "transformer", "memory_transformer", "dmn"}
    config_cls, model_cls = get_model("transformer")
    assert model_cls.__name__ == "Transformer" and config_cls.__name__ == "TransformerConfig"
    with pytest.raises(KeyError):
        get_model("nope")


@pytest.mark.parametrize("key", TINY)
def test_qa_targets_skip_unscored_positions(key: str) -> None:
    model = make(key).eval()
    x = torch.randint(0, V, (3, T))
    y = torch.full_like(x, IGNORE)
    y[:, -3] = x[:, 0]
    full, _ = model(x)
    logits, loss = model(x, y)
    assert logits.shape == (3, 3, V)
    assert torch.allclose(logits, full[:, -3:], atol=1e-5)
    expected = torch.nn.functional.cross_entropy(full[:, -3], x[:, 0])
    assert torch.allclose(loss, expected, atol=1e-5)
