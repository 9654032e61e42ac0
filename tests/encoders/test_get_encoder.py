"""get_encoder spec parsing; constructing an encoder loads nothing."""

from __future__ import annotations

import importlib.util

import pytest

from memlm.encoders import E5Encoder, HashingEncoder, MiniLMEncoder, get_encoder


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
    assert isinstance(enc, E5Encoder) and enc.requested_backend == "auto"
    assert enc.name == "multilingual-e5-small-q4-int8"


@pytest.mark.parametrize("spec", ["bert", "minilm:gpu", "hashing:big", "hashing:2", ""])
def test_unknown_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        get_encoder(spec)


def test_bad_backend_argument() -> None:
    with pytest.raises(ValueError, match="backend"):
        MiniLMEncoder("tensorrt")


def _fake_model(folder, weights: bytes = b"fine-tuned weights", hidden: int = 384):
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "config.json").write_text(f'{{"hidden_size": {hidden}}}')
    return folder


def test_model_folder_specs_get_their_own_space(tmp_path) -> None:
    import hashlib

    folder = _fake_model(tmp_path / "My-Model")  # the folder keeps its case
    digest = hashlib.sha256(b"fine-tuned weights").hexdigest()[:12]
    enc = get_encoder(f"MiniLM:ONNX@{folder}")
    assert isinstance(enc, MiniLMEncoder) and enc.requested_backend == "onnx" and enc.model_dir == folder
    assert enc.name == f"all-MiniLM-L6-v2-ft-{digest}" and enc.backend is None  # lazy: nothing loaded
    assert get_encoder(f"minilm:int8@{folder}").name == f"all-MiniLM-L6-v2-ft-{digest}-int8"
    assert get_encoder(f"minilm:torch@{folder}").name == enc.name
    other = _fake_model(tmp_path / "other", b"other weights", hidden=256)
    assert get_encoder(f"minilm@{other}").name != enc.name and get_encoder(f"minilm@{other}").dim == 256


def test_packaged_folder_keeps_the_base_name() -> None:
    from memlm.encoders.minilm import default_model_dir

    assert get_encoder(f"minilm:torch@{default_model_dir()}").name == "all-MiniLM-L6-v2"
    assert get_encoder(f"minilm:int8@{default_model_dir()}").name == "all-MiniLM-L6-v2-int8"


@pytest.mark.parametrize(("spec", "message"), [
    ("minilm@", "give a model folder"),
    ("minilm@  ", "give a model folder"),
    ("hashing@{tmp}", "only MiniLM specs"),
    ("minilm@{tmp}/missing", "does not exist"),
    ("minilm@{tmp}", "no model weights"),
    ("minilm:gpu@{tmp}", "unknown MiniLM backend"),
])
def test_bad_model_folder_specs(tmp_path, spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_encoder(spec.format(tmp=tmp_path))


def test_model_folder_from_the_environment(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _fake_model(tmp_path / "m")
    monkeypatch.setenv("MEMLM_ENCODER", f"minilm:torch@{folder}")
    assert get_encoder(None).name.startswith("all-MiniLM-L6-v2-ft-")
