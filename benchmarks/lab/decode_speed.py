"""Decoding speed of a translation checkpoint with and without its incremental step (the
Transformer's key/value cache, the GRU's recurrent state), and that both give the same output.

Run: .venv/bin/python benchmarks/lab/decode_speed.py out/lab/translate/translate-transformer-en-zh.pt \
         [--sentences 200] [--beam 4] [--threads 1]
Prints one JSON object: sentences per second for greedy (batched) and beam search (one sentence at a
time), each with the step and with the whole prefix decoded again at every token.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

import torch

from memlm.lab import translate_data as td
from memlm.lab.translate import heldout_pairs, load_translation
from memlm.nn.seq2seq import beam_decode, greedy_decode


class FullPrefix:
    """The same model without ``step``: every token decodes the whole prefix again."""

    def __init__(self, model: Any) -> None:
        self.encode, self.decode = model.encode, model.decode


def timed(fn) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--sentences", type=int, default=200, help="test sources decoded (a seeded sample)")
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--batch_size", type=int, default=64, help="greedy decoding batch")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, ckpt = load_translation(args.checkpoint)
    model.eval()
    src_vocab = ckpt["src_vocab"]
    max_len = ckpt["task"]["kwargs"].get("max_len", 60)
    sources = sorted({s for s, _ in heldout_pairs(ckpt)})
    sources = random.Random(0).sample(sources, min(args.sentences, len(sources)))
    ids = [td.source_ids(src_vocab, s, max_len + 1) for s in sources]
    batches = [td.pad_batch(ids[i:i + args.batch_size]) for i in range(0, len(ids), args.batch_size)]
    row: dict[str, Any] = {"checkpoint": args.checkpoint, "model": ckpt["model_name"], "sentences": len(ids),
                           "threads": args.threads, "beam": args.beam}
    for name, m in (("step", model), ("full_prefix", FullPrefix(model))):
        greedy, g_s = timed(lambda m=m: [o for b in batches for o in greedy_decode(m, b, max_len=max_len)])
        beams, b_s = timed(lambda m=m: [beam_decode(m, torch.tensor([i]), beam=args.beam, max_len=max_len)
                                        for i in ids])
        row[name] = {"greedy_sentences_per_s": round(len(ids) / g_s, 1),
                     "beam_sentences_per_s": round(len(ids) / b_s, 1)}
        row.setdefault("outputs", []).append((greedy, beams))
    (g1, b1), (g2, b2) = row.pop("outputs")
    row["same_greedy_output"] = sum(a == b for a, b in zip(g1, g2)) / len(g1)
    row["same_beam_output"] = sum(a == b for a, b in zip(b1, b2)) / len(b1)
    for kind in ("greedy", "beam"):
        key = f"{kind}_sentences_per_s"
        row[f"{kind}_speedup"] = round(row["step"][key] / row["full_prefix"][key], 2)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
