"""Tenant isolation: tenant A's key, aimed at tenant B's ids and scopes, never sees or changes B's data."""

from __future__ import annotations

import json


def _seed_b(api) -> dict:
    """Tenant B ('globex') memories under ids and scopes A will try to reach."""
    events = api.call("globex", "POST", "/v1/memories", json={
        "messages": [{"role": "user", "content": "Globex launch code is tangerine"},
                     {"role": "assistant", "content": "Noted, tangerine it is"}],
        "user_id": "ana", "agent_id": "bot", "session_id": "s1", "occurred_at": "2024-01-02"}).json()["events"]
    fact = api.call("globex", "POST", "/v1/memories", json={"text": "Globex merger with Initech", "user_id": "ana"})
    ids = [e["id"] for e in events] + [fact.json()["events"][0]["id"]]
    texts = ["Globex launch code is tangerine", "Noted, tangerine it is", "Globex merger with Initech"]
    return {"ids": ids, "texts": texts}


def _no_leak(response, b: dict) -> None:
    """Nothing of B in the body (a 404 may quote the id that was asked for, nothing else)."""
    assert response.status_code < 500, response.text
    body = response.text
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}
    asked = str(response.request.url)
    for secret in [i for i in b["ids"] if i not in asked] + b["texts"] + ["tangerine", "Initech", "globex"]:
        assert secret not in body, (response.request.method, response.request.url, body[:300])


def test_every_endpoint_with_a_keys_tenant_only(api):
    b = _seed_b(api)
    api.call("acme", "POST", "/v1/memories", json={"text": "Acme likes anvils", "user_id": "ana"})
    tried: set[tuple[str, str]] = set()

    def attempt(method: str, route: str, url: str, expect: set[int], **kwargs):
        r = api.call("acme", method, url, **kwargs)
        assert r.status_code in expect, (method, url, r.status_code, r.text)
        _no_leak(r, b)
        tried.add((method, route))
        return r

    for mid in b["ids"]:
        item = "/v1/memories/{memory_id}"
        attempt("GET", item, f"/v1/memories/{mid}", {404})
        attempt("GET", item + "/history", f"/v1/memories/{mid}/history", {404})
        attempt("PATCH", item, f"/v1/memories/{mid}", {404}, json={"text": "overwritten by acme"})
        attempt("POST", item + "/supersede", f"/v1/memories/{mid}/supersede", {404}, json={})
        attempt("DELETE", item, f"/v1/memories/{mid}", {404})
    scopes = [{"user_id": "ana"}, {"agent_id": "bot"}, {"session_id": "s1"},
              {"user_id": "ana", "agent_id": "bot", "session_id": "s1"}]
    for scope in scopes:
        owner = scope if ("user_id" in scope or "agent_id" in scope) else {**scope, "user_id": "ana"}
        hits = attempt("POST", "/v1/memories/search", "/v1/memories/search", {200, 403, 404},
                       json={"query": "Globex launch code tangerine merger", "k": 50, **owner})
        assert all(h["memory"]["text"] == "Acme likes anvils" for h in hits.json().get("results", []))
        attempt("GET", "/v1/memories", "/v1/memories", {200, 403, 404}, params={**scope, "limit": 1000})
        attempt("POST", "/v1/context", "/v1/context", {200, 403, 404},
                json={"query": "what is the launch code?", "budget_tokens": 2000, **owner})
    attempt("GET", "/v1/owners", "/v1/owners", {200})  # the inspector's resources
    for owner in ({"user_id": "ana"}, {"agent_id": "bot"}):
        attempt("GET", "/v1/sessions", "/v1/sessions", {200}, params=owner)
        attempt("GET", "/v1/timeline", "/v1/timeline", {200}, params={**owner, "session_id": "s1"})
        attempt("GET", "/v1/browse", "/v1/browse", {200}, params={**owner, "text": "tangerine", "limit": 1000})
        attempt("GET", "/v1/export", "/v1/export", {200}, params=owner)
    # the session B's turns are in, B's memories by rule, expired memories: acme's own only
    attempt("POST", "/v1/memories/consolidate", "/v1/memories/consolidate", {200, 400, 404},
            json={"user_id": "ana", "agent_id": "bot", "session_id": "s1"})
    for rule in ({"before": "2100-01-01"}, {"session_id": "s1"}, {"weaker_than": 10**6}):
        forgotten = attempt("POST", "/v1/memories/forget", "/v1/memories/forget", {200},
                            json={"user_id": "ana", **rule})
        assert {m["tenant"] for m in forgotten.json()["memories"]} <= {"acme"}
    attempt("POST", "/v1/memories/forget", "/v1/memories/forget", {200},
            json={"agent_id": "bot", "before": "2100-01-01", "dry_run": False})
    attempt("POST", "/v1/memories/purge", "/v1/memories/purge", {200}, json={"now": "2100-01-01"})
    attempt("POST", "/v1/chat/completions", "/v1/chat/completions", {400},  # no LLM here; test_proxy has one
            json={"model": "m", "user": "ana", "messages": [{"role": "user", "content": "the launch code?"}]})
    # tenant smuggling: refused in the query string and in a body
    attempt("GET", "/v1/memories", "/v1/memories?tenant=globex", {422})
    attempt("POST", "/v1/memories", "/v1/memories", {422},
            json={"text": "x", "user_id": "ana", "tenant": "globex"})
    attempt("GET", "/v1/export", "/v1/export", {200})
    deleted = attempt("DELETE", "/v1/memories", "/v1/memories", {200, 403, 404}, params={"user_id": "ana"})
    assert deleted.json() == {"deleted": 1, "erasure": "complete"}  # acme's own memory only
    attempt("DELETE", "/v1/memories", "/v1/memories", {200, 403, 404}, params={"session_id": "s1"})

    # every documented /v1 operation (app.routes does not list included routers' routes in FastAPI >= 0.16x)
    routes = {(m.upper(), path) for path, ops in api.client.app.openapi()["paths"].items() if path.startswith("/v1")
              for m in ops}
    assert ("GET", "/v1/memories/{memory_id}") in routes
    assert routes <= tried, f"endpoints not tried: {routes - tried}"

    # B's data is all still there, unchanged
    for mid, text in zip(b["ids"], b["texts"], strict=True):
        rec = api.call("globex", "GET", f"/v1/memories/{mid}")
        assert rec.status_code == 200 and rec.json()["text"] == text
    export = api.call("globex", "GET", "/v1/export").text.splitlines()
    assert sorted(json.loads(x)["text"] for x in export[1:]) == sorted(b["texts"])


def test_same_user_id_in_two_tenants_are_two_people(api):
    api.call("acme", "POST", "/v1/memories", json={"text": "I live in Berlin", "user_id": "ana"})
    api.call("globex", "POST", "/v1/memories", json={"text": "I live in Lima", "user_id": "ana"})
    for tenant, city in (("acme", "Berlin"), ("globex", "Lima")):
        hits = api.call(tenant, "POST", "/v1/memories/search",
                        json={"query": "where do I live", "user_id": "ana"}).json()["results"]
        assert [h["memory"]["text"] for h in hits] == [f"I live in {city}"]
        assert hits[0]["memory"]["tenant"] == tenant
