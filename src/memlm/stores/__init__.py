"""Storage backends behind one Protocol (`memlm.stores.base.Store`), chosen by URL.

``sqlite:///path/to/memory.db`` (or a plain path) opens the embedded SQLite backend;
``postgresql://user:password@host:port/db`` the PostgreSQL + pgvector backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from memlm.stores.base import Filters, Store, StoreBusy, StoreUnavailable, StoreWriteError
from memlm.stores.sqlite_file import DatabaseFileError

if TYPE_CHECKING:
    from memlm.config import IndexConfig

__all__ = ["DatabaseFileError", "Filters", "Store", "StoreBusy", "StoreUnavailable", "StoreWriteError", "is_postgres",
           "open_store", "sqlite_path"]

PG_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str | Path | None) -> bool:
    return isinstance(target, str) and target.startswith(PG_SCHEMES)


def sqlite_path(target: str | Path) -> Path:
    """The file a SQLite target names: ``sqlite:///abs/path``, ``sqlite://rel/path`` or a plain path."""
    if isinstance(target, str) and target.startswith("sqlite://"):
        rest = target[len("sqlite://"):]
        if not rest:
            raise ValueError("a sqlite URL needs a path: sqlite:///path/to/memory.db")
        return Path(rest)
    if isinstance(target, str) and target.startswith(("http://", "https://")):
        raise ValueError(f"{target!r} is a server URL: use memlm.Client({target!r}, api_key=...) for a memlm server")
    if isinstance(target, str) and "://" in target:
        raise ValueError(f"unknown store URL {target!r}; expected sqlite:///path or postgresql://...")
    return Path(target)


def normalize(target: str | Path) -> str | Path:
    """A PostgreSQL URL as is, anything else as the SQLite file's Path."""
    return target if is_postgres(target) else sqlite_path(target)


def redact(target: str | Path) -> str:
    """The target for messages, without a URL's password."""
    import re

    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", str(target))


def open_store(target: str | Path, *, index: IndexConfig | None = None) -> Store:
    """A store for a URL or path; nothing is connected or opened until first use. `index`: the
    settings of its in-memory vector index (config.IndexConfig)."""
    if is_postgres(target):
        try:
            from memlm.stores.postgres import PostgresStore
        except ImportError as exc:  # psycopg is in the "postgres" extra
            raise ValueError(f"the PostgreSQL backend needs `pip install memlm[postgres]` ({exc})") from exc
        return PostgresStore(str(target), index=index)
    from memlm.stores.sqlite import SQLiteStore

    return SQLiteStore(sqlite_path(target), index=index)
