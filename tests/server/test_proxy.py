"""POST /v1/chat/completions: the OpenAI-compatible proxy that adds memory to any chat client."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from tests.llm.doubles import ScriptedLLM

from memlm.llm.base import Prompt
from memlm.llm.openai import OpenAIConfig, OpenAILLM

from .conftest import Api, make_api, make_settings
from .test_serve_process import serve_process


@pytest.fixture
def proxy(tmp_path):
    app, keys = make_api(make_settings(tmp_path, rate_limit_per_minute=0))
    llm = ScriptedLLM(answer=lambda prompt: "Your dog is Rex.")
    app.state.memlm.pool._llm = llm
    with TestClient(app) as client:
        yield Api(client, keys), llm


def chat(api: Api, content: str, **extra):
    body = {"model": "memlm", "messages": [{"role": "user", "content": content}], **extra}
    return api.call("acme", "POST", "/v1/chat/completions", json=body)


def test_memory_goes_into_the_system_prompt_and_the_turn_is_written(proxy):
    api, llm = proxy
    first = chat(api, "My dog is called Rex.", user="ana")
    assert first.status_code == 200
    out = first.json()
    assert out["object"] == "chat.completion" and out["choices"][0]["message"]["content"] == "Your dog is Rex."
    second = chat(api, "What is my dog's name?", user="ana")
    assert second.status_code == 200
    system = llm.calls[-1][1].messages[0]
    assert system["role"] == "system" and "My dog is called Rex." in system["content"]
    stored = api.call("acme", "GET", "/v1/memories", params={"user_id": "ana"}).json()["memories"]
    assert [(m["role"], m["text"]) for m in stored][:2] == [("user", "My dog is called Rex."),
                                                            ("assistant", "Your dog is Rex.")]
    assert {m["session_id"] for m in stored} == {"proxy"}


def test_the_user_header_wins_and_tenants_stay_apart(proxy):
    api, llm = proxy
    r = api.call("acme", "POST", "/v1/chat/completions", headers={**api.headers("acme"), "X-Memlm-User": "bob",
                                                                   "X-Memlm-Session": "s9"},
                 json={"messages": [{"role": "developer", "content": "Be brief."},
                                    {"role": "user", "content": [{"type": "text", "text": "I like jazz."}]}],
                       "user": "ignored", "top_p": 0.5, "n": 1})
    assert r.status_code == 200
    assert llm.calls[-1][1].messages[0]["content"].startswith("Be brief.")  # developer -> system, memory appended
    assert api.call("acme", "GET", "/v1/memories", params={"user_id": "bob", "session_id": "s9"}).json()["memories"]
    assert api.call("globex", "GET", "/v1/memories", params={"user_id": "bob"}).json()["memories"] == []


def test_streaming_sends_openai_chunks_then_done_and_writes_the_turn(proxy):
    api, _ = proxy
    with api.client.stream("POST", "/v1/chat/completions", headers=api.headers("acme"),
                           json={"messages": [{"role": "user", "content": "Hi, I am Ana"}], "stream": True,
                                 "user": "ana"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Your dog is Rex."
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    texts = [m["text"] for m in api.call("acme", "GET", "/v1/memories", params={"user_id": "ana"}).json()["memories"]]
    assert texts == ["Hi, I am Ana", "Your dog is Rex."]


def test_bad_requests_and_missing_llm_are_json_errors(proxy, tmp_path):
    api, _ = proxy
    assert chat(api, "hello").status_code == 400  # no user id anywhere
    assert chat(api, "   ", user="ana").status_code == 400
    r = api.call("acme", "POST", "/v1/chat/completions", json={"messages": []})
    assert r.status_code == 422 and r.json()["error"]["type"] == "validation_error"
    unsigned = api.client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
    assert unsigned.status_code == 401
    app, keys = make_api(make_settings(tmp_path / "nollm", rate_limit_per_minute=0))
    with TestClient(app) as client:
        r = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {keys['acme']}"},
                        json={"messages": [{"role": "user", "content": "x"}], "user": "ana"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "llm_not_configured"
    assert "memlm serve --llm local" in r.json()["error"]["message"]


def test_an_llm_failure_is_a_502_and_nothing_is_written(proxy):
    api, llm = proxy
    llm.answers["answer"] = ["<error>"]
    r = chat(api, "Remember this", user="ana")
    assert r.status_code == 502 and r.json()["error"]["type"] == "bad_gateway"
    assert api.call("acme", "GET", "/v1/memories", params={"user_id": "ana"}).json()["memories"] == []


@pytest.fixture
def real_server(tmp_path, local_llm_runs):
    """`memlm serve --llm local`: the packaged Gemma 3 270M behind the proxy."""
    with serve_process(tmp_path, "--llm", "local", ready_s=60.0) as running:
        yield running


@pytest.mark.slow
def test_an_unmodified_openai_client_gains_memory(real_server):
    import httpx
    import openai

    base, key = real_server
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=key, timeout=120)
    first = client.chat.completions.create(model="gemma", user="ana", max_tokens=16,
                                           messages=[{"role": "user", "content": "My dog is called Rex."}])
    assert first.choices[0].message.role == "assistant"
    stream = client.chat.completions.create(model="gemma", user="ana", max_tokens=16, stream=True,
                                            messages=[{"role": "user", "content": "What is my dog's name?"}])
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as h:
        texts = [m["text"] for m in h.get("/v1/memories", params={"user_id": "ana"}).json()["memories"]]
        hits = h.post("/v1/memories/search", json={"query": "dog name", "user_id": "ana"}).json()["results"]
    assert texts[0] == "My dog is called Rex." and "What is my dog's name?" in texts
    if streamed.strip():
        assert streamed.strip() in texts  # the streamed answer was written too
    assert any("Rex" in h["memory"]["text"] for h in hits)
    # memlm's own openai backend talks to the same server: an OpenAI-compatible endpoint end to end
    backend = OpenAILLM(OpenAIConfig(base_url=f"{base}/v1", model="gemma", api_key=key, timeout_s=120))
    backend.client.headers["X-Memlm-User"] = "carl"
    assert isinstance(backend.complete(Prompt.chat([{"role": "user", "content": "I sail."}]), max_tokens=8), str)
