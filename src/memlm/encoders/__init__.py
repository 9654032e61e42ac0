"""Text encoders: the :class:`Encoder` protocol, a model-free hashing encoder and MiniLM.

``get_encoder(spec)`` builds one from a short spec string:

=================  ==============================================================
``"minilm"``       all-MiniLM-L6-v2, default backend: ONNX int8 (name "...-int8"),
                   or torch fp32 when the ``onnx`` package is missing
``"minilm:int8"``  ONNX Runtime, int8 weights: its own vector space
                   "all-MiniLM-L6-v2-int8" (mean cosine to fp32 ~0.992)
``"minilm:onnx"``  ONNX Runtime fp32 (falls back to torch, same vectors, if needed)
``"minilm:torch"`` PyTorch fp32, "all-MiniLM-L6-v2" (= sentence-transformers)
``"hashing"``      HashingEncoder(dim=256)
``"hashing:384"``  HashingEncoder(dim=384)
=================  ==============================================================

With ``spec=None`` the environment variable ``MEMLM_ENCODER`` is used, else "minilm".
Constructing an encoder loads nothing; the model loads on the first ``encode``.
"""

from __future__ import annotations

import os

from .base import Encoder
from .hashing import HashingEncoder
from .minilm import MiniLMEncoder

__all__ = ["Encoder", "HashingEncoder", "MiniLMEncoder", "get_encoder", "DEFAULT_SPEC"]

DEFAULT_SPEC = "minilm"  # used when neither a spec nor $MEMLM_ENCODER is given
_MINILM_BACKENDS = {"": "auto", "auto": "auto", "onnx": "onnx", "torch": "torch", "int8": "int8"}


def get_encoder(spec: str | None = None) -> Encoder:
    """Build the encoder named by ``spec`` (see the module docstring for the forms)."""
    if spec is None:
        spec = os.environ.get("MEMLM_ENCODER") or DEFAULT_SPEC
    kind, _, arg = spec.strip().lower().partition(":")
    if kind in ("minilm", "all-minilm-l6-v2"):
        backend = _MINILM_BACKENDS.get(arg)
        if backend is None:
            raise ValueError(
                f"unknown MiniLM backend {arg!r} in encoder spec {spec!r}; "
                f"use one of: minilm, minilm:onnx, minilm:torch, minilm:int8"
            )
        return MiniLMEncoder(backend)
    if kind == "hashing":
        if not arg:
            return HashingEncoder()
        try:
            dim = int(arg)
        except ValueError:
            raise ValueError(f"hashing encoder spec {spec!r}: dimension must be an integer") from None
        return HashingEncoder(dim)
    raise ValueError(
        f"unknown encoder spec {spec!r}; expected 'minilm[:onnx|torch|int8]' or 'hashing[:DIM]'"
    )
