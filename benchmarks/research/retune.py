#!/usr/bin/env python
"""Re-tune RecallConfig for an encoder on the dev files, per conversation (leave-one-out).

Each file (LoCoMo dev, MemoryBank en / cn dev) is ingested once by the engine into a cached
SQLite file; query vectors are memoised, so each configuration costs only the searches.
For every configuration the script prints turn any@10 / all@10 per file and per
conversation; ``--loco`` then picks, for each held-out conversation, the best configuration
on the other conversations (the sum of any@10 + all@10 over their questions) and reports
how that choice scores on the held-out one.

    PYTHONPATH=src .venv/bin/python benchmarks/research/retune.py --encoder e5 \
        --grid lexical_weight=0.5,0.7,0.9 --grid prev_weight=0.2,0.3 --loco
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from memlm import Memory
from memlm.bench.locomo import answerable, ingest
from memlm.bench.locomo_data import find_locomo, load_locomo
from memlm.config import MemoryConfig, RecallConfig
from memlm.encoders import encode_queries, get_encoder

FILES = {"locomo": "locomo/locomo-dev.json", "mb-en": "memorybank/memorybank-en-dev.json",
         "mb-cn": "memorybank/memorybank-cn-dev.json"}


class MemoQueries:
    """The encoder, with query vectors memoised (the same questions are asked per configuration)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts, **kw):
        return self.inner.encode(texts, **kw)

    def encode_query(self, texts, **kw):
        missing = [t for t in texts if t not in self._memo]
        if missing:
            for t, v in zip(missing, encode_queries(self.inner, missing)):
                self._memo[t] = v
        return np.stack([self._memo[t] for t in texts])

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


def evaluate(db: Path, enc, convs, cfg: RecallConfig) -> dict[str, tuple[int, int, int]]:
    """Per conversation: (questions, any@10 hits, all@10 hits)."""
    out = {}
    with Memory(db, encoder=enc, config=MemoryConfig(recall=cfg)) as mem:
        for conv in convs:
            now = max((s.when for s in conv.sessions if s.when), default=None)
            n = a = al = 0
            for q in answerable(conv):
                hits = mem.search(q.question, user_id=conv.sample_id, k=10, now=now)
                top = {h.memory.metadata.get("dia_id") for h in hits}
                gold = set(q.evidence)
                n, a, al = n + 1, a + bool(gold & top), al + (gold <= top)
            out[conv.sample_id] = (n, a, al)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="e5")
    ap.add_argument("--files", default="locomo,mb-en,mb-cn")
    ap.add_argument("--grid", action="append", default=[], help="FIELD=v1,v2,... (RecallConfig field)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/memlm-retune"))
    ap.add_argument("--loco", action="store_true", help="leave-one-conversation-out selection")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    enc = MemoQueries(get_encoder(args.encoder))
    args.cache.mkdir(parents=True, exist_ok=True)
    shared = find_locomo(None).parent.parent  # ../shared/data
    data = {}
    for key in args.files.split(","):
        convs = load_locomo(shared / FILES[key])
        db = args.cache / f"{enc.name}-{key}.db"
        if not db.exists():
            with Memory(db, encoder=enc) as mem:
                ingest(mem, convs, progress=False)
        data[key] = (db, convs)
    axes = [(f, [type(getattr(RecallConfig(), f))(v) for v in vals.split(",")])
            for f, _, vals in (g.partition("=") for g in args.grid)]
    results = []
    for combo in itertools.product(*[vals for _, vals in axes]) if axes else [()]:
        overrides = dict(zip([f for f, _ in axes], combo))
        cfg = RecallConfig(**overrides)
        per = {}
        for key, (db, convs) in data.items():
            per |= {f"{key}/{cid}": v for cid, v in evaluate(db, enc, convs, cfg).items()}
        results.append((overrides, per))
        line = []
        for key in data:
            n, a, al = (sum(v[i] for c, v in per.items() if c.startswith(key + "/")) for i in range(3))
            line.append(f"{key} {a / n:.3f}/{al / n:.3f}")
        print(json.dumps(overrides), " | ".join(line), flush=True)
    if args.loco and len(results) > 1:
        convs_all = list(results[0][1])
        held = defaultdict(list)
        for c in convs_all:
            def train(per, c=c):
                return sum(v[1] + v[2] for k, v in per.items() if k != c and k.split("/")[0] == c.split("/")[0])
            best = max(results, key=lambda r: train(r[1]))
            held[c.split("/")[0]].append((c, best[0], best[1][c]))
        for key, rows in held.items():
            n, a, al = (sum(r[2][i] for r in rows) for i in range(3))
            print(f"LOCO {key}: held-out any@10 {a / n:.3f} all@10 {al / n:.3f}; choices:",
                  "; ".join(f"{c}: {json.dumps(o)}" for c, o, _ in rows))
    if args.json:
        args.json.write_text(json.dumps([{"config": o, "per_conversation": p} for o, p in results], indent=1))


if __name__ == "__main__":
    main()
