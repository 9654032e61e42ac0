"""The /v1 REST resources: the Python API of `Memory`, one tenant per API key.

Every handler authenticates the key (401), takes a rate-limit token (429), and runs the
engine call in the worker pool; the tenant never comes from the request, only the key.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path as FsPath
from typing import Annotated, Any, TypeVar

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
    ForgetRequest,
    ForgottenOut,
    HistoryOut,
    Kind,
    MemoryDetailOut,
    MemoryListOut,
    PurgedOut,
    PurgeRequest,
    SearchOut,
    SearchRequest,
    SupersedeRequest,
    UpdateRequest,
)
from memlm.server.state import ServerState
from memlm.stores import StoreWriteError
from memlm.types import MemoryRecord

T = TypeVar("T")
bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                    description="An API key from `memlm keys create TENANT`, sent as `Authorization: Bearer KEY`.")
LIST_PARAMS = {"kind"}  # the only query parameter that may be repeated


async def strict_query(request: Request) -> None:
    """422 for an unknown query parameter, or a repeated scalar one (FastAPI would ignore
    the first and keep the last): the query string is held to the schema like a body."""
    if not request.scope.get("query_string"):
        return  # most requests (every POST) have none
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


UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


class Caller:
    """A request's API key and its tenant's memory handle. The key is checked in the worker
    pool together with the request's first engine call (`run`): one thread hop a request, not
    two (a hop costs ~0.5 ms of CPU, a tenth of a search at 100k memories)."""

    def __init__(self, state: ServerState, credentials: str) -> None:
        self.state = state
        self._credentials = credentials
        self._key: ApiKey | None = None
        self._memory: Memory | None = None

    @property
    def key(self) -> ApiKey:
        """The authenticated key (after the first `run` or `authenticate`)."""
        if self._key is None:
            raise RuntimeError("the request is not authenticated yet")
        return self._key

    def _authenticated(self) -> Memory:
        """In the worker pool: 401 for an unknown or revoked key, 429 over its rate; the tenant's handle."""
        if self._memory is None:
            key = self.state.keys.authenticate(self._credentials)
            if key is None:
                raise ApiError(401, "invalid or revoked API key", headers=UNAUTHORIZED)
            self.state.rate.check(key.key_id)
            self._key, self._memory = key, self.state.pool.memory(key.tenant)
        return self._memory

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """func(the tenant's Memory, *args, **kwargs) in the worker pool, the key checked first."""
        return await self.state.run(lambda: func(self._authenticated(), *args, **kwargs))

    async def authenticate(self) -> Memory:
        """Check the key now (for a handler that needs the tenant's handle before any engine call)."""
        return await self.state.run(self._authenticated)


async def caller(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> Caller:
    """401 without a key; the key itself is checked with the request's first engine call."""
    if credentials is None:
        raise ApiError(401, "missing API key: send 'Authorization: Bearer KEY'", headers=UNAUTHORIZED)
    return Caller(request.app.state.memlm, credentials.credentials)


Auth = Annotated[Caller, Depends(caller)]


def json_response(payload: dict[str, Any]) -> Response:
    """The payload as JSON, sent as is: FastAPI neither re-validates it against the route's
    response model nor serialises it a second time (the hot routes' ~0.2 ms a request). The
    payloads are the `to_dict()` of the engine's types, which the OpenAPI schema describes,
    and the schema tests check responses against it. orjson refuses integers beyond 64 bits,
    which metadata may hold: those payloads go through the standard library instead."""
    try:
        body = orjson.dumps(payload)
    except TypeError:  # orjson.JSONEncodeError
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json")


MemoryId = Annotated[str, Path(min_length=1, max_length=MAX_ID)]
ScopeParam = Annotated[str | None, Query(min_length=1, max_length=MAX_ID)]


@router.post("/memories", response_model=EventsOut, summary="Remember a text or messages")
async def add_memories(body: AddRequest, who: Auth) -> Response:
    data: Any = [m.model_dump(exclude_none=True) for m in body.messages] if body.messages else body.text

    def add(memory: Memory) -> list[dict[str, Any]]:
        events = memory.add(data, user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id,
                                occurred_at=body.occurred_at, metadata=body.metadata, kind=body.kind,
                                source_ids=body.source_ids, extract=body.extract, expires_at=body.expires_at,
                                ttl=body.ttl)
        return [e.to_dict() for e in events]

    return json_response({"events": await who.run(add)})


@router.post("/memories/purge", response_model=PurgedOut, summary="Delete the tenant's expired memories")
async def purge(who: Auth, body: PurgeRequest | None = None) -> dict[str, Any]:
    return {"purged": await who.run(Memory.purge, now=body.now if body else None)}


@router.post("/memories/forget", response_model=ForgottenOut,
             summary="Forget by rule (older than, kind, session); a dry run unless dry_run is false")
async def forget(body: ForgetRequest, who: Auth) -> Response:
    def run(memory: Memory) -> dict[str, Any]:
        chosen = memory.forget(user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id,
                               before=body.before, kind=body.kinds, weaker_than=body.weaker_than,
                               dry_run=body.dry_run, now=body.now)
        return {"dry_run": body.dry_run, "count": len(chosen), "memories": [r.to_dict() for r in chosen]}

    return json_response(await who.run(run))


@router.post("/memories/consolidate", response_model=EventOut,
             summary="Summarise a session into its summary memory (by the server's LLM if it has one)")
async def consolidate(body: ConsolidateRequest, who: Auth) -> dict[str, Any]:
    event = await who.run(Memory.consolidate, user_id=body.user_id, agent_id=body.agent_id,
                          session_id=body.session_id)
    return event.to_dict()


@router.post("/memories/search", response_model=SearchOut, summary="Recall the most relevant memories")
async def search_memories(body: SearchRequest, who: Auth) -> Response:
    def search(memory: Memory) -> list[dict[str, Any]]:
        hits = memory.search(body.query, user_id=body.user_id, agent_id=body.agent_id,
                                 session_id=body.session_id, k=body.k, kinds=body.kinds, since=body.since,
                                 until=body.until, hops=body.hops, neighbors=body.neighbors,
                                 include_superseded=body.include_superseded, now=body.now)
        return [h.to_dict() for h in hits]

    return json_response({"results": await who.run(search)})


@router.get("/memories", response_model=MemoryListOut, summary="List memories in a scope, oldest first")
async def list_memories(who: Auth, user_id: ScopeParam = None, agent_id: ScopeParam = None,
                        session_id: ScopeParam = None,
                        kind: Annotated[list[Kind] | None, Query(max_length=3)] = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                        include_superseded: bool = False,
                        now: Annotated[str | None, Query(max_length=100)] = None) -> dict[str, Any]:
    """now: the time expiry is judged at (default the present)."""
    def list_(memory: Memory) -> list[dict[str, Any]]:
        records = memory.list(user_id=user_id, agent_id=agent_id, session_id=session_id, kinds=kind or None,
                              limit=limit, offset=offset, include_superseded=include_superseded, now=now)
        return [r.to_dict() for r in records]

    page = await who.run(list_)
    more = len(page) == limit
    return {"memories": page, "limit": limit, "offset": offset, "next_offset": offset + limit if more else None}


@router.delete("/memories", response_model=DeletedOut, summary="Erase every memory in a scope")
async def delete_scope(who: Auth, user_id: ScopeParam = None, agent_id: ScopeParam = None,
                       session_id: ScopeParam = None) -> dict[str, Any]:
    def delete_all(memory: Memory) -> dict[str, Any]:
        n = memory.delete_all(user_id=user_id, agent_id=agent_id, session_id=session_id)
        try:  # how far the bytes' erasure got (docs/forgetting.md); the delete has committed either way
            erasure = memory.erase(0.0)
        except StoreWriteError:
            erasure = "pending"
        return {"deleted": n, "erasure": erasure}

    return await who.run(delete_all)


def with_strength(memory: Memory, records: list[MemoryRecord]) -> list[dict[str, Any]]:
    """The records as dicts with their strength, recall count and last recall (MemoryDetailOut),
    read through the ranking prior's computation (`Retriever.strengths`), for the key's tenant."""
    strengths = memory.retriever.strengths(memory.tenant, records)
    out = []
    for r in records:
        s = strengths[r.id]
        last = s.last_recalled_at.isoformat() if s.last_recalled_at is not None else None
        out.append(r.to_dict() | {"strength": s.strength, "recall_count": s.recall_count, "last_recalled_at": last})
    return out


@router.get("/memories/{memory_id}", response_model=MemoryDetailOut, responses=NOT_FOUND,
            summary="One memory, with its strength (recalls, decaying)")
async def get_memory(memory_id: MemoryId, who: Auth) -> dict[str, Any]:
    def get(memory: Memory) -> dict[str, Any]:
        record = memory.get(memory_id)
        if record is None:
            raise KeyError(f"no memory {memory_id!r}")
        return with_strength(memory, [record])[0]

    return await who.run(get)


@router.patch("/memories/{memory_id}", response_model=EventOut, responses=NOT_FOUND,
              summary="Replace a memory's text (the old text stays in history)")
async def update_memory(memory_id: MemoryId, body: UpdateRequest, who: Auth) -> dict[str, Any]:
    return (await who.run(Memory.update, memory_id, body.text, expires_at=body.expires_at, ttl=body.ttl)).to_dict()


@router.post("/memories/{memory_id}/supersede", response_model=EventOut, responses=NOT_FOUND,
             summary="Mark a memory as no longer true (kept, with its history; out of recall)")
async def supersede_memory(memory_id: MemoryId, body: SupersedeRequest, who: Auth) -> dict[str, Any]:
    return (await who.run(Memory.supersede, memory_id, by=body.by, at=body.at)).to_dict()


@router.delete("/memories/{memory_id}", response_model=EventOut, responses=NOT_FOUND, summary="Forget a memory")
async def delete_memory(memory_id: MemoryId, who: Auth) -> dict[str, Any]:
    return (await who.run(Memory.delete, memory_id)).to_dict()


@router.get("/memories/{memory_id}/history", response_model=HistoryOut, responses=NOT_FOUND,
            summary="Every change to a memory, oldest first")
async def memory_history(memory_id: MemoryId, who: Auth) -> dict[str, Any]:
    entries = await who.run(Memory.history, memory_id)
    return {"history": [e.to_dict() for e in entries]}


@router.post("/context", response_model=ContextOut, summary="The prompt block for a query, within a token budget")
async def context(body: ContextRequest, who: Auth) -> Response:
    def build(memory: Memory) -> dict[str, Any]:
        return memory.context(body.query, user_id=body.user_id, agent_id=body.agent_id,
                                  session_id=body.session_id, budget_tokens=body.budget_tokens, k=body.k,
                                  now=body.now, count_recall=body.count_recall).to_dict()

    return json_response(await who.run(build))


EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "A memlm JSONL export: a header line, then one memory per line",
          "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
}


@router.get("/export", response_class=StreamingResponse, responses=EXPORT_RESPONSE,
            summary="Every memory of the tenant (or of one user or agent) as JSONL (memlm export format)")
async def export(who: Auth, user_id: ScopeParam = None, agent_id: ScopeParam = None) -> StreamingResponse:
    """user_id / agent_id: only that user's / agent's memories."""
    await who.authenticate()  # before the temporary folder: a bad key never touches the disk
    folder = FsPath(tempfile.mkdtemp(prefix="memlm-export-"))  # private (0700), removed when the stream ends
    path = folder / "export.jsonl"
    try:
        n = await who.run(Memory.export, path, user_id=user_id, agent_id=agent_id)
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
