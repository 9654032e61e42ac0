"""Shared CLI plumbing: the memory handle options, JSON/plain output, one-line errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from memlm.config import default_db_path


def db_options(func: Callable) -> Callable:
    """--db and --encoder, also from MEMLM_DB / MEMLM_ENCODER."""
    func = click.option("--encoder", envvar="MEMLM_ENCODER", default=None,
                        help="Encoder spec: minilm (default), minilm:torch, hashing, ... [env MEMLM_ENCODER]")(func)
    func = click.option("--db", envvar="MEMLM_DB", default=None,
                        help="Memory file, sqlite:///path or postgresql://... URL (default $MEMLM_HOME/memory.db) "
                             "[env MEMLM_DB]")(func)
    return func


def scope_options(func: Callable) -> Callable:
    """--user / --agent / --session, also from MEMLM_USER_ID / MEMLM_AGENT_ID / MEMLM_SESSION_ID."""
    func = click.option("--session", "session_id", envvar="MEMLM_SESSION_ID", default=None, help="Session id.")(func)
    func = click.option("--agent", "agent_id", envvar="MEMLM_AGENT_ID", default=None, help="Agent id.")(func)
    func = click.option("--user", "user_id", envvar="MEMLM_USER_ID", default=None, help="User id.")(func)
    return func


def plain_option(func: Callable) -> Callable:
    return click.option("--plain", is_flag=True, help="Human-readable output instead of JSON.")(func)


def open_memory(db: Path | None, encoder: str | None, llm: str | None = None):
    """A Memory handle; `llm` a spec ("local", "openai:MODEL", "none"), else $MEMLM_LLM."""
    from memlm.engine import Memory

    return Memory(db or default_db_path(), encoder=encoder, llm=llm)


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
        except (ValueError, KeyError, FileNotFoundError, IsADirectoryError, PermissionError, OSError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            click.echo(f"Error: {message}", err=True)
            sys.exit(1)

    return wrapper
