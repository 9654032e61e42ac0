"""Shared CLI plumbing: the memory handle options, JSON/plain output, one-line errors."""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from memlm.settings import Settings

DB_HELP = ("Memory file (a path), sqlite://PATH (sqlite:///abs/path is absolute, sqlite://rel/path relative) "
           "or postgresql://... URL (default $MEMLM_HOME/memory.db) [env MEMLM_DB]")
ENCODER_HELP = ("Encoder spec: e5 (default for a new file: multilingual-e5-small), minilm, minilm:torch, hashing, ... "
                "(an existing file opens with its own) [env MEMLM_ENCODER]")
TENANT_HELP = ("Tenant whose memories to use: the one an API key of `memlm serve` maps to "
               "(default: default) [env MEMLM_TENANT]")
_TENANT = "memlm.tenant"  # where --tenant's value waits in the click context for open_memory


def db_option(func: Callable, help: str = DB_HELP) -> Callable:
    """--db (MEMLM_DB is read by memlm.settings, not here)."""
    return click.option("--db", default=None, help=help)(func)


def encoder_option(func: Callable, help: str = ENCODER_HELP, required: bool = False) -> Callable:
    """--encoder (MEMLM_ENCODER is read by memlm.settings, not here)."""
    if required:  # no default at all: click counts an explicit default=None as a value
        return click.option("--encoder", required=True, help=help)(func)
    return click.option("--encoder", default=None, help=help)(func)


def _keep_tenant(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.meta[_TENANT] = value
    return value


def tenant_option(func: Callable) -> Callable:
    """--tenant, kept in the click context for `settings()` / `open_memory()` (commands need no parameter)."""
    return click.option("--tenant", default=None, expose_value=False, callback=_keep_tenant, is_eager=True,
                        help=TENANT_HELP)(func)


def db_options(func: Callable) -> Callable:
    """--db, --encoder and --tenant, also from MEMLM_DB / MEMLM_ENCODER / MEMLM_TENANT."""
    return db_option(encoder_option(tenant_option(func)))


def settings(db: str | Path | None = None, encoder: str | None = None, llm: str | None = None) -> Settings:
    """The command's settings: MEMLM_* variables, overridden by its options (and --tenant)."""
    ctx = click.get_current_context(silent=True)
    tenant = ctx.meta.get(_TENANT) if ctx is not None else None
    return Settings.from_env(db=db, encoder=encoder, llm=llm, tenant=tenant)


def scope_options(func: Callable) -> Callable:
    """--user / --agent / --session, also from MEMLM_USER_ID / MEMLM_AGENT_ID / MEMLM_SESSION_ID."""
    func = click.option("--session", "session_id", envvar="MEMLM_SESSION_ID", default=None, help="Session id.")(func)
    func = click.option("--agent", "agent_id", envvar="MEMLM_AGENT_ID", default=None, help="Agent id.")(func)
    func = click.option("--user", "user_id", envvar="MEMLM_USER_ID", default=None, help="User id.")(func)
    return func


def plain_option(func: Callable) -> Callable:
    return click.option("--plain", is_flag=True, help="Human-readable output instead of JSON.")(func)


def open_memory(db: str | Path | None, encoder: str | None, llm: str | None = None, *, create: bool = True):
    """A Memory handle for the command's settings; `llm` a spec ("local", "openai:MODEL", "none"),
    else $MEMLM_LLM. With create=False (read commands) a SQLite file that does not exist is an
    error instead of a new empty database."""
    from memlm.config import MemoryConfig
    from memlm.engine import Memory

    s = settings(db, encoder, llm)
    if not create:
        require_database(s.db_path)
    return Memory(s.db_path, encoder=s.encoder, llm=s.llm, config=MemoryConfig(tenant=s.tenant, capacity=s.capacity()))


def require_database(target: Path | str) -> None:
    """Refuse to read a SQLite database that does not exist (a typo would otherwise make one)."""
    if isinstance(target, Path) and not target.exists():
        hint = ""
        if (target.is_absolute() and not target.parent.exists()) or str(target.parent) == "/":
            hint = " (sqlite:///x names the absolute path /x; use a plain path or sqlite://x for a relative one)"
        raise FileNotFoundError(f"no memory database at {target}{hint}; check --db / MEMLM_DB "
                                f"(only writes such as `memlm memory add` create one)")


def emit(data: Any, plain: bool, render: Callable[[Any], str] | None = None) -> None:
    """JSON by default; with --plain, the render function's text (or indented JSON)."""
    if plain and render is not None:
        click.echo(render(data))
    else:
        click.echo(json.dumps(data, ensure_ascii=False, indent=None if not plain else 2, default=str))


def errors_as_messages(func: Callable) -> Callable:
    """Bad input becomes one line on stderr and exit status 1, not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ValueError, KeyError, FileNotFoundError, IsADirectoryError, PermissionError, OSError,
                sqlite3.Error, RecursionError) as exc:
            click.echo(f"Error: {one_line(exc)}", err=True)
            sys.exit(1)

    return wrapper


def one_line(exc: BaseException) -> str:
    """The error's message on one line."""
    if isinstance(exc, RecursionError):
        return "input nested too deeply"
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return f"the memory database is damaged or not a memlm file ({exc})"
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    message = " ".join(str(message).split()) or type(exc).__name__
    return message
