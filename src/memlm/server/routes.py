"""The /v1 REST resources: the Python API of `Memory`, one tenant per API key.

Every handler authenticates the key (401), takes a rate-limit token (429), and runs the
engine call in the worker pool; the tenant never comes from the request, only the key.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Security
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from memlm.engine import Memory
from memlm.server.errors import ERROR_RESPONSES, NOT_FOUND, ApiError
from memlm.server.keys import ApiKey
from memlm.server.models import (
    MAX_ID,
    AddRequest,
    ConsolidateRequest,
    ContextOut,
    ContextRequest,
    DeletedOut,
    EventOut,
    EventsOut,
    HistoryOut,
    Kind,
    MemoryListOut,
    MemoryOut,
    SearchOut,
    SearchRequest,
    UpdateRequest,
)
from memlm.server.state import ServerState

bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                    description="An API key from `memlm keys create TENANT`, sent as `Authorization: Bearer KEY`.")
LIST_PARAMS = {"kind"}  # the only query parameter that may be repeated


async def strict_query(request: Request) -> None:
    """422 for an unknown query parameter, or a repeated scalar one (FastAPI would ignore
    the first and keep the last): the query string is held to the schema like a body."""
    route = request.scope.get("route")
    known = _query_names(route) if isinstance(route, APIRoute) else set()
    for name in request.query_params:
        if name not in known:
            raise ApiError(422, f"unknown query parameter {name!r}")
        if name not in LIST_PARAMS and len(request.query_params.getlist(name)) > 1:
            raise ApiError(422, f"query parameter {name!r} is given more than once")


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters a route declares, its dependencies' included."""
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(p.alias for p in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, dependencies=[Depends(strict_query)])


@dataclass
class Caller:
    """An authenticated request: the key and the tenant's memory handle."""

    key: ApiKey
    memory: Memory
    state: ServerState

    async def run(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        return await self.state.run(func, *args, **kwargs)


async def caller(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> Caller:
    """401 without a valid key, 429 over the key's rate; else the key's tenant handle."""
    state: ServerState = request.app.state.memlm
    unauthorized = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ApiError(401, "missing API key: send 'Authorization: Bearer KEY'", headers=unauthorized)
    key = await state.run(state.keys.authenticate, credentials.credentials)
    if key is None:
        raise ApiError(401, "invalid or revoked API key", headers=unauthorized)
    state.rate.check(key.key_id)
    return Caller(key, state.pool.memory(key.tenant), state)


Auth = Annotated[Caller, Depends(caller)]


def json_response(payload: dict[str, Any]) -> Response:
    """The payload as JSON, sent as is: FastAPI neither re-validates it against the route's
    response model nor serialises it a second time (the hot routes' ~0.2 ms a request). The
    payloads are the `to_dict()` of the engine's types, which the OpenAPI schema describes,
    and the schema tests check responses against it."""
    return Response(orjson.dumps(payload), media_type="application/json")
MemoryId = Annotated[str, Path(min_length=1, max_length=MAX_ID)]
ScopeParam = Annotated[str | None, Query(min_length=1, max_length=MAX_ID)]


@router.post("/memories", response_model=EventsOut, summary="Remember a text or messages")
async def add_memories(body: AddRequest, who: Auth) -> Response:
    data: Any = [m.model_dump(exclude_none=True) for m in body.messages] if body.messages else body.text

    def add() -> list[dict[str, Any]]:
        events = who.memory.add(data, user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id,
                                occurred_at=body.occurred_at, metadata=body.metadata, kind=body.kind,
                                source_ids=body.source_ids, extract=body.extract)
        return [e.to_dict() for e in events]

    return json_response({"events": await who.run(add)})


@router.post("/memories/consolidate", response_model=EventOut,
             summary="Summarise a session into its summary memory (by the server's LLM if it has one)")
async def consolidate(body: ConsolidateRequest, who: Auth) -> dict[str, Any]:
    event = await who.run(who.memory.consolidate, user_id=body.user_id, agent_id=body.agent_id,
                          session_id=body.session_id)
    return event.to_dict()


@router.post("/memories/search", response_model=SearchOut, summary="Recall the most relevant memories")
async def search_memories(body: SearchRequest, who: Auth) -> Response:
    def search() -> list[dict[str, Any]]:
        hits = who.memory.search(body.query, user_id=body.user_id, agent_id=body.agent_id,
                                 session_id=body.session_id, k=body.k, kinds=body.kinds, since=body.since,
                                 until=body.until, hops=body.hops, neighbors=body.neighbors,
                                 include_superseded=body.include_superseded)
        return [h.to_dict() for h in hits]

    return json_response({"results": await who.run(search)})


@router.get("/memories", response_model=MemoryListOut, summary="List memories in a scope, oldest first")
async def list_memories(who: Auth, user_id: ScopeParam = None, agent_id: ScopeParam = None,
                        session_id: ScopeParam = None,
                        kind: Annotated[list[Kind] | None, Query(max_length=3)] = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                        include_superseded: bool = False) -> dict[str, Any]:
    def list_() -> list[dict[str, Any]]:
        records = who.memory.list(user_id=user_id, agent_id=agent_id, session_id=session_id, kinds=kind or None,
                                  limit=limit, offset=offset, include_superseded=include_superseded)
        return [r.to_dict() for r in records]

    page = await who.run(list_)
    more = len(page) == limit
    return {"memories": page, "limit": limit, "offset": offset, "next_offset": offset + limit if more else None}


@router.delete("/memories", response_model=DeletedOut, summary="Erase every memory in a scope")
async def delete_scope(who: Auth, user_id: ScopeParam = None, agent_id: ScopeParam = None,
                       session_id: ScopeParam = None) -> dict[str, Any]:
    n = await who.run(who.memory.delete_all, user_id=user_id, agent_id=agent_id, session_id=session_id)
    return {"deleted": n}


@router.get("/memories/{memory_id}", response_model=MemoryOut, responses=NOT_FOUND, summary="One memory")
async def get_memory(memory_id: MemoryId, who: Auth) -> dict[str, Any]:
    def get() -> dict[str, Any]:
        record = who.memory.get(memory_id)
        if record is None:
            raise KeyError(f"no memory {memory_id!r}")
        return record.to_dict()

    return await who.run(get)


@router.patch("/memories/{memory_id}", response_model=EventOut, responses=NOT_FOUND,
              summary="Replace a memory's text (the old text stays in history)")
async def update_memory(memory_id: MemoryId, body: UpdateRequest, who: Auth) -> dict[str, Any]:
    return (await who.run(who.memory.update, memory_id, body.text)).to_dict()


@router.delete("/memories/{memory_id}", response_model=EventOut, responses=NOT_FOUND, summary="Forget a memory")
async def delete_memory(memory_id: MemoryId, who: Auth) -> dict[str, Any]:
    return (await who.run(who.memory.delete, memory_id)).to_dict()


@router.get("/memories/{memory_id}/history", response_model=HistoryOut, responses=NOT_FOUND,
            summary="Every change to a memory, oldest first")
async def memory_history(memory_id: MemoryId, who: Auth) -> dict[str, Any]:
    entries = await who.run(who.memory.history, memory_id)
    return {"history": [e.to_dict() for e in entries]}


@router.post("/context", response_model=ContextOut, summary="The prompt block for a query, within a token budget")
async def context(body: ContextRequest, who: Auth) -> Response:
    def build() -> dict[str, Any]:
        return who.memory.context(body.query, user_id=body.user_id, agent_id=body.agent_id,
                                  session_id=body.session_id, budget_tokens=body.budget_tokens, k=body.k).to_dict()

    return json_response(await who.run(build))


EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "A memlm JSONL export: a header line, then one memory per line",
          "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
}


@router.get("/export", response_class=StreamingResponse, responses=EXPORT_RESPONSE,
            summary="Every memory of the tenant as JSONL (memlm export format)")
async def export(who: Auth) -> StreamingResponse:
    folder = FsPath(tempfile.mkdtemp(prefix="memlm-export-"))  # private (0700), removed when the stream ends
    path = folder / "export.jsonl"
    try:
        n = await who.run(who.memory.export, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return StreamingResponse(_stream_and_remove(path), media_type="application/x-ndjson",
                             headers={"X-Memlm-Count": str(n), "Content-Disposition":
                                      f'attachment; filename="memlm-{who.key.tenant}.jsonl"'})


async def _stream_and_remove(path: FsPath, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """The file in chunks (read in a thread); its folder is removed even if the client goes away."""
    try:
        async with await anyio.open_file(path, "rb") as f:
            while data := await f.read(chunk):
                yield data
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
