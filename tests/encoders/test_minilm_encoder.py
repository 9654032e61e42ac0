"""MiniLMEncoder on the packaged all-MiniLM-L6-v2 weights (real model, loaded once)."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

from memlm.encoders import Encoder, MiniLMEncoder, _onnx
from memlm.encoders import minilm as minilm_mod

pytestmark = pytest.mark.slow

# Mixed lengths (incl. one past the 256-token limit) so batches need padding.
TEXTS = [
    "I adopted a puppy",
    "Yesterday I finally finished painting the sunrise I started last spring, and I hung it above the fireplace.",
    "ok",
    "",
    "Caroline went to the LGBTQ support group on 7 May 2023 and felt welcomed.",
    "The quarterly report " * 120,
    "Melanie ran a charity race for mental health awareness.",
]


@pytest.fixture(scope="module")
def onnx_fp32(minilm_encoder: MiniLMEncoder) -> MiniLMEncoder:
    """ONNX fp32 encoder (reuses the default encoder when that already is fp32 ONNX)."""
    return minilm_encoder if minilm_encoder.backend == "onnx" else MiniLMEncoder("onnx").load()


def test_protocol(minilm_encoder: MiniLMEncoder) -> None:
    assert isinstance(minilm_encoder, Encoder)
    assert minilm_encoder.dim == 384
    expected = minilm_mod.INT8_NAME if minilm_encoder.backend == "int8" else "all-MiniLM-L6-v2"
    assert minilm_encoder.name == expected


def test_shape_norm_and_empty(minilm_encoder: MiniLMEncoder) -> None:
    v = minilm_encoder.encode(TEXTS)
    assert v.shape == (len(TEXTS), 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    empty = minilm_encoder.encode([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_semantic_ordering(minilm_encoder: MiniLMEncoder) -> None:
    puppy, dog, stocks = minilm_encoder.encode(
        ["I adopted a puppy", "I got a new dog", "The stock market fell"]
    )
    assert puppy @ dog > puppy @ stocks + 0.2


def test_order_preserved_under_length_sorting(minilm_encoder: MiniLMEncoder) -> None:
    """Batched, length-sorted encoding equals encoding each text alone, in input order."""
    small = MiniLMEncoder(minilm_encoder.requested_backend, batch_size=2)
    small._runner, small._tokenizer, small._counter = (
        minilm_encoder._runner,
        minilm_encoder._tokenizer,
        minilm_encoder._counter,
    )
    small._pool = minilm_encoder._pool
    batched = small.encode(TEXTS)
    one_by_one = np.vstack([minilm_encoder.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(batched, one_by_one, atol=2e-5)
    perm = [3, 0, 6, 2, 5, 1, 4]
    np.testing.assert_allclose(small.encode([TEXTS[i] for i in perm]), batched[perm], atol=2e-5)


def test_truncation_at_256_tokens(minilm_encoder: MiniLMEncoder) -> None:
    long = "The quarterly report " * 120
    assert len(minilm_encoder.tokenize([long])[0]) == 256
    a, b = minilm_encoder.encode([long, long + " and an unseen tail beyond the limit"])
    assert a @ b > 0.99999


def test_torch_and_onnx_agree(onnx_fp32: MiniLMEncoder) -> None:
    torch_enc = MiniLMEncoder("torch")
    a, b = onnx_fp32.encode(TEXTS), torch_enc.encode(TEXTS)
    assert onnx_fp32.backend == "onnx" and torch_enc.backend == "torch"
    assert onnx_fp32.name == torch_enc.name == "all-MiniLM-L6-v2"
    assert np.min(np.sum(a * b, axis=1)) > 0.9999


def test_int8_is_close_but_named_apart(minilm_encoder: MiniLMEncoder, onnx_fp32) -> None:
    int8 = minilm_encoder if minilm_encoder.backend == "int8" else MiniLMEncoder("int8")
    a, b = onnx_fp32.encode(TEXTS), int8.encode(TEXTS)
    assert int8.backend == "int8" and int8.name == "all-MiniLM-L6-v2-int8" != onnx_fp32.name
    cos = np.sum(a * b, axis=1)
    assert cos.min() > 0.95 and cos.mean() > 0.98


def test_count_tokens(minilm_encoder: MiniLMEncoder) -> None:
    assert minilm_encoder.count_tokens("") == 0
    assert minilm_encoder.count_tokens("hello world") == 2
    assert minilm_encoder.count_tokens("word " * 1000) == 1000  # not truncated


def test_concurrent_first_encode_loads_once() -> None:
    """Several threads hitting a fresh encoder get identical results and one runner."""
    enc = MiniLMEncoder()
    results: list[np.ndarray] = []
    runners = set()

    def work() -> None:
        results.append(enc.encode(TEXTS[:3]))
        runners.add(id(enc._runner))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(runners) == 1
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


class _FakeTorch:
    backend = "torch"
    workers = 1
    batch_invariant = True

    def __init__(self, *args: object) -> None:
        pass

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        v = np.ones((ids.shape[0], 384), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _no_export(*args: object, **kwargs: object) -> None:
    raise _onnx.ExportUnavailable("simulated: no onnx package")


def test_onnx_falls_back_to_torch_with_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_onnx, "ensure_graph", _no_export)
    monkeypatch.setattr(minilm_mod, "_TorchRunner", _FakeTorch)
    enc = MiniLMEncoder("onnx")
    with pytest.warns(RuntimeWarning, match="falling back to PyTorch"):
        enc.encode(["x"])
    assert enc.backend == "torch" and enc.name == "all-MiniLM-L6-v2"


def test_int8_never_substitutes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_onnx, "ensure_graph", _no_export)
    monkeypatch.setattr(minilm_mod, "_TorchRunner", _FakeTorch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="int8"):
            MiniLMEncoder("int8").encode(["x"])


def test_graph_cache_is_keyed_and_reused(minilm_encoder: MiniLMEncoder, tmp_path) -> None:
    model_dir = minilm_encoder.model_dir
    fp32 = _onnx.graph_path(model_dir, int8=False, root=tmp_path)
    int8 = _onnx.graph_path(model_dir, int8=True, root=tmp_path)
    assert fp32 != int8 and fp32.parent == tmp_path / "onnx"
    fp32.parent.mkdir(parents=True)
    fp32.write_bytes(b"cached")  # a present graph is returned as is, never rebuilt
    assert _onnx.ensure_graph(model_dir, int8=False, root=tmp_path) == fp32
    assert fp32.read_bytes() == b"cached"
