"""Recall with the forget gate's strength prior on vs off (issue 14), LoCoMo / MemoryBank dev.

Recall events happen when memories are recalled into a context, so the measurement replays each
conversation's questions in order: each question is searched (k=10) and scored, then its top
RECALLED hits are counted as recalled into a context (`Store.note_recalls`, at the
conversation's last session time, as `Memory.context` would), so later questions see the
strength earlier ones built. Both conditions replay the same way from the same ingested file
(copied); "off" (strength_weight 0) ignores the counts, "on" mixes them into the score.
The prior re-ranks the k hits the retriever returns (recall/strength.py's strength_prior), so with k=10 it
cannot change which turns are in the top 10 (any@10 / all@10), only their order: any@1 / any@5
show that, and top10_reordered counts the questions whose top 10 changed order.

    PYTHONPATH=src OMP_NUM_THREADS=1 nice python benchmarks/research/strength.py DATA.json [...]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from memlm.bench import locomo as lb
from memlm.bench.locomo_data import load_locomo
from memlm.config import MemoryConfig, RecallConfig
from memlm.engine import Memory

K = 10
RECALLED = 5  # hits per question counted as recalled into a context
WEIGHTS = (0.0, 0.1, 0.3)


def replay(db: Path, conversations, weight: float) -> dict:
    config = MemoryConfig(recall=RecallConfig(strength_weight=weight))
    outcomes = []
    with Memory(db, config=config) as mem:
        for conv in conversations:
            now = max((s.when for s in conv.sessions if s.when), default=None)
            for q in lb.answerable(conv):
                hits = mem.search(q.question, user_id=conv.sample_id, k=K, now=now)
                ranked = [h.memory.metadata.get("dia_id") for h in hits]
                outcomes.append(lb.Outcome(q, ranked, 0.0, []))
                mem.store.note_recalls(mem.tenant, [h.memory.id for h in hits[:RECALLED]], now)
    scored = lb.score(outcomes, {})
    return {"questions": scored["questions"], "any@1": scored["turn_recall_any"]["1"],
            "any@5": scored["turn_recall_any"]["5"], "any@10": scored["turn_recall_any"]["10"],
            "all@10": scored["turn_recall_all"]["10"], "ranked": [o.ranked_turns for o in outcomes]}


def main(paths: list[str]) -> None:
    for path in paths:
        conversations = load_locomo(Path(path))
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp) / "base.db"
            with Memory(base) as mem:
                lb.ingest(mem, conversations, progress=False)
                encoder = mem.encoder.name
            out: dict = {"data": path, "encoder": encoder}
            off = None
            for w in WEIGHTS:
                db = Path(tmp) / f"w{w}.db"
                for suffix in ("", "-wal"):  # closed, so normally checkpointed; the log too if left
                    if Path(f"{base}{suffix}").exists():
                        shutil.copy(f"{base}{suffix}", f"{db}{suffix}")
                result = replay(db, conversations, w)
                ranked = result.pop("ranked")
                off = ranked if off is None else off
                # questions whose top 10 (order included) differs from the prior off: the prior acted
                result["top10_reordered"] = sum(a != b for a, b in zip(ranked, off))
                out[f"strength_weight={w}"] = result
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
