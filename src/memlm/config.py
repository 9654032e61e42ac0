"""Engine configuration: plain dataclasses, one comment per field, no work at import."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class GateConfig:
    """The write gate: what is new (ADD), already known (NOOP) or a change (UPDATE)."""

    duplicate_threshold: float = 0.95  # cosine at or above which a fact is a near-duplicate (NOOP)
    episode_duplicate_threshold: float = 0.985  # same for an episode, same session and speaker only
    update_threshold: float = 0.70  # cosine at or above which a fact may restate an older one
    update_overlap: float = 0.4  # share of the shorter text's content words both must have for UPDATE


@dataclass
class RecallConfig:
    """The read path: candidate pools and how lexical, dense and time evidence combine."""

    candidates: int = 100  # candidates drawn from each of the lexical and dense retrievers
    lexical_weight: float = 0.5  # weight of the BM25 component in the fused score
    dense_weight: float = 0.5  # weight of the cosine component in the fused score
    context_weight: float = 0.35  # weight of a turn's neighbourhood (previous turn) in its dense score
    neighbor_weight: float = 0.15  # share of a neighbouring turn's score a turn inherits
    time_boost: float = 0.15  # added to memories inside a time window the query names
    hops: int = 1  # passes over memory; 2 = a second pass conditioned on the first
    hop_feedback: int = 3  # top hits whose vectors condition the second pass
    hop_weight: float = 0.3  # weight of those hits in the second-pass query vector


@dataclass
class MemoryConfig:
    """Everything `Memory` needs besides its path and encoder."""

    gate: GateConfig = field(default_factory=GateConfig)  # write-gate thresholds
    recall: RecallConfig = field(default_factory=RecallConfig)  # read-path weights
    chunk_tokens: int = 200  # texts longer than this are split into chunks of about this size
    max_text_chars: int = 200_000  # larger inputs are refused (ValueError), not truncated
    batch_size: int = 256  # memories per embedding batch and per transaction in add_many
    tenant: str = "default"  # isolation boundary of this handle; the server sets one per API key

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryConfig:
        """Build from nested dicts, refusing unknown keys."""
        _check_keys(cls, data)
        gate = GateConfig(**_checked(GateConfig, data.get("gate", {})))
        recall = RecallConfig(**_checked(RecallConfig, data.get("recall", {})))
        rest = {k: v for k, v in data.items() if k not in ("gate", "recall")}
        return cls(gate=gate, recall=recall, **rest)


def _check_keys(cls: type, data: dict[str, Any]) -> None:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}")


def _checked(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    _check_keys(cls, data)
    return data


def memlm_home() -> Path:
    """The data folder: $MEMLM_HOME, else ~/.memlm."""
    return Path(os.environ.get("MEMLM_HOME") or Path.home() / ".memlm")


def default_db_path() -> Path:
    """The default memory file: $MEMLM_HOME/memory.db."""
    return memlm_home() / "memory.db"
