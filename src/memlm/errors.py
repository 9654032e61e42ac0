"""Exceptions shared by the engine's callers: a local `Memory` raises KeyError / ValueError,
and the HTTP `Client` raises these subclasses of them, so one `except` serves both."""

from __future__ import annotations


class MemoryNotFound(KeyError):
    """No memory with that id (in this tenant). A KeyError, as `Memory.delete` etc. raise."""

    def __str__(self) -> str:  # KeyError's str() would quote the message
        return str(self.args[0]) if self.args else "not found"


class InvalidRequest(ValueError):
    """The server refused the input (HTTP 400 / 422). A ValueError, as the engine raises."""


class ApiError(Exception):
    """An HTTP error from a memlm server that has no engine equivalent; `status`, `type` and
    `message` come from the server's JSON error body."""

    def __init__(self, message: str, *, status: int = 0, type: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type


class AuthenticationError(ApiError, PermissionError):
    """The API key is missing, unknown or revoked (HTTP 401)."""


class RateLimited(ApiError):
    """Still over the key's rate limit (HTTP 429) after the client's retries."""


class ServerUnavailable(ApiError, ConnectionError):
    """The server (or its database) stayed unavailable (HTTP 503, or no connection) after the retries."""


__all__ = ["ApiError", "AuthenticationError", "InvalidRequest", "MemoryNotFound", "RateLimited", "ServerUnavailable"]
