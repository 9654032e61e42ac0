"""`memlm migrate --from URL --to URL`: copy a whole store to another backend and verify it."""

from __future__ import annotations

import click

from memlm.cli.common import emit, errors_as_messages, plain_option


@click.command()
@click.option("--from", "source", required=True, help="Source store: a file, sqlite:///path or postgresql://...")
@click.option("--to", "target", required=True, help="Destination store (must hold no memories yet).")
@plain_option
@errors_as_messages
def migrate(source: str, target: str, plain: bool) -> None:
    """Copy memories, embeddings, history and API keys; verify counts and checksums."""
    from memlm.stores import open_store, redact, sqlite_path
    from memlm.stores.transfer import copy_store

    if not source.startswith(("postgresql://", "postgres://")) and not sqlite_path(source).exists():
        raise FileNotFoundError(f"no store at {source}")
    src, dst = open_store(source), open_store(target)
    try:
        report = copy_store(src, dst, progress=lambda t, n: click.echo(f"memlm: {t}: {n} copied", err=True))
    finally:
        src.close()
        dst.close()
    data = {"from": redact(source), "to": redact(target), **report.to_dict()}
    emit(data, plain, lambda d: _render(d))
    if not report.ok:
        raise ValueError("verification failed: the copy differs from the source (see the report above)")


def _render(d: dict) -> str:
    lines = [f"{d['from']} -> {d['to']}: {d['memories']} memories, {d['api_keys']} API keys, "
             f"{'verified' if d['ok'] else 'MISMATCH'}"]
    for t in d["tenants"]:
        lines.append(f"  {t['tenant']}: {t['memories']} memories, {t['history']} history entries, "
                     f"sha256 {t['source_sha256'][:16]} {'ok' if t['ok'] else 'DIFFERS'}")
    return "\n".join(lines)
