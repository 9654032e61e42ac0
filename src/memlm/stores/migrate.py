"""Numbered schema migrations, recorded in the database they were applied to.

Migrations are SQL files named ``<backend>_<NNNN>_<name>.sql`` in this package's
``migrations/`` folder. Each runs once, in order, inside the caller's transaction. A migration
that needs Python (re-indexing text with the segmenter) names a function in STEPS, run on the
same connection right after its SQL.
"""

from __future__ import annotations

import importlib
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from typing import Any

# (backend, version) -> "module:function" taking the migrating connection, run after the SQL
STEPS = {
    ("sqlite", 4): "memlm.stores.sqlite_lexical:reindex",  # Chinese segmented in the FTS5 index
    ("postgres", 2): "memlm.stores.pg_sql:reindex",  # ... and in the tsvectors
    ("sqlite", 6): "memlm.stores.sqlite:backfill_expiry",  # expires_at from the metadata
    ("postgres", 4): "memlm.stores.pg_sql:backfill_expiry",  # ... on PostgreSQL
}


@dataclass(frozen=True)
class Migration:
    version: int  # the NNNN in the file name; applied in increasing order
    name: str  # the rest of the file name
    sql: str  # the statements
    step: str | None = None  # a Python step after the SQL ("module:function"), see STEPS

    def run_step(self, conn: Any) -> None:
        """Run the migration's Python step, if it has one, on the migrating connection."""
        if self.step:
            module, function = self.step.split(":")
            getattr(importlib.import_module(module), function)(conn)


def migrations(backend: str) -> list[Migration]:
    """All migrations for a backend ("sqlite", "postgres"), oldest first."""
    pattern = re.compile(rf"^{backend}_(\d{{4}})_(\w+)\.sql$")
    found = []
    for entry in resources.files("memlm.stores").joinpath("migrations").iterdir():
        match = pattern.match(entry.name)
        if match:
            version = int(match.group(1))
            found.append(Migration(version, match.group(2), entry.read_text(encoding="utf-8"),
                                   STEPS.get((backend, version))))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] != 1):
        # numbers are reserved per branch, so a checkout may lack some (e.g. 0004): unique, from 1
        raise RuntimeError(f"{backend} migrations are not numbered uniquely from 1: {versions}")
    return found


def migrate_sqlite(conn: sqlite3.Connection, now: str) -> None:
    """Apply the SQLite migrations this file lacks, in one write transaction, each recorded in
    schema_migrations (at `now`). Nothing is written when it is up to date (a read-only file opens)."""
    if _applied(conn) == {m.version for m in migrations("sqlite")}:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
        for m in migrations("sqlite"):
            if m.version not in done:
                for statement in _statements(m.sql):
                    conn.execute(statement)
                m.run_step(conn)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (m.version, m.name, now))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _applied(conn: sqlite3.Connection) -> set[int]:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='schema_migrations'").fetchone():
        return set()
    return {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (they contain no semicolons inside literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
