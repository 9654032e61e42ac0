"""The clients' errors and retries: a real server for 401 / 429 / unreachable, and an httpx
MockTransport (a scripted server) for the retry timing, both clients alike."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
from tests.server.test_serve_process import serve_process

from memlm import (
    ApiError,
    AsyncClient,
    AuthenticationError,
    Client,
    InvalidRequest,
    MemoryNotFound,
    RateLimited,
    RetryPolicy,
    ServerUnavailable,
)
from memlm.client.wire import retry_after

FAST = RetryPolicy(attempts=3, backoff_s=0.01, max_backoff_s=0.05, jitter=0)


def test_a_bad_key_is_an_authentication_error(served):
    base, _ = served
    with Client(base, api_key="mlm_not_a_key") as client, pytest.raises(AuthenticationError) as raised:
        client.search("q", user_id="u")
    assert raised.value.status == 401 and raised.value.type == "unauthorized"
    assert isinstance(raised.value, PermissionError)
    with Client(base, api_key="") as anonymous, pytest.raises(AuthenticationError, match="missing API key"):
        anonymous.list(user_id="u")


def test_errors_are_the_engines_exception_types(served):
    base, key = served
    with Client(base, api_key=key) as client:
        with pytest.raises(MemoryNotFound) as missing:
            client.delete("f" * 32)
        assert isinstance(missing.value, KeyError) and str(missing.value) == f"no memory {'f' * 32!r}"
        with pytest.raises(InvalidRequest, match="k"):
            client.search("q", user_id="u", k=1000)  # the server's schema: k <= 100 (422)
        assert client.health()["status"] == "ok" and client.health()["version"]


def test_the_server_s_rate_limit_is_retried_then_raised(tmp_path):
    with serve_process(tmp_path, "--rate-limit", "1") as (base, key):
        with Client(base, api_key=key, retry=RetryPolicy(attempts=2, backoff_s=0, max_backoff_s=0.05)) as client:
            client.list(user_id="u")  # the one token of the minute
            started = time.monotonic()
            with pytest.raises(RateLimited) as raised:
                client.list(user_id="u")
            assert raised.value.status == 429 and time.monotonic() - started >= 0.05  # waited (capped Retry-After)


def test_an_unreachable_server_is_server_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    with Client(f"http://127.0.0.1:{port}", api_key="k", retry=FAST) as client:
        with pytest.raises(ServerUnavailable) as raised:
            client.get("x")
    assert isinstance(raised.value, ConnectionError) and "cannot reach" in str(raised.value)


class Script:
    """A scripted server: each request takes the next (status, headers) until the last repeats."""

    def __init__(self, *steps: tuple[int, dict[str, str]]) -> None:
        self.steps = list(steps)
        self.seen = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status, headers = self.steps[min(self.seen, len(self.steps) - 1)]
        self.seen += 1
        if status == 200:
            return httpx.Response(200, json={"memories": [], "limit": 100, "offset": 0, "next_offset": None})
        return httpx.Response(status, headers=headers, json={"error": {"type": "x", "message": f"status {status}"}})


def _run(kind: str, script: Script, policy: RetryPolicy, sleeps: list[float], monkeypatch):
    """client.list(user_id="u") with `kind` over the script; the sleeps recorded, not slept."""
    if kind == "sync":
        monkeypatch.setattr(time, "sleep", sleeps.append)
        with Client("http://memlm.test", api_key="k", retry=policy, transport=httpx.MockTransport(script)) as c:
            return c.list(user_id="u")

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    async def go():
        monkeypatch.setattr(asyncio, "sleep", fake_sleep)
        async with AsyncClient("http://memlm.test", api_key="k", retry=policy,
                               transport=httpx.MockTransport(script)) as c:
            return await c.list(user_id="u")
    return asyncio.run(go())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_503_and_429_are_retried_honouring_retry_after(kind, monkeypatch):
    sleeps: list[float] = []
    script = Script((503, {"Retry-After": "2"}), (429, {}), (200, {}))
    policy = RetryPolicy(attempts=4, backoff_s=0.5, max_backoff_s=30, jitter=0)
    assert _run(kind, script, policy, sleeps, monkeypatch) == []
    assert script.seen == 3 and sleeps == [2.0, 1.0]  # Retry-After, then backoff 0.5 * 2**(2-1)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_retries_stop_after_the_attempts(kind, monkeypatch):
    sleeps: list[float] = []
    script = Script((503, {"Retry-After": "100"}))
    with pytest.raises(ServerUnavailable, match="status 503"):
        _run(kind, script, RetryPolicy(attempts=3, max_backoff_s=4, jitter=0), sleeps, monkeypatch)
    assert script.seen == 3 and sleeps == [4.0, 4.0]  # capped at max_backoff_s


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_other_errors_are_not_retried(kind, monkeypatch):
    sleeps: list[float] = []
    script = Script((500, {}))
    with pytest.raises(ApiError) as raised:
        _run(kind, script, FAST, sleeps, monkeypatch)
    assert raised.value.status == 500 and script.seen == 1 and sleeps == []


def test_retry_after_reads_both_forms():
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None


def test_bad_construction():
    with pytest.raises(ValueError, match="http"):
        Client("localhost:8420")
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


def test_memory_refuses_a_server_url():
    from memlm import Memory

    with pytest.raises(ValueError, match=r"memlm\.Client"):
        Memory("http://127.0.0.1:8420")


def test_api_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("MEMLM_API_KEY", "mlm_from_env")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"status": "ok", "version": "x"})

    with Client("http://memlm.test", transport=httpx.MockTransport(handler)) as client:
        client.health()
    assert seen == ["Bearer mlm_from_env"]


def test_the_core_import_pulls_no_framework():
    import subprocess
    import sys

    code = ("import sys, memlm, memlm.client, memlm.integrations; from memlm import Client; "
            "print(sorted(m for m in ('langgraph', 'langchain_core', 'mcp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
