"""Every /v1 resource against its Python counterpart's behaviour."""

from __future__ import annotations


def add(api, tenant="acme", **body):
    r = api.call(tenant, "POST", "/v1/memories", json=body)
    assert r.status_code == 200, r.text
    return r.json()["events"]


def test_healthz_needs_no_key(api):
    r = api.client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_add_text_is_a_fact_and_gated(api):
    first = add(api, text="I am allergic to peanuts", user_id="ana")
    assert first[0]["event"] == "ADD" and len(first[0]["id"]) == 32
    again = add(api, text="i am  allergic to peanuts", user_id="ana")
    assert again[0]["event"] == "NOOP" and again[0]["id"] == first[0]["id"]
    record = api.call("acme", "GET", f"/v1/memories/{first[0]['id']}").json()
    assert record["kind"] == "fact" and record["user_id"] == "ana" and record["tenant"] == "acme"


def test_add_messages_are_episodes_with_scope_time_and_metadata(api):
    events = add(api, messages=[{"role": "user", "content": "We adopted a beagle called Pepper"},
                                {"role": "assistant", "content": "Congratulations!"}],
                 user_id="ana", session_id="2023-06-03", occurred_at="2023-06-03 10:15", metadata={"src": "chat"})
    assert [e["event"] for e in events] == ["ADD", "ADD"]
    rec = api.call("acme", "GET", f"/v1/memories/{events[0]['id']}").json()
    assert (rec["kind"], rec["role"], rec["session_id"]) == ("episode", "user", "2023-06-03")
    assert rec["occurred_at"].startswith("2023-06-03T10:15") and rec["metadata"] == {"src": "chat"}


def test_search_returns_ranked_hits_with_filters(api):
    add(api, text="I live in Lisbon", user_id="ana")
    add(api, messages=[{"role": "user", "content": "my dog Pepper loves the beach"}], user_id="ana",
        session_id="s1", occurred_at="2023-05-01")
    add(api, text="I live in Oslo", user_id="bob")
    r = api.call("acme", "POST", "/v1/memories/search", json={"query": "where do I live", "user_id": "ana", "k": 5})
    results = r.json()["results"]
    assert r.status_code == 200 and results[0]["memory"]["text"] == "I live in Lisbon"
    assert all(h["memory"]["user_id"] == "ana" for h in results) and 0 < results[0]["score"] <= 1
    only = api.call("acme", "POST", "/v1/memories/search",
                    json={"query": "dog beach", "user_id": "ana", "kinds": ["episode"], "since": "2023-01-01",
                          "hops": 2, "neighbors": 1}).json()["results"]
    assert [h["memory"]["kind"] for h in only] == ["episode"]
    none = api.call("acme", "POST", "/v1/memories/search",
                    json={"query": "dog beach", "user_id": "ana", "until": "2022-01-01"}).json()["results"]
    assert none == []


def test_update_history_delete(api):
    mid = add(api, text="I live in Paris", user_id="ana")[0]["id"]
    up = api.call("acme", "PATCH", f"/v1/memories/{mid}", json={"text": "I live in Porto"}).json()
    assert up == {"event": "UPDATE", "id": mid, "text": "I live in Porto", "previous": "I live in Paris",
                  "similarity": None, "kind": "fact", "note": None}
    hist = api.call("acme", "GET", f"/v1/memories/{mid}/history").json()["history"]
    assert [h["event"] for h in hist] == ["ADD", "UPDATE"] and hist[1]["old_text"] == "I live in Paris"
    gone = api.call("acme", "DELETE", f"/v1/memories/{mid}")
    assert gone.status_code == 200 and gone.json()["event"] == "DELETE"
    assert api.call("acme", "GET", f"/v1/memories/{mid}").status_code == 404
    assert api.call("acme", "DELETE", f"/v1/memories/{mid}").status_code == 404
    assert api.call("acme", "PATCH", f"/v1/memories/{mid}", json={"text": "x"}).status_code == 404


def test_list_is_paged_and_scoped(api):
    for text in ("I grow tomatoes", "my sister is called Eva", "I drive a red van", "I speak Finnish",
                 "my favourite film is Alien"):
        assert add(api, text=text, user_id="ana")[0]["event"] == "ADD"
    add(api, text="unrelated", user_id="bob")
    page = api.call("acme", "GET", "/v1/memories", params={"user_id": "ana", "limit": 2}).json()
    assert len(page["memories"]) == 2 and page["next_offset"] == 2
    seen = [m["id"] for m in page["memories"]]
    offset = page["next_offset"]
    while offset is not None:
        page = api.call("acme", "GET", "/v1/memories", params={"user_id": "ana", "limit": 2, "offset": offset}).json()
        seen += [m["id"] for m in page["memories"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == 5
    everything = api.call("acme", "GET", "/v1/memories", params={"kind": ["fact"]}).json()["memories"]
    assert len(everything) == 6


def test_delete_all_needs_a_scope(api):
    add(api, text="fact one", user_id="ana")
    add(api, text="fact two", user_id="bob")
    refused = api.call("acme", "DELETE", "/v1/memories")
    assert refused.status_code == 400 and "scope" in refused.json()["error"]["message"]
    deleted = api.call("acme", "DELETE", "/v1/memories", params={"user_id": "ana"}).json()
    assert deleted == {"deleted": 1, "erasure": "complete"}
    left = api.call("acme", "GET", "/v1/memories").json()["memories"]
    assert [m["user_id"] for m in left] == ["bob"]


def test_context_joins_working_and_long_term_memory(api):
    add(api, text="I am training for a half marathon", user_id="ana")
    add(api, messages=[{"role": "user", "content": "Any advice on running shoes?"}], user_id="ana", session_id="s9")
    r = api.call("acme", "POST", "/v1/context",
                 json={"query": "half marathon", "user_id": "ana", "session_id": "s9", "budget_tokens": 200})
    ctx = r.json()
    assert r.status_code == 200 and ctx["text"].startswith("# Memory") and 0 < ctx["tokens"] <= 200
    assert [m["text"] for m in ctx["working"]] == ["Any advice on running shoes?"]
    assert "half marathon" in ctx["text"]


def test_export_streams_the_tenants_jsonl(api, tmp_path):
    import json

    add(api, text="acme secret plan", user_id="ana")
    add(api, "globex", text="globex secret plan", user_id="ana")
    r = api.call("acme", "GET", "/v1/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[0]["format"] == "memlm-export" and [x["text"] for x in lines[1:]] == ["acme secret plan"]
    assert "globex" not in r.text
    path = tmp_path / "acme.jsonl"  # the stream is a valid export: it imports into a new file
    path.write_text(r.text)
    from memlm import Memory

    with Memory(tmp_path / "copy.db", encoder="hashing") as copy:
        assert copy.import_(path) == 1


def test_bad_input_is_a_json_4xx(api):
    import json

    cases = [
        ({"text": "   ", "user_id": "ana"}, 400),  # engine: empty text
        ({"text": "hi"}, 400),  # engine: no owner
        ({"text": "hi", "user_id": "ana", "occurred_at": "not a date at all"}, 400),
        ({"text": "hi", "messages": [{"content": "x"}], "user_id": "ana"}, 422),  # both inputs
        ({"user_id": "ana"}, 422),  # neither
        ({"text": "hi", "user_id": "ana", "tenant": "globex"}, 422),  # the tenant is the key's, never the body's
        ({"text": "hi", "user_id": "ana", "kind": "dream"}, 422),
        ({"text": "hi\ud800", "user_id": "ana"}, 422),
        ({"messages": [{"role": "user", "content": "x", "extra": 1}], "user_id": "ana"}, 422),
    ]
    for body, status in cases:
        r = api.call("acme", "POST", "/v1/memories", content=json.dumps(body),  # escapes lone surrogates
                     headers={**api.headers("acme"), "content-type": "application/json"})
        assert r.status_code == status, (body, r.text)
        err = r.json()["error"]
        assert err["type"] in ("bad_request", "validation_error") and err["message"]
    for raw in ('{"text": "x", "user_id": "ana", "metadata": {"n": NaN}}', '{"text": "x", "user_id": "ana", '
                '"metadata": {"a": ' + "[" * 40 + "]" * 40 + "}}"):
        r = api.call("acme", "POST", "/v1/memories", content=raw,
                     headers={**api.headers("acme"), "content-type": "application/json"})
        assert r.status_code == 422, r.text
    r = api.call("acme", "POST", "/v1/memories", content=b"{not json",
                 headers={**api.headers("acme"), "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "validation_error"
    r = api.call("acme", "POST", "/v1/memories/search", json={"query": "x", "user_id": "ana", "k": 0})
    assert r.status_code == 422
    r = api.call("acme", "GET", "/v1/nowhere")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    r = api.call("acme", "PUT", "/v1/memories")
    assert r.status_code == 405 and r.json()["error"]["type"] == "method_not_allowed"


def test_query_string_is_held_to_the_schema(api):
    r = api.call("acme", "GET", "/v1/memories?user_id=ana&user_id=bob")
    assert r.status_code == 422 and "more than once" in r.json()["error"]["message"]
    r = api.call("acme", "DELETE", "/v1/memories?user=ana")  # a typo must not widen a delete
    assert r.status_code == 422 and "unknown query parameter 'user'" in r.json()["error"]["message"]
    ok = api.call("acme", "GET", "/v1/memories?user_id=ana&kind=fact&kind=episode")
    assert ok.status_code == 200


def test_export_leaves_no_temporary_file(api, monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    add(api, text="something to export", user_id="ana")
    r = api.call("acme", "GET", "/v1/export")
    assert r.status_code == 200 and r.headers["x-memlm-count"] == "1"
    assert list((tmp_path / "t").iterdir()) == []


def test_export_with_a_bad_key_touches_no_disk(api, monkeypatch):
    import tempfile

    made = []
    real = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(1) or real(*a, **k))
    r = api.client.get("/v1/export", headers={"Authorization": "Bearer mlm_not-a-key"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized" and made == []


def test_routes_sent_without_response_validation_match_their_models_exactly(api):
    """add, search and context send their payloads as is (routes.json_response): each must be
    exactly what its response model would have produced."""
    from memlm.server.models import ContextOut, EventsOut, SearchOut

    msgs = [{"role": "user", "content": "I adopted a beagle called Rex"},
            {"role": "assistant", "content": "Rex is a lovely name", "metadata": {"mood": ["glad", 1]}}]
    added = api.call("acme", "POST", "/v1/memories", json={"messages": msgs, "user_id": "ana", "session_id": "s1",
                                                            "occurred_at": "2024-05-01T10:00:00Z"})
    found = api.call("acme", "POST", "/v1/memories/search",
                     json={"query": "what is the dog called?", "user_id": "ana", "k": 5, "neighbors": 1})
    block = api.call("acme", "POST", "/v1/context", json={"query": "the dog", "user_id": "ana", "session_id": "s1"})
    for response, model in ((added, EventsOut), (found, SearchOut), (block, ContextOut)):
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        payload = response.json()
        assert model.model_validate(payload).model_dump(mode="json") == payload
    assert found.json()["results"] and found.json()["results"][0]["context"]
    assert block.json()["recalled"] or block.json()["working"]


def test_integers_beyond_64_bits_in_metadata_come_back_intact(api):
    big = 10**30
    added = api.call("acme", "POST", "/v1/memories",
                     json={"text": "I like tea", "user_id": "u", "metadata": {"n": big}})
    found = api.call("acme", "POST", "/v1/memories/search", json={"query": "tea", "user_id": "u"})
    block = api.call("acme", "POST", "/v1/context", json={"query": "tea", "user_id": "u"})
    assert added.status_code == found.status_code == block.status_code == 200
    assert found.json()["results"][0]["memory"]["metadata"] == {"n": big}
    assert block.json()["recalled"][0]["memory"]["metadata"] == {"n": big}
