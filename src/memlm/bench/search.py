"""`memlm bench search`: search latency with N memories in one file.

Filling a file with 100k really-embedded memories takes minutes of encoder time and
measures the encoder, not search; so the filler memories get texts from a generator
(words drawn from a real vocabulary, Zipf-distributed, so the lexical index has
realistic postings) and random unit vectors (a storage stand-in: dense search cost
does not depend on the vectors' values). Queries are real questions, embedded by the
real encoder inside the timed search call.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
from tqdm.auto import tqdm

from memlm.encoders.base import encode_queries
from memlm.engine import Memory
from memlm.text import words
from memlm.types import MemoryRecord

QUERIES = [
    "When did Caroline go to the LGBTQ support group?", "What did Melanie paint?",
    "what is the name of my dog", "where does my sister live now", "what books did I read last summer",
    "which restaurant did we like in Lisbon", "how is the knee after the marathon", "what car do they drive",
]


def vocabulary(seed_text: str | None, size: int = 20000) -> list[str]:
    if seed_text:
        vocab = list(dict.fromkeys(words(seed_text)))[:size]
        if len(vocab) > 1000:
            return vocab
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=rng.integers(3, 10))) for _ in range(size)]


def fill(mem: Memory, n: int, *, user_id: str = "bench-user", seed_text: str | None = None,
         batch: int = 5000, progress: bool = True) -> float:
    """Insert n synthetic memories for one user; returns seconds."""
    rng = np.random.default_rng(1)
    vocab = vocabulary(seed_text)
    ranks = np.arange(1, len(vocab) + 1)
    p = 1.0 / ranks / (1.0 / ranks).sum()
    start = time.perf_counter()
    t0 = datetime(2020, 1, 1, tzinfo=timezone.utc)
    store = mem.store
    for lo in tqdm(range(0, n, batch), desc="fill", unit="batch", disable=not progress):
        size = min(batch, n - lo)
        vecs = rng.standard_normal((size, mem.encoder.dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        now = datetime.now(timezone.utc)
        records = []
        lengths = rng.integers(6, 30, size=size)
        drawn = iter(rng.choice(len(vocab), size=int(lengths.sum()), p=p))
        for i in range(size):
            text = " ".join(vocab[next(drawn)] for _ in range(lengths[i]))
            records.append(MemoryRecord(
                id=uuid.uuid4().hex, kind="episode", text=text, user_id=user_id, session_id=f"s{(lo + i) // 20}",
                role="user" if i % 2 else "assistant", created_at=now, updated_at=now,
                occurred_at=t0 + timedelta(hours=lo + i), tenant=mem.tenant))
        store.insert(records, vecs)
    return time.perf_counter() - start


def measure(mem: Memory, *, user_id: str = "bench-user", repeats: int = 25, k: int = 10) -> dict[str, float]:
    """First (cold) search, then p50/p95 over repeated queries, with and without the query embedding."""
    t = time.perf_counter()
    mem.search(QUERIES[0], user_id=user_id, k=k)
    cold = (time.perf_counter() - t) * 1000
    total, embed = [], []
    for _ in range(repeats):
        for q in QUERIES:
            t = time.perf_counter()
            encode_queries(mem.encoder, [q])
            e = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            mem.search(q, user_id=user_id, k=k)
            total.append((time.perf_counter() - t) * 1000)
            embed.append(e)
    total_a, embed_a = np.array(total), np.array(embed)
    without = total_a - embed_a
    return {
        "cold_first_search_ms": round(cold, 1),
        "search_ms_p50": round(float(np.percentile(total_a, 50)), 2),
        "search_ms_p95": round(float(np.percentile(total_a, 95)), 2),
        "search_ms_p50_without_embedding": round(float(np.percentile(without, 50)), 2),
        "search_ms_p95_without_embedding": round(float(np.percentile(without, 95)), 2),
        "query_embedding_ms_p50": round(float(np.percentile(embed_a, 50)), 2),
        "searches": len(total),
    }
