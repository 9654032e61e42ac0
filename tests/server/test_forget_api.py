"""Expiry, purge and forget over HTTP."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from tests.server.conftest import Api, make_api, make_settings


def test_expiry_purge_and_forget_over_http(api):
    def post(url, body):
        return api.call("acme", "POST", url, json=body)

    assert post("/v1/memories", {"text": "parked on level B", "user_id": "ana",
                                 "expires_at": "2001-01-01"}).status_code == 200
    assert post("/v1/memories", {"text": "hotel room 305", "user_id": "ana", "ttl": 3600}).status_code == 200
    assert post("/v1/memories", {"text": "old note", "user_id": "ana", "occurred_at": "2010-01-01"}).status_code == 200
    listed = api.call("acme", "GET", "/v1/memories", params={"user_id": "ana"}).json()["memories"]
    assert {m["text"] for m in listed} == {"hotel room 305", "old note"}
    found = post("/v1/memories/search", {"query": "parked level", "user_id": "ana"}).json()["results"]
    assert "parked on level B" not in {h["memory"]["text"] for h in found}
    assert post("/v1/memories/purge", {}).json() == {"purged": 1}
    dry = post("/v1/memories/forget", {"user_id": "ana", "before": "2020-01-01"}).json()
    assert dry["dry_run"] and dry["count"] == 1 and dry["memories"][0]["text"] == "old note"
    done = post("/v1/memories/forget", {"user_id": "ana", "before": "2020-01-01", "dry_run": False}).json()
    assert not done["dry_run"] and done["count"] == 1
    listed = api.call("acme", "GET", "/v1/memories", params={"user_id": "ana"}).json()["memories"]
    assert [m["text"] for m in listed] == ["hotel room 305"]
    assert api.call("globex", "POST", "/v1/memories/purge", json={}).json() == {"purged": 0}
    weak = post("/v1/memories/forget", {"user_id": "ana", "weaker_than": 5}).json()
    assert [m["text"] for m in weak["memories"]] == ["hotel room 305"]


def test_bad_forget_requests_are_4xx(api):
    for body, status in (({"user_id": "ana"}, 400), ({"user_id": "ana", "before": "nope"}, 400),
                         ({"user_id": "ana", "kinds": ["dream"]}, 422), ({"user_id": "ana", "weaker_than": 0}, 422)):
        r = api.call("acme", "POST", "/v1/memories/forget", json=body)
        assert r.status_code == status, r.text
    r = api.call("acme", "POST", "/v1/memories", json={"text": "x", "user_id": "ana", "ttl": -1})
    assert r.status_code == 422


def test_the_server_purges_expired_memories_on_a_schedule(tmp_path):
    app, keys = make_api(make_settings(tmp_path, rate_limit_per_minute=0, purge_every=0.2))
    with TestClient(app) as client:
        api = Api(client, keys)
        for tenant in ("acme", "globex"):
            assert api.call(tenant, "POST", "/v1/memories", json={"text": "parked on level B", "user_id": "ana",
                                                                  "ttl": 0.3}).status_code == 200
            api.call(tenant, "POST", "/v1/memories", json={"text": "I live in Lisbon", "user_id": "ana"})
        store = app.state.memlm.pool.store
        deadline = time.monotonic() + 20
        while store.count(store_filters("acme")) + store.count(store_filters("globex")) > 2:
            assert time.monotonic() < deadline, "the scheduled purge never ran"
            time.sleep(0.1)
        for tenant in ("acme", "globex"):  # gone from the table (not only hidden), the rest kept
            assert [r.text for r in store.list(store_filters(tenant), limit=10)] == ["I live in Lisbon"]


def test_no_scheduled_purge_when_it_is_off(tmp_path):
    app, keys = make_api(make_settings(tmp_path, rate_limit_per_minute=0, purge_every=0))
    with TestClient(app) as client:
        Api(client, keys).call("acme", "POST", "/v1/memories", json={"text": "parked on level B", "user_id": "ana",
                                                                      "ttl": 0.1})
        time.sleep(0.5)
        assert app.state.memlm.pool.store.count(store_filters("acme")) == 1


def store_filters(tenant: str):
    from memlm.stores.base import Filters

    return Filters(tenant, include_superseded=True)  # no as_of: expired rows are counted too
