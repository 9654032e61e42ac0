"""`memlm bench scale`: ingest and per-user search at 10k / 100k / 1M memories on each backend.

The data are synthetic but shaped like a product's: `users` users with `per_user`
memories each (1,000 x 1,000 at 1M rows), texts of 6-20 words drawn Zipf-wise from a
20,000-word vocabulary, sessions of 20 turns, a speaker per turn, a time per turn.

EMBEDDING STAND-IN: the vectors are a random projection of each text's bag of words
(every vocabulary word has a fixed random 384-d Gaussian vector; a memory's vector is
the normalised sum of its words'). This measures storage and search, not an encoder:
it costs microseconds, and texts sharing words get similar vectors as real embeddings
would. The same projection embeds the queries ("search" columns, excluding query
embedding); the "with embedding" columns add the time the packaged MiniLM takes to
embed the same query, measured in the same loop.

Each (backend, rows) runs in a fresh process, so peak RSS is that configuration's.
"""

from __future__ import annotations

import contextlib
import json
import resource
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from memlm.encoders.base import encode_queries
from memlm.encoders.hashing import estimate_tokens

STANDIN = "random-projection-bow-384 (storage stand-in, not a language model)"


@dataclass(frozen=True)
class ScaleConfig:
    """One configuration of the benchmark."""

    backend: str  # "sqlite" or "postgres"
    rows: int  # memories in the store (users = rows // per_user)
    target: str  # SQLite file path or postgresql:// URL of an empty database
    per_user: int = 1000  # memories per user
    dim: int = 384  # vector dimension (MiniLM's)
    batch: int = 2000  # memories per insert transaction
    queries: int = 200  # timed searches (each for a random user)
    k: int = 10  # hits per search
    with_embedding: bool = True  # also time the default encoder embedding each query
    seed: int = 0  # data seed: the same rows for every backend and rerun


class StandInEncoder:
    """The random-projection stand-in, with the Encoder interface the engine expects."""

    def __init__(self, vocab: list[str], dim: int, seed: int = 0) -> None:
        self.name, self.dim = f"standin-bow-{dim}", dim
        rng = np.random.default_rng(seed + 7)
        self.table = rng.standard_normal((len(vocab), dim)).astype(np.float32)
        self.index = {w: i for i, w in enumerate(vocab)}

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def count_tokens(self, text: str) -> int:
        """Approximate token count (memlm.encoders.hashing.estimate_tokens)."""
        return estimate_tokens(text)

    def _one(self, text: str) -> np.ndarray:
        idx = [i for w in text.lower().split() if (i := self.index.get(w.strip(".,?!:"))) is not None]
        return unit(self.table[idx].sum(axis=0)) if idx else np.zeros(self.dim, np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32)


def vocabulary(size: int = 20000, seed: int = 0) -> list[str]:
    """Pronounceable pseudo-words (cached under ~/.cache/memlm/scale), so reruns use the same words."""
    cache = Path.home() / ".cache" / "memlm" / "scale" / f"vocab-{size}-{seed}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    rng = np.random.default_rng(seed)
    cons, vows = list("bcdfghklmnprstvz"), list("aeiou")
    words: list[str] = []
    while len(words) < size:
        w = "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.integers(2, 5)))
        if w not in words[-50:]:
            words.append(w)
    words = list(dict.fromkeys(words))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(words))
    return words


def batch_rows(cfg: ScaleConfig, start: int, stop: int, vocab: list[str], enc: StandInEncoder):
    """Records and vectors for rows [start, stop): deterministic in (seed, start)."""
    from memlm.types import MemoryRecord

    rng = np.random.default_rng([cfg.seed, start])
    ranks = np.arange(1, len(vocab) + 1)
    p = (1.0 / ranks) / (1.0 / ranks).sum()
    t0 = datetime(2023, 1, 1, tzinfo=timezone.utc)
    now = datetime.now(timezone.utc)
    records, vectors = [], np.zeros((stop - start, cfg.dim), np.float32)
    for j, i in enumerate(range(start, stop)):
        user, n = divmod(i, cfg.per_user)
        idx = rng.choice(len(vocab), size=int(rng.integers(6, 21)), p=p)
        text = " ".join(vocab[x] for x in idx)
        vectors[j] = unit(enc.table[idx].sum(axis=0))
        # meant as the id's random high bits, but numpy's int64 << 64 is 0, so ids are UUID(int=i);
        # the draw stays so that the rows' texts are those of the runs measured so far
        rng.integers(0, 2**63)
        records.append(MemoryRecord(
            id=uuid.UUID(int=i).hex, kind="episode", text=text,
            user_id=f"user{user:05d}", session_id=f"s{n // 20:03d}", role="user" if n % 2 == 0 else "assistant",
            created_at=now, updated_at=now, occurred_at=t0 + timedelta(hours=i % 10_000)))
    return records, vectors


PG_BUILD_MEMORY = "6GB"  # maintenance_work_mem for the HNSW build (1GB spills at 1M rows and takes > 30 min)


def ingest(cfg: ScaleConfig, store, vocab: list[str], enc: StandInEncoder) -> tuple[float, float]:
    """Insert every row in batches through Store.insert, in the store's bulk-load mode (PostgreSQL:
    the HNSW index built once at the end; SQLite: the FTS5 index merged at the end), that final
    step's time included; returns (rows per second, final index step seconds). Generating the
    rows is not timed."""
    spent, build = 0.0, 0.0
    bulk = getattr(store, "bulk_load", None)
    # PostgreSQL: enough maintenance memory for the HNSW graph of 1M x 384 to be built in memory
    ctx = (bulk(maintenance_work_mem=PG_BUILD_MEMORY) if cfg.backend == "postgres" else bulk()) \
        if bulk is not None else contextlib.nullcontext()
    ctx.__enter__()
    for start in range(0, cfg.rows, cfg.batch):
        records, vectors = batch_rows(cfg, start, min(cfg.rows, start + cfg.batch), vocab, enc)
        t = time.perf_counter()
        store.insert(records, vectors)
        spent += time.perf_counter() - t
    t = time.perf_counter()
    ctx.__exit__(None, None, None)
    build = time.perf_counter() - t
    return cfg.rows / (spent + build), build


def size_bytes(cfg: ScaleConfig, store) -> int:
    if cfg.backend == "postgres":
        return int(store.sql("SELECT pg_database_size(current_database())")[0][0])
    return sum(p.stat().st_size for p in Path(cfg.target).parent.glob(Path(cfg.target).name + "*"))


def run_one(cfg: ScaleConfig) -> dict:
    """Build the store, ingest, then time per-user searches (cold: the owner's rows loaded from
    the database; warm: from the in-process owner cache)."""
    from memlm.stores import open_store

    vocab = vocabulary(seed=cfg.seed)
    enc = StandInEncoder(vocab, cfg.dim, cfg.seed)
    store = open_store(cfg.target)
    store.check_encoder(enc.name, enc.dim)
    rate, build = ingest(cfg, store, vocab, enc)
    if cfg.backend == "postgres":
        store.sql("VACUUM ANALYZE memories")
    out = {"backend": cfg.backend, "rows": cfg.rows, "users": cfg.rows // cfg.per_user, "per_user": cfg.per_user,
           "dim": cfg.dim, "embedding": STANDIN, "ingest_rows_per_s": round(rate, 1), "index_build_s": round(build, 1),
           "size_bytes": size_bytes(cfg, store), **measure_search(cfg, store, vocab, enc)}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    store.close()
    return out


def measure_search(cfg: ScaleConfig, store, vocab: list[str], enc: StandInEncoder) -> dict:
    """Per-user search latencies over a loaded store (see run_one)."""
    from memlm.config import MemoryConfig
    from memlm.engine import Memory

    mem = Memory(cfg.target, encoder=enc, store=store, config=MemoryConfig())
    minilm = _query_encoder() if cfg.with_embedding else None
    rng = np.random.default_rng(cfg.seed + 1)
    users = cfg.rows // cfg.per_user
    cold, warm, embed = [], [], []
    for _ in range(cfg.queries):
        user = int(rng.integers(0, users))
        query = " ".join(rng.choice(vocab[:3000], size=4))
        store._cache.clear()  # cold: this user's matrix comes from the database
        t = time.perf_counter()
        mem.search(query, user_id=f"user{user:05d}", k=cfg.k)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        mem.search(query, user_id=f"user{user:05d}", k=cfg.k)
        warm.append(time.perf_counter() - t)
        if minilm is not None:
            t = time.perf_counter()
            encode_queries(minilm, [query])
            embed.append(time.perf_counter() - t)
    out = {"search_cold_ms": _pct(cold), "search_warm_ms": _pct(warm)}
    if embed:
        out["search_cold_with_embedding_ms"] = _pct([c + e for c, e in zip(cold, embed)])
        out["query_embedding_ms"] = _pct(embed)
    return out


def _pct(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"p50": round(float(np.percentile(ms, 50)), 2), "p95": round(float(np.percentile(ms, 95)), 2)}


def _query_encoder():
    try:
        from memlm.encoders import get_encoder

        enc = get_encoder(None)  # the default (new stores'), as a user's query would be embedded
        encode_queries(enc, ["warm up"])
        return enc
    except Exception:  # the model is optional here: the with-embedding columns are left out
        return None


def run_isolated(cfg: ScaleConfig) -> dict:
    """run_one in a fresh process (clean peak RSS, no state carried between configurations)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_one, cfg).result()


def fresh_target(backend: str, rows: int, workdir: Path, pg_admin: str | None) -> str:
    """An empty store for one configuration: a new file, or a new database on the server."""
    if backend == "sqlite":
        path = workdir / f"scale-{rows}.db"
        for old in workdir.glob(path.name + "*"):
            old.unlink()
        return str(path)
    if pg_admin is None:
        raise ValueError("the postgres backend needs a server URL to create its database on")
    import psycopg

    name = f"memlm_scale_{rows}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_admin)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for backend, color in (("sqlite", "tab:blue"), ("postgres", "tab:orange")):
        rs = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["rows"])
        if not rs:
            continue
        x = [r["rows"] for r in rs]
        ax.plot(x, [r["search_cold_ms"]["p95"] for r in rs], "o-", color=color, label=f"{backend} p95 (cold)")
        ax.plot(x, [r["search_cold_ms"]["p50"] for r in rs], "o--", color=color, label=f"{backend} p50 (cold)")
        ax.plot(x, [r["search_warm_ms"]["p50"] for r in rs], "x:", color=color, label=f"{backend} p50 (warm)")
    ax.axhline(30, color="grey", lw=0.8, ls="--", label="target p95 30 ms")
    ax.set(xscale="log", yscale="log", xlabel="memories in the store (1,000 per user)",
           ylabel="per-user search latency (ms)",
           title="memlm per-user search vs store size\n(query embedding excluded; embedding stand-in)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def render(results: list[dict]) -> str:
    head = (f"{'backend':9} {'rows':>9} {'ingest rows/s':>13} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} "
            f"{'+embed p95':>10} {'size MB':>8} {'RSS MB':>7}")
    lines = [head]
    for r in results:
        emb = r.get("search_cold_with_embedding_ms", {}).get("p95", float("nan"))
        lines.append(f"{r['backend']:9} {r['rows']:>9,} {r['ingest_rows_per_s']:>13,.0f} "
                     f"{r['search_cold_ms']['p50']:>9.2f} {r['search_cold_ms']['p95']:>9.2f} "
                     f"{r['search_warm_ms']['p50']:>9.2f} {emb:>10.2f} {r['size_bytes'] / 2**20:>8.1f} "
                     f"{r['peak_rss_mb']:>7.0f}")
    return "\n".join(lines)


def as_dicts(cfgs: list[ScaleConfig]) -> list[dict]:
    return [asdict(c) for c in cfgs]
