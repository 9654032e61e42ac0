"""ONNX export, int8 quantisation and the on-disk cache for the MiniLM encoder.

Exported graphs live under ``$MEMLM_CACHE`` (default ``~/.cache/memlm``) in ``onnx/``,
named by a hash of the weights file and the export settings, so a changed model or
exporter never reuses a stale graph. Files are written to a temporary name in the same
folder and renamed into place, so concurrent processes never see a half-written file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import warnings
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

EXPORT_VERSION = "v1"  # bump when the exported graph (pooling, inputs, outputs) changes
OPSET = 17  # ONNX opset of the exported graph
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "embedding"  # (batch, 384) mean-pooled, L2-normalised

_export_lock = threading.Lock()  # one export/quantisation at a time within a process


class ExportUnavailable(RuntimeError):
    """The tooling to build an ONNX graph (the ``onnx`` package, the exporter) is missing."""


def cache_dir() -> Path:
    """Root of memlm's on-disk cache: ``$MEMLM_CACHE`` or ``~/.cache/memlm``."""
    from memlm.settings import from_env

    env = from_env("cache")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "memlm"


@lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def weights_digest(model_dir: Path) -> str:
    """sha256 of the model's weights file (memoised per path, size and mtime)."""
    weights = model_dir / "model.safetensors"
    if not weights.exists():
        weights = model_dir / "pytorch_model.bin"
    st = weights.stat()
    return _file_digest(str(weights), st.st_size, st.st_mtime_ns)


def graph_path(model_dir: Path, *, int8: bool, root: Path | None = None) -> Path:
    """Where the cached graph for this model and these settings lives (may not exist yet)."""
    key = f"{weights_digest(model_dir)}|{EXPORT_VERSION}|opset{OPSET}|eager+ortfuse|meanpool+l2"
    if int8:
        key += "|int8-dynamic-qint8-per-channel"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    suffix = "-int8" if int8 else ""
    return (root or cache_dir()) / "onnx" / f"{model_dir.name}-{digest}{suffix}.onnx"


def _atomic_target(dst: Path) -> Path:
    """A fresh temporary path beside ``dst`` (same filesystem, so rename is atomic)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=".tmp.onnx", dir=dst.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache file may be shared
    return Path(tmp)


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401  (the exporter and the quantiser both need it)
    except ImportError as exc:
        raise ExportUnavailable("building an ONNX graph needs the 'onnx' package") from exc


def _fuse(src: Path, dst: Path, model_dir: Path) -> bool:
    """Fuse attention / layer norm / GELU with ORT's transformer optimizer (same maths).

    Returns False (and leaves ``dst`` alone) when the optimizer is unavailable or fails;
    the unfused graph is then used as is.
    """
    try:
        import json

        from onnxruntime.transformers import optimizer

        cfg = json.loads((model_dir / "config.json").read_text())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = optimizer.optimize_model(
                str(src),
                model_type="bert",
                num_heads=int(cfg["num_attention_heads"]),
                hidden_size=int(cfg["hidden_size"]),
                opt_level=1,  # fusions only; ORT applies its own optimisations at load
            )
            model.save_model_to_file(str(dst))
        return True
    except Exception as exc:
        log.warning("ONNX transformer fusion skipped: %s", exc)
        return False


def export_fp32(model_dir: Path, dst: Path) -> Path:
    """Export transformer + mean pooling + L2 norm to ``dst`` (fused, atomically)."""
    _require_onnx()
    import torch

    from .minilm import load_torch_module  # local: avoids an import cycle

    module = load_torch_module(model_dir, attn_implementation="eager")
    # Dummy batch WITH padding: tracing bakes in the padded-mask code path, which is
    # also correct for unpadded batches (the reverse would silently drop the mask).
    ids = torch.tensor([[101, 7592, 2088, 2003, 2307, 102], [101, 7592, 102, 0, 0, 0]])
    mask = (ids != 0).long()
    tmp = _atomic_target(dst)
    fused = _atomic_target(dst)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (ids, mask),
                str(tmp),
                dynamo=False,  # the TorchScript exporter: no onnxscript needed
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                    OUTPUT_NAME: {0: "batch"},
                },
                opset_version=OPSET,
                do_constant_folding=True,
            )
    except Exception as exc:  # exporter missing pieces or failing on this torch
        tmp.unlink(missing_ok=True)
        fused.unlink(missing_ok=True)
        raise ExportUnavailable(f"ONNX export failed: {exc}") from exc
    try:
        os.replace(fused if _fuse(tmp, fused, model_dir) else tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        fused.unlink(missing_ok=True)
    return dst


def quantize_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantisation of ``src``'s MatMul weights into ``dst`` (atomically)."""
    _require_onnx()
    import onnx

    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ExportUnavailable("onnxruntime.quantization is unavailable") from exc
    tmp = _atomic_target(dst)
    quiet = _DropRootWarnings()
    logging.getLogger().addFilter(quiet)  # the quantiser's "consider pre-processing" note
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(
                str(src),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,  # per-tensor int8 drops mean cosine to ~0.95
                # fused contrib ops defeat shape inference; their outputs are float
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        os.replace(tmp, dst)
    finally:
        logging.getLogger().removeFilter(quiet)
        tmp.unlink(missing_ok=True)
    return dst


class _DropRootWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and record.levelno <= logging.WARNING)


def ensure_graph(model_dir: Path, *, int8: bool, root: Path | None = None) -> Path:
    """Return a cached graph path, exporting (and quantising) it first if missing.

    Raises :class:`ExportUnavailable` when the graph is not cached and cannot be built.
    """
    dst = graph_path(model_dir, int8=int8, root=root)
    if dst.exists():
        return dst
    with _export_lock:
        if dst.exists():  # another thread built it meanwhile
            return dst
        fp32 = graph_path(model_dir, int8=False, root=root)
        if not fp32.exists():
            log.info("exporting %s to ONNX at %s", model_dir.name, fp32)
            export_fp32(model_dir, fp32)
        if int8:
            log.info("quantising %s to int8 at %s", fp32.name, dst)
            quantize_int8(fp32, dst)
    return dst
