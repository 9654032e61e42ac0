"""`memlm memory ...`: add, search, list, get, delete, history, export, import, context, reembed
(purge and forget: cli/forget.py)."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from memlm.cli.common import (
    db_option,
    db_options,
    emit,
    encoder_option,
    errors_as_messages,
    open_memory,
    plain_option,
    scope_options,
    settings,
)
from memlm.stores import StoreWriteError


@click.group()
def memory() -> None:
    """Long-term memory in a local file: write, recall, inspect, erase."""


@memory.command()
@click.argument("text", required=False)
@click.option("--role", default=None, help="Store TEXT as a conversation turn by this speaker (an episode).")
@click.option("--kind", type=click.Choice(["episode", "fact", "summary"]), default=None, help="Memory kind.")
@click.option("--when", "occurred_at", default=None, help="When it happened (ISO date or free text).")
@click.option("--metadata", default=None, help="JSON object stored with the memory.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read JSON messages (a list) or text from stdin.")
@click.option("--ttl", type=float, default=None, help="Expire after this many seconds (then hidden; see purge).")
@click.option("--expires", "expires_at", default=None, help="Expire at this date (then hidden; see purge).")
@scope_options
@db_options
@plain_option
@errors_as_messages
def add(text, role, kind, occurred_at, metadata, from_stdin, ttl, expires_at, user_id, agent_id, session_id, db,
        encoder, plain):
    """Remember TEXT (a fact by default; with --role, a conversation turn)."""
    data = _input(text, role, from_stdin)
    meta = _json_object(metadata, "--metadata") if metadata else None
    with open_memory(db, encoder) as mem:
        events = mem.add(data, user_id=user_id, agent_id=agent_id, session_id=session_id,
                         occurred_at=occurred_at, metadata=meta, kind=kind, ttl=ttl, expires_at=expires_at)
    emit(
        [e.to_dict() for e in events],
        plain,
        lambda evs: "\n".join(f"{e['event']:6} {e['id']}  {e['text']}" for e in evs),
    )


def _input(text, role, from_stdin):
    if from_stdin:
        raw = sys.stdin.read()
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    if text is None:
        raise ValueError("give TEXT or --stdin")
    return {"role": role, "content": text} if role else text


def _json_object(raw: str, what: str) -> dict:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


@memory.command()
@click.argument("query")
@click.option("-k", "--k", "k", type=int, default=10, show_default=True, help="How many memories to recall.")
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(["episode", "fact", "summary"]), help="Only these kinds."
)
@click.option("--since", default=None, help="Only memories that occurred at or after this time.")
@click.option("--until", default=None, help="Only memories that occurred before this time.")
@click.option(
    "--hops", type=int, default=None, help="Passes over memory: 1, or 2 (multi-hop); default RecallConfig.hops."
)
@click.option("--neighbors", type=int, default=0, help="Neighbouring turns to attach to each hit.")
@scope_options
@db_options
@plain_option
@errors_as_messages
def search(query, k, kinds, since, until, hops, neighbors, user_id, agent_id, session_id, db, encoder, plain):
    """Recall the memories most relevant to QUERY."""
    with open_memory(db, encoder, create=False) as mem:
        hits = mem.search(query, user_id=user_id, agent_id=agent_id, session_id=session_id, k=k,
                          kinds=kinds or None, since=since, until=until, hops=hops, neighbors=neighbors)
    emit([h.to_dict() for h in hits], plain, _render_hits)


def _render_hits(hits) -> str:
    lines = []
    for h in hits:
        m = h["memory"]
        when = (m.get("occurred_at") or "undated")[:10]
        who = f"{m['role']}: " if m.get("role") else ""
        lines.append(f"{h['score']:.3f}  [{when}] ({m['kind']}) {who}{m['text']}  <{m['id']}>")
    return "\n".join(lines) or "(no memories)"


@memory.command("list")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["episode", "fact", "summary"]))
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@scope_options
@db_options
@plain_option
@errors_as_messages
def list_(kinds, limit, offset, user_id, agent_id, session_id, db, encoder, plain):
    """List memories, oldest first."""
    with open_memory(db, encoder, create=False) as mem:
        records = mem.list(user_id=user_id, agent_id=agent_id, session_id=session_id, kinds=kinds or None,
                           limit=limit, offset=offset)
    emit([r.to_dict() for r in records], plain,
         lambda rs: "\n".join(f"{r['id']}  ({r['kind']}) {r['text']}" for r in rs) or "(no memories)")


@memory.command()
@click.argument("memory_id")
@db_options
@plain_option
@errors_as_messages
def get(memory_id, db, encoder, plain):
    """Show one memory."""
    with open_memory(db, encoder, create=False) as mem:
        record = mem.get(memory_id)
    if record is None:
        raise KeyError(f"no memory {memory_id!r}")
    emit(record.to_dict(), plain, lambda r: f"{r['id']}  ({r['kind']}) {r['text']}")


@memory.command()
@click.argument("memory_id", required=False)
@click.option("--all", "everything", is_flag=True, help="Erase every memory in the given scope.")
@scope_options
@db_options
@plain_option
@errors_as_messages
def delete(memory_id, everything, user_id, agent_id, session_id, db, encoder, plain):
    """Delete MEMORY_ID, or with --all every memory of --user/--agent/--session (its bytes too)."""
    with open_memory(db, encoder, create=False) as mem:
        if everything:
            n = mem.delete_all(user_id=user_id, agent_id=agent_id, session_id=session_id)
            try:  # the delete has committed either way
                erasure = mem.erase(0.0)
            except StoreWriteError:
                erasure = "pending"
            emit({"deleted": n, "erasure": erasure}, plain, lambda d: f"deleted {d['deleted']} memories")
            _warn_pending(erasure)
            return
        if memory_id is None:
            raise ValueError("give MEMORY_ID, or --all with a scope")
        emit(mem.delete(memory_id).to_dict(), plain, lambda e: f"deleted {e['id']}")


def _warn_pending(erasure: str) -> None:
    if erasure == "pending":
        click.echo("Warning: another connection holds an older snapshot, so deleted text is still in the file; "
                   "run `memlm memory purge` once it has finished", err=True)


@memory.command()
@click.argument("memory_id")
@db_options
@plain_option
@errors_as_messages
def history(memory_id, db, encoder, plain):
    """Every change to a memory, oldest first."""
    with open_memory(db, encoder, create=False) as mem:
        entries = mem.history(memory_id)
    emit([e.to_dict() for e in entries], plain,
         lambda es: "\n".join(f"{e['at']}  {e['event']:6} {e['old_text']!r} -> {e['new_text']!r}" for e in es))


@memory.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "user_id", default=None, help="Only this user's memories.")
@click.option("--agent", "agent_id", default=None, help="Only this agent's memories.")
@db_options
@plain_option
@errors_as_messages
def export_(path, user_id, agent_id, db, encoder, plain):
    """Write every memory (with vectors and history) to PATH as JSONL; --user / --agent: only theirs."""
    with open_memory(db, encoder, create=False) as mem:
        n = mem.export(path, user_id=user_id, agent_id=agent_id)
    emit({"exported": n, "path": str(path)}, plain, lambda d: f"exported {d['exported']} memories to {d['path']}")


@memory.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_options
@plain_option
@errors_as_messages
def import_(path, db, encoder, plain):
    """Load a JSONL export; memories already here unchanged are skipped (and counted)."""
    from memlm.portability import import_jsonl

    with open_memory(db, encoder) as mem:
        counts = import_jsonl(mem.store, mem.encoder, mem.tenant, path)
    emit(counts.to_dict(), plain, lambda d: f"imported {d['imported']} memories, skipped {d['skipped']} already here")


@memory.command()
@click.argument("query")
@click.option("--budget", "budget_tokens", type=int, default=2000, show_default=True, help="Token budget.")
@click.option("-k", "--k", "k", type=int, default=10, show_default=True)
@scope_options
@db_options
@plain_option
@errors_as_messages
def context(query, budget_tokens, k, user_id, agent_id, session_id, db, encoder, plain):
    """The prompt block for QUERY: working memory plus recalled memories, within the budget."""
    with open_memory(db, encoder, create=False) as mem:
        ctx = mem.context(query, user_id=user_id, agent_id=agent_id, session_id=session_id,
                          budget_tokens=budget_tokens, k=k)
    emit(ctx.to_dict(), plain, lambda d: d["text"])


@memory.command()
@db_option
@functools.partial(encoder_option, required=True,
                   help="The NEW encoder spec, e.g. minilm, minilm@DIR (a `memlm train encoder` folder), hashing:384.")
@click.option("--batch", "batch_size", type=int, default=256, show_default=True, help="Memories encoded per batch.")
@plain_option
@errors_as_messages
def reembed(db, encoder, batch_size, plain):
    """Re-encode every memory (all tenants) with a new encoder and switch the database to it.

    All or nothing: on any failure the database keeps its old encoder and vectors. Stop
    servers and other processes using the database first, and reopen them with the new
    --encoder afterwards. Progress goes to stderr when it is a terminal.
    """
    from memlm.engine import reembed as reembed_store

    if batch_size < 1:
        raise ValueError("--batch must be at least 1")
    result = reembed_store(settings(db).db_path, encoder, batch_size=batch_size, progress=sys.stderr.isatty())
    emit(result, plain, lambda r: f"re-embedded {r['reembedded']} memories: {r['previous_encoder']} -> {r['encoder']}")


from memlm.cli import forget as _forget  # noqa: E402,F401  (registers `memory purge` and `memory forget`)
