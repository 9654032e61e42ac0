"""Contrastive fine-tuning of the MiniLM retrieval encoder on (query, relevant memory) pairs.

The loss is sentence-transformers' MultipleNegativesRankingLoss: in a batch of pairs, each
query must pick its own memory among every memory of the batch (cross-entropy over
``scale`` x cosine). Other rows that share the query or the memory are not counted as
negatives. AdamW, linear warmup then linear decay, seeded shuffling.

Pairs files: JSONL with one ``{"query": ..., "memory": ...}`` object per line, or CSV / TSV
with ``query`` and ``memory`` columns (by extension: .csv, .tsv; anything else is JSONL).

The result is a model folder in Hugging Face format (``model.safetensors``, ``config.json``,
tokenizer files, the sentence-transformers module files) that ``MiniLMEncoder(model_dir=DIR)``
and the spec ``"minilm@DIR"`` load. Its vector space is named after its weights
("all-MiniLM-L6-v2-ft-<12 hex>"), so memories embedded with it never mix with others.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["FinetuneConfig", "FinetuneResult", "PairsError", "finetune", "load_pairs"]

Pair = tuple[str, str]  # (query, memory text)
# files of a model folder that are copied as they are (the weights and config.json are written anew)
COPIED = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "modules.json",
          "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling")
INFO_FILE = "memlm_finetune.json"  # what the folder was trained from and how


class PairsError(ValueError):
    """A pairs file that cannot be read: missing, empty, malformed (the message says where)."""


@dataclass
class FinetuneConfig:
    """How to fine-tune; the defaults are modest (a few hundred pairs, a few minutes on 2 cores)."""

    epochs: int = 2  # passes over the pairs
    batch_size: int = 16  # pairs per step; every other memory of the batch is a negative
    lr: float = 2e-5  # AdamW peak learning rate
    warmup: float = 0.1  # fraction of the steps the learning rate ramps up over (then decays linearly to 0)
    weight_decay: float = 0.01  # AdamW weight decay (not on biases and LayerNorm weights)
    scale: float = 20.0  # cosine similarities are multiplied by this before the softmax (inverse temperature)
    symmetric: bool = False  # also train each memory to pick its query among the batch's queries
    max_seq_length: int = 128  # tokens per text while training (longer texts are truncated)
    max_grad_norm: float = 1.0  # gradient clipping
    max_steps: int | None = None  # stop after this many steps (None: all epochs)
    seed: int = 0  # shuffling and dropout
    threads: int = 2  # torch.set_num_threads while training


@dataclass
class FinetuneResult:
    """What `finetune` produced."""

    out_dir: str  # the model folder
    name: str  # its vector-space name (fp32 backends; the int8 backend appends "-int8")
    pairs: int  # training pairs used
    steps: int  # optimiser steps taken
    first_loss: float  # mean loss of the first steps (up to 5, at most half of them)
    last_loss: float  # mean loss of the last steps (as many)
    seconds: float  # wall time of the training loop

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- pairs files -----------------------------------------------------------------
def load_pairs(path: str | Path) -> list[Pair]:
    """(query, memory) pairs from a JSONL, CSV or TSV file; PairsError on anything malformed."""
    path = Path(path)
    if not path.is_file():
        raise PairsError(f"pairs file {path} does not exist")
    suffix = path.suffix.lower()
    pairs = _delimited(path, "\t" if suffix == ".tsv" else ",") if suffix in (".csv", ".tsv") else _jsonl(path)
    if not pairs:
        raise PairsError(f"pairs file {path} holds no pairs")
    return pairs


def _jsonl(path: Path) -> list[Pair]:
    pairs = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PairsError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise PairsError(f'{path}:{n}: expected an object {{"query": ..., "memory": ...}}')
            pairs.append(_pair(obj, f"{path}:{n}"))
    return pairs


def _delimited(path: Path, delimiter: str) -> list[Pair]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        columns = set(reader.fieldnames or [])
        if not {"query", "memory"} <= columns:
            raise PairsError(f"{path}: needs a header with 'query' and 'memory' columns, got {sorted(columns)}")
        return [_pair(row, f"{path}:{n}") for n, row in enumerate(reader, 2)]


def _pair(obj: dict, where: str) -> Pair:
    query, memory = obj.get("query"), obj.get("memory")
    for key, value in (("query", query), ("memory", memory)):
        if not isinstance(value, str) or not value.strip():
            raise PairsError(f"{where}: '{key}' must be a non-empty string")
    assert isinstance(query, str) and isinstance(memory, str)  # checked above
    return query.strip(), memory.strip()


# -- training --------------------------------------------------------------------
def finetune(pairs: Sequence[Pair], out_dir: str | Path, config: FinetuneConfig | None = None, *,
             base_dir: str | Path | None = None, progress: bool = True) -> FinetuneResult:
    """Fine-tune the encoder in ``base_dir`` (default: the packaged all-MiniLM-L6-v2) on the
    pairs and write the model folder ``out_dir`` (which must not exist or be empty)."""
    from memlm.encoders.minilm import default_model_dir, space_name

    config = config or FinetuneConfig()
    _check(pairs, config)
    base = Path(base_dir) if base_dir else default_model_dir()
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"output folder {out} already exists and is not empty")
    model, tokenizer = _load(base, config)
    start = time.perf_counter()
    losses = _train(model, tokenizer, list(pairs), config, progress)
    seconds = time.perf_counter() - start
    _save(model.bert, base, out, {"base": str(base), "pairs": len(pairs), "config": asdict(config)})
    window = max(1, min(5, len(losses) // 2))
    return FinetuneResult(str(out), space_name(out, int8=False), len(pairs), len(losses),
                          _mean(losses[:window]), _mean(losses[-window:]), round(seconds, 2))


def _check(pairs: Sequence[Pair], config: FinetuneConfig) -> None:
    if len(pairs) < 2:
        raise ValueError("fine-tuning needs at least 2 pairs (the other pairs of a batch are the negatives)")
    if config.batch_size < 2 or config.epochs < 1 or config.lr <= 0 or config.scale <= 0:
        raise ValueError("batch_size must be >= 2, epochs >= 1, lr and scale > 0")


def _load(base: Path, config: FinetuneConfig) -> tuple[Any, Any]:
    """The mean-pooled, L2-normalised model in train mode, and a padding, truncating tokenizer."""
    import torch
    from tokenizers import Tokenizer

    from memlm.encoders.minilm import load_torch_module

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    model = load_torch_module(base).train()
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=config.max_seq_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return model, tokenizer


def _batches(pairs: list[Pair], config: FinetuneConfig, epoch: int) -> list[list[Pair]]:
    """This epoch's shuffled batches (a trailing batch of one pair has no negatives: dropped)."""
    order = list(pairs)
    random.Random(config.seed * 1000 + epoch).shuffle(order)
    batches = [order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)]
    return [b for b in batches if len(b) >= 2]


def _train(model: Any, tokenizer: Any, pairs: list[Pair], config: FinetuneConfig, progress: bool) -> list[float]:
    import torch
    from tqdm.auto import tqdm

    per_epoch = len(_batches(pairs, config, 0))
    total = per_epoch * config.epochs if config.max_steps is None else min(config.max_steps, per_epoch * config.epochs)
    optimizer, scheduler = _optimizer(model, config, total)
    losses: list[float] = []
    with tqdm(total=total, desc="fine-tuning", unit="step", disable=not progress) as bar:
        for epoch in range(config.epochs):
            for batch in _batches(pairs, config, epoch):
                if len(losses) >= total:
                    return losses
                loss = _loss(model, tokenizer, batch, config)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                losses.append(float(loss.detach()))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    return losses


def _optimizer(model: Any, config: FinetuneConfig, total: int) -> tuple[Any, Any]:
    import torch

    decay: list[Any] = []
    no_decay: list[Any] = []
    for name, param in model.named_parameters():
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(param)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    warmup = max(1, math.ceil(config.warmup * total))

    def factor(step: int) -> float:
        return (step + 1) / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _embed(model: Any, tokenizer: Any, texts: list[str]) -> Any:
    import torch

    enc = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
    return model(ids, mask)


def _loss(model: Any, tokenizer: Any, batch: list[Pair], config: FinetuneConfig) -> Any:
    """In-batch-negatives cross-entropy; rows sharing the query or the memory are masked out."""
    import torch

    queries, memories = [q for q, _ in batch], [m for _, m in batch]
    q, m = _embed(model, tokenizer, queries), _embed(model, tokenizer, memories)
    logits = config.scale * q @ m.T
    n = len(batch)
    same = torch.tensor([[queries[i] == queries[j] or memories[i] == memories[j] for j in range(n)] for i in range(n)])
    logits = logits.masked_fill(same & ~torch.eye(n, dtype=torch.bool), float("-inf"))
    target = torch.arange(n)
    loss = torch.nn.functional.cross_entropy(logits, target)
    if config.symmetric:
        loss = (loss + torch.nn.functional.cross_entropy(logits.T, target)) / 2
    return loss


def _save(bert: Any, base: Path, out: Path, info: dict[str, Any]) -> None:
    """Write the folder beside its destination, then rename it into place (never half-written)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        bert.eval()
        bert.save_pretrained(str(tmp), safe_serialization=True)
        for name in COPIED:
            src = base / name
            if src.is_dir():
                shutil.copytree(src, tmp / name)
            elif src.exists():
                shutil.copy2(src, tmp / name)
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        os.chmod(tmp, 0o755)  # mkdtemp (and the weights writer) make things private; a model is shared
        for path in tmp.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if out.exists():
            out.rmdir()  # empty (checked before training)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")
