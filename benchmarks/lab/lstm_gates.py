"""LSTM gates for the lab report: a char-LM LSTM trained on tiny Shakespeare, its input / forget /
output gates and cell state over one line of text, written as JSON for `memlm lab report`.

Run: .venv/bin/python benchmarks/lab/lstm_gates.py [--seconds 120] [--out benchmarks/lab/results/lstm_gates.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from memlm.lab.train import TrainConfig, evaluate, get_task, train
from memlm.nn.cells import lstm_gates

TEXT = "ROMEO:\nWhat light through yonder window breaks?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120, help="training budget")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--units", type=int, default=32, help="hidden units kept per gate")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--out", default="benchmarks/lab/results/lstm_gates.json")
    args = ap.parse_args()
    task = get_task("charlm", block_size=64)
    kw = dict(n_layer=1, n_embd=64, n_hidden=128)
    cfg = TrainConfig(max_iters=100_000, max_seconds=args.seconds, batch_size=32, lr=2e-3, min_lr=2e-4,
                      warmup_iters=100, weight_decay=0.0, eval_interval=100, eval_iters=4, seed=args.seed,
                      num_threads=args.threads, out_dir="out/lab/bench")
    res = train("lstm", "charlm", {"block_size": 64}, kw, cfg, task=task, save=False)
    final = evaluate(res["module"], task, "val", 20, 32, seed=98)
    with torch.no_grad():
        gates = lstm_gates(res["module"], torch.tensor([task.encode(TEXT)]))[0]  # name -> (1, T, H)
    out = {"command": "python benchmarks/lab/lstm_gates.py " + " ".join(sys.argv[1:]), "threads": args.threads,
           "model": "lstm", "config": kw, "iters": res["iters"], "seconds": res["seconds"], "val_loss": final["loss"],
           "bits_per_char": final.get("bits_per_char"), "history": res["history"], "text": TEXT,
           "gates": {k: v[0, :, : args.units].T.tolist() for k, v in gates.items()}}  # name -> units x T
    print(json.dumps({k: v for k, v in out.items() if k not in ("gates", "history")}), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
