"""Build the 1M-row scale stores once and measure per-user search on them later (docs/scaling.md).

    python benchmarks/research/scale_1m.py build postgres|sqlite     # ~15 / ~5 min on 2 cores
    find /tmp/scale1m -type f -exec cat {} + > /dev/null                # database files into the OS cache
    SEED=5 python benchmarks/research/scale_1m.py measure postgres|sqlite

Same data as `memlm bench scale --rows 1000000` (same seed); the stores are kept in
$MEMLM_SCALE_DIR (default /tmp/scale1m; pgserver's data dir there, left running) so the
search can be measured apart from the ingest, for users not searched before (SEED).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from memlm.bench import scale as sc
from memlm.stores import open_store

ROWS = 1_000_000
WORK = Path(os.environ.get("MEMLM_SCALE_DIR", "/tmp/scale1m"))


def target(backend: str, fresh: bool) -> str:
    if backend == "sqlite":
        return sc.fresh_target("sqlite", ROWS, WORK, None) if fresh else str(WORK / f"scale-{ROWS}.db")
    import pgserver

    admin = pgserver.get_server(WORK / "pgdata", cleanup_mode=None).get_uri()
    if fresh:
        return sc.fresh_target("postgres", ROWS, WORK, admin)
    return urlunsplit(urlsplit(admin)._replace(path=f"/memlm_scale_{ROWS}"))


def main(action: str, backend: str) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    vocab = sc.vocabulary(seed=0)
    enc = sc.StandInEncoder(vocab, 384, 0)
    url = target(backend, fresh=action == "build")
    cfg = sc.ScaleConfig(backend=backend, rows=ROWS, target=url, seed=int(os.environ.get("SEED", "0")),
                         queries=int(os.environ.get("QUERIES", "200")))
    store = open_store(url)
    store.check_encoder(enc.name, enc.dim)
    try:
        if action == "build":
            start = time.time()
            rate, build = sc.ingest(cfg, store, vocab, enc)
            if backend == "postgres":
                store.sql("VACUUM ANALYZE memories")
            return {
                "backend": backend,
                "ingest_rows_per_s": rate,
                "index_build_s": build,
                "wall_s": time.time() - start,
            }
        out = {
            "backend": backend,
            "rows": ROWS,
            "size_bytes": sc.size_bytes(cfg, store),
            **sc.measure_search(cfg, store, vocab, enc),
        }
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return out
    finally:
        store.close()


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
