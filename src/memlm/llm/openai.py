"""Any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp server, memlm's own
proxy) over httpx, with timeouts, retries with exponential backoff, and clear errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from memlm.llm.base import LLMError, Prompt

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass
class OpenAIConfig:
    """Where and how to reach the endpoint."""

    base_url: str = "https://api.openai.com/v1"  # ends before /chat/completions
    model: str = "gpt-4o-mini"  # the model name the endpoint expects
    api_key: str | None = None  # sent as a Bearer token when set
    timeout_s: float = 60.0  # per request (connect and read)
    max_retries: int = 3  # extra attempts on connection errors, 408/409/429/5xx
    backoff_s: float = 0.5  # first wait; doubles each retry (a Retry-After header wins)

    @classmethod
    def from_env(cls, model: str | None = None) -> OpenAIConfig:
        """From $MEMLM_LLM_BASE_URL / $OPENAI_BASE_URL, $MEMLM_LLM_MODEL, $MEMLM_LLM_API_KEY / $OPENAI_API_KEY."""
        from memlm.settings import from_env

        return cls(base_url=from_env("llm_base_url") or cls.base_url,
                   model=model or from_env("llm_model") or cls.model, api_key=from_env("llm_api_key"))


class OpenAILLM:
    """The `openai` backend: POST {base_url}/chat/completions."""

    def __init__(self, config: OpenAIConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.name = f"openai:{config.model}"
        self._transport = transport  # for an in-process endpoint (tests, embedding an ASGI app)
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
            self._client = httpx.Client(base_url=self.config.base_url.rstrip("/"), headers=headers,
                                        timeout=self.config.timeout_s, transport=self._transport)
        return self._client

    def complete(self, prompt: Prompt, *, max_tokens: int = 256, temperature: float = 0.0) -> str:
        body = self._body(prompt, max_tokens, temperature, stream=False)
        response = self._send(body)
        try:
            return response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError(f"{self.name}: unexpected response {response.text[:200]!r}") from None

    def stream(self, prompt: Prompt, *, max_tokens: int = 256, temperature: float = 0.0) -> Iterator[str]:
        body = self._body(prompt, max_tokens, temperature, stream=True)
        response = self._send(body, stream=True)
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                piece = _delta(data)
                if piece:
                    yield piece
        except httpx.HTTPError as exc:
            raise LLMError(f"{self.name}: stream broke: {exc}") from exc
        finally:
            response.close()

    def _body(self, prompt: Prompt, max_tokens: int, temperature: float, *, stream: bool) -> dict[str, Any]:
        return {"model": self.config.model, "messages": list(prompt.messages), "max_tokens": max_tokens,
                "temperature": temperature, "stream": stream}

    def _send(self, body: dict[str, Any], *, stream: bool = False) -> httpx.Response:
        """POST with retries; returns a 2xx response (opened for streaming if asked)."""
        wait = self.config.backoff_s
        for attempt in range(self.config.max_retries + 1):
            last = attempt == self.config.max_retries
            try:
                request = self.client.build_request("POST", "/chat/completions", json=body)
                response = self.client.send(request, stream=stream)
            except httpx.TransportError as exc:
                if last:
                    raise LLMError(f"{self.name}: cannot reach {self.config.base_url}: {exc}") from exc
                time.sleep(wait)
                wait *= 2
                continue
            if response.status_code < 300:
                return response
            if stream:
                response.read()
            if response.status_code not in RETRY_STATUS or last:
                raise LLMError(f"{self.name}: HTTP {response.status_code}: {_message(response)}")
            time.sleep(_retry_after(response) or wait)
            wait *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _delta(data: str) -> str:
    try:
        return json.loads(data)["choices"][0]["delta"].get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


def _message(response: httpx.Response) -> str:
    try:
        err = response.json().get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err)
        if err:
            return str(err)
    except (ValueError, AttributeError):
        pass
    return response.text[:200] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return min(float(value), 30.0) if value is not None else None
    except ValueError:
        return None
