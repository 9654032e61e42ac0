"""Recall inside a large owner: each LoCoMo dev conversation hidden among N real memories.

An owner of `IndexConfig.exact_below` memories or more is scored by candidates (a coarse dense
pass, the BM25 matches and their session neighbours), not exhaustively. This measures what
that costs in recall and time on real text and real vectors: the owner holds N lines of
Shakespeare (speakers and sessions of 20 lines, embedded by the real encoder, dated before the
conversation) and then the conversation; LoCoMo's questions are asked as in `memlm bench locomo`.

    python benchmarks/research/large_owner.py [N]     # N distractors (default 22000); vectors cached

Prints, per setting: turn recall_any@10 / recall_all@10, agreement of the top 10 with
exhaustive scoring, and search p50 / p95 (ms, query embedding included).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from memlm.bench import locomo as lb
from memlm.bench.locomo_data import find_locomo, load_locomo
from memlm.config import IndexConfig, MemoryConfig, RecallConfig
from memlm.engine import Memory
from memlm.types import MemoryRecord

WORK = Path(os.environ.get("MEMLM_LARGE_OWNER_DIR", "/tmp/large_owner"))
SHAKESPEARE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tinyshakespeare" / "input.txt"


def distractor_lines(n: int) -> list[tuple[str, str]]:
    """(speaker, line) pairs of the play text, lines of 4+ words."""
    out, speaker = [], "Chorus"
    for line in SHAKESPEARE.read_text().splitlines():
        if re.fullmatch(r"[A-Z][A-Za-z ]+:", line.strip()):
            speaker = line.strip()[:-1].title()
        elif len(line.split()) >= 4:
            out.append((speaker, line.strip()))
    if len(out) < n:
        raise SystemExit(f"only {len(out)} lines available")
    return out[:n]


def vectors(mem: Memory, lines: list[tuple[str, str]]) -> np.ndarray:
    cache = WORK / f"distractors-{len(lines)}-{mem.encoder.name}.npy"
    if cache.exists():
        return np.load(cache)
    WORK.mkdir(parents=True, exist_ok=True)
    vecs = mem.encoder.encode([text for _, text in lines], progress=True)
    np.save(cache, vecs)
    return vecs


def fill(mem: Memory, user: str, lines: list[tuple[str, str]], vecs: np.ndarray) -> None:
    t0, now = datetime(2019, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc)
    records = [MemoryRecord(id=uuid.uuid4().hex, kind="episode", text=text, user_id=user, session_id=f"play/{i // 20}",
                            role=speaker, created_at=now, updated_at=now, occurred_at=t0 + timedelta(hours=i),
                            tenant=mem.tenant) for i, (speaker, text) in enumerate(lines)]
    with mem.store.bulk_load():
        for lo in range(0, len(records), 5000):
            mem.store.insert(records[lo : lo + 5000], vecs[lo : lo + 5000])


VARIANTS = {  # settings compared with the default
    "BM25 standardised over all n memories": RecallConfig(lexical_reference=10**9),
    "neighbours of all candidates": RecallConfig(neighbor_candidates=10**9),
    "neighbours of the best 100": RecallConfig(neighbor_candidates=100),
    "dense candidates 500": RecallConfig(dense_candidates=500),
    "lexical candidates 500": RecallConfig(lexical_candidates=500),
}


def main(n: int, variants: dict[str, RecallConfig] | None = None) -> dict:
    conversations = load_locomo(find_locomo(None))
    settings = {"exhaustive": MemoryConfig(index=IndexConfig(exact_below=10**9)),
                "candidates (default)": MemoryConfig(),
                **{name: MemoryConfig(recall=r) for name, r in (VARIANTS if variants is None else variants).items()}}
    db = WORK / f"large-{n}.db"
    if not db.exists():  # built once, then reused
        with Memory(db) as mem:
            lines = distractor_lines(n)
            vecs = vectors(mem, lines)
            for conv in conversations:
                fill(mem, conv.sample_id, lines, vecs)
            lb.ingest(mem, conversations, progress=False)
    if True:
        results, tops = {}, {}
        for name, config in settings.items():
            with Memory(db, config=config) as mem:
                outcomes, per_conversation = [], {}
                for conv in conversations:
                    mem.search("warm up", user_id=conv.sample_id)
                    asked = lb.ask(mem, conv, k=10, progress=False)
                    per_conversation[conv.sample_id] = lb.score(asked, {})["turn_recall_any"]["10"]
                    outcomes.extend(asked)
                scored = lb.score(outcomes, {})
                tops[name] = [o.ranked_turns for o in outcomes]
                results[name] = {"recall_any@10": scored["turn_recall_any"]["10"],
                                 "recall_all@10": scored["turn_recall_all"]["10"],
                                 "recall_any@10_per_conversation": per_conversation,
                                 "search_ms_p50": scored["search_ms_p50"], "search_ms_p95": scored["search_ms_p95"]}
        for name in results:
            same = [a == b for a, b in zip(tops[name], tops["exhaustive"])]
            results[name]["top10_as_exhaustive"] = round(float(np.mean(same)), 4)
    return {"distractors_per_owner": n, "questions": len(tops["exhaustive"]), "settings": results}


if __name__ == "__main__":
    start = time.perf_counter()
    out = main(int(sys.argv[1]) if len(sys.argv) > 1 else 22000)
    out["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(out, indent=2))
