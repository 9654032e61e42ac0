"""A memory's strength (recalls into a context, decaying) on GET /v1/memories/{id} and in
/v1/browse: read-only, the ranking prior's own computation, and per tenant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memlm.config import RecallConfig
from memlm.recall.strength import strength as formula
from memlm.types import MemoryRecord


def add(api, tenant, text, user="ana"):
    r = api.call(tenant, "POST", "/v1/memories", json={"text": text, "user_id": user})
    assert r.status_code == 200, r.text
    return r.json()["events"][0]["id"]


def get(api, tenant, mid):
    r = api.call(tenant, "GET", f"/v1/memories/{mid}")
    assert r.status_code == 200, r.text
    return r.json()


def recall(api, tenant, query, user="ana"):
    r = api.call(tenant, "POST", "/v1/context", json={"query": query, "user_id": user, "k": 1})
    assert r.status_code == 200, r.text
    return [h["memory"]["id"] for h in r.json()["recalled"]]


def test_a_recall_into_a_context_makes_a_memory_stronger(api):
    peanuts = add(api, "acme", "Ana is allergic to peanuts")
    oslo = add(api, "acme", "Ana once visited Oslo")
    fresh = get(api, "acme", peanuts)
    assert fresh["recall_count"] == 0 and fresh["last_recalled_at"] is None
    assert fresh["strength"] == pytest.approx(1.0, abs=1e-3)  # written just now, never recalled
    before = datetime.now(UTC)
    assert recall(api, "acme", "what is Ana allergic to") == [peanuts]
    assert recall(api, "acme", "peanuts allergy") == [peanuts]
    after = datetime.now(UTC)
    strong, idle = get(api, "acme", peanuts), get(api, "acme", oslo)
    assert strong["recall_count"] == 2 and idle["recall_count"] == 0
    last = datetime.fromisoformat(strong["last_recalled_at"])
    assert before <= last <= after
    assert strong["strength"] == pytest.approx(3.0, abs=1e-3) and strong["strength"] > idle["strength"]
    assert strong["text"] == "Ana is allergic to peanuts"  # the rest of the record is as before


def test_a_context_that_does_not_count_leaves_the_strength(api):
    mid = add(api, "acme", "Ana keeps bees")
    r = api.call("acme", "POST", "/v1/context", json={"query": "bees", "user_id": "ana", "k": 1, "count_recall": False})
    assert [h["memory"]["id"] for h in r.json()["recalled"]] == [mid]
    assert get(api, "acme", mid)["recall_count"] == 0
    assert recall(api, "acme", "bees") == [mid]
    assert get(api, "acme", mid)["recall_count"] == 1


def test_the_strength_is_the_forget_gates_formula(api):
    mid = add(api, "acme", "Ana keeps two cats")
    recall(api, "acme", "cats")
    body = get(api, "acme", mid)
    last = datetime.fromisoformat(body["last_recalled_at"])
    created = datetime.fromisoformat(body["created_at"])
    expected = formula(MemoryRecord(id=mid, kind="fact", text=body["text"], created_at=created),
                       (body["recall_count"], last), last, RecallConfig())
    assert body["strength"] == pytest.approx(expected, rel=1e-3)  # the default half life


def test_browse_shows_each_memorys_strength(api):
    mids = [add(api, "acme", t, user="bo") for t in ("Bo plays the oboe", "Bo lives in Lille")]
    recall(api, "acme", "oboe", user="bo")
    r = api.call("acme", "GET", "/v1/browse", params={"user_id": "bo"})
    assert r.status_code == 200, r.text
    rows = {m["id"]: m for m in r.json()["memories"]}
    assert set(rows) == set(mids)
    assert rows[mids[0]]["recall_count"] == 1 and rows[mids[1]]["recall_count"] == 0
    for mid in mids:
        single = get(api, "acme", mid)
        assert rows[mid]["recall_count"] == single["recall_count"]
        assert rows[mid]["strength"] == pytest.approx(single["strength"], rel=1e-3)


def test_another_tenant_never_sees_the_strength(api):
    mine = add(api, "acme", "Ana is allergic to peanuts")
    recall(api, "acme", "allergic peanuts")
    assert get(api, "acme", mine)["recall_count"] == 1
    assert api.call("globex", "GET", f"/v1/memories/{mine}").status_code == 404
    theirs = add(api, "globex", "Ana is allergic to peanuts")  # the same owner name and text, another tenant
    assert get(api, "globex", theirs)["recall_count"] == 0
    rows = api.call("globex", "GET", "/v1/browse", params={"user_id": "ana"}).json()["memories"]
    assert [(m["id"], m["recall_count"], m["last_recalled_at"]) for m in rows] == [(theirs, 0, None)]


def test_strength_is_read_only(api):
    mid = add(api, "acme", "Ana sings in a choir")
    r = api.call("acme", "PATCH", f"/v1/memories/{mid}", json={"text": "Ana sings", "strength": 9})
    assert r.status_code == 422
    assert get(api, "acme", mid)["recall_count"] == 0
