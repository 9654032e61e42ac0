"""The three faces of memlm's API, as one fixture: a local `Memory`, a `Client` and an
`AsyncClient` on a real `memlm serve` process (loopback, hashing encoder, no rate limit).

The async client is driven through `Synced`, which runs each awaitable on one event loop,
so every parity test body is written once and runs against all three."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from memlm import AsyncClient, Client, Memory


class Synced:
    """An AsyncClient whose methods block: `synced.search(...)` is `loop.run_until_complete(client.search(...))`."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            assert asyncio.iscoroutine(result), f"AsyncClient.{name} must return a coroutine"
            return self.loop.run_until_complete(result)
        return call

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


BACKENDS = ["memory", "client", "async"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """(kind, api): the same surface three ways. Each test gets fresh owners (`ids`), so the
    shared server needs no cleaning between tests."""
    kind = request.param
    if kind == "memory":
        api: Any = Memory(tmp_path / "local.db", encoder="hashing")
        yield kind, api
        api.close()
        return
    base, key = request.getfixturevalue("served")
    if kind == "client":
        api = Client(base, api_key=key)
        yield kind, api
        api.close()
    else:
        api = Synced(AsyncClient(base, api_key=key))
        yield kind, api
        api.close()


@pytest.fixture
def api(backend):
    return backend[1]


@pytest.fixture
def ids():
    """Owner ids unique to this test (the server's file is shared by the session)."""
    tag = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{tag}"
