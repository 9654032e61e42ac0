"""Request limits: body size (413) as ASGI middleware, and a per-key token bucket (429)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memlm.server.buckets import DictBuckets, SharedBuckets
from memlm.server.errors import ApiError, ErrorResponse, error_body


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """Refuse bodies over max_bytes: by Content-Length up front, and by counting what streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None or declared < 0:
            await _reply(send, 400, "Content-Length is not a valid number")
            return
        if declared > self.max_bytes:
            await _reply(send, 413, f"request body is larger than {self.max_bytes} bytes")
            return
        await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:  # raised where no exception handler caught it
            if started:
                raise
            await _reply(send, 413, str(exc.detail))


def _content_length(scope: Scope) -> int | None:
    """The declared length (0 when absent), or None when it is not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return 0


async def _reply(send: Send, status: int, message: str) -> None:
    response = ErrorResponse(error_body(status, message), status)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class RateLimiter:
    """A token bucket per API key: `per_minute` tokens a minute, at most `burst` saved up.

    The buckets live in this process (a dict) or, with `shared_file` (a file made by
    SharedBuckets.create), in that file, shared by every process that opens it."""

    def __init__(self, per_minute: int, burst: int | None = None, shared_file: Path | None = None) -> None:
        self.per_minute = per_minute  # 0 disables the limit
        self.burst = float(burst or per_minute)
        self._buckets: DictBuckets | SharedBuckets = SharedBuckets(shared_file) if shared_file else DictBuckets()

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Take a token for key; 0.0 if allowed, else seconds until one is available."""
        if self.per_minute <= 0:
            return 0.0
        return self._buckets.take(key, now, self.per_minute / 60.0, self.burst)

    def close(self) -> None:
        """Release the shared bucket file, if any (the server's shutdown)."""
        self._buckets.close()

    def check(self, key: str) -> None:
        """Raise a 429 with Retry-After when key has no token left."""
        wait = self.retry_after(key)
        if wait > 0:
            raise ApiError(429, f"rate limit of {self.per_minute} requests per minute exceeded",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})


def describe(settings: Any) -> str:
    """One line for logs: the limits in force."""
    rate = f"{settings.rate_limit_per_minute}/min per key" if settings.rate_limit_per_minute else "no rate limit"
    return f"{rate}, bodies up to {settings.max_body_bytes} bytes, {settings.worker_threads} worker threads"
