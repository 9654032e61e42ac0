"""Shared fixtures: a fast hashing-encoder memory for most tests, the real MiniLM once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def minilm():
    """The default encoder (packaged all-MiniLM-L6-v2, best backend), loaded once per test session.

    Its ONNX graph is exported on first use and cached under $MEMLM_CACHE or ~/.cache/memlm.
    """
    from memlm.encoders import MiniLMEncoder

    return MiniLMEncoder().load()


@pytest.fixture(scope="session")
def minilm_encoder(minilm):
    """The same encoder under the name the encoder tests use."""
    return minilm


@pytest.fixture(scope="session")
def hashing():
    from memlm.encoders import HashingEncoder

    return HashingEncoder(256)


@pytest.fixture
def mem(tmp_path, hashing):
    """A fresh memory file with the fast deterministic encoder."""
    from memlm import Memory

    with Memory(tmp_path / "mem.db", encoder=hashing) as m:
        yield m


@pytest.fixture
def real_mem(tmp_path, minilm):
    """A fresh memory file with the real encoder."""
    from memlm import Memory

    with Memory(tmp_path / "real.db", encoder=minilm) as m:
        yield m


@pytest.fixture
def locomo_path():
    path = SHARED_DATA / "locomo" / "locomo-dev.json"
    if not path.exists():
        pytest.skip("../shared/data/locomo is not present")
    return path
