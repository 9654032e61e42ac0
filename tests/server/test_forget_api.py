"""Expiry, purge and forget over HTTP."""

from __future__ import annotations


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
