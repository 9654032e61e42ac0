"""Backend selection by URL, the engine on PostgreSQL, and moving memories between backends:
export/import JSONL across backends and `memlm migrate` both ways, verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.test_portability import fill

from memlm import Memory
from memlm.cli import main
from memlm.stores import open_store, sqlite_path


def test_urls_choose_the_backend(tmp_path, pg_url):
    from memlm.stores.postgres import PostgresStore
    from memlm.stores.sqlite import SQLiteStore

    assert sqlite_path(f"sqlite://{tmp_path}/a.db") == tmp_path / "a.db"
    assert isinstance(open_store(tmp_path / "b.db"), SQLiteStore)
    assert isinstance(open_store(pg_url), PostgresStore)
    assert Memory(f"sqlite://{tmp_path}/c.db").path == tmp_path / "c.db"
    with pytest.raises(ValueError, match="unknown store URL"):
        open_store("mysql://localhost/x")


def test_the_engine_works_on_postgres(pg_url, hashing):
    with Memory(pg_url, encoder=hashing) as m:
        m.add([{"role": "user", "content": "We adopted a beagle called Pepper"},
               {"role": "assistant", "content": "How is she settling in?"}], user_id="ana", session_id="s1")
        [e] = m.add("I live in Lisbon", user_id="ana")
        assert m.add("I live in Lisbon", user_id="ana")[0].event == "NOOP"
        hit = m.search("what is the dog called?", user_id="ana", k=1, neighbors=1)[0]
        assert "Pepper" in hit.memory.text and [c.role for c in hit.context] == ["assistant"]
        assert m.search("dog", user_id="bob") == []
        m.update(e.id, "I live in Porto")
        assert m.get(e.id).text == "I live in Porto"
        assert [h.event for h in m.history(e.id)] == ["ADD", "UPDATE"]
        assert m.search("where do I live? Porto", user_id="ana", k=1)[0].memory.id == e.id
        assert m.delete_all(user_id="ana") == 3 and m.list(user_id="ana") == []


def test_export_import_across_backends_is_identical(tmp_path, pg_url, hashing):
    with Memory(tmp_path / "a.db", encoder=hashing) as a:
        fill(a)
        a.export(tmp_path / "a.jsonl")
    with Memory(pg_url, encoder=hashing) as b:
        assert b.import_(tmp_path / "a.jsonl") == 5
        b.export(tmp_path / "b.jsonl")
        assert b.search("kitten", user_id="u")[0].memory.text == "We adopted a kitten"
    with Memory(tmp_path / "c.db", encoder=hashing) as c:
        c.import_(tmp_path / "b.jsonl")
        c.export(tmp_path / "c.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "c.jsonl").read_bytes()


def _migrate(*args: str):
    return CliRunner().invoke(main, ["migrate", *args])


def test_migrate_sqlite_to_postgres_and_back(tmp_path, pg_url, hashing):
    from memlm.server.keys import KeyStore

    with Memory(tmp_path / "a.db", encoder=hashing) as a:
        fill(a)
        KeyStore(a.store).create("default", "ci")
        a.export(tmp_path / "a.jsonl")
        before = {h.memory.id for h in a.search("tea kitten", user_id="u")}  # BM25 vs ts_rank: same hits
    result = _migrate("--from", f"sqlite://{tmp_path}/a.db", "--to", pg_url)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and report["memories"] == 5 and report["api_keys"] == 1
    assert all(t["source_sha256"] == t["target_sha256"] for t in report["tenants"])
    with Memory(pg_url, encoder=hashing) as b:
        assert {h.memory.id for h in b.search("tea kitten", user_id="u")} == before
        assert [k.name for k in KeyStore(b.store).list()] == ["ci"]
    back = _migrate("--from", pg_url, "--to", str(tmp_path / "back.db"))
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["ok"]
    with Memory(tmp_path / "back.db", encoder=hashing) as c:
        c.export(tmp_path / "back.jsonl")
    assert (tmp_path / "back.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()


def test_migrate_refuses_a_non_empty_destination_and_a_missing_source(tmp_path, hashing):
    for name in ("a.db", "b.db"):
        with Memory(tmp_path / name, encoder=hashing) as m:
            m.add("something", user_id="u")
    full = _migrate("--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "b.db"))
    assert full.exit_code == 1 and "already holds memories" in full.output and len(full.output.splitlines()) == 1
    missing = _migrate("--from", str(tmp_path / "nope.db"), "--to", str(tmp_path / "c.db"))
    assert missing.exit_code == 1 and "no store at" in missing.output
    assert not Path(tmp_path / "c.db").exists()


def test_api_keys_live_in_postgres_too(pg_url):
    from memlm.server.keys import KeyStore

    keys = KeyStore(open_store(pg_url))
    record, key = keys.create("acme", "ci")
    assert keys.authenticate(key).tenant == "acme"
    keys.revoke(record.key_id)
    assert keys.authenticate(key) is None
    with pytest.raises(KeyError):
        keys.revoke("key_missing")
    keys.store.close()


def test_postgres_migrations_are_recorded_once_and_the_schema_is_tenant_first(pg_url, hashing):
    from memlm.encoders import HashingEncoder
    from memlm.stores.migrate import migrations
    from memlm.stores.postgres import PostgresStore

    with Memory(pg_url, encoder=hashing) as m:
        m.add("I like tea", user_id="u")
    store = PostgresStore(pg_url)  # re-opening applies nothing twice
    assert store.schema_versions() == [m.version for m in migrations("postgres")]
    indexes = dict(store.sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                             "('memories', 'history', 'api_keys')"))
    assert "hnsw (vector vector_cosine_ops)" in indexes["memories_vector"] and "gin (tsv)" in indexes["memories_tsv"]
    for name in ("memories_pkey", "history_pkey", "api_keys_pkey", "memories_user", "history_memory"):
        assert "(tenant," in indexes[name]
    store.close()
    with Memory(pg_url, encoder=HashingEncoder(128)) as m:
        with pytest.raises(ValueError, match="built with encoder"):
            m.add("I like coffee", user_id="u")


def test_cli_memory_and_keys_take_a_postgres_url(pg_url, monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    runner = CliRunner()
    added = runner.invoke(main, ["memory", "add", "I grow tomatoes on my balcony", "--user", "u", "--db", pg_url])
    assert added.exit_code == 0, added.output
    monkeypatch.setenv("MEMLM_DB", pg_url)
    hits = json.loads(runner.invoke(main, ["memory", "search", "balcony tomatoes", "--user", "u"]).stdout)
    assert hits[0]["memory"]["text"] == "I grow tomatoes on my balcony"
    key = json.loads(runner.invoke(main, ["keys", "create", "acme"]).stdout)
    assert key["tenant"] == "acme" and key["key"].startswith("mlm_")


def test_an_unreachable_postgres_is_one_line_on_the_cli(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    url = f"postgresql://nobody@/memlm?host={tmp_path}&connect_timeout=1"  # no server listens there
    result = CliRunner().invoke(main, ["memory", "add", "hello", "--user", "u", "--db", url])
    assert result.exit_code == 1 and "cannot reach PostgreSQL" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bench_scale_writes_its_table_json_and_plot(tmp_path):
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["bench", "scale", "--rows", "2000", "--backends", "sqlite", "--queries", "10",
                                       "--no-embedding", "--workdir", str(tmp_path / "w"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "scale.json").read_text())
    [row] = report["results"]
    assert row["rows"] == 2000 and row["users"] == 2 and "stand-in" in report["embedding"]
    assert row["search_cold_ms"]["p95"] > 0 and row["ingest_rows_per_s"] > 0 and row["size_bytes"] > 0
    assert (out / "scale.png").stat().st_size > 0


def test_postgres_migration_4_adds_an_indexed_expiry_column_and_backfills_it(pg_url, hashing):
    from datetime import datetime, timezone

    from memlm.stores.postgres import PostgresStore

    with Memory(pg_url, encoder=hashing) as m:
        soon = m.add("the door code is 4512", user_id="u", expires_at="2030-01-01T00:00:00Z")[0].id
        keep = m.add("I live in Paris", user_id="u")[0].id
        m.store.sql("DELETE FROM schema_migrations WHERE version = 4")  # make it look like a version-3 database
        m.store.sql("DROP INDEX memories_expires")
        m.store.sql("ALTER TABLE memories DROP COLUMN expires_at")
    store = PostgresStore(pg_url)
    assert 4 in store.schema_versions()
    cols = dict(store.sql("SELECT id, expires_at FROM memories"))
    assert cols[keep] is None and cols[soon] == datetime(2030, 1, 1, tzinfo=timezone.utc)
    indexes = dict(store.sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'memories'"))
    assert "(tenant, expires_at)" in indexes["memories_expires"]
    store.close()
    with Memory(pg_url, encoder=hashing) as m:
        after = datetime(2030, 6, 1, tzinfo=timezone.utc)
        assert [r.id for r in m.list(user_id="u", now=after)] == [keep]
        assert soon not in {h.memory.id for h in m.search("door code", user_id="u", now=after)}
        assert m.purge(now=after) == 1 and m.get(soon) is None
