"""The Encoder protocol: text in, unit-length float32 vectors out.

An encoder's ``name`` and ``dim`` are recorded in every memory database; a database
opened with a different encoder is refused, so vectors never silently mix.

``encode`` embeds what is stored (memories). An encoder that embeds search queries
differently (e5: "query: " vs "passage: ") also has ``encode_query``; recall calls
:func:`encode_queries`, which falls back to ``encode`` for encoders without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to L2-normalised vectors; cosine similarity is then a dot product."""

    name: str  # stable identifier recorded in the database, e.g. "all-MiniLM-L6-v2"
    dim: int  # vector dimension

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Return an (len(texts), dim) float32 array of unit vectors, in input order."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens this text costs in a prompt (the encoder's tokenizer or a documented estimate)."""
        ...


def encode_queries(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """Embed search queries: ``encoder.encode_query`` when it has one, else ``encoder.encode``."""
    fn = getattr(encoder, "encode_query", None)
    return fn(texts) if callable(fn) else encoder.encode(texts)
