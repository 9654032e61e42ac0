"""HashingEncoder: deterministic, unit-norm, lexically sensible."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from memlm.encoders import Encoder, HashingEncoder
from memlm.encoders.hashing import estimate_tokens

TEXTS = ["I adopted a puppy last week", "Caroline went to the LGBTQ support group", "", "!!!"]


def test_protocol_and_name() -> None:
    enc = HashingEncoder(384)
    assert isinstance(enc, Encoder)
    assert enc.dim == 384 and enc.name == "hashing-v1-384"
    assert HashingEncoder().name == "hashing-v1-256"


def test_shape_dtype_unit_norm() -> None:
    v = HashingEncoder().encode(TEXTS)
    assert v.shape == (len(TEXTS), 256) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_empty_list() -> None:
    v = HashingEncoder(64).encode([])
    assert v.shape == (0, 64) and v.dtype == np.float32


def test_rejects_bare_string() -> None:
    with pytest.raises(TypeError):
        HashingEncoder().encode("a bare string")


def test_deterministic_across_processes() -> None:
    """Same vectors in a fresh interpreter with a different hash seed."""
    here = HashingEncoder().encode(TEXTS)
    code = (
        "import sys, numpy as np; from memlm.encoders import HashingEncoder;"
        f"sys.stdout.write(HashingEncoder().encode({TEXTS!r}).tobytes().hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    there = np.frombuffer(bytes.fromhex(out), dtype=np.float32).reshape(here.shape)
    np.testing.assert_array_equal(here, there)


def test_similar_texts_closer_than_unrelated() -> None:
    a, b, c = HashingEncoder().encode(
        [
            "We went hiking in the mountains last summer",
            "Last summer we went hiking up the mountains",
            "The quarterly revenue report is due on Friday",
        ]
    )
    assert a @ b > 0.6
    assert a @ b > a @ c + 0.3


def test_morphology_via_char_ngrams() -> None:
    a, b, c = HashingEncoder().encode(["painting", "paintings", "quarterly"])
    assert a @ b > a @ c


def test_count_tokens_estimate() -> None:
    enc = HashingEncoder()
    assert enc.count_tokens("") == 0
    assert enc.count_tokens("hello world") == 2
    assert enc.count_tokens("Hello, world!") == 4
    assert estimate_tokens("internationalization") == 3  # long words split
    long = "word " * 1000
    assert enc.count_tokens(long) == 1000


def test_count_tokens_estimate_chinese() -> None:
    # one token per Han character, as WordPiece splits Chinese; a long unspaced run is not one word
    enc = HashingEncoder()
    assert enc.count_tokens("我对花生过敏") == 6
    assert enc.count_tokens("我对花生过敏。") == 7
    assert enc.count_tokens("Ana上周去了Lisbon") == 6  # ana, 上, 周, 去, 了, lisbon
    assert enc.count_tokens("我们聊了很多" * 500) == 3000
    assert enc.count_tokens("😀！") == 2


def test_bad_dim() -> None:
    with pytest.raises(ValueError):
        HashingEncoder(0)
