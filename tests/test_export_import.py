"""Export then import on the same file is idempotent; --user / --agent export one owner's data."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memlm import Memory
from memlm.cli import main
from memlm.portability import import_jsonl


def _fill(m: Memory) -> None:
    m.add("Ana likes green tea", user_id="ana", metadata={"source": "chat", "tags": ["a", {"b": None}], "ü": 1.5})
    m.add([{"role": "user", "content": "I moved to Porto"}], user_id="ana", session_id="s1", occurred_at="2024-05-01")
    m.add("Bo likes coffee", user_id="bo")
    m.add("The agent's own note", agent_id="helper")


def test_import_of_an_export_into_the_same_database_skips_everything(tmp_path, hashing):
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        _fill(m)
        assert m.export(tmp_path / "all.jsonl") == 4
        before = (tmp_path / "all.jsonl").read_bytes()
        counts = import_jsonl(m.store, m.encoder, m.tenant, tmp_path / "all.jsonl")
        assert counts.to_dict() == {"imported": 0, "skipped": 4}
        assert m.import_(tmp_path / "all.jsonl") == 0
        m.export(tmp_path / "again.jsonl")
        assert (tmp_path / "again.jsonl").read_bytes() == before  # nothing duplicated or changed


def test_import_into_a_new_database_then_again(tmp_path, hashing):
    with Memory(tmp_path / "a.db", encoder=hashing) as a:
        _fill(a)
        a.export(tmp_path / "all.jsonl")
    with Memory(tmp_path / "b.db", encoder=hashing) as b:
        first = import_jsonl(b.store, b.encoder, b.tenant, tmp_path / "all.jsonl")
        assert first.to_dict() == {"imported": 4, "skipped": 0}
        again = import_jsonl(b.store, b.encoder, b.tenant, tmp_path / "all.jsonl")
        assert again.to_dict() == {"imported": 0, "skipped": 4}
        assert len(b.list(limit=100)) == 4


def test_a_changed_memory_under_the_same_id_refuses_the_whole_import(tmp_path, hashing):
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        _fill(m)
        m.export(tmp_path / "all.jsonl")
        fact = next(r for r in m.list(user_id="bo"))
        m.update(fact.id, "Bo likes espresso now")
        m.delete(next(r for r in m.list(agent_id="helper")).id)
        with pytest.raises(ValueError, match="exist here with other content"):
            import_jsonl(m.store, m.encoder, m.tenant, tmp_path / "all.jsonl")
        assert m.list(agent_id="helper") == []  # nothing imported, not even the deleted one


def test_export_one_user_or_agent(tmp_path, hashing):
    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        _fill(m)
        assert m.export(tmp_path / "ana.jsonl", user_id="ana") == 2
        assert m.export(tmp_path / "helper.jsonl", agent_id="helper") == 1
        assert m.export(tmp_path / "nobody.jsonl", user_id="nobody") == 0
        with pytest.raises(ValueError, match="user_id must be a non-empty string"):
            m.export(tmp_path / "x.jsonl", user_id=" ")
    lines = [json.loads(line) for line in (tmp_path / "ana.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0]["user_id"] == "ana" and {row["user_id"] for row in lines[1:]} == {"ana"}
    with Memory(tmp_path / "n.db", encoder=hashing) as n:
        assert n.import_(tmp_path / "ana.jsonl") == 2
        assert {r.user_id for r in n.list(limit=10)} == {"ana"}


def test_cli_export_then_import_the_same_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    monkeypatch.setenv("MEMLM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke
    assert run(main, ["memory", "add", "Ana likes tea", "--user", "ana"]).exit_code == 0
    assert run(main, ["memory", "add", "Bo likes coffee", "--user", "bo"]).exit_code == 0
    out = run(main, ["memory", "export", "ana.jsonl", "--user", "ana"])
    assert out.exit_code == 0 and json.loads(out.output) == {"exported": 1, "path": "ana.jsonl"}
    again = run(main, ["memory", "import", "ana.jsonl"])
    assert again.exit_code == 0 and json.loads(again.output) == {"imported": 0, "skipped": 1}
    fresh = run(main, ["memory", "import", "ana.jsonl", "--db", "copy.db", "--plain"])
    assert fresh.exit_code == 0 and fresh.output.strip() == "imported 1 memories, skipped 0 already here"
