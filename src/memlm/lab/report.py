"""`memlm lab report --train` / `--quick`: train every architecture on the memory tasks, write a table and plots.

(Plain `memlm lab report` re-plots the cached long runs instead: ``memlm.lab.report_cache``.)

Sections: MQAR (accuracy against number of pairs and recall distance; memory Transformer
against memory slots), haystack QA (bAbI task 1 hidden in Shakespeare: accuracy against
haystack length), loss curves, and LSTM gate activations on text (via ``memlm.nn.cells``).
Every run has a wall-clock cap (45 s with --train, about 22 minutes in all on 2 cores), too short for
most models to converge on MQAR: the converged comparisons are the cached runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from memlm.lab import plots
from memlm.lab.train import TrainConfig, evaluate, get_task, train
from memlm.nn import config_fields, get_model


@dataclass
class Budget:
    seconds: float  # wall-clock cap per training run
    max_iters: int  # step cap per training run
    batch_size: int  # sequences per step
    eval_iters: int  # validation batches per evaluation
    mqar_seq: int  # MQAR sequence length
    mqar_pairs: tuple[int, ...]  # numbers of key-value pairs swept
    mqar_slots: tuple[int, ...]  # memory slots swept for the memory Transformer
    hay_train: int  # haystack length used for training
    hay_eval: tuple[int, ...]  # haystack lengths evaluated
    segment: int  # memory Transformer segment length
    width: int  # model width (n_embd; LSTM/GRU hidden size is twice this)
    layers: int  # transformer layers
    lm_models: tuple[str, ...] = ("lstm", "gru", "transformer", "memory_transformer")
    qa_models: tuple[str, ...] = ("lstm", "gru", "transformer", "memory_transformer", "dmn")
    lr: float = 2e-3  # peak learning rate
    # extra MQAR rows: (label, model, config overrides); the short convolution lets one attention
    # layer do the key lookup, which is what makes MQAR learnable within the report's budget
    mqar_extra: tuple[tuple[str, str, dict[str, Any]], ...] = (("transformer+conv", "transformer", {"conv": 3}),)


FULL = Budget(seconds=45, max_iters=3000, batch_size=32, eval_iters=8, mqar_seq=64, mqar_pairs=(2, 4, 8, 16),
              mqar_slots=(1, 4, 16), hay_train=64, hay_eval=(64, 128, 256, 512), segment=16, width=64, layers=2)
QUICK = Budget(seconds=5, max_iters=3, batch_size=4, eval_iters=1, mqar_seq=32, mqar_pairs=(2, 4),
               mqar_slots=(2, 4), hay_train=64, hay_eval=(64, 128), segment=16, width=16, layers=1)


def model_kwargs(name: str, b: Budget, **extra: Any) -> dict[str, Any]:
    """Small model sizes per architecture, filtered to the fields its config has."""
    common = {"n_embd": b.width, "n_layer": b.layers, "n_head": 4 if b.width >= 32 else 2}
    sizes = {
        "lstm": {"n_embd": b.width, "n_hidden": 2 * b.width, "n_layer": 1},
        "gru": {"n_embd": b.width, "n_hidden": 2 * b.width, "n_layer": 1},
        "transformer": common,
        "memory_transformer": {**common, "segment_len": b.segment, "n_mem": 8},
        "dmn": {"n_embd": b.width, "hidden": b.width, "n_hidden": b.width},
    }
    kw = {**sizes.get(name, {}), **extra}
    try:
        names = config_fields(get_model(name)[0])
    except ImportError:
        return kw
    return {k: v for k, v in kw.items() if k in names}


class Report:
    """Collects rows, curves and plots while the experiments run."""

    def __init__(self, out: Path, b: Budget, seed: int, progress: bool) -> None:
        self.out, self.b, self.seed, self.progress = out, b, seed, progress
        self.rows: list[dict[str, Any]] = []
        self.curves: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.plots: list[str] = []
        self.notes: list[str] = []
        self.tables: list[tuple[str, dict[str, dict[int, float]]]] = []  # (title, model -> column -> value)

    def cfg(self, **kw: Any) -> TrainConfig:
        b = self.b
        base = dict(max_iters=b.max_iters, max_seconds=b.seconds, batch_size=b.batch_size, lr=b.lr, min_lr=b.lr / 10,
                    warmup_iters=min(100, b.max_iters // 10), eval_interval=max(1, b.max_iters // 10),
                    eval_iters=b.eval_iters, target_accuracy=0.995, seed=self.seed, weight_decay=0.0)
        return TrainConfig(**{**base, **kw})

    def fit(self, model: str, task_name: str, task: Any, setting: str, label: str, **model_kw: Any) -> dict[str, Any]:
        """Train one model and record a row and its loss curve."""
        res = train(model, task_name, {}, model_kw, self.cfg(), progress=self.progress, task=task, save=False)
        m = res["metrics"]
        self.rows.append({"task": task_name, "setting": setting, "model": label, "accuracy": m["accuracy"],
                          "loss": m["loss"], "iters": res["iters"], "seconds": res["seconds"]})
        self.curves.setdefault(f"{task_name} {setting}", {})[label] = res["history"]
        return res

    def add_plot(self, path: Path) -> None:
        self.plots.append(path.name)


def _attempt(report: Report, what: str, fn, *args: Any, **kwargs: Any) -> Any:
    """Run one experiment; a missing model or task becomes a note instead of a failure."""
    try:
        return fn(*args, **kwargs)
    except (ImportError, KeyError, ValueError, FileNotFoundError, TypeError) as exc:
        report.notes.append(f"{what} skipped: {type(exc).__name__}: {exc}")
        return None


def mqar_section(r: Report) -> None:
    """Accuracy against pairs, against distance (largest pairs), and against memory slots."""
    b = r.b
    by_pairs: dict[str, dict] = {}
    by_dist: dict[str, Any] = {}
    by_slots: dict[int, float] = {}
    runs: list[tuple[str, str, dict]] = [(m, m, {}) for m in b.lm_models] + list(b.mqar_extra)
    for pairs in b.mqar_pairs:
        task = get_task("mqar", seq_len=b.mqar_seq, n_pairs=pairs)
        for label, model, extra in runs:
            res = _attempt(r, f"mqar {label}", r.fit, model, "mqar", task, f"pairs={pairs}", label,
                           **model_kwargs(model, b, **extra))
            if res is None:
                continue
            by_pairs.setdefault(label, {})[pairs] = res["metrics"]["accuracy"]
            if pairs == max(b.mqar_pairs) and hasattr(task, "eval_by_distance"):
                gen = torch.Generator().manual_seed(r.seed + 7)
                by_dist[label] = task.eval_by_distance(res["module"], max(1, b.eval_iters), gen)
    task = get_task("mqar", seq_len=b.mqar_seq, n_pairs=max(b.mqar_pairs))
    for slots in b.mqar_slots:
        label = f"memory_transformer M={slots}"
        res = _attempt(r, label, r.fit, "memory_transformer", "mqar", task, f"pairs={max(b.mqar_pairs)}", label,
                       **model_kwargs("memory_transformer", b, n_mem=slots))
        if res is not None:
            by_slots[slots] = res["metrics"]["accuracy"]
    r.add_plot(plots.line_plot(r.out / "mqar_pairs.png", by_pairs, f"MQAR (sequence {b.mqar_seq})",
                               "key-value pairs", "accuracy", logx=True))
    r.add_plot(plots.line_plot(r.out / "mqar_distance.png", by_dist, f"MQAR, {max(b.mqar_pairs)} pairs",
                               "key-to-query distance (bucket)", "accuracy", logx=True))
    r.add_plot(plots.line_plot(r.out / "mqar_memory_slots.png", {"memory_transformer": by_slots},
                               f"Memory Transformer on MQAR ({max(b.mqar_pairs)} pairs, segment {b.segment})",
                               "memory slots", "accuracy", logx=True))


def haystack_section(r: Report) -> None:
    """Train at one haystack length, evaluate every model at several lengths."""
    b = r.b
    tasks = {n: get_task("haystack1", length=n) for n in sorted(set(b.hay_eval) | {b.hay_train})}
    by_len: dict[str, dict[int, float]] = {}
    for model in b.qa_models:
        res = _attempt(r, f"haystack {model}", r.fit, model, "haystack1", tasks[b.hay_train],
                       f"length={b.hay_train}", model, **model_kwargs(model, b))
        if res is None:
            continue
        for n in b.hay_eval:
            ev = _attempt(r, f"haystack {model} at {n}", evaluate, res["module"], tasks[n], "val",
                          max(2, b.eval_iters), b.batch_size, r.seed + 3)
            if ev is not None:
                by_len.setdefault(model, {})[n] = ev["accuracy"]
    r.add_plot(plots.line_plot(r.out / "haystack_length.png", by_len,
                               f"bAbI 1 in a haystack (trained at {b.hay_train} tokens)",
                               "haystack length (tokens)", "accuracy", logx=True))
    r.tables.append(("Haystack accuracy by length (tokens)", by_len))


def gates_section(r: Report) -> None:
    """Train a small LSTM on characters and plot its gates over a line of text."""
    b = r.b
    task = get_task("charlm", block_size=64)
    res = r.fit("lstm", "charlm", task, "block=64", "lstm", n_embd=b.width, n_hidden=2 * b.width, n_layer=1)
    from memlm.nn.cells import lstm_gates

    text = "ROMEO:\nWhat light through yonder window breaks?"
    idx = torch.tensor([task.encode(text)])
    gates = lstm_gates(res["module"], idx)[0]  # layer 1: name -> (1, T, H)
    r.add_plot(plots.gate_heatmaps(r.out / "lstm_gates.png", {k: v[0].T.numpy() for k, v in gates.items()}, text))


def markdown(r: Report) -> str:
    """The report's markdown: the main table, extra tables, plots and notes."""
    lines = ["# Memory lab report", "", "| task | setting | model | accuracy | val loss | iters | seconds |",
             "|---|---|---|---:|---:|---:|---:|"]
    for row in r.rows:
        lines.append(f"| {row['task']} | {row['setting']} | {row['model']} | {row['accuracy']:.3f} | "
                     f"{row['loss']:.3f} | {row['iters']} | {row['seconds']:.0f} |")
    for title, table in r.tables:
        cols = sorted({n for v in table.values() for n in v})
        lines += ["", f"## {title}", "", "| model | " + " | ".join(map(str, cols)) + " |",
                  "|---|" + "---:|" * len(cols)]
        lines += [
            f"| {m} | " + " | ".join(f"{v.get(c, float('nan')):.3f}" for c in cols) + " |" for m, v in table.items()
        ]
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in r.plots]
    if r.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in r.notes]
    return "\n".join(lines) + "\n"


def run_report(out_dir: str | Path, quick: bool = False, seed: int = 1337, progress: bool = False) -> dict[str, Any]:
    """Run all sections; returns paths of the table and plots and the rows."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    r = Report(out, QUICK if quick else FULL, seed, progress)
    t0 = time.perf_counter()
    for name, section in (("mqar", mqar_section), ("haystack", haystack_section), ("gates", gates_section)):
        _attempt(r, f"section {name}", section, r)
    r.add_plot(plots.loss_curves(out / "loss_curves.png", r.curves))
    table = out / "report.md"
    table.write_text(markdown(r), encoding="utf-8")
    summary = {"table": str(table), "plots": [str(out / p) for p in r.plots], "rows": r.rows, "notes": r.notes,
               "seconds": round(time.perf_counter() - t0, 1)}
    (out / "report.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
