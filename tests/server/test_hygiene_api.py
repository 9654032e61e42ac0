"""A body that is not JSON gets a 422 that says so; GET /v1/export?user_id= exports one user."""

from __future__ import annotations

import json

import pytest


def _add(api, text, user):
    r = api.call("acme", "POST", "/v1/memories", json={"text": text, "user_id": user})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("kwargs, says", [
    ({"data": {"text": "hi", "user_id": "ana"}}, "must be JSON, sent with Content-Type: application/json"),  # curl -d
    ({"content": '{"text": "hi", "user_id": "ana"}', "headers": {"Content-Type": "text/plain"}}, "got text/plain"),
    ({"content": '{"text": "hi", "user_id": "ana"}', "headers": {"Content-Type": ""}}, "Content-Type"),
    ({"content": '{"text": "hi",', "headers": {"Content-Type": "application/json"}}, "not valid JSON"),
    ({"content": "[1, 2]", "headers": {"Content-Type": "application/json"}}, "must be a JSON object"),
    ({}, "needs a JSON body"),
])
def test_a_body_that_is_not_json_says_so(api, kwargs, says):
    headers = {**api.headers("acme"), **kwargs.pop("headers", {})}
    r = api.client.post("/v1/memories", headers=headers, **kwargs)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["type"] == "validation_error" and says in error["message"], error
    assert api.call("acme", "GET", "/v1/memories", params={"user_id": "ana"}).json()["memories"] == []


def test_field_errors_keep_their_message(api):
    r = api.call("acme", "POST", "/v1/memories/search", json={"query": "x", "user_id": "ana", "k": 0})
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("body.k:")


def test_export_one_user(api):
    _add(api, "Ana likes tea", "ana")
    _add(api, "Bo likes coffee", "bo")
    r = api.call("acme", "GET", "/v1/export", params={"user_id": "ana"})
    assert r.status_code == 200 and r.headers["x-memlm-count"] == "1"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines[0]["user_id"] == "ana" and [row["text"] for row in lines[1:]] == ["Ana likes tea"]
    everything = api.call("acme", "GET", "/v1/export")
    assert everything.headers["x-memlm-count"] == "2"
    assert api.call("globex", "GET", "/v1/export", params={"user_id": "ana"}).headers["x-memlm-count"] == "0"
    assert api.call("acme", "GET", "/v1/export", params={"agent_id": "helper"}).headers["x-memlm-count"] == "0"
    assert api.call("acme", "GET", "/v1/export", params={"user_id": ""}).status_code == 422
