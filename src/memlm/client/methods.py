"""Every client method, written once, as a plan: a generator that yields the HTTP calls it
needs (`Call`) and receives each response, then returns the method's result. The plans do no
I/O; `Client` runs them with blocking httpx, `AsyncClient` with asyncio (see `operation`).

To add a method the server gained (e.g. forgetting or expiry), write one plan here with the
same signature as the `Memory` method and decorate it with `@operation`; both clients and the
parity test (tests/client/test_parity.py) pick it up.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from tqdm.auto import tqdm

from memlm.client import wire
from memlm.types import Event, HistoryEntry, Hit, MemoryRecord
from memlm.working import Context

T = TypeVar("T")
MAX_PAGE = 1000  # the server's largest list page (GET /v1/memories?limit=)
MAX_MESSAGES = 1000  # the server's most messages in one add request


@dataclass(frozen=True)
class Call:
    """One HTTP exchange a plan asks for."""

    method: str
    path: str
    params: Any = None  # query string: a list of (name, value) pairs (a name may repeat)
    json: Any = None  # request body
    download: Path | None = None  # stream the response body into this file (written whole, then renamed)
    missing_ok: bool = False  # a 404 comes back as the response instead of raising MemoryNotFound


Plan = Generator[Call, httpx.Response, T]


def operation(plan: Callable[..., Plan[Any]]) -> Callable[..., Any]:
    """Turn a plan into a method: the client's `_drive` runs it (and returns the result, or for
    the async client a coroutine of it). The method keeps the plan's signature and docstring."""
    @functools.wraps(plan)
    def method(self: Methods, *args: Any, **kwargs: Any) -> Any:
        return self._drive(plan(self, *args, **kwargs))
    return method


def _scope(user_id: str | None, agent_id: str | None, session_id: str | None) -> dict[str, str]:
    return {k: v for k, v in (("user_id", user_id), ("agent_id", agent_id), ("session_id", session_id))
            if v is not None}


def _kinds(kinds: Sequence[str] | str | None) -> list[str] | None:
    return None if kinds is None else [kinds] if isinstance(kinds, str) else list(kinds)


def _message(item: Any) -> Any:
    """A message as the server takes it: a dict (its time as ISO 8601), a bare string as its content."""
    if isinstance(item, str):
        return {"content": item}
    if isinstance(item, dict) and item.get("occurred_at") is not None:
        return {**item, "occurred_at": wire.iso(item["occurred_at"])}
    return item


def _expiry(expires_at: Any, ttl: Any) -> dict[str, Any]:
    """The expiry fields of a write body (`Memory.add(expires_at=, ttl=)`): a date, or seconds
    (a number or a timedelta)."""
    out: dict[str, Any] = {}
    if expires_at is not None:
        out["expires_at"] = wire.iso(expires_at)
    if ttl is not None:
        out["ttl"] = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
    return out


def _add_body(data: Any, scope: dict[str, str], occurred_at: Any, metadata: dict | None, kind: str | None,
              source_ids: Sequence[str] | None, extract: bool | None) -> dict[str, Any]:
    if isinstance(data, str):
        body: dict[str, Any] = {"text": data}
    elif isinstance(data, dict):
        body = {"messages": [_message(data)]}
    elif isinstance(data, list) and data:
        body = {"messages": [_message(m) for m in data]}
    else:
        raise ValueError("add() takes a string, a message dict, or a non-empty list of message dicts")
    body.update(scope)
    for key, value in (("occurred_at", wire.iso(occurred_at)), ("metadata", metadata), ("kind", kind),
                       ("source_ids", list(source_ids) if isinstance(source_ids, (list, tuple)) else source_ids),
                       ("extract", extract)):
        if value is not None:
            body[key] = value
    return body


def _events(response: httpx.Response) -> list[Event]:
    return [wire.event(e) for e in response.json()["events"]]


def _id_path(memory_id: str, tail: str = "") -> str:
    if not isinstance(memory_id, str) or not memory_id:
        raise ValueError(f"a memory id must be a non-empty string, got {memory_id!r}")
    return f"/v1/memories/{quote(memory_id, safe='')}{tail}"


class Methods:
    """The surface of `Memory`, over HTTP. Subclasses provide `_drive(plan)`."""

    def _drive(self, plan: Plan[Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- writing ---------------------------------------------------------------
    @operation
    def add(self, messages_or_text: Any, *, user_id: str | None = None, agent_id: str | None = None,
            session_id: str | None = None, occurred_at: Any = None, metadata: dict | None = None,
            kind: str | None = None, source_ids: Sequence[str] | None = None,
            extract: bool | None = None, expires_at: Any = None, ttl: Any = None) -> Plan[list[Event]]:
        """Remember a text (a fact by default) or conversation messages (episodes), gated (`Memory.add`)."""
        body = _add_body(messages_or_text, _scope(user_id, agent_id, session_id), occurred_at, metadata, kind,
                         source_ids, extract) | _expiry(expires_at, ttl)
        return _events((yield Call("POST", "/v1/memories", json=body)))

    @operation
    def add_many(self, items: Iterable[Any], *, user_id: str | None = None, agent_id: str | None = None,
                 session_id: str | None = None, occurred_at: Any = None, kind: str | None = None,
                 progress: bool = False, expires_at: Any = None, ttl: Any = None) -> Plan[list[Event]]:
        """Bulk ingestion (`Memory.add_many`): runs of message items go in one request each (up to
        the server's 1000 messages), a text item in its own."""
        scope = _scope(user_id, agent_id, session_id)
        expiry = _expiry(expires_at, ttl)
        events: list[Event] = []
        run: list[Any] = []
        bar = tqdm(desc="memories", unit="mem", disable=not progress)

        def flush() -> Call:
            body = _add_body(list(run), scope, occurred_at, None, kind, None, None) | expiry
            run.clear()
            return Call("POST", "/v1/memories", json=body)

        try:
            for item in items:
                if isinstance(item, str):
                    if run:
                        events += _events((yield flush()))
                    events += _events((yield Call("POST", "/v1/memories", json=_add_body(
                        item, scope, occurred_at, None, kind, None, None) | expiry)))
                    bar.update(1)
                    continue
                messages = [item] if isinstance(item, dict) else list(item)
                if len(run) + len(messages) > MAX_MESSAGES and run:
                    events += _events((yield flush()))
                run.extend(messages)
                bar.update(len(messages))
            if run:
                events += _events((yield flush()))
        finally:
            bar.close()
        return events

    @operation
    def update(self, memory_id: str, text: str, *, expires_at: Any = None, ttl: Any = None) -> Plan[Event]:
        """Replace a memory's text by hand; the old text stays in history. `expires_at` / `ttl`
        set a new expiry."""
        body = {"text": text} | _expiry(expires_at, ttl)
        return wire.event((yield Call("PATCH", _id_path(memory_id), json=body)).json())

    @operation
    def purge(self, *, now: Any = None) -> Plan[int]:
        """Delete the tenant's expired memories (as of `now`, default the server's present) and
        erase their bytes; returns how many (`Memory.purge`)."""
        body = {} if now is None else {"now": wire.iso(now)}
        return int((yield Call("POST", "/v1/memories/purge", json=body)).json()["purged"])

    @operation
    def forget(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
               before: Any = None, kind: str | Sequence[str] | None = None, weaker_than: float | None = None,
               dry_run: bool = True, now: Any = None) -> Plan[builtins.list[MemoryRecord]]:
        """Forget on purpose (`Memory.forget`): the scope's memories older than `before`, of
        `kind`, in `session_id`, with a strength under `weaker_than`. With `dry_run` (the
        default) nothing is deleted: the memories that would go are returned."""
        body: dict[str, Any] = {**_scope(user_id, agent_id, session_id), "dry_run": bool(dry_run)}
        for key, value in (("before", wire.iso(before)), ("kinds", _kinds(kind)), ("weaker_than", weaker_than),
                           ("now", wire.iso(now))):
            if value is not None:
                body[key] = value
        return [wire.record(m) for m in (yield Call("POST", "/v1/memories/forget", json=body)).json()["memories"]]

    @operation
    def consolidate(self, *, user_id: str | None = None, session_id: str,
                    agent_id: str | None = None) -> Plan[Event]:
        """Summarise a session into its `summary` memory (by the server's LLM if it has one)."""
        body = {**_scope(user_id, agent_id, session_id), "session_id": session_id}
        return wire.event((yield Call("POST", "/v1/memories/consolidate", json=body)).json())

    @operation
    def supersede(self, memory_id: str, *, by: str | None = None, at: Any = None) -> Plan[Event]:
        """Mark a memory as no longer true without erasing it (`Memory.supersede`): it gets
        valid_to (`at`, default now) and `superseded_by`, and leaves recall unless asked for."""
        body = {k: v for k, v in (("by", by), ("at", wire.iso(at))) if v is not None}
        return wire.event((yield Call("POST", _id_path(memory_id, "/supersede"), json=body)).json())

    @operation
    def delete(self, memory_id: str) -> Plan[Event]:
        return wire.event((yield Call("DELETE", _id_path(memory_id))).json())

    @operation
    def delete_all(self, *, user_id: str | None = None, agent_id: str | None = None,
                   session_id: str | None = None) -> Plan[int]:
        """Erase every memory in the scope, with its history. Refuses an empty scope."""
        scope = _scope(user_id, agent_id, session_id)
        if not scope:
            raise ValueError("delete_all needs a scope (user_id, agent_id or session_id); refusing to erase everything")
        return int((yield Call("DELETE", "/v1/memories", params=list(scope.items()))).json()["deleted"])

    # -- reading ---------------------------------------------------------------
    @operation
    def search(self, query: str, *, user_id: str | None = None, agent_id: str | None = None,
               session_id: str | None = None, k: int = 10, kinds: Sequence[str] | None = None,
               since: Any = None, until: Any = None, hops: int | None = None, neighbors: int = 0,
               now: Any = None, include_superseded: bool = False) -> Plan[list[Hit]]:
        """Recall the k memories most relevant to the query, best first, scores in [0, 1]."""
        body: dict[str, Any] = {"query": query, **_scope(user_id, agent_id, session_id), "k": k,
                                "neighbors": neighbors, "include_superseded": include_superseded}
        for key, value in (("kinds", _kinds(kinds)), ("since", wire.iso(since)), ("until", wire.iso(until)),
                           ("hops", hops), ("now", wire.iso(now))):
            if value is not None:
                body[key] = value
        return [wire.hit(h) for h in (yield Call("POST", "/v1/memories/search", json=body)).json()["results"]]

    @operation
    def get(self, memory_id: str) -> Plan[MemoryRecord | None]:
        response = yield Call("GET", _id_path(memory_id), missing_ok=True)
        return None if response.status_code == 404 else wire.record(response.json())

    @operation
    def list(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
             kinds: Sequence[str] | None = None, limit: int = 100, offset: int = 0,
             include_superseded: bool = False, now: Any = None) -> Plan[list[MemoryRecord]]:
        """Memories in scope, oldest first (paged: requests of up to 1000 until `limit`)."""
        if limit <= 0 or offset < 0:
            raise ValueError("limit must be positive and offset non-negative")
        base = list(_scope(user_id, agent_id, session_id).items())
        base += [("kind", k) for k in _kinds(kinds) or []]
        if include_superseded:
            base.append(("include_superseded", "true"))
        if now is not None:
            base.append(("now", wire.iso(now)))
        out: list[MemoryRecord] = []
        while len(out) < limit:
            size = min(limit - len(out), MAX_PAGE)
            params = [*base, ("limit", str(size)), ("offset", str(offset + len(out)))]
            page = (yield Call("GET", "/v1/memories", params=params)).json()["memories"]
            out += [wire.record(m) for m in page]
            if len(page) < size:
                break
        return out

    @operation
    def history(self, memory_id: str) -> Plan[builtins.list[HistoryEntry]]:
        return [wire.history_entry(e) for e in (yield Call("GET", _id_path(memory_id, "/history"))).json()["history"]]

    @operation
    def context(self, query: str, *, user_id: str | None = None, session_id: str | None = None,
                agent_id: str | None = None, budget_tokens: int = 2000, k: int = 10, now: Any = None,
                count_recall: bool = True) -> Plan[Context]:
        """The prompt block for this query: working memory, then recalled memories with dates
        (their recalls counted unless `count_recall` is False)."""
        body: dict[str, Any] = {"query": query, **_scope(user_id, agent_id, session_id),
                                "budget_tokens": budget_tokens, "k": k}
        if not count_recall:
            body["count_recall"] = False
        if now is not None:
            body["now"] = wire.iso(now)
        return wire.context((yield Call("POST", "/v1/context", json=body)).json())

    # -- portability -------------------------------------------------------------
    @operation
    def export(self, path: str | Path, *, user_id: str | None = None, agent_id: str | None = None) -> Plan[int]:
        """Every memory of the key's tenant (only this user's / agent's when given) as a memlm JSONL
        file at `path`; returns the count."""
        params = [(k, v) for k, v in (("user_id", user_id), ("agent_id", agent_id)) if v is not None]
        response = yield Call("GET", "/v1/export", params=params or None, download=Path(path))
        return int(response.headers.get("X-Memlm-Count", "0"))

    @operation
    def health(self) -> Plan[dict[str, Any]]:
        """The server's liveness check: {"status": "ok", "version": ...} (no key needed)."""
        return (yield Call("GET", "/healthz")).json()
