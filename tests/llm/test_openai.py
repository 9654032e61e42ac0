"""The openai backend's protocol handling: retries, errors, streaming (an end-to-end run
against a real OpenAI-compatible server is in tests/server/test_proxy.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from memlm.llm.base import LLMError, Prompt
from memlm.llm.openai import OpenAIConfig, OpenAILLM

HELLO = Prompt.chat([{"role": "user", "content": "hi"}])


def reply(text: str) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": text}}]})


def backend(handler, **cfg) -> OpenAILLM:
    config = OpenAIConfig(base_url="http://llm.test/v1", model="m", api_key="sk-test", backoff_s=0.001, **cfg)
    return OpenAILLM(config, transport=httpx.MockTransport(handler))


def test_sends_the_chat_request_with_the_key():
    seen = []

    def handler(request):
        seen.append(request)
        return reply("hello")

    assert backend(handler).complete(HELLO, max_tokens=7) == "hello"
    body = json.loads(seen[0].content)
    assert seen[0].url == "http://llm.test/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer sk-test"
    assert body == {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 7,
                    "temperature": 0.0, "stream": False}


def test_retries_rate_limits_and_server_errors_then_succeeds():
    codes = iter([429, 503, 200])

    def handler(request):
        code = next(codes)
        return reply("ok") if code == 200 else httpx.Response(code, headers={"retry-after": "0"})

    assert backend(handler).complete(HELLO) == "ok"


def test_gives_up_after_the_retries_with_the_servers_message():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(503, json={"error": {"message": "overloaded"}})

    with pytest.raises(LLMError, match="HTTP 503: overloaded"):
        backend(handler, max_retries=2).complete(HELLO)
    assert len(calls) == 3


def test_client_errors_are_not_retried():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(401, json={"error": {"message": "bad key"}})

    with pytest.raises(LLMError, match="401: bad key"):
        backend(handler).complete(HELLO)
    assert calls == [1]


def test_unreachable_endpoint_and_garbage_are_clear_errors():
    def down(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(LLMError, match="cannot reach"):
        backend(down, max_retries=1).complete(HELLO)
    with pytest.raises(LLMError, match="unexpected response"):
        backend(lambda r: httpx.Response(200, text="<html>")).complete(HELLO)


def test_streams_server_sent_events():
    chunks = [{"choices": [{"delta": {"content": p}}]} for p in ("Hel", "lo", "!")]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"

    def handler(request):
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    assert list(backend(handler).stream(HELLO)) == ["Hel", "lo", "!"]


def test_config_from_environment(monkeypatch):
    monkeypatch.setenv("MEMLM_LLM_BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("MEMLM_LLM_MODEL", "llama3")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    cfg = OpenAIConfig.from_env()
    assert (cfg.base_url, cfg.model, cfg.api_key) == ("http://localhost:11434/v1", "llama3", "sk-env")
    assert OpenAIConfig.from_env(model="other").model == "other"
