"""The two ways of running a plan (client/methods.py): blocking (`Client`) and asyncio
(`AsyncClient`). Only the sending and the sleeping differ; what to send, what it means and
when to retry live in methods.py and wire.py."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Self

import anyio
import httpx

from memlm.client import wire
from memlm.client.methods import Call, Methods, Plan
from memlm.client.wire import RetryPolicy
from memlm.errors import ServerUnavailable
from memlm.settings import from_env

DEFAULT_TIMEOUT_S = 60.0  # per request: a first search on a cold server loads the encoder
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)  # the request never reached the server: safe to resend


class _Base(Methods):
    """Configuration shared by both clients."""

    def __init__(self, base_url: str, api_key: str | None, retry: RetryPolicy | None) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else from_env("api_key")
        self.retry = retry or RetryPolicy()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": f"memlm-client/{_version()}", **(extra or {})}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _next(self, attempt: int, response: httpx.Response | None, error: Exception | None) -> float | None:
        """Seconds to wait before retrying, or None to stop here."""
        if attempt >= self.retry.attempts:
            return None
        if error is not None:
            return self.retry.delay(attempt, None) if isinstance(error, NOT_SENT) else None
        assert response is not None
        return self.retry.delay(attempt, response) if wire.should_retry(response) else None

    @staticmethod
    def _done(call: Call, response: httpx.Response) -> httpx.Response:
        if not (call.missing_ok and response.status_code == 404):
            wire.raise_for_error(response)
        return response

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"


def _unavailable(exc: Exception, base_url: str) -> ServerUnavailable:
    return ServerUnavailable(f"cannot reach the memlm server at {base_url}: {exc or type(exc).__name__}",
                             status=0, type="unreachable")


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


class Client(_Base):
    """A memlm server (`memlm serve`) with the methods, arguments and results of `Memory`.

    `api_key` defaults to $MEMLM_API_KEY; the key decides the tenant. Errors are those a local
    Memory raises: ValueError (`InvalidRequest`) for bad input, KeyError (`MemoryNotFound`)
    for an unknown id, plus `AuthenticationError` (401), and `RateLimited` / `ServerUnavailable`
    once `retry` is spent on 429 / 503 (Retry-After honoured). `transport` is an httpx transport
    (tests, proxies)."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_S,
                 retry: RetryPolicy | None = None, headers: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(base_url, api_key, retry)
        self._http = httpx.Client(base_url=self.base_url, headers=self._headers(headers), timeout=timeout,
                                  transport=transport)

    def _drive(self, plan: Plan[Any]) -> Any:
        try:
            call = next(plan)
            while True:
                call = plan.send(self._send(call))
        except StopIteration as done:
            return done.value

    def _send(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._request(call)
            except httpx.TransportError as exc:
                wait = self._next(attempt, None, exc)
                if wait is None:
                    raise _unavailable(exc, self.base_url) from exc
            else:
                wait = self._next(attempt, response, None)
                if wait is None:
                    return self._done(call, response)
            time.sleep(wait)

    def _request(self, call: Call) -> httpx.Response:
        if call.download is None:
            return self._http.request(call.method, call.path, params=call.params, json=call.json)
        with self._http.stream(call.method, call.path, params=call.params) as response:
            if response.status_code < 300:
                with open(_part(call.download), "wb") as f:
                    f.writelines(response.iter_bytes())
                os.replace(_part(call.download), call.download)
            else:
                response.read()
        return response

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """`Client` for asyncio: the same methods and arguments, each returning an awaitable of the
    same result (`await client.search(...)`). Close with `await client.aclose()` or `async with`."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_S,
                 retry: RetryPolicy | None = None, headers: dict[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(base_url, api_key, retry)
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=self._headers(headers), timeout=timeout,
                                       transport=transport)

    async def _drive(self, plan: Plan[Any]) -> Any:
        try:
            call = next(plan)
            while True:
                call = plan.send(await self._send(call))
        except StopIteration as done:
            return done.value

    async def _send(self, call: Call) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._request(call)
            except httpx.TransportError as exc:
                wait = self._next(attempt, None, exc)
                if wait is None:
                    raise _unavailable(exc, self.base_url) from exc
            else:
                wait = self._next(attempt, response, None)
                if wait is None:
                    return self._done(call, response)
            await asyncio.sleep(wait)

    async def _request(self, call: Call) -> httpx.Response:
        if call.download is None:
            return await self._http.request(call.method, call.path, params=call.params, json=call.json)
        async with self._http.stream(call.method, call.path, params=call.params) as response:
            if response.status_code < 300:
                async with await anyio.open_file(_part(call.download), "wb") as f:
                    async for chunk in response.aiter_bytes():
                        await f.write(chunk)
                os.replace(_part(call.download), call.download)
            else:
                await response.aread()
        return response

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _version() -> str:
    from memlm import __version__

    return __version__
