"""MQAR benchmark: attention at sequence 256 with 16 pairs; where LSTM/GRU fail as pairs grow;
how the memory Transformer's accuracy grows with memory slots.

Run: .venv/bin/python benchmarks/lab/mqar.py --part attention|rnn|memory [--seconds N]
Each part writes benchmarks/lab/results/mqar_PART.json (--out_dir to change). The attention part trains a 2-layer,
64-dim rotary Transformer with a short causal convolution before each attention (`conv=3`; `--conv 0` for plain
attention), lr 3e-3, weight decay 0.1, batch 64, with a length curriculum (sequence 64 until 99%, then 256; same 16
pairs) and is scored at 256.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from memlm.lab.train import TrainConfig, evaluate, get_task, train


def run(model: str, seq: int, pairs: int, model_kw: dict, args: argparse.Namespace, init=None,
        target: float = 0.995) -> dict:
    task = get_task("mqar", seq_len=seq, n_pairs=pairs)
    lr = args.lr or 3e-3
    wd = args.weight_decay if args.weight_decay >= 0 else (0.1 if model == "transformer" else 0.0)
    cfg = TrainConfig(max_iters=args.max_iters or 100_000, max_seconds=args.seconds, batch_size=args.batch_size, lr=lr,
                      min_lr=lr / 10, warmup_iters=50 if init is None else 10, weight_decay=wd, eval_interval=100,
                      eval_iters=4, target_accuracy=target, seed=args.seed, num_threads=args.threads,
                      out_dir="out/lab/bench")
    res = train(model, "mqar", {"seq_len": seq, "n_pairs": pairs}, model_kw, cfg, task=task, save=False,
                init_state=init)
    by_dist = task.eval_by_distance(res["module"], 8, torch.Generator().manual_seed(99))
    final = evaluate(res["module"], task, "val", 8, 64, seed=98)
    out = {"model": model, "seq_len": seq, "pairs": pairs, "config": model_kw, "iters": res["iters"],
           "seconds": res["seconds"], "stopped": res["stopped"], "accuracy": final["accuracy"],
           "examples": final["examples"], "by_distance": by_dist, "history": res["history"],
           "state": res["module"].state_dict()}
    print(json.dumps({k: v for k, v in out.items() if k not in ("state", "history")}), flush=True)
    return out


def sweep_model(label: str, args: argparse.Namespace) -> tuple[str, dict]:
    """A sweep label -> (architecture, config): 'transformer+conv' is the Transformer with conv=3."""
    attn = dict(n_layer=2, n_head=2, n_embd=64)
    if label in ("lstm", "gru"):
        return label, dict(n_layer=1, n_embd=64, n_hidden=128)
    if label == "memory_transformer":
        return label, {**attn, "segment_len": args.segment or args.seq // 4, "n_mem": 8, "conv": 3}
    conv = {"conv": 3} if label.endswith("conv") else {}
    return "transformer", {**attn, "pos": "rope", "block_size": args.seq, **conv}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["attention", "rnn", "memory", "sweep"], required=True)
    ap.add_argument("--models", default="lstm,gru,transformer,transformer+conv,memory_transformer",
                    help="sweep part: architectures trained at every --pairs")
    ap.add_argument("--segment", type=int, default=0, help="memory Transformer segment length (0: seq // 4)")
    ap.add_argument("--name", default="", help="result file suffix (default: the part)")
    ap.add_argument("--seconds", type=float, default=120, help="budget per training run")
    ap.add_argument("--max_iters", type=int, default=0,
                    help="step budget per training run, whichever of it and --seconds comes first (0: --seconds only)")
    ap.add_argument("--batch_size", type=int, default=0, help="0: 64 for the attention part, 32 for the others")
    ap.add_argument("--lr", type=float, default=0, help="peak learning rate (0: 3e-3)")
    ap.add_argument("--weight_decay", type=float, default=-1, help="-1: 0.1 for the Transformer, 0 for the others")
    ap.add_argument("--conv", type=int, default=3,
                    help="attention part: short-convolution kernel (0 = plain attention)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--seq", type=int, default=64, help="sequence length for the rnn and memory parts")
    ap.add_argument("--pairs", default="2,4,8,16")
    ap.add_argument("--slots", default="1,4,16")
    ap.add_argument("--mem_gate", action="store_true", help="memory part: gated slot update (the haystack recipe's)")
    ap.add_argument("--out_dir", default="benchmarks/lab/results")
    args = ap.parse_args()
    args.batch_size = args.batch_size or (64 if args.part == "attention" else 32)
    results = []
    if args.part == "attention":
        kw = dict(n_layer=2, n_head=2, n_embd=64, pos="rope", block_size=256, conv=args.conv)
        first = run("transformer", 64, 16, kw, args, target=0.99)
        results += [first, run("transformer", 256, 16, kw, args, init=first["state"])]
    elif args.part == "rnn":
        for pairs in map(int, args.pairs.split(",")):
            for model in ("lstm", "gru"):
                results.append(run(model, args.seq, pairs, dict(n_layer=1, n_embd=64, n_hidden=128), args))
    elif args.part == "sweep":
        for pairs in map(int, args.pairs.split(",")):
            for label in args.models.split(","):
                model, kw = sweep_model(label, args)
                results.append({**run(model, args.seq, pairs, kw, args), "label": label})
    else:
        pairs = max(map(int, args.pairs.split(",")))
        for slots in map(int, args.slots.split(",")):
            kw = dict(n_layer=2, n_head=2, n_embd=64, segment_len=args.segment or args.seq // 4, n_mem=slots,
                      mem_gate=args.mem_gate, **({"conv": args.conv} if args.conv else {}))
            results.append(run("memory_transformer", args.seq, pairs, kw, args))
    out = Path(args.out_dir) / f"mqar_{args.name or args.part}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [{k: v for k, v in r.items() if k != "state"} for r in results]
    meta = {"command": "python benchmarks/lab/mqar.py " + " ".join(sys.argv[1:]), "threads": args.threads,
            "seconds_per_run": args.seconds,
            **({"max_iters": args.max_iters} if args.max_iters else {})}
    out.write_text(json.dumps({**meta, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
