"""What a running server holds: one store and encoder shared by a `Memory` handle per tenant,
the key store, the rate limiter, and the bounded thread pool engine calls run in."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from memlm.config import IndexConfig, MemoryConfig
from memlm.encoders.base import Encoder
from memlm.engine import Memory
from memlm.llm.base import LLM
from memlm.server.errors import ApiError
from memlm.server.keys import KeyStore
from memlm.server.limits import RateLimiter
from memlm.server.settings import ServerSettings
from memlm.stores import StoreBusy, StoreUnavailable, StoreWriteError, open_store

T = TypeVar("T")


class TenantPool:
    """One `Memory` handle per tenant, all sharing one store (SQLite or PostgreSQL) and one encoder."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        # BLAS runs one thread per process here (blas_threads), where its gemv beats einsum (IndexConfig.blas_gemv)
        self.index = IndexConfig(blas_gemv=settings.blas_threads == 1)
        self.store = open_store(settings.db_path, index=self.index)  # opens the file / connects on first use, not here
        self._encoder: Encoder | None = None
        self._llm: LLM | None = None
        self._handles: dict[str, Memory] = {}
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                from memlm.encoders import get_encoder
                from memlm.engine import encoder_spec_for

                # builds it (the model loads on first encode); unasked, the one the store was made with
                self._encoder = get_encoder(encoder_spec_for(lambda: self.store, self.settings.encoder))
            return self._encoder

    @property
    def llm(self) -> LLM | None:
        """The server's LLM (shared by every tenant; it keeps no state between calls), if configured."""
        with self._lock:
            if self._llm is None and self.settings.llm:
                from memlm.llm import get_llm

                self._llm = get_llm(self.settings.llm)
            return self._llm

    def memory(self, tenant: str) -> Memory:
        """The tenant's handle: every statement it runs is scoped to that tenant."""
        encoder, llm = self.encoder, self.llm
        with self._lock:
            handle = self._handles.get(tenant)
            if handle is None:
                handle = Memory(self.settings.db_path, encoder=encoder, store=self.store,
                                config=MemoryConfig(tenant=tenant, index=self.index,
                                                     capacity=self.settings.capacity()), llm=llm or "none")
                self._handles[tenant] = handle
            return handle

    def warm_up(self) -> None:
        """Open the file (running migrations), check its encoder and load the model."""
        encoder = self.encoder
        encoder.encode(["warm up"])
        self.store.check_encoder(encoder.name, encoder.dim)

    def close(self) -> None:
        self.store.close()


class ServerState:
    """Everything the routes need, kept on `app.state.memlm`."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.pool = TenantPool(settings)
        self.keys = KeyStore(self.pool.store)
        self.rate = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst, settings.rate_limit_file)
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created lazily: it belongs to the running event loop
            self._limiter = anyio.CapacityLimiter(self.settings.worker_threads)
        return self._limiter

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call in the worker pool; the engine's KeyError is a 404, ValueError a 400."""
        try:
            return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=self.limiter)
        except KeyError as exc:
            raise ApiError(404, str(exc.args[0]) if exc.args else "not found") from None
        except (ValueError, OverflowError) as exc:
            raise ApiError(400, str(exc) or type(exc).__name__) from None
        except StoreBusy as exc:  # another write held the lock past the busy timeout: nothing was written
            raise ApiError(503, str(exc), headers={"Retry-After": "1"}) from None
        except (StoreUnavailable, StoreWriteError) as exc:  # database down, disk full, read-only: retry later
            raise ApiError(503, str(exc).splitlines()[0] if str(exc) else "store unavailable") from None
