"""`memlm memory purge` and `memlm memory forget`: deliberate forgetting (write/forget.py)."""

from __future__ import annotations

import click

from memlm.cli.common import db_options, emit, errors_as_messages, open_memory, plain_option, scope_options
from memlm.cli.memory import _warn_pending, memory


@memory.command()
@click.option("--wait", "wait_s", type=click.FloatRange(0, 3600), default=5.0, show_default=True,
              help="Seconds to wait for readers that hold an older snapshot.")
@db_options
@plain_option
@errors_as_messages
def purge(wait_s, db, encoder, plain):
    """Delete the memories whose expiry (--ttl / --expires on add) has passed, then remove the bytes
    of every deleted memory from the file (WAL and full-text index included)."""
    with open_memory(db, encoder) as mem:
        n = mem.purge()
        erasure = mem.erase(wait_s)
    emit({"purged": n, "erasure": erasure}, plain,
         lambda r: f"purged {r['purged']} expired memories; erasure {r['erasure']}")
    _warn_pending(erasure)


@memory.command()
@click.option("--before", default=None, help="Memories that occurred (else were stored) before this date.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["episode", "fact", "summary"]),
              help="Only these kinds.")
@click.option("--weaker-than", "weaker_than", type=float, default=None,
              help="Memories whose strength (recalls into a context, decaying) is below this.")
@click.option("--yes", "apply", is_flag=True, help="Delete them; without it, only list what would go (dry run).")
@scope_options
@db_options
@plain_option
@errors_as_messages
def forget(before, kinds, weaker_than, apply, user_id, agent_id, session_id, db, encoder, plain):
    """Forget by rule: --before DATE, --kind, --session, --weaker-than. A dry run unless --yes."""
    with open_memory(db, encoder) as mem:
        chosen = mem.forget(user_id=user_id, agent_id=agent_id, session_id=session_id, before=before,
                            kind=list(kinds) or None, weaker_than=weaker_than, dry_run=not apply)
    out = {"dry_run": not apply, "count": len(chosen), "memories": [r.to_dict() for r in chosen]}
    emit(out, plain, lambda r: "\n".join([f"{'would forget' if r['dry_run'] else 'forgot'} {r['count']} memories"]
                                         + [f"  {m['id']}  ({m['kind']}) {m['text']}" for m in r["memories"]]))
