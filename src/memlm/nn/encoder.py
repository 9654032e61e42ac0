"""A BERT-family encoder with a classification head (fine-tuned all-MiniLM-L6-v2 by default).

``EncoderClassifier(config)`` follows the lab's model convention: ``forward(idx, targets=None)
-> (logits, loss)``, with ``idx`` (B, T) WordPiece ids where 0 is ``[PAD]`` (the attention mask
is derived from it) and ``targets`` (B,) class ids. Logits are (B, n_labels).

With ``pretrained`` set, the weights come from a Hugging Face BERT folder (the packaged
all-MiniLM-L6-v2 by default), loaded offline; ``config.bert`` is then filled with that model's
BertConfig so a checkpoint rebuilds the same architecture with ``pretrained=False``.
With ``pretrained=False`` the encoder is randomly initialised from ``config.bert`` (tests use
a tiny one: hidden 32, 2 layers).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

POOLINGS = ("mean", "cls")


@dataclass
class EncoderClassifierConfig:
    vocab_size: int = 30522  # WordPiece vocabulary size (must match the tokenizer and the weights)
    n_labels: int = 2  # number of classes (the head's output size)
    dropout: float = 0.1  # dropout on the pooled sentence vector, before the head
    pooling: str = "mean"  # "mean" over real tokens (as MiniLM was trained) or "cls" ([CLS] vector)
    max_len: int = 128  # longest input in tokens; the tokenizer truncates to it
    pretrained: bool | str = True  # True: packaged MiniLM; a folder: that HF BERT; False/"": random init
    freeze_embeddings: bool = True  # keep the word-embedding matrix fixed (faster; unseen words keep their meaning)
    bert: dict[str, Any] = field(default_factory=dict)  # BertConfig fields (filled from pretrained weights)


def pretrained_dir(pretrained: bool | str) -> Path | None:
    """Folder of the pretrained weights: None (random init), the packaged MiniLM, or a path."""
    if pretrained is True or pretrained == "minilm":
        from memlm.encoders.minilm import default_model_dir

        return default_model_dir()
    return Path(pretrained) if pretrained else None


def _plain_dict(bert_config: Any) -> dict[str, Any]:
    """A BertConfig as JSON-safe values (checkpoints are loaded with weights_only=True)."""
    data = json.loads(bert_config.to_json_string(use_diff=False))
    for key in ("architectures", "_name_or_path", "transformers_version", "torch_dtype", "dtype"):
        data.pop(key, None)
    return data


def _build_bert(config: EncoderClassifierConfig) -> Any:  # a transformers BertModel
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import BertConfig, BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # the unused pooler weights are expected
    folder = pretrained_dir(config.pretrained)
    if folder is not None:
        bert = BertModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
        config.bert = _plain_dict(bert.config)
    else:
        bert = BertModel(BertConfig(**{"vocab_size": config.vocab_size, **config.bert}), add_pooling_layer=False)
        config.bert = _plain_dict(bert.config)
    if bert.config.vocab_size != config.vocab_size:
        raise ValueError(f"vocab_size {config.vocab_size} does not match the encoder's {bert.config.vocab_size}")
    return bert


class EncoderClassifier(nn.Module):
    """BERT encoder -> pooled sentence vector -> dropout -> linear head over n_labels."""

    def __init__(self, config: EncoderClassifierConfig) -> None:
        super().__init__()
        if config.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {config.pooling!r}")
        if config.n_labels < 2:
            raise ValueError("n_labels must be at least 2")
        self.config = config
        bert = _build_bert(config)
        self.bert = bert
        hidden = int(bert.config.hidden_size)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(hidden, config.n_labels)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)
        if config.freeze_embeddings:
            bert.embeddings.word_embeddings.weight.requires_grad_(False)

    def pool(self, idx: torch.Tensor) -> torch.Tensor:
        """Sentence vectors (B, H) for ids (B, T); 0 is padding."""
        mask = (idx != 0).long()  # (B, T)
        hidden = self.bert(input_ids=idx, attention_mask=mask).last_hidden_state  # (B, T, H)
        if self.config.pooling == "cls":
            return hidden[:, 0]  # (B, H)
        weights = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # (B, H)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """(logits (B, n_labels), mean cross-entropy or None) for ids (B, T) and targets (B,)."""
        logits = self.head(self.drop(self.pool(idx)))  # (B, n_labels)
        loss = F.cross_entropy(logits, targets) if targets is not None else None
        return logits, loss
