"""`memlm lab report --quick` writes the markdown table and the PNG plots."""

from __future__ import annotations

import json

from click.testing import CliRunner

from memlm.cli import main


def test_report_quick_writes_table_and_plots(tmp_path) -> None:
    res = CliRunner().invoke(main, ["lab", "report", "--quick", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    table = (tmp_path / "report.md").read_text()
    assert table.startswith("# Memory lab report") and "| task | setting | model |" in table
    for png in ("mqar_pairs.png", "mqar_distance.png", "mqar_memory_slots.png", "haystack_length.png",
                "loss_curves.png", "lstm_gates.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", png
        assert f"![{png}]({png})" in table
    models = {(r["task"], r["model"]) for r in summary["rows"]}
    for m in ("lstm", "gru", "transformer", "memory_transformer"):
        assert ("mqar", m) in models and ("haystack1", m) in models
    assert ("mqar", "transformer+conv") in models
    assert ("charlm", "lstm") in models
    assert "## Haystack accuracy by length" in table
    assert summary["notes"] == []
