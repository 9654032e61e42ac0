"""Forgetting over HTTP: scope deletes racing other writes, a busy store's 503, honest erasure state."""

from __future__ import annotations

import collections
import random
import sqlite3
import threading
import time

import httpx
from fastapi.testclient import TestClient

from .conftest import Api, make_api, make_settings, serve_process

RACE_SECONDS = 10.0  # the mix runs this long at most...
RACE_REQUESTS = 1500  # ...or until this many requests


def test_adds_single_and_scope_deletes_at_once_get_no_5xx(tmp_path):
    """3 adders, 2 single deleters and 2 scope deleters against a real server (loopback)."""
    counts: collections.Counter = collections.Counter()
    failures: list[str] = []
    erasures: collections.Counter = collections.Counter()
    ids: list[str] = []
    lock = threading.Lock()
    with serve_process(tmp_path, "--rate-limit", "0") as (base, key):
        stop = time.monotonic() + RACE_SECONDS

        def worker(kind: str, seed: int) -> None:
            rnd = random.Random(seed)
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                while time.monotonic() < stop and sum(counts.values()) < RACE_REQUESTS:
                    user = f"u{rnd.randrange(3)}"
                    try:
                        if kind == "add":
                            r = client.post("/v1/memories",
                                            json={"text": f"note {rnd.random()} on kites", "user_id": user})
                            if r.status_code == 200:
                                with lock:
                                    ids.extend(e["id"] for e in r.json()["events"])
                        elif kind == "delete":
                            with lock:
                                mid = ids.pop() if ids else None
                            if mid is None:
                                time.sleep(0.005)
                                continue
                            r = client.delete(f"/v1/memories/{mid}")
                        else:
                            time.sleep(0.02)
                            r = client.delete("/v1/memories", params={"user_id": user})
                            if r.status_code == 200:
                                with lock:
                                    erasures[r.json()["erasure"]] += 1
                    except httpx.HTTPError as exc:  # a reset connection is as bad as a 500
                        with lock:
                            failures.append(f"{kind}: {type(exc).__name__}")
                        continue
                    with lock:
                        counts[(kind, r.status_code)] += 1
                        if r.status_code >= 500:
                            failures.append(f"{kind}: {r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=worker, args=(kind, i))
                   for i, kind in enumerate(["add"] * 3 + ["delete"] * 2 + ["scope"] * 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=RACE_SECONDS + 120)
    total, errors = sum(counts.values()), sum(n for (_, s), n in counts.items() if s >= 500)
    print(f"delete race: {total} requests, {errors} 5xx, {len(failures)} failures; {dict(counts)}")  # -s
    assert not failures, (failures[:5], dict(counts))
    assert {s for (_, s) in counts} <= {200, 404}  # 404: a single delete of what a scope delete took
    for kind in ("add", "delete", "scope"):
        assert counts[(kind, 200)] > 0, dict(counts)
    assert set(erasures) <= {"complete", "pending"} and erasures["complete"] > 0
    assert b"Traceback" not in (tmp_path / "serve.log").read_bytes()
    conn = sqlite3.connect(tmp_path / "served.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')") is not None
    conn.close()


def test_a_write_that_waits_past_the_busy_timeout_answers_503(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMLM_BUSY_TIMEOUT", "0.3")
    app, keys = make_api(make_settings(tmp_path, rate_limit_per_minute=0))
    with TestClient(app) as client:
        api = Api(client, keys)
        before = api.call("acme", "POST", "/v1/memories", json={"text": "before the lock", "user_id": "ana"})
        assert before.status_code == 200
        other = sqlite3.connect(tmp_path / "server.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            for method, url, kwargs in (("POST", "/v1/memories", {"json": {"text": "blocked", "user_id": "ana"}}),
                                        ("DELETE", "/v1/memories", {"params": {"user_id": "ana"}})):
                r = api.call("acme", method, url, **kwargs)
                assert r.status_code == 503, r.text
                assert r.json()["error"]["type"] == "unavailable" and "busy" in r.json()["error"]["message"]
                assert r.headers["Retry-After"] == "1"
            listed = api.call("acme", "GET", "/v1/memories", params={"user_id": "ana"})  # reads still work
            assert [m["text"] for m in listed.json()["memories"]] == ["before the lock"]
        finally:
            other.execute("ROLLBACK")
            other.close()
        r = api.call("acme", "POST", "/v1/memories", json={"text": "after the lock", "user_id": "ana"})
        assert r.status_code == 200


def test_erasure_state_over_http(api, tmp_path):
    [kept] = api.call("acme", "POST", "/v1/memories", json={"text": "zqhttpmarkxq lives here", "user_id": "ana"}
                      ).json()["events"]
    [gone] = api.call("acme", "POST", "/v1/memories", json={"text": "zqhttpgonexq was said", "user_id": "ana"}
                      ).json()["events"]
    assert api.call("acme", "DELETE", f"/v1/memories/{gone['id']}").json()["text"] == "zqhttpgonexq was said"
    hist = api.call("acme", "GET", f"/v1/memories/{gone['id']}/history").json()["history"]
    assert [h["event"] for h in hist] == ["ADD", "DELETE"]
    assert all(h["old_text"] is None and h["new_text"] is None and h["at"] for h in hist)
    reader = sqlite3.connect(tmp_path / "server.db", isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM memories WHERE id = ?", (kept["id"],)).fetchone()[0] == 1
    out = api.call("acme", "DELETE", "/v1/memories", params={"user_id": "ana"}).json()
    assert out == {"deleted": 1, "erasure": "pending"}  # the reader's snapshot still holds the text
    reader.execute("COMMIT")
    reader.close()
    deadline = time.monotonic() + 20
    while out["erasure"] != "complete" and time.monotonic() < deadline:
        time.sleep(0.1)
        out = api.call("acme", "DELETE", "/v1/memories", params={"user_id": "ana"}).json()
    assert out == {"deleted": 0, "erasure": "complete"}
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("server.db"))
    assert b"zqhttp" not in raw
