"""`memlm bench server`: concurrent clients against a real `memlm serve` on loopback.

A temporary memory file is filled with N memories for one tenant (texts from a word
generator, random unit vectors: see bench/search.py), a key is made, `memlm serve` runs as
a subprocess on 127.0.0.1 (rate limit off), and C client threads send a mix of searches
and adds for a fixed time or request count, whichever ends first. Traffic never leaves
the machine and every loop is bounded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from memlm.bench.search import QUERIES, fill
from memlm.engine import Memory

TENANT = "bench"
USER = "bench-user"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(db: Path, memories: int, encoder: str | None, seed_text: str | None) -> str:
    """Fill the file and create an API key; returns the key."""
    from memlm.config import MemoryConfig
    from memlm.server.keys import KeyStore

    with Memory(db, encoder=encoder, config=MemoryConfig(tenant=TENANT)) as mem:
        if memories:
            fill(mem, memories, user_id=USER, seed_text=seed_text, progress=False)
        _, key = KeyStore(mem.store).create(TENANT, "bench")
    return key


def start_server(db: Path, port: int, encoder: str | None, threads: int, workers: int = 1) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "memlm", "serve", "--db", str(db), "--port", str(port), "--rate-limit", "0",
           "--threads", str(threads), "--workers", str(workers), "--log-level", "warning"]
    if encoder:
        cmd += ["--encoder", encoder]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stream = proc.stderr or proc.stdout
            said = stream.read().decode(errors="replace")[-500:] if stream else ""
            raise RuntimeError(f"memlm serve exited: {said}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("memlm serve did not become ready")


def drive(base: str, key: str, clients: int, seconds: float, max_requests: int, add_share: float,
          keep_alive: bool = True) -> dict[str, Any]:
    """Run the clients; returns throughput and latency figures per operation. Each client is a
    thread with one keep-alive connection (the stdlib's http.client: the load generator shares
    the server's cores, and costs half of httpx's CPU per request); without keep_alive, a new
    connection per request (so that every server process gets some)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    host, port = urlsplit(base).hostname, urlsplit(base).port
    if host is None:
        raise ValueError(f"no host in the server URL {base!r}")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    lat: dict[str, list[float]] = {"search": [], "add": []}
    errors: list[str] = []
    lock = threading.Lock()
    budget = iter(range(max_requests))
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        rng = np.random.default_rng(i)
        conn = http.client.HTTPConnection(host, port, timeout=30.0)
        try:
            while time.monotonic() < stop_at and next(budget, None) is not None:
                op = "add" if rng.random() < add_share else "search"
                body = ({"messages": [{"role": "user", "content": f"client {i} note {rng.integers(10**9)}"}],
                         "user_id": USER, "session_id": f"c{i}"} if op == "add"
                        else {"query": QUERIES[int(rng.integers(len(QUERIES)))], "user_id": USER, "k": 10})
                path = "/v1/memories" if op == "add" else "/v1/memories/search"
                t = time.perf_counter()
                try:
                    conn.request("POST", path, body=json.dumps(body), headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    outcome = str(response.status) if response.status >= 400 or not json.loads(payload) else None
                except (OSError, http.client.HTTPException, ValueError) as exc:  # a dropped connection, bad JSON
                    outcome = type(exc).__name__
                    conn.close()  # the next request reconnects
                if not keep_alive:
                    conn.close()
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    if outcome is None:
                        lat[op].append(ms)
                    else:
                        errors.append(outcome)
        finally:
            conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    out: dict[str, Any] = {"clients": clients, "seconds": round(wall, 2), "errors": len(errors)}
    for op, values in lat.items():
        a = np.array(values) if values else np.array([np.nan])
        out[op] = {"count": len(values), "per_s": round(len(values) / wall, 1),
                   **{f"p{q}_ms": round(float(np.percentile(a, q)), 2) for q in (50, 95, 99)}}
    return out


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and its descendants so far (Linux /proc; None
    elsewhere): the server's CPU per request, which other jobs on the machine change far less
    than throughput."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:  # gone meanwhile
            continue
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
        stats[int(entry.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    if pid not in stats:
        return None
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats[p][1]
        todo += [c for c, (parent, _) in stats.items() if parent == p]
    return total


def run(memories: int, clients: int, seconds: float, max_requests: int, add_share: float, encoder: str | None,
        threads: int, seed_text: str | None, workers: int = 1) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "server.db"
        key = prepare(db, memories, encoder, seed_text)
        port = free_port()
        proc = start_server(db, port, encoder, threads, workers)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc)
            # warm: every process loads the owner's vectors (new connections spread over the processes)
            drive(base, key, 2 * workers, 30.0, 32 * workers, 0.0, keep_alive=False)
            cpu0 = tree_cpu_seconds(proc.pid)
            result = drive(base, key, clients, seconds, max_requests, add_share)
            cpu1 = tree_cpu_seconds(proc.pid)
            done = result["search"]["count"] + result["add"]["count"]
            if cpu0 is not None and cpu1 is not None and done:
                result["server_cpu_ms_per_request"] = round((cpu1 - cpu0) * 1000 / done, 2)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    result.update({"memories": memories, "add_share": add_share, "workers": workers, "threads": threads})
    return result
