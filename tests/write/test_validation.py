"""Metadata and scope values are validated once (memlm.validate), the same way for every entry
point: what cannot be stored and returned by every backend and output is refused with a clear
ValueError, and nothing refused can poison the user's later reads."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from memlm.validate import MAX_DEPTH, MAX_METADATA_CHARS, check_json


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


BAD_METADATA = [
    ({"k\ud800": 1}, "lone surrogate"),
    ({"k": "v\udfff"}, "lone surrogate"),
    ({"k": ["ok", {"deep": "\ud83d"}]}, "lone surrogate"),
    ({"n": math.nan}, "NaN"),
    ({"n": [1.0, math.inf]}, "not JSON numbers"),
    ({"n": -math.inf}, "not JSON numbers"),
    ({"k": "a\x00b"}, "NUL"),
    ({"a\x00": 1}, "NUL"),
    ({1: "x"}, "not a string"),
    ({"k": {(1, 2): "x"}}, "not a string"),
    (nested(MAX_DEPTH + 1), "nested deeper"),
    (nested(5000), "nested deeper"),  # no RecursionError
    ({"big": "x" * (MAX_METADATA_CHARS + 1)}, "the limit is"),
    ({"when": object()}, "not a JSON value"),
    ({"s": {1, 2}}, "not a JSON value"),
    ("not an object", "must be a JSON object"),
    (["a", "list"], "must be a JSON object"),
]

BAD_SCOPES = [
    ({"user_id": "ana\x00"}, "NUL"),
    ({"user_id": "ana\ud800"}, "lone surrogate"),
    ({"user_id": "ana", "session_id": "s\udc00"}, "lone surrogate"),
    ({"agent_id": "x" * 257}, "the limit is 256"),
    ({"user_id": "   "}, "non-empty string"),
    ({"user_id": 7}, "non-empty string"),
]


def test_check_json_accepts_what_json_can_say():
    value = {"tags": ["a", "b"], "n": 1, "x": 2.5, "ok": True, "none": None, "zh": "北京", "emoji": "\U0001F600",
             "deep": nested(MAX_DEPTH - 1)}
    assert check_json(value) is value


@pytest.mark.parametrize("metadata, message", BAD_METADATA)
def test_bad_metadata_is_refused_by_add_and_the_user_still_reads(mem, metadata, message):
    [kept] = mem.add("I keep bees", user_id="ana", metadata={"fine": 1})
    with pytest.raises(ValueError, match=message):
        mem.add("I grow tomatoes", user_id="ana", metadata=metadata)
    with pytest.raises(ValueError, match=message):  # inside a message too
        mem.add([{"role": "user", "content": "hello", "metadata": metadata}], user_id="ana", session_id="s")
    _reads_still_work(mem, kept.id)


@pytest.mark.parametrize("scope, message", BAD_SCOPES)
def test_bad_scope_values_are_refused_for_writes_and_reads(mem, scope, message):
    [kept] = mem.add("I keep bees", user_id="ana")
    with pytest.raises(ValueError, match=message):
        mem.add("I grow tomatoes", **scope)
    with pytest.raises(ValueError, match=message):
        mem.add_many(["I grow tomatoes"], **scope)
    with pytest.raises(ValueError, match=message):
        mem.search("bees", **({"user_id": "ana"} | scope))
    with pytest.raises(ValueError, match=message):
        mem.list(**scope)
    _reads_still_work(mem, kept.id)


def test_a_bad_speaker_name_is_refused(mem):
    for role, message in (("ana\x00", "NUL"), ("a\ud800", "lone surrogate"), (3, "non-empty string")):
        with pytest.raises(ValueError, match=message):
            mem.add({"role": role, "content": "hi"}, user_id="ana", session_id="s")
    assert mem.list(user_id="ana") == []


def test_a_poisoned_export_cannot_be_imported(mem, tmp_path):
    mem.add("I keep bees", user_id="ana")
    path = tmp_path / "x.jsonl"
    mem.export(path)
    header, row = path.read_text().splitlines()
    for field, value, message in (("metadata", {"k": "\ud800"}, "lone surrogate"), ("user_id", "a\x00", "NUL"),
                                  ("metadata", {"n": math.nan}, "NaN"), ("role", "x" * 300, "the limit")):
        bad = json.loads(row) | {field: value, "id": "other"}
        path.write_text(header + "\n" + json.dumps(bad) + "\n")
        with pytest.raises(ValueError, match=message):
            mem.import_(path)
    assert [m.text for m in mem.list(user_id="ana")] == ["I keep bees"]


def _reads_still_work(mem, kept_id):
    assert mem.get(kept_id).text == "I keep bees"
    assert [m.text for m in mem.list(user_id="ana")] == ["I keep bees"]
    assert [h.memory.text for h in mem.search("bees", user_id="ana")] == ["I keep bees"]
    assert "I keep bees" in mem.context("bees", user_id="ana").text
    assert mem.export(mem.path.parent / "out.jsonl") == 1


def test_the_cli_and_the_http_api_refuse_the_same_way(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient
    from tests.server.conftest import make_api, make_settings

    from memlm.cli import main

    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    monkeypatch.setenv("MEMLM_DB", str(tmp_path / "cli.db"))
    for meta, message in (('{"n": NaN}', "NaN"), ('{"k": "\\ud800"}', "lone surrogate"),
                          ('{"k": "a\\u0000"}', "NUL")):
        result = CliRunner().invoke(main, ["memory", "add", "x", "--user", "u", "--metadata", meta])
        assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["memory", "add", "x", "--user", "u\x00"])
    assert result.exit_code != 0 and "NUL" in result.output

    app, keys = make_api(make_settings(tmp_path, rate_limit_per_minute=0), tenants=("acme",))
    headers = {"Authorization": f"Bearer {keys['acme']}", "content-type": "application/json"}
    with TestClient(app) as client:
        assert client.post("/v1/memories", json={"text": "I keep bees", "user_id": "ana"},
                           headers=headers).status_code == 200
        for body in ('{"text": "x", "user_id": "ana", "metadata": {"k\\ud800": 1}}',
                     '{"text": "x", "user_id": "ana\\u0000"}',
                     '{"text": "x", "user_id": "ana", "metadata": {"n": NaN}}',
                     '{"text": "x", "user_id": "ana", "metadata": ' + json.dumps(nested(100)) + "}"):
            r = client.post("/v1/memories", content=body, headers=headers)
            assert r.status_code in (400, 422) and r.json()["error"]["message"], body
        listed = client.get("/v1/memories", params={"user_id": "ana"}, headers=headers)
        assert listed.status_code == 200 and [m["text"] for m in listed.json()["memories"]] == ["I keep bees"]
        found = client.post("/v1/memories/search", json={"query": "bees", "user_id": "ana"}, headers=headers)
        assert found.status_code == 200 and found.json()["results"][0]["memory"]["text"] == "I keep bees"
        assert client.get("/v1/export", headers=headers).status_code == 200
