"""`memlm lab report` from cached long runs: re-plot committed benchmark JSON, no training.

The lab's comparisons only show differences once the models have converged, which takes far
longer than a report should (minutes per run on this 2-core machine). So the default report
reads the result JSON of the long runs in ``benchmarks/lab/results/`` and draws the tables and
plots from it; every table says its budget (seconds, steps, threads) and the command that
reproduces it. ``memlm lab report --train`` trains instead (``memlm.lab.report``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memlm.lab import plots

HAYSTACK_CMD = ("python benchmarks/lab/haystack.py --segment 64 --stages 1,2,4,8 --conv 6 --mem_gate "
                "--iters 4000,800,600,800 --stage_lr 2e-3,2e-3,2e-3,1e-3 --baselines transformer_window_S "
                "--baseline_seconds 300 --save out/lab/bench/hay_s64_gate.pt "
                "--out benchmarks/lab/results/haystack_s64_gate_iters.json")
CURRICULUM_CMD = "python benchmarks/lab/mqar.py --part attention --seconds 300 --threads 1"


@dataclass(frozen=True)
class Source:
    file: str  # JSON file name inside the results folder
    command: str  # the command that reproduces it when the file does not record one


SOURCES = {
    "mqar_rnn": Source("mqar_sweep_rnn.json", ""),  # LSTM/GRU at every number of pairs
    "mqar_attn": Source("mqar_sweep_attn.json", ""),  # Transformer (+conv), memory Transformer at every number of pairs
    "mqar_slots": Source("mqar_memory_slots.json", ""),  # memory Transformer against memory slots
    "mqar_curriculum": Source("mqar_attention.json", CURRICULUM_CMD),  # the 99.65% length-curriculum recipe
    "haystack": Source("haystack_s64_gate_iters.json", HAYSTACK_CMD),  # the 96.4% haystack recipe
    "gates": Source("lstm_gates.json", ""),  # a char-LM LSTM's gates over one line
}


class CacheError(ValueError):
    """A cached result file is missing or not what the report expects."""


def default_results_dir() -> Path:
    """benchmarks/lab/results of the working directory, else of this source checkout."""
    here = Path("benchmarks/lab/results")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "benchmarks" / "lab" / "results"


def load(results: Path, key: str) -> tuple[dict[str, Any], str]:
    """One cached file's JSON and the command that reproduces it; CacheError when missing or broken."""
    src = SOURCES[key]
    path = results / src.file
    if not path.is_file():
        raise CacheError(f"cached result {path} is missing; reproduce it with: {src.command or 'its benchmark'}"
                         " (or run `memlm lab report --train`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CacheError(f"cached result {path} is not valid JSON ({exc.__class__.__name__})") from None
    need = "gates" if key == "gates" else "results"
    if not isinstance(data, dict) or need not in data:
        raise CacheError(f"cached result {path} has no {need!r} field: not a lab benchmark result")
    return data, str(data.get("command") or src.command)


def _rows(data: dict[str, Any], path: str) -> list[dict[str, Any]]:
    rows = data["results"]
    ok = isinstance(rows, list) and all(isinstance(r, dict) and {"accuracy", "pairs"} <= set(r) for r in rows)
    if not ok:
        raise CacheError(f"cached result {path} has malformed MQAR rows (each needs accuracy and pairs)")
    return rows


def _label(row: dict[str, Any]) -> str:
    if "label" in row:
        return str(row["label"])
    conv = (row.get("config") or {}).get("conv")
    return f"{row.get('model', '?')}{'+conv' if conv else ''}"


class Tables:
    """Markdown tables with their budget and reproduce lines, and the plots drawn."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.lines: list[str] = []
        self.plots: list[str] = []
        self.tables: dict[str, Any] = {}
        self.curves: dict[str, dict[str, list]] = {}  # loss-curve panel -> model -> evaluation history

    def table(self, title: str, budget: str, command: str, cols: list[Any], body: dict[str, dict[Any, Any]],
              fmt: str = "{:.3f}") -> None:
        self.tables[title] = {"budget": budget, "command": command, "rows": body}
        self.lines += ["", f"## {title}", "", f"Budget: {budget}.", "", f"Reproduce: `{command}`", "",
                       "| model | " + " | ".join(map(str, cols)) + " |", "|---|" + "---:|" * len(cols)]
        for name, row in body.items():
            cells = [fmt.format(row[c]) if isinstance(row.get(c), (int, float)) else "-" for c in cols]
            self.lines.append(f"| {name} | " + " | ".join(cells) + " |")

    def plot(self, path: Path) -> None:
        self.plots.append(path.name)


def _budget(rows: list[dict[str, Any]], data: dict[str, Any]) -> str:
    secs = [float(r.get("seconds", 0)) for r in rows]
    iters = [int(r.get("iters", 0)) for r in rows]
    cap, steps = data.get("seconds_per_run"), data.get("max_iters")
    limit = " and ".join(([f"{steps} steps"] if steps else []) + ([f"{cap:g} s"] if cap else []))
    return f"{len(rows)} runs" + (f", at most {limit} each" if limit else "") + (
        f" (took {min(secs):.0f}-{max(secs):.0f} s, {min(iters)}-{max(iters)} steps; {sum(secs) / 60:.1f} min in all),"
        f" {data.get('threads', 1)} torch thread, early stop at 99.5% validation accuracy")


def mqar_tables(t: Tables, results: Path) -> None:
    """Accuracy against pairs and distance per architecture; memory Transformer against slots; the recipe."""
    by_pairs: dict[str, dict[Any, float]] = {}
    by_dist: dict[str, dict[Any, float]] = {}
    curves = t.curves
    budgets, commands, seq = [], [], None
    for key, who in (("mqar_rnn", "LSTM/GRU"), ("mqar_attn", "attention models")):
        data, cmd = load(results, key)
        rows = _rows(data, SOURCES[key].file)
        budgets.append(f"{who}: {_budget(rows, data)}")
        commands.append(cmd)
        top = max(r["pairs"] for r in rows)
        for r in rows:
            seq = r.get("seq_len", seq)
            by_pairs.setdefault(_label(r), {})[r["pairs"]] = r["accuracy"]
            if r["pairs"] == top:
                by_dist[_label(r)] = {int(k): v for k, v in (r.get("by_distance") or {}).items()}
                curves.setdefault(f"mqar pairs={top}", {})[_label(r)] = r.get("history") or []
    cols = sorted({p for v in by_pairs.values() for p in v})
    t.table(f"MQAR accuracy by number of key-value pairs (sequence {seq})", "; ".join(budgets),
            " && ".join(commands), cols, by_pairs)
    dcols = sorted({d for v in by_dist.values() for d in v})
    t.table(f"MQAR accuracy by key-to-query distance ({max(cols)} pairs, bucket = at most this distance)",
            "the same runs", " && ".join(commands), dcols, by_dist)
    t.plot(plots.line_plot(t.out / "mqar_pairs.png", by_pairs, f"MQAR (sequence {seq})", "key-value pairs",
                           "accuracy", logx=True))
    t.plot(plots.line_plot(t.out / "mqar_distance.png", by_dist, f"MQAR, {max(cols)} pairs",
                           "key-to-query distance (bucket)", "accuracy", logx=True))
    data, cmd = load(results, "mqar_slots")
    rows = _rows(data, SOURCES["mqar_slots"].file)
    slots = {int(r["config"]["n_mem"]): r["accuracy"] for r in rows}
    cfg = rows[0]["config"]
    what = f"segment {cfg.get('segment_len')}, {rows[0]['pairs']} pairs, sequence {rows[0].get('seq_len')}"
    t.table(f"Memory Transformer on MQAR by memory slots ({what})", _budget(rows, data), cmd, sorted(slots),
            {"memory_transformer": slots})
    sdist = {f"M={int(r['config']['n_mem'])}": {int(k): v for k, v in (r.get("by_distance") or {}).items()}
             for r in rows}
    t.plot(plots.line_plot(t.out / "mqar_memory_slots.png", {"memory_transformer": slots},
                           f"Memory Transformer on MQAR ({what})", "memory slots", "accuracy", logx=True))
    t.plot(plots.line_plot(t.out / "mqar_slots_distance.png", sdist, f"Memory Transformer by slots ({what})",
                           "key-to-query distance (bucket)", "accuracy", logx=True))
    for r in rows:
        curves.setdefault(f"memory slots ({rows[0]['pairs']} pairs)", {})[f"M={r['config']['n_mem']}"] = \
            r.get("history") or []
    data, cmd = load(results, "mqar_curriculum")
    rows = _rows(data, SOURCES["mqar_curriculum"].file)
    stages = {f"stage {i + 1}: sequence {r.get('seq_len')}": {"accuracy": r["accuracy"], "steps": r.get("iters"),
                                                                "seconds": r.get("seconds")}
              for i, r in enumerate(rows)}
    t.table(f"MQAR length curriculum, {_label(rows[0])} ({rows[0]['pairs']} pairs; scored at the last stage)",
            f"{sum(float(r.get('seconds', 0)) for r in rows):.0f} s in all, at most 300 s per stage, early stop at"
            " 99% (stage 1) / 99.5% (stage 2), 1 torch thread, batch 64", cmd, ["accuracy", "steps", "seconds"],
            stages, fmt="{:.4g}")


def haystack_table(t: Tables, results: Path) -> None:
    data, cmd = load(results, "haystack")
    res = data["results"]
    if not isinstance(res, dict) or not all(isinstance(v, dict) and "accuracy" in v for v in res.values()):
        raise CacheError(f"cached result {SOURCES['haystack'].file} has malformed haystack results")
    by_len = {m: {int(k): v for k, v in r["accuracy"].items()} for m, r in res.items()}
    cols = sorted({n for v in by_len.values() for n in v})
    secs = ", ".join(f"{m} {float(r.get('seconds', 0)):.0f} s" for m, r in res.items())
    t.table(f"Haystack QA (bAbI task 1 in Shakespeare) accuracy by length, segment/window {data.get('segment')}",
            f"{secs} of training, 1 torch thread; memory Transformer: curriculum 64/128/256/512 tokens, steps "
            "4000/800/600/800, early stop at 99%", cmd, cols, by_len)
    t.plot(plots.line_plot(t.out / "haystack_length.png", by_len,
                           f"bAbI 1 in a haystack (trained up to {data.get('target_length')} tokens)",
                           "haystack length (tokens)", "accuracy", logx=True))


def gates_plot(t: Tables, results: Path) -> dict[str, list]:
    data, cmd = load(results, "gates")
    gates, text = data["gates"], data.get("text", "")
    if not isinstance(gates, dict) or not gates:
        raise CacheError(f"cached result {SOURCES['gates'].file} has no gate activations")
    import numpy as np

    t.lines += ["", "## LSTM gates", "", f"Budget: {float(data.get('seconds', 0)):.0f} s, {data.get('iters')} steps, "
                f"{data.get('threads', 1)} torch thread (validation loss {float(data.get('val_loss', 0)):.3f}).",
                "", f"Reproduce: `{cmd}`"]
    t.plot(plots.gate_heatmaps(t.out / "lstm_gates.png", {k: np.asarray(v) for k, v in gates.items()}, text))
    return {"lstm": data.get("history") or []}


def report_from_cache(out_dir: str | Path, results_dir: str | Path | None = None) -> dict[str, Any]:
    """Tables and plots from the cached long runs; returns paths, the tables and the seconds taken."""
    t0 = time.perf_counter()
    results = Path(results_dir) if results_dir else default_results_dir()
    if not results.is_dir():
        raise CacheError(f"results folder {results} not found (pass --results)")
    for key in SOURCES:  # every file present and readable before anything is written
        load(results, key)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = Tables(out)
    mqar_tables(t, results)
    haystack_table(t, results)
    t.curves["charlm (LSTM gates run)"] = gates_plot(t, results)
    t.plot(plots.loss_curves(out / "loss_curves.png", t.curves))
    head = ["# Memory lab report (cached long runs)", "",
            f"Re-plotted from `{results}` by `memlm lab report`; every table gives its budget and the command that "
            "reproduces it. Measured on a 2-core CPU: the MQAR sweeps with one run per core and nothing else "
            "running, the curriculum, haystack and gates runs while other jobs shared the cores (slower than idle; "
            "docs/lab.md gives the load of each). `memlm lab report --train` trains a fresh set instead."]
    lines = head + t.lines + ["", "## Plots", ""] + [f"![{p}]({p})" for p in t.plots]
    table = out / "report.md"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = {"source": "cache", "results": str(results), "table": str(table),
               "plots": [str(out / p) for p in t.plots], "tables": t.tables,
               "seconds": round(time.perf_counter() - t0, 1)}
    (out / "report.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
