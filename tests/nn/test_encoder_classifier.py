"""EncoderClassifier: shapes, padding, pooling, registry, and the real packaged MiniLM."""

from __future__ import annotations

import pytest
import torch

from memlm.nn import build_model, get_model
from memlm.nn.encoder import EncoderClassifier, EncoderClassifierConfig

TINY_BERT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 max_position_embeddings=64)


def tiny(**kw) -> EncoderClassifier:
    torch.manual_seed(0)
    cfg = dict(vocab_size=100, n_labels=3, pretrained=False, bert=dict(TINY_BERT))
    return EncoderClassifier(EncoderClassifierConfig(**{**cfg, **kw})).eval()


def test_forward_shapes_and_loss() -> None:
    model = tiny()
    x = torch.randint(1, 100, (4, 7))
    logits, loss = model(x)
    assert logits.shape == (4, 3) and loss is None
    y = torch.tensor([0, 1, 2, 1])
    logits, loss = model(x, y)
    assert loss is not None and torch.allclose(loss, torch.nn.functional.cross_entropy(logits, y))


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_padding_does_not_change_logits(pooling: str) -> None:
    model = tiny(pooling=pooling)
    x = torch.tensor([[5, 6, 7, 8]])
    padded = torch.tensor([[5, 6, 7, 8, 0, 0, 0]])  # 0 is [PAD]: masked out
    assert torch.allclose(model(x)[0], model(padded)[0], atol=1e-5)


def test_config_is_filled_and_rebuilds_identically() -> None:
    model = tiny()
    assert model.config.bert["hidden_size"] == 32 and model.config.bert["num_hidden_layers"] == 2
    assert not model.bert.embeddings.word_embeddings.weight.requires_grad  # frozen by default
    clone = EncoderClassifier(EncoderClassifierConfig(**vars(model.config))).eval()
    clone.load_state_dict(model.state_dict())
    x = torch.randint(1, 100, (2, 5))
    assert torch.equal(model(x)[0], clone(x)[0])


def test_registry_and_bad_config() -> None:
    assert get_model("encoder_classifier") == (EncoderClassifierConfig, EncoderClassifier)
    model = build_model("encoder_classifier", vocab_size=100, n_labels=2, pretrained=False, bert=dict(TINY_BERT),
                        freeze_embeddings=False)
    assert model.bert.embeddings.word_embeddings.weight.requires_grad
    with pytest.raises(ValueError):
        tiny(pooling="max")
    with pytest.raises(ValueError):
        tiny(n_labels=1)


def test_real_minilm_matches_sentence_encoder_and_learns() -> None:
    """The packaged MiniLM loads offline: its mean-pooled vectors are the sentence encoder's, and a
    few fine-tuning steps on a small batch lower the loss."""
    from memlm.encoders.minilm import MiniLMEncoder

    texts = ["Operating profit rose to EUR 13.1 mn from EUR 8.7 mn .",
             "The company swung to a net loss of EUR 2.3 mn .",
             "The shares are listed on the Helsinki stock exchange .",
             "Net sales decreased by 12 % year-on-year .",
             "Sales grew 25 % to a record high .",
             "The meeting will be held in Espoo ."]
    labels = torch.tensor([2, 0, 1, 0, 2, 1])
    torch.manual_seed(0)
    model = EncoderClassifier(EncoderClassifierConfig(n_labels=3)).eval()
    assert model.config.bert["hidden_size"] == 384 and model.config.bert["num_hidden_layers"] == 6
    enc = MiniLMEncoder("torch", threads=1)
    ids = enc.tokenize(texts)
    width = max(map(len, ids))
    x = torch.tensor([s + [0] * (width - len(s)) for s in ids])
    with torch.no_grad():
        pooled = torch.nn.functional.normalize(model.pool(x), dim=-1).numpy()
    assert abs(pooled - enc.encode(texts)).max() < 1e-4

    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    losses = []
    for _ in range(6):
        _, loss = model(x, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
