"""The LoCoMo reader and benchmark harness (fast encoder; the real one in test_semantic)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from memlm.bench.locomo_data import find_locomo, load_locomo
from memlm.cli import main

KEYS = {"questions", "turn_recall_any", "turn_recall_all", "session_recall_any", "ingest_turns_per_s",
        "search_ms_p50", "search_ms_p95"}


def test_reads_the_dev_split(locomo_path):
    convs = load_locomo(locomo_path)
    assert [c.sample_id for c in convs] == ["conv-26", "conv-30"]
    c = convs[0]
    assert c.speakers == ("Caroline", "Melanie")
    assert c.sessions[0].when.isoformat() == "2023-05-08T13:56:00+00:00"
    assert c.turns[0].dia_id == "D1:1" and len(c.turns) == 419
    assert all(e.startswith("D") for q in c.questions for e in q.evidence)


def test_shipped_sample_is_found_without_data(tmp_path, monkeypatch):
    monkeypatch.delenv("MEMLM_LOCOMO", raising=False)
    monkeypatch.chdir(tmp_path)
    path = find_locomo(None)
    convs = load_locomo(path)
    assert convs[0].questions and convs[0].sessions


def test_bench_cli_writes_the_json_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    from importlib import resources

    from memlm.bench.locomo_data import SAMPLE

    data = str(resources.files("memlm").joinpath("data", SAMPLE))
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["bench", "locomo", "--data", data, "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert set(r) >= KEYS and r["questions"] == 7
    assert set(r["turn_recall_any"]) == {"1", "5", "10", "20"} and set(r["session_recall_any"]) == {"5", "10"}
    assert all(r["turn_recall_all"][k] <= r["turn_recall_any"][k] for k in r["turn_recall_any"])
    assert r["turn_recall_any"]["20"] >= r["turn_recall_any"]["1"]
    assert json.loads(result.output)["questions"] == 7
    plain = CliRunner().invoke(main, ["bench", "locomo", "--data", data, "--quiet", "--plain"])
    assert "turn recall_any" in plain.output


def test_bench_missing_data_is_one_line_error():
    result = CliRunner().invoke(main, ["bench", "locomo", "--data", "/nonexistent.json", "--quiet"])
    assert result.exit_code == 1 and "no such data file" in result.output


def test_demo_runs_on_the_sample(monkeypatch, tmp_path):
    from importlib import resources

    from memlm.bench.locomo_data import SAMPLE

    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    data = str(resources.files("memlm").joinpath("data", SAMPLE))
    result = CliRunner().invoke(main, ["demo", "--data", data])
    assert result.exit_code == 0, result.output
    assert "Q: What is the name of Ana's dog?" in result.output
    assert "Context block" in result.output and "# Memory" in result.output


def test_bench_search_cli_reports_latency(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    out = tmp_path / "s.json"
    result = CliRunner().invoke(main, ["bench", "search", "--memories", "300", "--repeats", "1", "--quiet",
                                       "--json", str(out)])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["memories"] == 300 and r["searches"] == 8
    assert r["search_ms_p95"] >= r["search_ms_p50"] > 0 and r["query_embedding_ms_p50"] > 0
    bad = CliRunner().invoke(main, ["bench", "search", "--memories", "0", "--quiet"])
    assert bad.exit_code == 1 and "must be positive" in bad.output


def test_bench_server_drives_a_real_server(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    out = tmp_path / "srv.json"
    result = CliRunner().invoke(main, ["bench", "server", "--memories", "200", "--clients", "2", "--seconds", "3",
                                       "--max-requests", "40", "--add-share", "0.25", "--json", str(out)])
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    assert r["errors"] == 0 and r["search"]["count"] + r["add"]["count"] <= 40
    assert r["search"]["count"] > 0 and r["search"]["p95_ms"] >= r["search"]["p50_ms"] > 0
    assert r["server_cpu_ms_per_request"] > 0  # the server's processes did the work, measured from /proc


def test_tree_cpu_seconds_counts_a_process_and_its_children():
    import subprocess
    import sys

    from memlm.bench.server import tree_cpu_seconds

    burn = "import subprocess, sys, time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, '-c', "
                               f"{burn!r} + 'time.sleep(5)'])"])
    try:
        seen = 0.0
        for _ in range(100):  # the child burns 0.3 s of CPU, then sleeps: the parent's tree holds it
            seen = tree_cpu_seconds(parent.pid) or 0.0
            if seen >= 0.3:
                break
            import time

            time.sleep(0.1)
        assert seen >= 0.3
        assert tree_cpu_seconds(2**22 + 12345) is None  # no such process
    finally:
        parent.kill()
        parent.wait()


def test_reads_the_memorybank_twins(locomo_path):
    folder = locomo_path.parent.parent / "memorybank"
    if not folder.exists():
        import pytest

        pytest.skip("../shared/data/memorybank is not present")
    cn, en = load_locomo(folder / "memorybank-cn-dev.json"), load_locomo(folder / "memorybank-en-dev.json")
    assert len(cn) == len(en) == 5
    for a, b in zip(cn, en):  # twins: the same ten days and questions (evidence ids), in two languages
        assert len(a.sessions) == len(b.sessions) == 10 and abs(len(a.turns) - len(b.turns)) <= 4
        assert [q.evidence for q in a.questions] == [q.evidence for q in b.questions]
        assert a.speakers[1] == b.speakers[1] == "AI"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in cn[0].turns[0].text)


def test_bench_cli_runs_on_memorybank_chinese(locomo_path, monkeypatch):
    path = locomo_path.parent.parent / "memorybank" / "memorybank-cn-dev.json"
    if not path.exists():
        import pytest

        pytest.skip("../shared/data/memorybank is not present")
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    result = CliRunner().invoke(main, ["bench", "locomo", "--data", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert r["questions"] == 35 and r["conversations"] == 5 and r["encoder"] == "hashing-v1-256"
    assert 0 < r["turn_recall_any"]["10"] <= 1
