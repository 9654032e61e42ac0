"""Engine configuration: plain dataclasses, one comment per field, no work at import."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class GateConfig:
    """The write gate (write/gate.py): what is new (ADD), already known (NOOP) or a change (UPDATE).

    The rule gate reads statements by subject, attribute and value (write/facts.py), not by
    cosine, so it needs no threshold per encoder; cosine only picks the candidates."""

    neighbours: int = 8  # nearest stored memories (same owner and kind) each new one is compared with
    updates: bool = True  # let the rule gate UPDATE a fact (a new value of a single-valued attribute); False: ADD
    update_threshold: float = 0.45  # with an LLM: cosine at or above which a stored fact is shown to it to decide on
    # (encoder-dependent: MiniLM's unrelated texts score ~0-0.3, multilingual-e5's ~0.7-0.8)


@dataclass
class RecallConfig:
    """The read path: how lexical, dense, neighbour, speaker and time evidence combine.

    Scores are in standard deviations over the owner's memories (z-scores). Defaults were
    chosen on the LoCoMo dev split by leave-one-conversation-out checks (docs/recall.md).
    """

    lexical_candidates: int = 1000  # BM25 matches fetched per query (the rest count as no match)
    # (owners of IndexConfig.exact_below memories or more are "large": scored by candidates)
    dense_candidates: int = 1000  # large owners: rows the coarse dense pass picks for exact scoring
    neighbor_candidates: int = 200  # large owners: the best candidates whose session neighbours are scored too
    lexical_weight: float = 0.7  # weight of the standardised BM25 score
    lexical_reference: int = 1000  # BM25 is standardised as if over at most this many memories (search.lexical_moments)
    dense_weight: float = 1.0  # weight of the standardised cosine score
    prev_weight: float = 0.3  # share of the previous turn's relevance a turn inherits
    prev_question_weight: float = 0.3  # extra share when the previous turn asked a question
    next_weight: float = 0.15  # share of the next turn's relevance a turn inherits
    speaker_boost: float = 2.0  # bonus for turns by the one speaker the query names
    time_boost: float = 1.0  # bonus for memories inside a time window the query names
    hops: int = 1  # passes over memory: 1, or 2 = a second pass conditioned on the first (anything else is refused)
    hop_feedback: int = 2  # at most this many top memories condition the second pass
    hop_gate: float = 1.0  # ... and only those within this many z of the best one
    hop_weight: float = 0.5  # weight of those memories in the second-pass query vector
    hop_discount: float = 0.8  # a memory found by the second pass scores this share of its hop score
    score_center: float = 4.0  # fused z-score that maps to 0.5 in the reported [0, 1] score
    score_scale: float = 1.5  # z-score units per logistic unit in that mapping
    strength_weight: float = 0.0  # share of a hit's score given to its strength (recalls, decaying); 0: off
    strength_half_life_days: float = 30.0  # days after its last recall (or its writing) in which strength halves


@dataclass
class IndexConfig:
    """The store's in-memory vector index (stores/vecindex.py): nearest neighbours for the write
    gate, and the coarse pass recall uses for large owners."""

    # owners with fewer rows are scanned exhaustively, by recall and by the write gate's
    # nearest-neighbour search; larger ones through the coarse pass (recall: by candidates)
    exact_below: int = 20_000
    coarse_candidates: int = 2000  # rows the coarse pass hands to exact scoring in a nearest-neighbour search
    coarse_dims: int = 32  # dimensions of the coarse (PCA) projection large owners are pre-scored with
    stats_sample: int = 4096  # rows whose cosines estimate a large owner's score statistics
    # matrix-vector products through BLAS instead of numpy's einsum loop: 2-3x faster on the coarse
    # pass's skinny matrices with BLAS pinned to one thread (`memlm serve` pins it and turns this on),
    # slower and spinning with OpenBLAS's default threads
    blas_gemv: bool = False


@dataclass
class CapacityConfig:
    """The forget gate's capacity (write/capacity.py): a per-owner (user / agent) limit that, when
    exceeded, consolidates the weakest old episodes of closed sessions into their summary."""

    max_memories: int = 0  # current memories an owner may hold (summaries and facts count); 0: no limit
    max_tokens: int = 0  # tokens of those memories' texts (the encoder's count); 0: no limit
    policy: str = "archive"  # "archive": summarised turns are hidden from recall, kept in export; "delete"
    on_write: bool = True  # enforce after every write that reaches a limit (else only enforce_capacity())

    def __post_init__(self) -> None:
        for name in ("max_memories", "max_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"capacity {name} must be a non-negative integer, got {value!r}")
        if self.policy not in ("archive", "delete"):
            raise ValueError(f"capacity policy must be 'archive' or 'delete', got {self.policy!r}")

    @property
    def limited(self) -> bool:
        """Whether any limit is set."""
        return bool(self.max_memories or self.max_tokens)


@dataclass
class MemoryConfig:
    """Everything `Memory` needs besides its path and encoder."""

    gate: GateConfig = field(default_factory=GateConfig)  # write-gate thresholds
    recall: RecallConfig = field(default_factory=RecallConfig)  # read-path weights
    index: IndexConfig = field(default_factory=IndexConfig)  # the vector index of a store this handle opens
    capacity: CapacityConfig = field(default_factory=CapacityConfig)  # per-owner limit (off by default)
    chunk_tokens: int = 200  # texts longer than this are split into chunks of about this size
    max_text_chars: int = 200_000  # larger inputs are refused (ValueError), not truncated
    batch_size: int = 256  # memories per embedding batch and per transaction in add_many
    tenant: str = "default"  # isolation boundary of this handle; the server sets one per API key
    extract_facts: bool = False  # have the LLM extract facts from new turns on every add (needs an LLM)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryConfig:
        """Build from nested dicts, refusing unknown keys."""
        _check_keys(cls, data)
        gate = GateConfig(**_checked(GateConfig, data.get("gate", {})))
        recall = RecallConfig(**_checked(RecallConfig, data.get("recall", {})))
        index = IndexConfig(**_checked(IndexConfig, data.get("index", {})))
        capacity = CapacityConfig(**_checked(CapacityConfig, data.get("capacity", {})))
        rest = {k: v for k, v in data.items() if k not in ("gate", "recall", "index", "capacity")}
        return cls(gate=gate, recall=recall, index=index, capacity=capacity, **rest)


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
    from memlm.settings import from_env

    return Path(from_env("home") or Path.home() / ".memlm")


def default_db_path() -> Path:
    """The default memory file: $MEMLM_HOME/memory.db."""
    return memlm_home() / "memory.db"
