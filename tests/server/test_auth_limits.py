"""401 without a good key, 413 for big bodies, 429 over the per-key rate; all with JSON bodies."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from memlm.server.limits import RateLimiter

from .conftest import make_api, make_settings


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer mlm_not-a-real-key", "Basic dXNlcjpwYXNz",
                                    "Bearer " + "x" * 500, "mlm_abc"])
def test_missing_or_bad_key_is_401(api, header):
    headers = {"Authorization": header} if header is not None else {}
    for method, url, body in [("GET", "/v1/memories", None), ("POST", "/v1/memories/search", {"query": "x"}),
                              ("GET", "/v1/export", None), ("GET", "/v1/memories/abc", None)]:
        r = api.client.request(method, url, headers=headers, json=body)
        assert r.status_code == 401, (header, url, r.text)
        assert r.json()["error"]["type"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"


def test_revoked_key_stops_working(api):
    state = api.client.app.state.memlm
    record, key = state.keys.create("acme", "temporary")
    headers = {"Authorization": f"Bearer {key}"}
    assert api.client.get("/v1/memories", headers=headers).status_code == 200
    state.keys.revoke(record.key_id)
    assert api.client.get("/v1/memories", headers=headers).status_code == 401


def test_body_over_the_limit_is_413(tmp_path):
    app, keys = make_api(make_settings(tmp_path, max_body_bytes=4096, rate_limit_per_minute=0))
    headers = {"Authorization": f"Bearer {keys['acme']}", "content-type": "application/json"}
    big = b'{"text": "' + b"a" * 5000 + b'", "user_id": "ana"}'
    with TestClient(app) as client:
        r = client.post("/v1/memories", content=big, headers=headers)  # Content-Length says so up front
        assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"

        def chunks():  # no Content-Length: counted as it streams in
            for i in range(0, len(big), 1000):
                yield big[i:i + 1000]

        r = client.post("/v1/memories", content=chunks(), headers=headers)
        assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"
        ok = b'{"text": "' + b"a" * 100 + b'", "user_id": "ana"}'
        assert client.post("/v1/memories", content=ok, headers=headers).status_code == 200
        r = client.post("/v1/memories", content=ok, headers={**headers, "content-length": "nope"})
        assert r.status_code == 400


def test_rate_limit_is_per_key_and_429(tmp_path):
    app, keys = make_api(make_settings(tmp_path, rate_limit_per_minute=60, rate_limit_burst=3))
    with TestClient(app) as client:
        def get(tenant):
            return client.get("/v1/memories", headers={"Authorization": f"Bearer {keys[tenant]}"})

        assert [get("acme").status_code for _ in range(3)] == [200, 200, 200]
        limited = get("acme")
        assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 2
        assert get("globex").status_code == 200  # another key has its own bucket
        assert client.get("/healthz").status_code == 200


def test_token_bucket_refills_at_the_rate():
    bucket = RateLimiter(per_minute=60, burst=2)  # one token a second
    assert bucket.retry_after("k", now=0.0) == 0.0
    assert bucket.retry_after("k", now=0.0) == 0.0
    assert bucket.retry_after("k", now=0.0) == pytest.approx(1.0)
    assert bucket.retry_after("k", now=0.5) == pytest.approx(0.5)
    assert bucket.retry_after("k", now=1.0) == 0.0
    assert bucket.retry_after("k", now=100.0) == 0.0  # refills to the burst size, not beyond
    assert bucket.retry_after("k", now=100.0) == 0.0
    assert bucket.retry_after("k", now=100.0) > 0
    assert RateLimiter(per_minute=0).retry_after("k") == 0.0  # 0 disables


def test_start_up_refuses_a_file_built_with_another_encoder(tmp_path):
    from memlm import Memory

    with Memory(tmp_path / "server.db", encoder="hashing:128") as m:
        m.add("built with a 128-dim encoder", user_id="u")
    app = make_api(make_settings(tmp_path))[0]  # hashing = 256 dims
    with pytest.raises(ValueError, match="built with encoder"):
        with TestClient(app):
            pass
