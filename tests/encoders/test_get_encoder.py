"""get_encoder spec parsing; constructing an encoder loads nothing."""

from __future__ import annotations

import importlib.util

import pytest

from memlm.encoders import HashingEncoder, MiniLMEncoder, get_encoder


@pytest.mark.parametrize(
    ("spec", "backend", "name"),
    [
        ("minilm:onnx", "onnx", "all-MiniLM-L6-v2"),
        ("minilm:torch", "torch", "all-MiniLM-L6-v2"),
        ("minilm:int8", "int8", "all-MiniLM-L6-v2-int8"),
        (" MiniLM:ONNX ", "onnx", "all-MiniLM-L6-v2"),
    ],
)
def test_minilm_specs(spec: str, backend: str, name: str) -> None:
    enc = get_encoder(spec)
    assert isinstance(enc, MiniLMEncoder)
    assert enc.requested_backend == backend and enc.name == name and enc.dim == 384
    assert enc.backend is None  # lazy: nothing loaded yet
    assert enc._tokenizer is None


def test_default_minilm_is_int8_when_onnx_available() -> None:
    enc = get_encoder("minilm")
    assert enc.requested_backend == "auto"
    assert enc.name == ("all-MiniLM-L6-v2-int8" if _has_onnx() else "all-MiniLM-L6-v2")


def test_auto_without_onnx_means_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    enc = MiniLMEncoder()
    assert enc.name == "all-MiniLM-L6-v2" and enc._choice == "torch"


def _has_onnx() -> bool:
    return importlib.util.find_spec("onnx") is not None


def test_hashing_specs() -> None:
    enc = get_encoder("hashing")
    assert isinstance(enc, HashingEncoder) and enc.dim == 256
    assert get_encoder("hashing:384").dim == 384


def test_env_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMLM_ENCODER", "hashing:128")
    assert get_encoder(None).name == "hashing-v1-128"
    assert get_encoder("minilm:torch").name == "all-MiniLM-L6-v2"  # explicit spec wins
    monkeypatch.delenv("MEMLM_ENCODER")
    enc = get_encoder()
    assert isinstance(enc, MiniLMEncoder) and enc.requested_backend == "auto"


@pytest.mark.parametrize("spec", ["bert", "minilm:gpu", "hashing:big", "hashing:2", ""])
def test_unknown_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        get_encoder(spec)


def test_bad_backend_argument() -> None:
    with pytest.raises(ValueError, match="backend"):
        MiniLMEncoder("tensorrt")
