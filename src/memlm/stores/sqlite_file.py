"""Opening a SQLite file as a memlm database, or saying in one line why it cannot be one.

- a folder, a file that is not SQLite, a damaged file: `DatabaseFileError` naming the path;
- another application's database (tables, but not memlm's): refused, never migrated or written;
  an empty file (or one with no tables) becomes a memlm database;
- a file that cannot be written (a read-only folder or file): opened read-only, so reads work;
  writes then fail with StoreWriteError ("readonly").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

# the name of the first SQLite migration: a file whose schema_migrations records it is memlm's
MEMLM_FIRST_MIGRATION = (1, "initial")


class DatabaseFileError(ValueError):
    """The path cannot be opened as a memlm database (the message says why, in one line)."""


def open_writer(path: Path, timeout_s: float, synchronous: str) -> tuple[sqlite3.Connection, str | None]:
    """The connection memlm writes through, in WAL mode: (connection, read-only mode or None).
    A file that exists but cannot be written is opened read-only ("ro", or "immutable" when its
    folder cannot even hold the WAL's shared-memory file)."""
    if path.is_dir():
        raise DatabaseFileError(f"{path} is a folder, not a memory database file")
    if path.parent.exists() and not path.parent.is_dir():
        raise DatabaseFileError(f"{path}: {path.parent} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseFileError(f"cannot create the folder for {path}: {exc.strerror or exc}") from None
    conn = None
    try:
        conn = connect(path, timeout_s)
        check_memlm(conn, path)  # before anything is written (WAL mode changes the file's header)
        conn.execute("PRAGMA journal_mode=WAL")
        mode = None
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        if not (path.is_file() and _unwritable(exc)):
            raise _file_error(path, exc) from None
        conn, mode = _read_only(path, timeout_s)
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    try:
        if mode is None:
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute("PRAGMA secure_delete=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _file_error(path, exc) from None
    return conn, mode


def connect(path: Path, timeout_s: float, mode: str | None = None) -> sqlite3.Connection:
    """A connection to the file, read-only in `mode` ("ro", "immutable") when given."""
    if mode is None:
        return sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
    flags = "mode=ro" if mode == "ro" else "mode=ro&immutable=1"
    uri = f"file:{quote(str(path.resolve()))}?{flags}"
    return sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None, check_same_thread=False)


def check_memlm(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a database with tables that is not memlm's (its schema_migrations lacks memlm's first).
    sqlite3.DatabaseError when the file cannot be read as SQLite."""
    tables = [t for (t,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    if not tables:
        return
    if "schema_migrations" in tables:
        try:
            first = conn.execute("SELECT version, name FROM schema_migrations WHERE version=1").fetchone()
        except sqlite3.OperationalError:  # another application's table of that name, other columns
            first = None
        if first is not None and tuple(first) == MEMLM_FIRST_MIGRATION:
            return
    shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    raise DatabaseFileError(f"{path} is not a memlm database (it holds other tables: {shown}); "
                            f"refusing to change it: give memlm a new or empty file")


def _read_only(path: Path, timeout_s: float) -> tuple[sqlite3.Connection, str]:
    last: sqlite3.DatabaseError | None = None
    for mode in ("ro", "immutable"):
        conn = connect(path, timeout_s, mode)
        try:
            check_memlm(conn, path)
            return conn, mode
        except sqlite3.DatabaseError as exc:
            conn.close()
            last = exc
            if not _unwritable(exc):
                break
    assert last is not None
    raise _file_error(path, last) from None


def _unwritable(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or "readonly" in str(exc)


def _file_error(path: Path, exc: sqlite3.DatabaseError) -> DatabaseFileError:
    message = str(exc)
    if "file is not a database" in message:
        return DatabaseFileError(f"{path} is not a SQLite database (not a memlm memory file)")
    if "malformed" in message:
        return DatabaseFileError(f"{path} is damaged ({message}): restore it from a backup or an export")
    if "unable to open" in message and not path.exists() and path.parent.is_dir():
        return DatabaseFileError(f"cannot create {path}: its folder is not writable")
    if "unable to open" in message:
        return DatabaseFileError(f"cannot open {path}: check that the path and its folder exist and are readable")
    return DatabaseFileError(f"cannot use {path} as a memory database: {message}")
