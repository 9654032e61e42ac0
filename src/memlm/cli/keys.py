"""`memlm keys ...`: create, list and revoke the API keys `memlm serve` accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from memlm.cli.common import db_option, emit, errors_as_messages, plain_option, require_database, settings


def _db_option(func: Callable) -> Callable:
    return db_option(func, help="Memory file or postgresql:// URL the server uses (default $MEMLM_HOME/memory.db) "
                                "[env MEMLM_DB]")


@contextmanager
def _key_store(db: str | Path | None, *, create: bool = False) -> Iterator[Any]:
    """The key store of the database, closed afterwards."""
    from memlm.server.keys import KeyStore
    from memlm.stores import open_store

    target = settings(db).db_path
    if not create:
        require_database(target)
    store = open_store(target)
    try:
        yield KeyStore(store)
    finally:
        store.close()


@click.group()
def keys() -> None:
    """API keys for `memlm serve`: each key maps to one tenant. Only hashes are stored."""


@keys.command()
@click.argument("tenant")
@click.option("--name", default=None, help="A label to recognise the key by.")
@_db_option
@plain_option
@errors_as_messages
def create(tenant, name, db, plain):
    """Create a key for TENANT and print it (the only time it is shown)."""
    with _key_store(db, create=True) as ks:
        record, key = ks.create(tenant, name)
    emit({**record.to_dict(), "key": key}, plain,
         lambda d: f"{d['key']}\n(key id {d['key_id']}, tenant {d['tenant']}; store it now: it is not shown again)")


@keys.command("list")
@click.option("--tenant", default=None, help="Only this tenant's keys.")
@click.option("--active", "active_only", is_flag=True, help="Leave out revoked keys.")
@_db_option
@plain_option
@errors_as_messages
def list_(tenant, active_only, db, plain):
    """List keys (ids, tenants, prefixes, state); secrets are never shown."""
    with _key_store(db) as ks:
        records = ks.list(tenant, include_revoked=not active_only)
    emit([r.to_dict() for r in records], plain, _render)


def _render(rows: list[dict]) -> str:
    lines = [f"{r['key_id']}  {r['prefix']}...  {r['tenant']:20} "
             f"{'active' if r['active'] else 'revoked ' + r['revoked_at'][:19]}  {r['name'] or ''}".rstrip()
             for r in rows]
    return "\n".join(lines) or "(no keys)"


@keys.command()
@click.argument("key_id")
@_db_option
@plain_option
@errors_as_messages
def revoke(key_id, db, plain):
    """Revoke KEY_ID: the server refuses it from its next request on."""
    with _key_store(db) as ks:
        record = ks.revoke(key_id)
    emit(record.to_dict(), plain, lambda d: f"revoked {d['key_id']} (tenant {d['tenant']})")
