"""The SDK's per-call overhead: `memlm.Client` / `AsyncClient` against the same request sent
with a bare httpx client (JSON decoded, nothing else), on a real `memlm serve` over loopback.

    PYTHONPATH=src python benchmarks/client_overhead.py [--memories 200] [--calls 300]

The server holds `--memories` facts (hashing encoder, so the server side is cheap and the
client's share shows). For each operation the two ways are interleaved call by call (the
same load on both), and each is reported as the median and p90 latency in ms plus the
median of the paired differences (SDK minus raw). The client's own CPU cost per call (body
building, retries bookkeeping, parsing into Hit / MemoryRecord) is also timed in-process,
replaying a recorded response, which shared CPUs do not blur.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from memlm import AsyncClient, Client
from memlm.bench.server import USER, free_port, prepare, start_server, wait_ready
from memlm.client.methods import Methods


def _ms(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"median {statistics.median(xs) * 1e3:6.3f} ms  p90 {xs[int(0.9 * (len(xs) - 1))] * 1e3:6.3f} ms"


def sync_pairs(base: str, key: str, calls: int) -> dict[str, dict[str, list[float]]]:
    raw = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    sdk = Client(base, api_key=key)
    some_id = sdk.list(user_id=USER, limit=1)[0].id
    ops = {
        "search k=10": (lambda: raw.post("/v1/memories/search", json={"query": "river walk", "user_id": USER,
                                                                     "k": 10}).json(),
                        lambda: sdk.search("river walk", user_id=USER, k=10)),
        "get": (lambda: raw.get(f"/v1/memories/{some_id}").json(), lambda: sdk.get(some_id)),
        "list 100": (lambda: raw.get("/v1/memories", params={"user_id": USER, "limit": 100}).json(),
                     lambda: sdk.list(user_id=USER, limit=100)),
    }
    out: dict[str, dict[str, list[float]]] = {}
    for name, (raw_call, sdk_call) in ops.items():
        raw_call(), sdk_call()  # warm up
        times: dict[str, list[float]] = {"raw": [], "sdk": []}
        for i in range(calls):
            order = (("raw", raw_call), ("sdk", sdk_call)) if i % 2 else (("sdk", sdk_call), ("raw", raw_call))
            for label, call in order:
                t = time.perf_counter()
                call()
                times[label].append(time.perf_counter() - t)
        out[name] = times
    raw.close()
    sdk.close()
    return out


async def async_pairs(base: str, key: str, calls: int) -> dict[str, list[float]]:
    raw = httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    sdk = AsyncClient(base, api_key=key)
    body = {"query": "river walk", "user_id": USER, "k": 10}
    times: dict[str, list[float]] = {"raw": [], "sdk": []}
    for i in range(calls + 1):
        for label in (("raw", "sdk") if i % 2 else ("sdk", "raw")):
            t = time.perf_counter()
            if label == "raw":
                (await raw.post("/v1/memories/search", json=body)).json()
            else:
                await sdk.search("river walk", user_id=USER, k=10)
            if i:  # the first round warms up
                times[label].append(time.perf_counter() - t)
    await raw.aclose()
    await sdk.aclose()
    return times


class Replay(Methods):
    """The plans run against one recorded response: the SDK's CPU cost without the network."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def _drive(self, plan):
        try:
            next(plan)
            while True:
                plan.send(self.response)
        except StopIteration as done:
            return done.value


def client_cpu(base: str, key: str, calls: int) -> tuple[float, float]:
    """Microseconds of CPU per search call spent in the SDK (body, plan, json decoding and
    parsing into Hits) and, for scale, in decoding the same JSON alone."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as raw:
        recorded = raw.post("/v1/memories/search", json={"query": "river walk", "user_id": USER, "k": 10})
    replay = Replay(recorded)
    content = recorded.content
    n = calls * 10
    t = time.process_time()
    for _ in range(n):
        json.loads(content)
    decode = time.process_time() - t
    t = time.process_time()
    for _ in range(n):
        replay.search("river walk", user_id=USER, k=10)
    sdk = time.process_time() - t
    return sdk / n * 1e6, decode / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=200)
    parser.add_argument("--calls", type=int, default=300, help="timed calls per way and operation")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        key = prepare(db, args.memories, "hashing", None)
        port = free_port()
        proc = start_server(db, port, "hashing", threads=2)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc, timeout=60)
            print(f"memlm serve on loopback, {args.memories} memories, hashing encoder, {args.calls} calls per way "
                  "(interleaved); wall times are noisy on shared CPUs")
            for name, times in sync_pairs(base, key, args.calls).items():
                diffs = [s - r for s, r in zip(times["sdk"], times["raw"])]
                print(f"Client {name:12s} raw httpx {_ms(times['raw'])} | Client {_ms(times['sdk'])} | "
                      f"paired diff median {statistics.median(diffs) * 1e3:+.3f} ms")
            times = asyncio.run(async_pairs(base, key, args.calls))
            diffs = [s - r for s, r in zip(times["sdk"], times["raw"])]
            print(f"AsyncClient search k=10 raw httpx {_ms(times['raw'])} | AsyncClient {_ms(times['sdk'])} | "
                  f"paired diff median {statistics.median(diffs) * 1e3:+.3f} ms")
            sdk_us, decode_us = client_cpu(base, key, args.calls)
            print(f"client CPU per search k=10 (in-process replay): SDK plan + parse {sdk_us:.1f} us, "
                  f"of which json decoding alone {decode_us:.1f} us")
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
