"""Numbered schema migrations, recorded in the database they were applied to.

Migrations are SQL files named ``<backend>_<NNNN>_<name>.sql`` in this package's
``migrations/`` folder. Each runs once, in order, inside the caller's transaction.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Migration:
    version: int  # the NNNN in the file name; applied in increasing order
    name: str  # the rest of the file name
    sql: str  # the statements


def migrations(backend: str) -> list[Migration]:
    """All migrations for a backend ("sqlite", "postgres"), oldest first."""
    pattern = re.compile(rf"^{backend}_(\d{{4}})_(\w+)\.sql$")
    found = []
    for entry in resources.files("memlm.stores").joinpath("migrations").iterdir():
        match = pattern.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
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
