#!/usr/bin/env python
"""Does fine-tuning the retrieval encoder on LoCoMo questions help on an unseen conversation?

For each direction (train conversation A -> test conversation B) of the dev split's two
conversations:

1. pairs: every answerable question of A (categories 1-4, with evidence) x each of its
   evidence turns, the turn written as the engine embeds it (``memory_text``: "Speaker: text
   [shares a photo of caption]");
2. settings are chosen on A alone: A's questions are split 75/25 (seeded), every grid setting
   is trained on the 75 % and scored (dense MRR) on the 25 % over A's turns; the best setting
   is kept (B is never looked at);
3. that setting is trained on all of A's pairs, and the base and the fine-tuned encoder are
   scored on B: dense-only (cosine over B's turns: recall_any@5/@10, recall_all@10, MRR) and
   through the engine's hybrid search (`Memory.search`, BM25 + dense + the rest of recall,
   top 20: recall_any@5/@10, MRR@20).

Both encoders run on the torch fp32 backend, so the comparison is the weights alone.

Run (about 4 min per seed on 2 idle cores, much longer on busy ones):
    flock /tmp/memlm-heavy.lock .venv/bin/python benchmarks/research/locomo_adapt.py --seeds 0,1,2
Writes benchmarks/results/locomo_adapt.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from memlm.bench.locomo import answerable, ask, ingest
from memlm.bench.locomo_data import Conversation, Question, Turn, find_locomo, load_locomo
from memlm.encoders.finetune import FinetuneConfig, finetune
from memlm.encoders.minilm import MiniLMEncoder
from memlm.engine import Memory
from memlm.text import memory_text

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "results" / "locomo_adapt.json"
# max_seq_length 64 while training (88 % of LoCoMo turns fit; inference still reads 256) keeps a
# direction to a few minutes on 2 shared cores
BASE = FinetuneConfig(epochs=2, batch_size=16, lr=2e-5, scale=20.0, max_seq_length=64, seed=0)
# the settings tried on the training conversation's held-out questions (B is never used to choose)
GRID = [replace(BASE, lr=lr, epochs=epochs) for lr in (1e-5, 3e-5) for epochs in (1, 2)]
VAL_FRACTION = 0.25


def turn_text(turn: Turn) -> str:
    """A turn as the engine embeds it (bench.locomo.messages + Memory._write)."""
    meta = {"caption": turn.caption} if turn.caption else None
    return memory_text(turn.text or "(shares a photo)", turn.speaker, meta)


def pairs_of(conv: Conversation, questions: list[Question]) -> list[tuple[str, str]]:
    """(question, evidence turn text) for every evidence turn present in the conversation."""
    turns = {t.dia_id: t for t in conv.turns}
    return [(q.question, turn_text(turns[e])) for q in questions for e in dict.fromkeys(q.evidence) if e in turns]


def dense_scores(encoder: MiniLMEncoder, conv: Conversation, questions: list[Question]) -> dict[str, float]:
    """Rank all of the conversation's turns by cosine for each question."""
    turns = conv.turns
    ids = [t.dia_id for t in turns]
    sims = encoder.encode([q.question for q in questions]) @ encoder.encode([turn_text(t) for t in turns]).T
    ranked = [[ids[i] for i in np.argsort(-row, kind="stable")] for row in sims]
    return metrics(questions, ranked)


def metrics(questions: list[Question], ranked: list[list[str]]) -> dict[str, float]:
    out: dict[str, list[float]] = {"recall_any@5": [], "recall_any@10": [], "recall_all@10": [], "mrr": []}
    for q, order in zip(questions, ranked):
        gold = set(q.evidence)
        out["recall_any@5"].append(bool(gold & set(order[:5])))
        out["recall_any@10"].append(bool(gold & set(order[:10])))
        out["recall_all@10"].append(gold <= set(order[:10]))
        first = next((i for i, d in enumerate(order) if d in gold), None)
        out["mrr"].append(0.0 if first is None else 1.0 / (first + 1))
    return {k: round(float(np.mean(v)), 4) for k, v in out.items()} | {"questions": len(questions)}


def hybrid_scores(encoder: MiniLMEncoder, conv: Conversation) -> dict[str, float]:
    """The engine's recall (top 20) on a fresh memory file holding only this conversation."""
    with tempfile.TemporaryDirectory() as tmp, Memory(Path(tmp) / "m.db", encoder=encoder) as mem:
        ingest(mem, [conv], progress=False)
        outcomes = ask(mem, conv, k=20, progress=False)
    scores = metrics([o.question for o in outcomes], [o.ranked_turns for o in outcomes])
    scores["mrr@20"] = scores.pop("mrr")
    return scores


def train(pairs: list[tuple[str, str]], config: FinetuneConfig, work: Path, tag: str) -> tuple[MiniLMEncoder, dict]:
    out = work / tag
    result = finetune(pairs, out, config, progress=True)
    return MiniLMEncoder("torch", model_dir=out), result.to_dict()


def choose(conv: Conversation, base: MiniLMEncoder, work: Path, seed: int) -> tuple[FinetuneConfig, list[dict]]:
    """The grid setting with the best dense MRR on the training conversation's held-out questions."""
    questions = answerable(conv)
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    n_val = max(1, int(len(order) * VAL_FRACTION))
    val = [questions[i] for i in sorted(order[:n_val])]
    fit = [questions[i] for i in sorted(order[n_val:])]
    rows = [{"setting": "base", "val": dense_scores(base, conv, val)}]
    for i, config in enumerate(GRID):
        encoder, info = train(pairs_of(conv, fit), replace(config, seed=seed), work, f"{conv.sample_id}-grid{i}")
        rows.append({"setting": {"lr": config.lr, "epochs": config.epochs}, "steps": info["steps"],
                     "train_seconds": info["seconds"], "val": dense_scores(encoder, conv, val)})
        shutil.rmtree(work / f"{conv.sample_id}-grid{i}")
        print(f"  {conv.sample_id} val lr={config.lr} epochs={config.epochs}: {rows[-1]['val']}", flush=True)
    best = max(range(len(GRID)), key=lambda i: rows[i + 1]["val"]["mrr"])
    return GRID[best], rows


def direction(train_conv: Conversation, test_conv: Conversation, base: MiniLMEncoder, base_scores: dict,
              work: Path, seed: int, hybrid: bool) -> dict:
    print(f"== train {train_conv.sample_id} -> test {test_conv.sample_id}", flush=True)
    config, grid = choose(train_conv, base, work, seed)
    pairs = pairs_of(train_conv, answerable(train_conv))
    tuned, info = train(pairs, replace(config, seed=seed), work, f"{train_conv.sample_id}-final")
    questions = answerable(test_conv)
    result = {"train": train_conv.sample_id, "test": test_conv.sample_id, "seed": seed, "pairs": len(pairs),
              "chosen": {"lr": config.lr, "epochs": config.epochs}, "selection": grid, "training": info,
              "dense": {"base": base_scores["dense"], "tuned": dense_scores(tuned, test_conv, questions)}}
    if hybrid:
        result["hybrid"] = {"base": base_scores["hybrid"], "tuned": hybrid_scores(tuned, test_conv)}
    shutil.rmtree(work / f"{train_conv.sample_id}-final")
    print(json.dumps({k: result[k] for k in ("chosen", "dense", *(["hybrid"] if hybrid else []))}), flush=True)
    return result


def table(results: list[dict]) -> str:
    lines = [
        "| train -> test | seed | search | encoder | R@5 | R@10 | Rall@10 | MRR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for mode in ("dense", "hybrid"):
            for which in ("base", "tuned"):
                if mode not in r:
                    continue
                s = r[mode][which]
                mrr = s.get("mrr", s.get("mrr@20"))
                lines.append(
                    f"| {r['train']} -> {r['test']} | {r['seed']} | {mode} | {which} | {s['recall_any@5']:.3f} | "
                    f"{s['recall_any@10']:.3f} | {s['recall_all@10']:.3f} | {mrr:.3f} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="LoCoMo JSON (default: the dev split)")
    parser.add_argument("--seeds", default="0", help="comma-separated: each seed re-splits, re-shuffles, retrains")
    parser.add_argument("--no-hybrid", action="store_true", help="dense-only (skips the engine runs)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    seeds = [int(x) for x in args.seeds.split(",")]
    convs = load_locomo(find_locomo(args.data))
    if len(convs) < 2:
        raise SystemExit("needs at least two conversations")
    a, b = convs[:2]
    base = MiniLMEncoder("torch")
    start = time.perf_counter()
    base_scores = {
        c.sample_id: {
            "dense": dense_scores(base, c, answerable(c)),
            "hybrid": None if args.no_hybrid else hybrid_scores(base, c),
        }
        for c in (a, b)
    }
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="locomo-adapt-") as tmp:
        for seed in seeds:
            for x, y in ((a, b), (b, a)):
                results.append(direction(x, y, base, base_scores[y.sample_id], Path(tmp), seed, not args.no_hybrid))
                write(args, base, results, start)
    print(write(args, base, results, start)["table"])
    print(f"wrote {args.out}")


def write(args: argparse.Namespace, base: MiniLMEncoder, results: list[dict], start: float) -> dict:
    """The report so far (written after each direction)."""
    report = {
        "data": str(find_locomo(args.data)),
        "base_encoder": base.name,
        "backend": "torch fp32",
        "defaults": asdict(BASE),
        "grid": [{"lr": c.lr, "epochs": c.epochs} for c in GRID],
        "val_fraction": VAL_FRACTION,
        "seeds": args.seeds,
        "complete": len(results) == 2 * len(args.seeds.split(",")),
        "results": results,
        "seconds": round(time.perf_counter() - start, 1),
        "table": table(results),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
