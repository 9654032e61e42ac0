"""Every `memlm memory` command through click's CLI runner."""

from __future__ import annotations

import json
import sqlite3

import pytest


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


def test_delete_all_and_purge_report_the_erasure(run, tmp_path):
    db = tmp_path / "cli.db"
    run("memory", "add", "zqclimarkxq one", "--user", "u")
    [e] = json.loads(run("memory", "add", "zqcligonexq two", "--user", "w").output)
    assert json.loads(run("memory", "delete", e["id"]).output)["event"] == "DELETE"
    assert json.loads(run("memory", "purge").stdout) == {"purged": 0, "erasure": "complete"}
    assert run("memory", "purge", "--plain").output.strip() == "purged 0 expired memories; erasure complete"
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM memories").fetchone()  # an older snapshot, held
    pending = run("memory", "delete", "--all", "--user", "u")
    assert json.loads(pending.stdout) == {"deleted": 1, "erasure": "pending"}
    assert "memlm memory purge" in pending.stderr and len(pending.stderr.strip().splitlines()) == 1
    reader.execute("COMMIT")
    reader.close()
    assert json.loads(run("memory", "purge", "--wait", "5").stdout) == {"purged": 0, "erasure": "complete"}
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cli.db"))
    assert b"zqcli" not in raw


def test_a_write_blocked_past_the_busy_timeout_is_one_line(run, tmp_path, monkeypatch):
    run("memory", "add", "first", "--user", "u")
    monkeypatch.setenv("MEMLM_BUSY_TIMEOUT", "0.2")
    other = sqlite3.connect(tmp_path / "cli.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        result = run("memory", "add", "second", "--user", "u", ok=False)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and "busy" in result.stderr and len(result.stderr.splitlines()) == 1
    assert [m["text"] for m in json.loads(run("memory", "list", "--user", "u").output)] == ["first"]


@pytest.mark.parametrize("value", ["abc", "-1", "inf"])
def test_a_bad_busy_timeout_is_one_line(run, monkeypatch, value):
    monkeypatch.setenv("MEMLM_BUSY_TIMEOUT", value)
    result = run("memory", "add", "a fact", "--user", "u", ok=False)  # a write: reads of a missing file stop earlier
    assert result.exit_code == 1 and result.stderr.startswith("Error: MEMLM_BUSY_TIMEOUT must be a number")


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
    run("memory", "add", "a first memory makes the database", "--user", "seed")  # reads need one
    result = run(*args, ok=False)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]


def test_encoder_mismatch_is_a_clear_error(run, monkeypatch):
    run("memory", "add", "x", "--user", "u")
    monkeypatch.setenv("MEMLM_ENCODER", "hashing:64")
    result = run("memory", "search", "x", "--user", "u", ok=False)
    assert result.exit_code == 1 and "built with encoder" in result.output


def _snapshot(run):
    listed = json.loads(run("memory", "list", "--user", "u").output)
    return [(m["id"], m["text"], m["kind"]) for m in listed], {
        m["id"]: json.loads(run("memory", "history", m["id"]).output) for m in listed}


def _other_tenant(tmp_path, encoder):
    from memlm import Memory
    from memlm.config import MemoryConfig

    return Memory(tmp_path / "cli.db", encoder=encoder, config=MemoryConfig(tenant="other"))


def test_reembed_switches_the_database_to_the_new_encoder(run, monkeypatch, tmp_path):
    run("memory", "add", "I grow tomatoes on my balcony", "--user", "u")
    run("memory", "add", "my cat is called Miso", "--role", "user", "--user", "u", "--session", "s1")
    with _other_tenant(tmp_path, "hashing") as other:
        other.add("a note for another tenant", user_id="u")
    before = _snapshot(run)
    result = run("memory", "reembed", "--encoder", "hashing:384", "--batch", "1")
    out = json.loads(result.stdout)
    assert out == {"reembedded": 3, "encoder": "hashing-v1-384", "dim": 384,
                   "previous_encoder": "hashing-v1-256", "previous_dim": 256}
    refused = run("memory", "search", "cat", "--user", "u", ok=False)  # still MEMLM_ENCODER=hashing (256)
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert refused.exit_code == 1 and len(lines) == 1 and "built with encoder 'hashing-v1-384'" in lines[0]
    monkeypatch.setenv("MEMLM_ENCODER", "hashing:384")
    hits = json.loads(run("memory", "search", "tomatoes balcony", "--user", "u", "-k", "1").output)
    assert hits[0]["memory"]["text"] == "I grow tomatoes on my balcony"
    assert _snapshot(run) == before
    with _other_tenant(tmp_path, "hashing:384") as other:  # every tenant was re-embedded
        assert other.search("note for another tenant", user_id="u")[0].memory.text == "a note for another tenant"


def test_reembed_errors(run, tmp_path):
    missing = run("memory", "reembed", "--db", str(tmp_path / "nope.db"), "--encoder", "hashing", ok=False)
    assert missing.exit_code == 1 and "no memory database" in missing.output
    run("memory", "add", "x", "--user", "u")
    bad = run("memory", "reembed", "--encoder", "bert", ok=False)
    assert bad.exit_code == 1 and bad.output.startswith("Error:") and "unknown encoder spec" in bad.output
    assert run("memory", "reembed", ok=False).exit_code == 2  # --encoder is required
    assert run("memory", "reembed", "--encoder", "hashing:384", "--batch", "0", ok=False).exit_code == 1
    assert run("memory", "search", "x", "--user", "u").exit_code == 0  # unchanged: still the hashing encoder


@pytest.mark.slow
def test_reembed_onto_minilm_makes_search_semantic(run, monkeypatch, minilm):
    for text in ("I adopted a golden retriever puppy last week", "my sister works as a nurse in Chicago",
                 "we are repainting the kitchen blue"):
        run("memory", "add", text, "--user", "u")
    out = json.loads(run("memory", "reembed", "--encoder", "minilm").stdout)
    assert out["reembedded"] == 3 and out["encoder"] == minilm.name
    monkeypatch.setenv("MEMLM_ENCODER", "minilm")
    hits = json.loads(run("memory", "search", "what kind of dog do I own?", "--user", "u", "-k", "3").output)
    assert hits[0]["memory"]["text"] == "I adopted a golden retriever puppy last week"
