"""Every `memlm memory` command through click's CLI runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memlm.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    monkeypatch.setenv("MEMLM_DB", str(tmp_path / "cli.db"))
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, ok: bool = True):
        result = runner.invoke(main, list(args), input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def test_add_search_get_list_history_delete(run):
    out = json.loads(run("memory", "add", "I grow tomatoes on my balcony", "--user", "u").output)
    assert out[0]["event"] == "ADD"
    mid = out[0]["id"]
    run("memory", "add", "any tips for basil?", "--role", "user", "--user", "u", "--session", "s1",
        "--when", "2024-05-01")
    hits = json.loads(run("memory", "search", "tomatoes balcony", "--user", "u", "-k", "1").output)
    assert hits[0]["memory"]["id"] == mid and 0 < hits[0]["score"] <= 1
    assert json.loads(run("memory", "get", mid).output)["text"] == "I grow tomatoes on my balcony"
    listed = json.loads(run("memory", "list", "--user", "u").output)
    assert [m["kind"] for m in listed] == ["episode", "fact"] or [m["kind"] for m in listed] == ["fact", "episode"]
    assert json.loads(run("memory", "list", "--user", "u", "--kind", "episode").output)[0]["role"] == "user"
    hist = json.loads(run("memory", "history", mid).output)
    assert [h["event"] for h in hist] == ["ADD"]
    assert json.loads(run("memory", "delete", mid).output)["event"] == "DELETE"
    assert run("memory", "get", mid, ok=False).exit_code == 1


def test_plain_output_is_for_people(run):
    run("memory", "add", "I like hiking", "--user", "u")
    out = run("memory", "search", "hiking", "--user", "u", "--plain").output
    assert "I like hiking" in out and not out.lstrip().startswith("[")


def test_stdin_messages(run):
    msgs = json.dumps([{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "hi!"}])
    out = json.loads(run("memory", "add", "--stdin", "--user", "u", "--session", "s", input=msgs).output)
    assert [e["event"] for e in out] == ["ADD", "ADD"]


def test_export_import_and_delete_all(run, tmp_path, monkeypatch):
    run("memory", "add", "fact one", "--user", "u")
    run("memory", "add", "note for agent", "--agent", "bot")
    dump = tmp_path / "dump.jsonl"
    assert json.loads(run("memory", "export", str(dump)).output)["exported"] == 2
    monkeypatch.setenv("MEMLM_DB", str(tmp_path / "other.db"))
    assert json.loads(run("memory", "import", str(dump)).output)["imported"] == 2
    assert json.loads(run("memory", "delete", "--all", "--user", "u").output)["deleted"] == 1
    assert len(json.loads(run("memory", "list", "--agent", "bot").output)) == 1


def test_context(run):
    run("memory", "add", "we talked about the move to Porto", "--role", "user", "--user", "u", "--session", "s")
    ctx = json.loads(run("memory", "context", "Porto", "--user", "u", "--session", "s", "--budget", "200").output)
    assert "Porto" in ctx["text"] and ctx["tokens"] <= 200
    plain = run("memory", "context", "Porto", "--user", "u", "--plain").output
    assert plain.startswith("# Memory")


@pytest.mark.parametrize("args, message", [
    (("memory", "add", "", "--user", "u"), "empty"),
    (("memory", "add", "text"), "user_id or agent_id"),
    (("memory", "add", "x", "--user", "u", "--metadata", "{bad"), "not valid JSON"),
    (("memory", "search", "q", "--user", "u", "-k", "0"), "k must be"),
    (("memory", "get", "nope"), "no memory"),
    (("memory", "history", "nope"), "no memory"),
    (("memory", "delete", "--all"), "needs a scope"),
    (("memory", "add", "x", "--user", "u", "--when", "whenever"), "cannot read a date"),
])
def test_errors_are_one_line_and_non_zero(run, args, message):
    result = run(*args, ok=False)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]


def test_encoder_mismatch_is_a_clear_error(run, monkeypatch):
    run("memory", "add", "x", "--user", "u")
    monkeypatch.setenv("MEMLM_ENCODER", "hashing:64")
    result = run("memory", "search", "x", "--user", "u", ok=False)
    assert result.exit_code == 1 and "built with encoder" in result.output
