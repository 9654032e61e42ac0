"""Neural memory models for the lab, nanoGPT style: ``Model(config)``, ``forward(idx, targets)``.

Every model takes a dataclass config with a ``vocab_size`` field and returns
``(logits, loss)`` from ``forward(idx, targets=None)``. Language-model style models give
logits for every position (B, T, V); the DMN gives only the last position (B, 1, V).
Targets equal to ``IGNORE`` (-100) are not scored.

The registry maps a name to ``(ConfigClass, ModelClass)``; modules are imported lazily so
that a model whose file is missing does not break the others.
"""

from __future__ import annotations

import importlib
from dataclasses import fields
from typing import Any

import torch
import torch.nn.functional as F

IGNORE = -100  # same as memlm.lab.tasks.base.IGNORE and torch's cross_entropy default

# name -> (module, config class name, model class name)
REGISTRY: dict[str, tuple[str, str, str]] = {
    "lstm": ("memlm.nn.lstm", "LSTMConfig", "LSTM"),
    "gru": ("memlm.nn.gru", "GRUConfig", "GRU"),
    "transformer": ("memlm.nn.transformer", "TransformerConfig", "Transformer"),
    "memory_transformer": ("memlm.nn.memory_transformer", "MemoryTransformerConfig", "MemoryTransformer"),
    "dmn": ("memlm.nn.dmn", "DMNConfig", "DMN"),
    "encoder_classifier": ("memlm.nn.encoder", "EncoderClassifierConfig", "EncoderClassifier"),
    # translation encoder-decoders: forward(src, tgt_in, targets) (see memlm.nn.seq2seq)
    "seq2seq-gru": ("memlm.nn.seq2seq_gru", "Seq2SeqGRUConfig", "Seq2SeqGRU"),
    "seq2seq-gru-attn": ("memlm.nn.seq2seq_gru", "Seq2SeqGRUAttnConfig", "Seq2SeqGRU"),
    "seq2seq-transformer": ("memlm.nn.seq2seq_transformer", "Seq2SeqTransformerConfig", "Seq2SeqTransformer"),
}


def model_names() -> list[str]:
    """Names of all registered models (whether or not their module exists yet)."""
    return list(REGISTRY)


def get_model(name: str) -> tuple[type, type]:
    """(ConfigClass, ModelClass) for a registered model name."""
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(REGISTRY)}")
    module_name, config_name, model_name = REGISTRY[name]
    module = importlib.import_module(module_name)
    return getattr(module, config_name), getattr(module, model_name)


def config_fields(config_cls: type) -> set[str]:
    """Field names of a config dataclass."""
    return {f.name for f in fields(config_cls)}


def build_model(name: str, **kwargs: Any) -> torch.nn.Module:
    """Instantiate a registered model from config keyword arguments."""
    config_cls, model_cls = get_model(name)
    return model_cls(config_cls(**kwargs))


def first_scored(targets: torch.Tensor | None) -> int:
    """Index of the first column of targets (B, T) holding a scored (non-IGNORE) value.

    Models may skip the output head before it (returning logits for the last T - k positions
    only); 0 when targets is None so that all logits are returned.
    """
    if targets is None:
        return 0
    scored = (targets != IGNORE).any(dim=0).nonzero()
    return int(scored[0]) if len(scored) else targets.size(1) - 1


def lm_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Cross-entropy of logits (B, T', V) against the last T' columns of targets (B, T)."""
    if targets is None:
        return None
    targets = targets[:, -logits.size(1):]
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE)


def sample_next(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Sample one token id per row from logits (B, V) -> (B, 1); temperature 0 means argmax."""
    if temperature <= 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None and top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)


def n_params(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
