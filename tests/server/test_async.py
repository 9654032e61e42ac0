"""Engine calls run in the bounded worker pool: a slow embedding never blocks the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx

from memlm.encoders import HashingEncoder

from .conftest import make_api, make_settings


class SlowEncoder:
    """The hashing encoder, taking `delay` seconds per call and recording where and how parallel it ran."""

    def __init__(self, delay: float) -> None:
        self.inner = HashingEncoder(256)
        self.name, self.dim, self.delay = self.inner.name, self.inner.dim, delay
        self.threads: set[int] = set()
        self.running = self.peak = 0
        self._lock = threading.Lock()

    def encode(self, texts, *, progress=False):
        with self._lock:
            self.threads.add(threading.get_ident())
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.delay)
        with self._lock:
            self.running -= 1
        return self.inner.encode(texts)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


def test_slow_embedding_runs_off_the_event_loop_in_a_bounded_pool(tmp_path):
    tenants = ("t1", "t2", "t3", "t4")
    app, keys = make_api(make_settings(tmp_path, worker_threads=2, rate_limit_per_minute=0, warm_up=False), tenants)
    slow = SlowEncoder(delay=0.4)
    app.state.memlm.pool._encoder = slow

    async def scenario() -> tuple[float, list[int]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://memlm") as client:
            adds = [asyncio.create_task(client.post("/v1/memories", headers={"Authorization": f"Bearer {keys[t]}"},
                                                    json={"text": f"fact of {t}", "user_id": "u"}))
                    for t in tenants]
            await asyncio.sleep(0.1)
            start = time.perf_counter()
            health = await client.get("/healthz")
            health_s = time.perf_counter() - start
            assert health.status_code == 200 and not all(t.done() for t in adds)
            return health_s, [r.status_code for r in await asyncio.gather(*adds)]

    health_s, statuses = asyncio.run(scenario())
    assert statuses == [200] * 4
    assert health_s < 0.3  # answered while embeddings were still running
    assert threading.main_thread().ident not in slow.threads
    assert slow.peak == 2  # tenants run in parallel, bounded by worker_threads


def test_concurrent_requests_from_two_tenants_all_succeed(tmp_path):
    app, keys = make_api(make_settings(tmp_path, worker_threads=4, rate_limit_per_minute=0, warm_up=False))

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://memlm") as client:
            def call(tenant: str, i: int):
                headers = {"Authorization": f"Bearer {keys[tenant]}"}
                if i % 3 == 0:
                    return client.post("/v1/memories/search", headers=headers, json={"query": "city", "user_id": "u"})
                if i % 3 == 1:
                    return client.get("/v1/memories", headers=headers, params={"user_id": "u"})
                return client.post("/v1/memories", headers=headers,
                                   json={"messages": [{"role": "user", "content": f"{tenant} turn {i}"}],
                                         "user_id": "u", "session_id": "s"})

            return await asyncio.gather(*(call(t, i) for i in range(30) for t in keys))

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses] == [200] * 60
    for tenant in keys:
        memory = app.state.memlm.pool.memory(tenant)
        texts = [m.text for m in memory.list(user_id="u", limit=1000)]
        assert len(texts) == 10 and all(t.startswith(tenant) for t in texts)
