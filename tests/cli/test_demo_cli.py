"""`memlm demo --lang zh`: the shipped Chinese conversation, remembered and recalled."""

from __future__ import annotations

import json
import re
import shlex
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from memlm.bench.locomo_data import load_locomo
from memlm.cli import main
from memlm.cli.demo import SAMPLE_ZH
from memlm.text import has_han

README = Path(__file__).resolve().parents[2] / "README.md"
ZH = Path(str(resources.files("memlm").joinpath("data", SAMPLE_ZH)))


def test_the_chinese_sample_is_a_well_formed_conversation():
    [conv] = load_locomo(ZH)
    ids = {t.dia_id for t in conv.turns}
    assert len(conv.sessions) >= 3 and all(s.when for s in conv.sessions)
    assert [s.when for s in conv.sessions] == sorted(s.when for s in conv.sessions)
    assert all(has_han(t.text) for t in conv.turns) and set(conv.speakers) == {t.speaker for t in conv.turns}
    assert len(conv.questions) >= 8 and {q.category for q in conv.questions} >= {1, 2, 4}
    for q in conv.questions:
        assert has_han(q.question) and q.evidence and set(q.evidence) <= ids, q.question


def test_demo_in_chinese_runs(monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    result = CliRunner().invoke(main, ["demo", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "sample-linyu-chenhao" in result.output and "林雨" in result.output
    assert "Q: 林雨现在住在哪里？" in result.output
    assert "Context block" in result.output and "# Memory" in result.output
    tokens = int(re.search(r"(\d+) tokens \(budget 400\)", result.output).group(1))
    assert 0 < tokens <= 400


def test_demo_in_chinese_recalls_with_the_multilingual_encoder(monkeypatch):
    monkeypatch.delenv("MEMLM_ENCODER", raising=False)
    monkeypatch.setenv("COLUMNS", "400")  # one line a question
    result = CliRunner().invoke(main, ["demo", "--lang", "zh", "--encoder", "e5", "-k", "3"])
    assert result.exit_code == 0, result.output
    asked = result.output.count("Q: ")
    recalled = len(re.findall(r":\s*recalled\)", result.output))
    assert asked >= 6 and recalled >= asked - 1, result.output
    # a relative Chinese date ("上个月" from 18 June: May) is read: the May turn gets the time part
    after = result.output[result.output.index("Q: 林雨上个月跑完了什么比赛？"):]
    first_hit = after.splitlines()[1]
    assert "D3:1" in first_hit and "time 1.00" in first_hit


def test_english_stays_the_default(monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    sample = str(resources.files("memlm").joinpath("data", "sample_conversation.json"))
    monkeypatch.setenv("MEMLM_LOCOMO", sample)
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0 and "Q: What is the name of Ana's dog?" in result.output
    # $MEMLM_LOCOMO names an English default: --lang zh does not take it
    zh = CliRunner().invoke(main, ["demo", "--lang", "zh"])
    assert zh.exit_code == 0 and "Q: 林雨现在住在哪里？" in zh.output


def test_demo_with_chinese_data_given(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    raw = json.loads(ZH.read_text(encoding="utf-8"))
    raw[0]["sample_id"] = "my-chat"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "--lang", "zh", "--data", str(path)])
    assert result.exit_code == 0 and "my-chat" in result.output


def test_demo_bad_language_and_missing_data(monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    bad = CliRunner().invoke(main, ["demo", "--lang", "fr"])
    assert bad.exit_code == 2 and "'fr' is not one of 'en', 'zh'" in bad.output
    missing = CliRunner().invoke(main, ["demo", "--lang", "zh", "--data", "/nonexistent.json"])
    assert missing.exit_code == 1 and "no such data file" in missing.output and "Traceback" not in missing.output


def test_readme_demo_lines_run(monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    lines = [line.split("#")[0].strip() for line in README.read_text().splitlines() if line.startswith("memlm demo")]
    assert "memlm demo --lang zh" in lines
    for line in lines:
        if "--lang zh" in line:
            result = CliRunner().invoke(main, shlex.split(line)[1:])
            assert result.exit_code == 0, (line, result.output)
