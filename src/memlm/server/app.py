"""`create_app(settings)`: the FastAPI application serving memlm over HTTP.

Nothing happens at import; the app opens the memory file and loads the encoder at
start-up (or on first use when `warm_up` is off), and closes the file at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI

from memlm.server import docs, errors, inspector, webui
from memlm.server.limits import BodyLimitMiddleware, describe
from memlm.server.models import HealthOut
from memlm.server.proxy import router as proxy_router
from memlm.server.routes import router
from memlm.server.settings import ServerSettings
from memlm.server.state import ServerState
from memlm.stores import redact

log = logging.getLogger("memlm.server")

DESCRIPTION = """Memory for LLM applications, as a service: the `memlm.Memory` API over HTTP.

Every /v1 request needs `Authorization: Bearer KEY` (a key from `memlm keys create TENANT`);
the key decides the tenant, so a request only ever sees its own tenant's memories.
Errors are JSON: `{"error": {"type": ..., "message": ...}}`."""


def _version() -> str:
    from memlm import __version__

    return __version__


def app_from_env() -> FastAPI:
    """The app for one of several worker processes (`memlm serve --workers N`): the settings
    come from $MEMLM_SERVER_SETTINGS (JSON) that the parent process wrote."""
    import os

    return create_app(ServerSettings.model_validate_json(os.environ["MEMLM_SERVER_SETTINGS"]))


def purge_expired(state: ServerState) -> dict[str, int]:
    """Delete every tenant's expired memories now (`Memory.purge`); {tenant: purged} of those
    that had any."""
    from datetime import datetime, timezone

    done = {}
    for tenant in state.pool.store.expired_tenants(datetime.now(timezone.utc)):
        done[tenant] = state.pool.memory(tenant).purge()
    return done


async def purge_on_schedule(state: ServerState, every: float) -> None:
    """Purge expired memories every `every` seconds (`memlm serve --purge-every`), in a worker
    thread; a failed round is logged and the next one runs on time."""
    while True:
        await anyio.sleep(every)
        try:
            done = await anyio.to_thread.run_sync(purge_expired, state, limiter=state.limiter)
            if done:
                log.info("purged expired memories: %s", done)
        except Exception:  # a store that is down now may be back for the next round
            log.exception("scheduled purge failed")


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the app; `settings` default to ServerSettings.from_env()."""
    settings = settings or ServerSettings.from_env()
    state = ServerState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from threadpoolctl import threadpool_limits

        threadpool_limits(
            settings.blas_threads, user_api="blas"
        )  # this process's BLAS, for good (IndexConfig.blas_gemv)
        if settings.warm_up:
            await anyio.to_thread.run_sync(state.pool.warm_up)  # errors here stop the start-up
        log.info("memlm serving %s (%s)", redact(settings.db_path), describe(settings))
        try:
            async with anyio.create_task_group() as tasks:
                if settings.purge_every > 0:
                    tasks.start_soon(purge_on_schedule, state, settings.purge_every)
                yield
                tasks.cancel_scope.cancel()  # shutting down: stop the scheduled purge
        finally:
            state.pool.close()
            state.rate.close()

    app = FastAPI(title="memlm", version=_version(), description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # served from local assets below (server/docs.py)
    docs.install(app, "memlm")
    app.state.memlm = state
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.include_router(router)
    app.include_router(proxy_router)
    app.include_router(inspector.router)
    app.include_router(webui.router)  # the web inspector at /ui (static files calling /v1)

    @app.get("/healthz", response_model=HealthOut, tags=["health"], summary="Liveness check (no key needed)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": _version()}

    return app
