"""The inspector's /v1 resources (owners, sessions, timeline, browse, export of one owner) on
both backends, their errors, their tenant isolation, and the /ui files being served from the
package with a strict Content-Security-Policy and nothing from another origin."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from tests.server.conftest import Api, make_api

from memlm.server import webui
from memlm.server.inspector import InspectConfig, browse
from memlm.server.settings import ServerSettings


@pytest.fixture(params=["sqlite", "postgres"])
def both(request, tmp_path):
    db = tmp_path / "i.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    app, keys = make_api(ServerSettings(db=db, encoder="hashing", rate_limit_per_minute=0))
    with TestClient(app) as client:
        yield Api(client, keys)


def add(api, tenant, **body):
    r = api.call(tenant, "POST", "/v1/memories", json=body)
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["events"]]


def seed(api):
    turns = [{"role": "ana", "content": "We adopted a beagle called Pepper"},
             {"role": "assistant", "content": "Congratulations on Pepper!"}]
    add(api, "acme", messages=turns, user_id="ana", session_id="s1", occurred_at="2023-06-03 10:15")
    add(api, "acme", messages=[{"role": "ana", "content": "我住在柏林"}], user_id="ana", session_id="s2",
        occurred_at="2023-06-05 09:00")
    old = add(api, "acme", text="Ana works at a bakery", user_id="ana", occurred_at="2023-06-01")[0]
    add(api, "acme", text="Ana lives in Berlin", user_id="ana", occurred_at="2023-06-05")
    api.client.app.state.memlm.pool.memory("acme").supersede(old)
    add(api, "acme", text="The bot speaks Portuguese", agent_id="bot", occurred_at="2023-07-01")
    add(api, "globex", text="Globex secret: tangerine", user_id="ana", session_id="s1", occurred_at="2023-06-03")


def test_owners_count_each_kind_and_sessions_per_tenant(both):
    seed(both)
    owners = both.call("acme", "GET", "/v1/owners").json()
    assert owners["truncated"] is False
    assert [(o["user_id"], o["agent_id"]) for o in owners["owners"]] == [(None, "bot"), ("ana", None)]  # latest first
    ana = owners["owners"][1]
    assert ana["counts"] == {"episode": 3, "fact": 1, "summary": 0, "superseded": 1, "total": 4}
    assert ana["sessions"] == 2
    assert ana["first_at"] == "2023-06-01T00:00:00+00:00" and ana["last_at"] == "2023-06-05T09:00:00+00:00"
    other = both.call("globex", "GET", "/v1/owners").json()["owners"]
    assert [(o["user_id"], o["counts"]["total"]) for o in other] == [("ana", 1)]


def test_sessions_of_an_owner(both):
    seed(both)
    out = both.call("acme", "GET", "/v1/sessions", params={"user_id": "ana"}).json()
    by = {s["session_id"]: s for s in out["sessions"]}
    assert set(by) == {"s1", "s2", None}
    assert by["s1"]["counts"]["episode"] == 2 and by["s1"]["counts"]["total"] == 2
    assert by[None]["counts"] == {"episode": 0, "fact": 1, "summary": 0, "superseded": 1, "total": 1}
    assert out["sessions"][0]["session_id"] == "s2"  # latest first
    assert both.call("acme", "GET", "/v1/sessions", params={"user_id": "nobody"}).json()["sessions"] == []
    r = both.call("acme", "GET", "/v1/sessions")
    assert r.status_code == 400 and "user_id or agent_id" in r.json()["error"]["message"]


def test_timeline_buckets_fill_the_gaps_and_leave_out_superseded(both):
    seed(both)
    day = both.call("acme", "GET", "/v1/timeline", params={"user_id": "ana", "bucket": "day"}).json()
    assert day["bucket"] == "day"
    assert [p["period"] for p in day["periods"]] == ["2023-06-03", "2023-06-04", "2023-06-05"]
    assert day["periods"][0] == {"period": "2023-06-03", "episode": 2, "fact": 0, "summary": 0}
    assert day["periods"][1] == {"period": "2023-06-04", "episode": 0, "fact": 0, "summary": 0}
    assert day["periods"][2] == {"period": "2023-06-05", "episode": 1, "fact": 1, "summary": 0}
    auto = both.call("acme", "GET", "/v1/timeline", params={"user_id": "ana"}).json()
    assert auto == day  # a few days: per day
    month = both.call("acme", "GET", "/v1/timeline", params={"agent_id": "bot", "bucket": "month"}).json()
    assert month == {"bucket": "month", "periods": [{"period": "2023-07", "episode": 0, "fact": 1, "summary": 0}]}
    session = both.call("acme", "GET", "/v1/timeline", params={"user_id": "ana", "session_id": "s1"}).json()
    assert [p["period"] for p in session["periods"]] == ["2023-06-03"]
    assert both.call("acme", "GET", "/v1/timeline", params={"user_id": "ana", "bucket": "week"}).status_code == 422


def test_timeline_auto_bucket_follows_the_span(api):
    add(api, "acme", text="first", user_id="u", occurred_at="2019-12-30")
    add(api, "acme", text="second", user_id="u", occurred_at="2021-02-01")
    out = api.call("acme", "GET", "/v1/timeline", params={"user_id": "u"}).json()
    assert out["bucket"] == "month"
    periods = [p["period"] for p in out["periods"]]
    assert periods[0] == "2019-12" and periods[1] == "2020-01" and periods[-1] == "2021-02" and len(periods) == 15
    add(api, "acme", text="much later", user_id="u", occurred_at="2035-01-01")
    assert api.call("acme", "GET", "/v1/timeline", params={"user_id": "u"}).json()["bucket"] == "year"
    assert api.call("acme", "GET", "/v1/timeline", params={"user_id": "nobody"}).json() == {"bucket": "day",
                                                                                           "periods": []}


def test_browse_filters_by_kind_time_and_text(both):
    seed(both)
    get = lambda **q: both.call("acme", "GET", "/v1/browse", params=q)
    texts = lambda r: [m["text"] for m in r.json()["memories"]]
    pepper = ["We adopted a beagle called Pepper", "Congratulations on Pepper!"]
    assert texts(get(user_id="ana", text="PEPPER")) == pepper
    assert texts(get(user_id="ana", text="柏林")) == ["我住在柏林"]
    assert texts(get(user_id="ana", kind="fact")) == ["Ana lives in Berlin"]
    assert texts(get(user_id="ana", kind="fact", include_superseded="true")) == ["Ana works at a bakery",
                                                                                 "Ana lives in Berlin"]
    assert texts(get(user_id="ana", since="2023-06-04", until="2023-06-06")) == ["Ana lives in Berlin",
                                                                                 "我住在柏林"]
    assert texts(get(user_id="ana", session_id="s1", kind="episode")) == ["We adopted a beagle called Pepper",
                                                                          "Congratulations on Pepper!"]
    page = get(user_id="ana", text="pepper", limit=1).json()
    assert [m["text"] for m in page["memories"]] == ["We adopted a beagle called Pepper"] and page["next_offset"] == 1
    page = get(user_id="ana", text="pepper", limit=1, offset=1).json()
    assert [m["text"] for m in page["memories"]] == ["Congratulations on Pepper!"] and page["next_offset"] is None
    plain = get(user_id="ana", limit=2).json()
    assert len(plain["memories"]) == 2 and plain["next_offset"] == 2 and plain["scanned_all"] is True
    assert texts(get(user_id="ana", text="tangerine")) == []  # globex's
    bad = get(user_id="ana", since="not a date")
    assert bad.status_code == 400 and "date" in bad.json()["error"]["message"]
    assert get(user_id="ana", colour="red").status_code == 422


def test_browse_text_scan_stops_at_its_bound_and_says_so(api):
    add(api, "acme", messages=[{"role": "u", "content": f"line {i}"} for i in range(30)] +
        [{"role": "u", "content": "the needle"}], user_id="u", session_id="s")
    memory = api.client.app.state.memlm.pool.memory("acme")
    kw = {"user_id": "u", "agent_id": None, "session_id": None, "kinds": None, "since": None, "until": None,
          "limit": 10, "offset": 0, "include_superseded": False}
    found = browse(memory, text="needle", config=InspectConfig(max_scan=70), **kw)
    assert [m["text"] for m in found["memories"]] == ["the needle"] and found["scanned_all"] is True
    cut = browse(memory, text="needle", config=InspectConfig(max_scan=14), **kw)
    assert cut["memories"] == [] and cut["scanned_all"] is False and cut["next_offset"] is None


def test_export_of_one_user_holds_only_that_user(api):
    add(api, "acme", text="Ana likes tea", user_id="ana")
    add(api, "acme", text="Ben likes coffee", user_id="ben")
    add(api, "globex", text="Globex Ana likes mate", user_id="ana")
    r = api.call("acme", "GET", "/v1/export", params={"user_id": "ana"})
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[0]["format"] == "memlm-export" and r.headers["X-Memlm-Count"] == "1"
    assert [x["text"] for x in lines[1:]] == ["Ana likes tea"]
    whole = api.call("acme", "GET", "/v1/export").text.splitlines()
    assert len(whole) == 3  # the header and both users


def test_ui_is_served_from_the_package_with_a_strict_policy(api):
    r = api.client.get("/ui", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/ui/"
    index = api.client.get("/ui/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    csp = index.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    referenced = set(re.findall(r'(?:src|href)="/ui/([^"]+)"', index.text))
    assert referenced == set(webui.FILES) - {"index.html"}
    packaged = {p.name for p in resources.files("memlm.server").joinpath("ui").iterdir()}
    assert packaged == set(webui.FILES)
    for name, media in webui.FILES.items():
        served = api.client.get(f"/ui/{name}")
        assert served.status_code == 200 and served.headers["content-type"] == media
        assert served.headers["x-content-type-options"] == "nosniff"
        body = served.text
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", body), f"{name} names another origin"
        assert "innerHTML" not in body and "eval(" not in body
    missing = api.client.get("/ui/secrets.txt")
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    assert api.client.get("/ui/..%2Fkeys.py").status_code == 404
    assert "/ui/" not in api.client.get("/openapi.json").text  # the page is not part of the API


def test_ui_needs_no_key_but_its_data_does(api):
    assert api.client.get("/ui/app.js").status_code == 200
    for path in ("/v1/owners", "/v1/sessions?user_id=ana", "/v1/timeline?user_id=ana", "/v1/browse?user_id=ana"):
        r = api.client.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        r = api.client.get(path, headers={"Authorization": "Bearer mlm_wrong"})
        assert r.status_code == 401


def test_memory_export_of_one_agent(tmp_path):
    from memlm import Memory

    with Memory(tmp_path / "m.db", encoder="hashing") as memory:
        memory.add("The bot speaks Portuguese", agent_id="bot")
        memory.add("Ana likes tea", user_id="ana", agent_id="bot")
        memory.add("Ana likes coffee too", user_id="ana")
        assert memory.export(tmp_path / "bot.jsonl", agent_id="bot") == 2
        assert memory.export(tmp_path / "ana-bot.jsonl", user_id="ana", agent_id="bot") == 1
        assert memory.export(tmp_path / "all.jsonl") == 3
        rows = [json.loads(x) for x in (tmp_path / "bot.jsonl").read_text(encoding="utf-8").splitlines()[1:]]
        assert sorted(r["text"] for r in rows) == ["Ana likes tea", "The bot speaks Portuguese"]



def test_patch_sets_an_expiry_and_an_expired_memory_leaves_the_list(both):
    mid = add(both, "acme", text="Ana likes figs", user_id="ana")[0]
    r = both.call("acme", "PATCH", f"/v1/memories/{mid}", json={"text": "Ana likes figs", "ttl": 3600})
    assert r.status_code == 200, r.text
    assert both.call("acme", "GET", f"/v1/memories/{mid}").json()["metadata"]["expires_at"]

    def listed():
        return [m["id"] for m in both.call("acme", "GET", "/v1/memories", params={"user_id": "ana"}).json()["memories"]]

    assert mid in listed()
    r = both.call("acme", "PATCH", f"/v1/memories/{mid}", json={"text": "Ana likes figs", "expires_at": "2020-01-01"})
    assert r.status_code == 200, r.text
    assert mid not in listed()
    bad = both.call("acme", "PATCH", f"/v1/memories/{mid}", json={"text": "x", "ttl": 5, "expires_at": "2020-01-01"})
    assert 400 <= bad.status_code < 500 and bad.json()
