"""A real `memlm serve` process on 127.0.0.1 and a free port, driven over HTTP with httpx."""

from __future__ import annotations

import httpx
import pytest

from .conftest import _free_port, _memlm, serve_process  # noqa: F401 - other test modules import them from here


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
