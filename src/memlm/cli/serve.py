"""`memlm serve`: the HTTP API (memlm.server) under uvicorn."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from memlm.cli.common import db_option, encoder_option, errors_as_messages

if TYPE_CHECKING:
    from memlm.server.settings import ServerSettings


@click.command()
@click.option("--host", envvar="MEMLM_HOST", default="127.0.0.1", show_default=True,
              help="Address to listen on [env MEMLM_HOST].")
@click.option("--port", envvar="MEMLM_PORT", type=click.IntRange(0, 65535), default=8420, show_default=True,
              help="Port [env MEMLM_PORT].")
@db_option
@encoder_option
@click.option("--llm", default=None,
              help="LLM for /v1/chat/completions and fact extraction: local, local:PATH.gguf, openai:MODEL "
                   "[env MEMLM_LLM; default none].")
@click.option("--rate-limit", type=click.IntRange(min=0), default=None,
              help="Requests per API key per minute; 0: no limit [env MEMLM_RATE_LIMIT; default 600].")
@click.option("--max-body-bytes", type=click.IntRange(min=1024), default=None,
              help="Largest request body accepted [default 1 MiB].")
@click.option("--threads", "worker_threads", type=click.IntRange(1, 64), default=None,
              help="Worker threads for engine calls [default 4].")
@click.option("--workers", envvar="MEMLM_WORKERS", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (each with its own threads and caches; they share the rate limits) "
                   "[env MEMLM_WORKERS].")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
@click.option("--purge-every", type=click.FloatRange(min=0), default=None,
              help="Seconds between purges of expired memories (default $MEMLM_PURGE_EVERY, else 3600; 0: off).")
@errors_as_messages
def serve(host, port, db, encoder, llm, rate_limit, max_body_bytes, worker_threads, workers, log_level, purge_every):
    """Serve memory over HTTP: the /v1 REST API and the web inspector at /ui, keys from `memlm keys create TENANT`."""
    import uvicorn

    from memlm.server.app import create_app
    from memlm.server.limits import describe
    from memlm.server.settings import ServerSettings

    settings = ServerSettings.from_env(db=db, encoder=encoder, llm=llm, rate_limit_per_minute=rate_limit,
                                       max_body_bytes=max_body_bytes, worker_threads=worker_threads,
                                       purge_every=purge_every)
    _preflight(settings)
    from memlm.stores import redact

    click.echo(f"memlm: serving {redact(settings.db_path)} ({describe(settings)})", err=True)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return
    with shared_rate_limit(settings, workers) as worker_settings:
        os.environ["MEMLM_SERVER_SETTINGS"] = worker_settings.model_dump_json()  # read by each worker's app_from_env
        uvicorn.run("memlm.server.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                    log_level=log_level)


@contextmanager
def shared_rate_limit(settings: ServerSettings, workers: int) -> Iterator[ServerSettings]:
    """The settings for `workers` processes: with more than one and a rate limit, their token
    buckets go in a file in a fresh temporary folder (rate_limit_file), removed on exit."""
    if workers <= 1 or not settings.rate_limit_per_minute:
        yield settings
        return
    from memlm.server.buckets import SharedBuckets

    folder = Path(tempfile.mkdtemp(prefix="memlm-serve-"))  # mode 0700: only this user can touch the buckets
    try:
        path = folder / "rate-limit.buckets"
        SharedBuckets.create(path)
        yield settings.model_copy(update={"rate_limit_file": path})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _preflight(settings: ServerSettings) -> None:
    """Check --encoder, --llm and --db before uvicorn starts, so a bad one is a one-line error, not a
    traceback from the app's start-up: the specs parse, the database opens (migrated; a new file
    records the encoder) and was built with this encoder. Warns when it holds no API key yet."""
    from memlm.encoders import get_encoder
    from memlm.llm import get_llm
    from memlm.server.keys import KeyStore
    from memlm.stores import open_store

    encoder = get_encoder(settings.encoder)  # builds it; the model loads at the app's start-up
    get_llm(settings.llm or "none")
    db = settings.db_path
    store = open_store(db)
    try:
        store.check_encoder(encoder.name, encoder.dim)
        if not KeyStore(store).list(include_revoked=False):
            click.echo(f"memlm: no API keys in {db} yet; create one with `memlm keys create TENANT --db {db}`",
                       err=True)
    finally:
        store.close()
