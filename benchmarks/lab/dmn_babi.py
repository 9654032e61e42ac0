"""Train the DMN+ on bAbI (or haystack) tasks and report exact test accuracy.

    python benchmarks/lab/dmn_babi.py --tasks babi1 babi1-real --max-seconds 240
    python benchmarks/lab/dmn_babi.py --tasks babi2 babi3 --max-iters 3000 --json out/lab/dmn.jsonl
    python benchmarks/lab/dmn_babi.py --tasks haystack1 --length 1024 --max-seconds 300
    python benchmarks/lab/dmn_babi.py --tasks babi2 babi3 --gate-weight 1 --max-seconds 1200 \
        --json benchmarks/lab/results/dmn_babi.jsonl

``--gate-weight W`` turns on gate supervision with the supporting facts. The bAbI tasks always
mark their supporting facts here (``support=True``; without gate supervision the DMN ignores the
marks), so every run also reports ``gate_hits``: per pass k, the share of test questions whose
largest attention gate falls on the k-th supporting fact (reasoning order).

Uses the lab's training loop (memlm.lab.train) when present, else a minimal Adam loop.
Accuracy is measured on every validation example (the real test file for ``babi1-real``,
1,000 generated questions from another seed otherwise), not on sampled batches.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from memlm.lab.tasks import get_task
from memlm.nn.dmn import DMN, DMNConfig

DEFAULT_TASKS = ["babi1", "babi1-real", "babi2", "babi3", "babi6", "babi7", "babi8", "babi9", "babi11"]


@torch.no_grad()
def exact_accuracy(model: torch.nn.Module, task: Any, split: str = "val", batch_size: int = 256) -> float:
    """Accuracy over every example of a split."""
    model.eval()
    correct = total = 0
    for x, y in task.iter_batches(split, batch_size):
        logits, _ = model(x)
        correct += int((logits[:, -1].argmax(-1) == y[:, -1]).sum())
        total += len(x)
    return correct / total


@torch.no_grad()
def gate_hits(model: DMN, task: Any, batch_size: int = 256) -> list[float]:
    """Per pass k: share of questions with a k-th supporting fact whose argmax gate is on it."""
    from memlm.nn.dmn import parse, support_targets

    model.eval()
    K = model.config.n_hops
    hits, counts = torch.zeros(K), torch.zeros(K)
    for x, y in task.iter_batches("val", batch_size):
        model(x)
        sup = support_targets(y, parse(x, model.config)["sep_fact"], K)  # (B, K)
        valid = sup >= 0
        hits += ((model.last_gates.argmax(-1) == sup) & valid).sum(0).float()
        counts += valid.sum(0).float()
    return [round(float(h / c), 3) if c else float("nan") for h, c in zip(hits, counts)]


def n_examples(task: Any, split: str) -> int:
    """Questions in a split (haystack tasks keep those whose story fits the length)."""
    return len(task.stories[split]) if hasattr(task, "stories") else len(task.examples[split])


def simple_loop(task: Any, model_kwargs: dict[str, Any], args: argparse.Namespace) -> tuple[DMN, int, list]:
    """Fallback: Adam, constant learning rate, until max_iters or max_seconds."""
    model = DMN(DMNConfig(**task.model_overrides(), **model_kwargs))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen, t0, it = torch.Generator().manual_seed(args.seed), time.perf_counter(), 0
    while it < args.max_iters and time.perf_counter() - t0 < args.max_seconds:
        _, loss = model(*task.batch("train", args.batch_size, gen))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        it += 1
    return model, it, []


def lab_loop(task: Any, model_kwargs: dict[str, Any], args: argparse.Namespace) -> tuple[DMN, int, list]:
    """The lab's training loop (memlm.lab.train.train)."""
    from memlm.lab.train import TrainConfig, train

    cfg = TrainConfig(
        max_iters=args.max_iters, batch_size=args.batch_size, lr=args.lr, min_lr=args.lr / 10,
        warmup_iters=50, weight_decay=args.weight_decay, eval_interval=args.eval_interval, eval_iters=8,
        target_accuracy=1.0, max_seconds=args.max_seconds, seed=args.seed, num_threads=args.threads,
    )
    result = train("dmn", task.name, model_kwargs=model_kwargs, cfg=cfg, task=task, save=False)
    curve = [(h["iter"], round(h["seconds"]), round(h["accuracy"], 3)) for h in result["history"]]
    return result["module"], result["iters"], curve


def run(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train on one task; returns the measured figures."""
    task_kwargs = {"n_train": args.n_train} | ({} if name.endswith("-real") else {"seed": args.data_seed})
    if name.startswith("haystack"):
        task_kwargs["length"] = args.length
    else:
        task_kwargs |= {"support": True} | ({"max_facts": args.max_facts} if args.max_facts else {})
    task = get_task(name, **task_kwargs)
    model_kwargs = {"n_embd": args.n_hidden, "n_hidden": args.n_hidden, "n_hops": args.hops, "dropout": args.dropout,
                    "gate_weight": args.gate_weight}
    torch.manual_seed(args.seed)
    try:
        import memlm.lab.train  # noqa: F401

        loop, loop_name = lab_loop, "memlm.lab.train"
    except ImportError:
        loop, loop_name = simple_loop, "simple"
    t0 = time.perf_counter()
    model, iters, curve = loop(task, model_kwargs, args)
    seconds = time.perf_counter() - t0
    acc = exact_accuracy(model, task)
    hits = gate_hits(model, task) if getattr(task, "support", False) else []
    if name.startswith("haystack"):
        name = f"{name}@{args.length}"
    return {"task": name, "test_accuracy": round(acc, 4), "test_error_pct": round(100 * (1 - acc), 2),
            "iters": iters, "seconds": round(seconds, 1), "n_train": n_examples(task, "train"),
            "n_test": n_examples(task, "val"), "loop": loop_name, **model_kwargs, "max_facts": args.max_facts,
            "lr": args.lr, "batch_size": args.batch_size, "gate_hits": hits,
            "curve (iter, s, sampled val acc)": curve}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    p.add_argument("--n-train", type=int, default=10_000, help="training questions")
    p.add_argument("--max-iters", type=int, default=5000)
    p.add_argument("--max-seconds", type=float, default=300.0, help="wall-clock budget per task")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--n-hidden", type=int, default=80)
    p.add_argument("--hops", type=int, default=3)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--gate-weight", type=float, default=0.0, help="gate supervision weight (0 = off)")
    p.add_argument("--max-facts", type=int, default=0, help="keep only the last N facts of a story (0 = all)")
    p.add_argument("--eval-interval", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--length", type=int, default=1024, help="haystack tasks: tokens per example")
    p.add_argument("--json", type=Path, default=None, help="append one JSON line per task")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print("| task | test acc | error % | iters | seconds |\n|---|---|---|---|---|", flush=True)
    for name in args.tasks:
        r = run(name, args)
        print(f"| {r['task']} | {r['test_accuracy']:.4f} | {r['test_error_pct']} | {r['iters']} | {r['seconds']} |"
              f" gate hits {r['gate_hits']}", flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            with args.json.open("a") as f:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
