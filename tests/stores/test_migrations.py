import sqlite3

import pytest

from memlm import Memory
from memlm.stores.migrate import migrations
from memlm.stores.sqlite import SQLiteStore


def test_migrations_apply_from_empty_and_are_recorded(tmp_path):
    store = SQLiteStore(tmp_path / "m.db")
    expected = [m.version for m in migrations("sqlite")]
    assert store.schema_versions() == expected == sorted(set(expected)) and expected[0] == 1  # numbers are
    # reserved per branch, so a checkout may have gaps
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert {"memories", "memories_fts", "history", "meta", "schema_migrations", "recalls"} <= tables
    store.close()
    again = SQLiteStore(tmp_path / "m.db")  # re-opening applies nothing twice
    assert again.schema_versions() == expected
    rows = again.conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert rows == len(expected)
    again.close()


def test_wal_mode(tmp_path):
    store = SQLiteStore(tmp_path / "m.db")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_encoder_is_recorded_and_a_different_one_refused(tmp_path, hashing):
    from memlm.encoders import HashingEncoder

    with Memory(tmp_path / "m.db", encoder=hashing) as m:
        m.add("I like tea", user_id="u")
    with Memory(tmp_path / "m.db", encoder=HashingEncoder(128)) as m:
        with pytest.raises(ValueError, match="built with encoder"):
            m.add("I like coffee", user_id="u")
    conn = sqlite3.connect(tmp_path / "m.db")
    assert dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('encoder','dim')")) == {
        "encoder": hashing.name, "dim": str(hashing.dim)}


def test_migration_3_adds_validity_to_an_old_file_and_keeps_its_rows(tmp_path, hashing):
    with Memory(tmp_path / "old.db", encoder=hashing) as m:
        mid = m.add("I live in Paris", user_id="u")[0].id
        conn = m.store.conn
        conn.execute("DELETE FROM schema_migrations WHERE version = 3")  # make it look like a version-2 file
        conn.execute("ALTER TABLE memories DROP COLUMN superseded_by")
        conn.execute("ALTER TABLE memories DROP COLUMN valid_to")
    with Memory(tmp_path / "old.db", encoder=hashing) as m:
        assert m.store.schema_versions()[:3] == [1, 2, 3]
        assert m.get(mid).text == "I live in Paris" and m.get(mid).valid_to is None
        m.supersede(mid)
        assert m.get(mid).valid_to is not None and m.list(user_id="u") == []


def test_migration_6_adds_an_indexed_expiry_column_and_backfills_it(tmp_path, hashing):
    from datetime import datetime, timezone

    with Memory(tmp_path / "old.db", encoder=hashing) as m:
        soon = m.add("the door code is 4512", user_id="u", expires_at="2030-01-01T00:00:00Z")[0].id
        keep = m.add("I live in Paris", user_id="u")[0].id
        conn = m.store.conn
        conn.execute("DELETE FROM schema_migrations WHERE version = 6")  # make it look like a version-5 file
        conn.execute("DROP INDEX memories_expires")
        conn.execute("ALTER TABLE memories DROP COLUMN expires_at")
    with Memory(tmp_path / "old.db", encoder=hashing) as m:
        assert 6 in m.store.schema_versions()
        cols = dict(m.store.conn.execute("SELECT id, expires_at FROM memories").fetchall())
        assert cols == {soon: "2030-01-01T00:00:00.000000+00:00", keep: None}
        plan = " ".join(str(r) for r in m.store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM memories WHERE tenant='default' AND expires_at IS NOT NULL "
            "AND expires_at <= '2031'"))
        assert "memories_expires" in plan
        after = datetime(2030, 6, 1, tzinfo=timezone.utc)
        assert [r.id for r in m.list(user_id="u", now=after)] == [keep]
        assert m.get(soon).metadata["expires_at"].startswith("2030-01-01")  # public shape unchanged
        assert m.purge(now=after) == 1 and m.get(soon) is None
