"""A real `memlm serve` process on 127.0.0.1 and a free port, driven over HTTP with httpx."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from memlm.bench.server import wait_ready
import pytest

from memlm.server.keys import KeyStore
from memlm.stores.sqlite import SQLiteStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memlm() -> list[str]:
    exe = Path(sys.executable).with_name("memlm")
    return [str(exe)] if exe.exists() else [shutil.which("memlm") or "memlm"]


@contextmanager
def serve_process(tmp_path, *args: str, ready_s: float = 30.0) -> Iterator[tuple[str, str]]:
    """`memlm serve ARGS` on a fresh file with one key for tenant acme: yields (base URL, key)."""
    db = tmp_path / "served.db"
    store = SQLiteStore(db)
    _, key = KeyStore(store).create("acme")
    store.close()
    port = _free_port()
    env = {**os.environ, "MEMLM_DB": str(db), "MEMLM_ENCODER": "hashing", "MEMLM_PORT": str(port)}
    proc = subprocess.Popen([*_memlm(), "serve", "--host", "127.0.0.1", "--log-level", "warning", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, timeout=ready_s)
        yield base, key
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def server(tmp_path):
    with serve_process(tmp_path) as running:
        yield running


def test_real_server_round_trip(server):
    base, key = server
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        events = client.post("/v1/memories", json={"text": "I grow tomatoes on my balcony", "user_id": "ana"})
        assert events.status_code == 200 and events.json()["events"][0]["event"] == "ADD"
        hits = client.post("/v1/memories/search", json={"query": "balcony garden", "user_id": "ana"}).json()
        assert hits["results"][0]["memory"]["text"] == "I grow tomatoes on my balcony"
        assert client.get("/openapi.json").json()["info"]["title"] == "memlm"
    anonymous = httpx.get(f"{base}/v1/memories", timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "unauthorized"


def test_several_worker_processes_serve_the_same_file(tmp_path):
    with serve_process(tmp_path, "--workers", "2", ready_s=60.0) as (base, key):
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            ids = {client.post("/v1/memories", json={"text": f"note number {i} about kites", "user_id": "ana"}
                               ).json()["events"][0]["id"] for i in range(6)}
            listed = {m["id"] for m in client.get("/v1/memories", params={"user_id": "ana"}).json()["memories"]}
            assert listed == ids  # whichever process served each request, one file holds them all
            hits = client.post("/v1/memories/search", json={"query": "kites", "user_id": "ana"}).json()["results"]
            assert {h["memory"]["id"] for h in hits} == ids
