"""`memlm lab report` re-plots cached long-run results: tables with budget and command, PNGs,
and a clear one-line error for a missing or corrupt cache file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from memlm.cli import main
from memlm.lab.report_cache import SOURCES, CacheError, default_results_dir, report_from_cache

PNGS = ("mqar_pairs.png", "mqar_distance.png", "mqar_memory_slots.png", "mqar_slots_distance.png",
        "haystack_length.png", "loss_curves.png", "lstm_gates.png")


def _mqar(label: str, pairs: int, acc: float, **cfg) -> dict:
    hist = [{"iter": i, "loss": 4.0 - i / 100, "accuracy": acc * i / 200} for i in (0, 100, 200)]
    return {"model": label.split("+")[0], "label": label, "seq_len": 64, "pairs": pairs, "config": cfg,
            "iters": 200, "seconds": 12.5, "accuracy": acc, "by_distance": {"4": acc, "16": acc / 2},
            "history": hist}


def write_cache(folder: Path) -> dict[str, float]:
    """A small, complete results folder; returns the accuracies written, to find them in the report."""
    acc = {"lstm": 0.123, "transformer+conv": 0.987, "slots16": 0.654, "hay": 0.912}
    runs = {
        "mqar_rnn": [_mqar("lstm", p, acc["lstm"]) for p in (2, 8)],
        "mqar_attn": [_mqar("transformer+conv", p, acc["transformer+conv"], conv=3) for p in (2, 8)],
        "mqar_slots": [_mqar("memory_transformer", 8, a, n_mem=m, segment_len=16)
                       for m, a in ((1, 0.2), (16, acc["slots16"]))],
        "mqar_curriculum": [_mqar("transformer", 16, 0.99, conv=3), _mqar("transformer", 16, 0.9965, conv=3)],
    }
    for key, rows in runs.items():
        data = {"command": f"python benchmarks/lab/mqar.py --fake {key}", "threads": 1, "seconds_per_run": 60,
                "results": rows, **({"max_iters": 5000} if key == "mqar_attn" else {})}
        (folder / SOURCES[key].file).write_text(json.dumps(data))
    hay = {"segment": 64, "target_length": 512, "results": {
        "memory_transformer": {"seconds": 800, "accuracy": {"64": 0.95, "512": acc["hay"]}},
        "transformer_window_S": {"seconds": 300, "accuracy": {"64": 0.47, "512": 0.32}}}}
    (folder / SOURCES["haystack"].file).write_text(json.dumps(hay))
    gates = {g: [[0.5] * 6 for _ in range(4)] for g in ("input", "forget", "output", "cell")}
    (folder / SOURCES["gates"].file).write_text(json.dumps(
        {"command": "python benchmarks/lab/lstm_gates.py", "seconds": 60, "iters": 500, "val_loss": 1.9,
         "text": "ROMEO:", "gates": gates, "history": [{"iter": 0, "loss": 4.1}, {"iter": 100, "loss": 2.5}]}))
    return acc


def test_report_from_cache_writes_tables_budgets_commands_and_plots(tmp_path) -> None:
    results, out = tmp_path / "results", tmp_path / "out"
    results.mkdir()
    acc = write_cache(results)
    summary = report_from_cache(out, results)
    table = (out / "report.md").read_text()
    for png in PNGS:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert f"![{png}]({png})" in table
    for value in acc.values():
        assert f"{value:.3f}" in table
    assert "python benchmarks/lab/mqar.py --fake mqar_rnn" in table and "lstm_gates.py" in table
    titles = list(summary["tables"])
    assert any("pairs" in t for t in titles) and any("slots" in t for t in titles)
    assert any("Haystack" in t for t in titles) and any("distance" in t for t in titles)
    assert all(t["budget"] and t["command"] for t in summary["tables"].values())
    assert table.count("Budget:") == table.count("Reproduce:") >= 6
    # a step budget recorded in the file is part of the budget; a file without one says seconds only
    assert "attention models: 2 runs, at most 5000 steps and 60 s each" in table
    assert "LSTM/GRU: 2 runs, at most 60 s each" in table
    assert json.loads((out / "report.json").read_text())["source"] == "cache"


@pytest.mark.parametrize("damage", ["missing", "not json", "wrong shape"])
def test_missing_or_corrupt_cache_file_is_a_one_line_cli_error(tmp_path, damage) -> None:
    results = tmp_path / "results"
    results.mkdir()
    write_cache(results)
    path = results / SOURCES["mqar_slots"].file
    if damage == "missing":
        path.unlink()
    else:
        path.write_text("{not json" if damage == "not json" else json.dumps({"rows": []}))
    with pytest.raises(CacheError, match=SOURCES["mqar_slots"].file):
        report_from_cache(tmp_path / "out", results)
    res = CliRunner().invoke(main, ["lab", "report", "--results", str(results), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert SOURCES["mqar_slots"].file in res.output and "Traceback" not in res.output


def test_cli_default_report_replots_cache_and_plain_prints_table(tmp_path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    write_cache(results)
    res = CliRunner().invoke(main, ["lab", "report", "--results", str(results), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["source"] == "cache"
    res = CliRunner().invoke(main, ["lab", "report", "--results", str(results), "--out", str(tmp_path / "p"),
                                    "--plain"])
    assert res.exit_code == 0 and res.output.startswith("# Memory lab report")
    res = CliRunner().invoke(main, ["lab", "report", "--train", "--quick"])
    assert res.exit_code != 0 and "exclude" in res.output


def test_committed_cache_renders(tmp_path) -> None:
    """The results committed in benchmarks/lab/results are complete and readable by the report."""
    results = default_results_dir()
    local = tmp_path / "results"
    local.mkdir()
    for src in SOURCES.values():
        shutil.copy(results / src.file, local / src.file)
    summary = report_from_cache(tmp_path / "out", local)
    assert len(summary["plots"]) == len(PNGS)
