"""JSON errors: every 4xx/5xx body is {"error": {"type": ..., "message": ...}}."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from memlm.server.models import ErrorOut

log = logging.getLogger("memlm.server")

TYPES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited",
    500: "internal_error", 502: "bad_gateway", 503: "unavailable",
}

# The error responses every /v1 operation documents in the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": TYPES[code].replace("_", " ")} for code in (400, 401, 413, 422, 429)
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "not found"}}


class ErrorResponse(JSONResponse):
    """JSON with non-ASCII escaped: an error may quote any input, even unpaired surrogates."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


class ApiError(HTTPException):
    """An HTTP error with a machine-readable type."""

    def __init__(self, status: int, message: str, *, type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.type = type or TYPES.get(status, "error")


def error_body(status: int, message: str, type: str | None = None, details: list | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type or TYPES.get(status, "error"), "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


async def _http_error(request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = getattr(exc, "type", None)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette names only the first matching route's methods
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return ErrorResponse(error_body(exc.status_code, message, kind), exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and isinstance(getattr(route, "methods", None), set):
            methods |= route.methods
    return sorted(methods)


async def _validation_error(request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
               for e in exc.errors()]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    message = _body_not_json(request, details) or f"{'.'.join(first['loc']) or 'request'}: {first['msg']}"
    return ErrorResponse(error_body(422, message, details=details), 422)


def _body_not_json(request: Request, details: list[dict[str, Any]]) -> str | None:
    """The message when the body as a whole is not a JSON object: the usual cause is a client
    (curl -d) sending form data or no Content-Type."""
    whole = [d for d in details if d["loc"][:1] == ["body"] and (len(d["loc"]) == 1 or d["type"] == "json_invalid")]
    if not whole:
        return None
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if whole[0]["type"] == "json_invalid":
        return "the request body is not valid JSON"
    if whole[0]["type"] == "missing":
        return "the request needs a JSON body (Content-Type: application/json)"
    if kind != "application/json":
        return (f"the request body must be JSON, sent with Content-Type: application/json "
                f"(got {kind or 'no Content-Type'}; with curl add -H 'Content-Type: application/json')")
    return "the request body must be a JSON object"


async def _unexpected(request: Request, exc: Exception) -> ErrorResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return ErrorResponse(error_body(500, "internal server error"), 500)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON shape above."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
