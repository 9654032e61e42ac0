"""Read-only /v1 resources the web inspector (/ui) browses with: a tenant's owners (users and
agents) and sessions with their counts, memories over time per kind, and a filtered memory
list (kind, time range, text). Same keys, limits and tenant isolation as every /v1 route: the
tenant comes from the key, and every statement is keyed by it.

The aggregates are plain SQL over the `memories` table that both backends share (written with
``?`` placeholders for `Store.sql`); times come back as text (SQLite) or datetimes (PostgreSQL)
and are normalised to ISO 8601 UTC here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from memlm.engine import Memory
from memlm.server.errors import ERROR_RESPONSES
from memlm.server.models import MAX_ID, Kind, MemoryDetailOut, Out
from memlm.server.routes import Auth, ScopeParam, strict_query, with_strength
from memlm.stores.base import where_clause
from memlm.types import KINDS
from memlm.write.inputs import check_text

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, dependencies=[Depends(strict_query)],
                   tags=["inspect"])


@dataclass(frozen=True)
class InspectConfig:
    """Bounds of the inspector's resources."""

    max_owners: int = 10_000  # owners one /v1/owners answer lists (the most recently active first)
    max_sessions: int = 10_000  # sessions one /v1/sessions answer lists (the latest first)
    max_scan: int = 200_000  # rows /v1/browse reads at most looking for text matches (then says it stopped)
    max_periods: int = 1000  # /v1/timeline fills empty periods between the first and last up to this many
    auto_day_span: int = 92  # bucket=auto: days per bar when the memories span at most this many days
    auto_month_span: int = 3653  # bucket=auto: months up to this span (days), else years


CONFIG = InspectConfig()


class Counts(Out):
    episode: int = 0
    fact: int = 0
    summary: int = 0
    superseded: int = Field(0, description="facts a later fact superseded (not in the kind counts)")
    total: int = Field(0, description="current memories (episodes + facts + summaries)")


class OwnerOut(Out):
    user_id: str | None
    agent_id: str | None
    counts: Counts
    sessions: int = Field(description="distinct sessions")
    first_at: str | None = Field(description="earliest occurred_at (else created_at) of its memories")
    last_at: str | None


class OwnersOut(Out):
    owners: list[OwnerOut]
    truncated: bool = Field(description="true when there were more owners than listed")


class SessionOut(Out):
    session_id: str | None = Field(description="null: the owner's memories outside any session")
    counts: Counts
    first_at: str | None
    last_at: str | None


class SessionsOut(Out):
    sessions: list[SessionOut]
    truncated: bool


class PeriodOut(Out):
    period: str = Field(description="YYYY-MM-DD (bucket day), YYYY-MM (month) or YYYY (year)")
    episode: int = 0
    fact: int = 0
    summary: int = 0


class TimelineOut(Out):
    bucket: Literal["day", "month", "year"] = Field(description="the bucket used (auto's choice)")
    periods: list[PeriodOut] = Field(description="oldest first, every period from the first to the last "
                                                 "(empty ones included, unless there would be over 1000)")


class BrowseOut(Out):
    memories: list[MemoryDetailOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")
    scanned_all: bool = Field(description="false when a text filter stopped after max_scan rows")


def _iso(value: Any) -> str | None:
    """A time column's value (text in SQLite, datetime in PostgreSQL) as ISO 8601 UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _counts(rows: list[tuple]) -> dict[str, int]:
    """{kind: n, superseded: n, total: n} from (kind, current, superseded) rows."""
    out = dict.fromkeys(KINDS, 0) | {"superseded": 0}
    for kind, current, superseded in rows:
        out[kind] += int(current or 0)
        out["superseded"] += int(superseded or 0)
    out["total"] = sum(out[k] for k in KINDS)
    return out


COUNTS = ("kind, sum(CASE WHEN valid_to IS NULL THEN 1 ELSE 0 END), "
          "sum(CASE WHEN valid_to IS NULL THEN 0 ELSE 1 END), "
          "min(coalesce(occurred_at, created_at)), max(coalesce(occurred_at, created_at))")


def _group(rows: list[tuple], width: int) -> dict[tuple, dict[str, Any]]:
    """Rows (key columns..., kind, current, superseded, first, last) grouped by their key."""
    groups: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key, (kind, current, superseded, first, last) = tuple(row[:width]), row[width:]
        group = groups.setdefault(key, {"rows": [], "first": None, "last": None})
        group["rows"].append((kind, current, superseded))
        first, last = _iso(first), _iso(last)
        group["first"] = min(x for x in (group["first"], first) if x) if (group["first"] or first) else None
        group["last"] = max(x for x in (group["last"], last) if x) if (group["last"] or last) else None
    return groups


def owners(memory: Memory, config: InspectConfig = CONFIG) -> dict[str, Any]:
    """Every (user_id, agent_id) of the tenant with counts per kind and its sessions, latest active first."""
    store, tenant = memory.store, memory.tenant
    rows = store.sql(f"SELECT user_id, agent_id, {COUNTS} FROM memories WHERE tenant = ? "
                     "GROUP BY user_id, agent_id, kind", (tenant,))
    sessions = {(u, a): n for u, a, n in store.sql(
        "SELECT user_id, agent_id, count(DISTINCT session_id) FROM memories WHERE tenant = ? "
        "GROUP BY user_id, agent_id", (tenant,))}
    listed = [{"user_id": u, "agent_id": a, "counts": _counts(g["rows"]), "sessions": int(sessions.get((u, a), 0)),
               "first_at": g["first"], "last_at": g["last"]} for (u, a), g in _group(rows, 2).items()]
    listed.sort(key=lambda o: (o["last_at"] or "", o["user_id"] or "", o["agent_id"] or ""), reverse=True)
    return {"owners": listed[:config.max_owners], "truncated": len(listed) > config.max_owners}


def _owner_clause(memory: Memory, user_id: str | None, agent_id: str | None,
                  session_id: str | None = None, *, any_session: bool = True) -> tuple[str, list]:
    """`tenant = ? AND user_id = ? ...` for the given scope (the tenant always; needs an owner)."""
    if user_id is None and agent_id is None:
        raise ValueError("give user_id or agent_id")
    clauses, params = ["tenant = ?"], [memory.tenant]
    for col, value in (("user_id", user_id), ("agent_id", agent_id), ("session_id", session_id)):
        if value is not None:
            clauses.append(f"{col} = ?")
            params.append(value)
    return " AND ".join(clauses), params


def sessions(memory: Memory, user_id: str | None, agent_id: str | None,
             config: InspectConfig = CONFIG) -> dict[str, Any]:
    """An owner's sessions with counts per kind and their first / last time, latest first."""
    where, params = _owner_clause(memory, user_id, agent_id)
    rows = memory.store.sql(f"SELECT session_id, {COUNTS} FROM memories WHERE {where} "
                            "GROUP BY session_id, kind", params)
    listed = [{"session_id": s, "counts": _counts(g["rows"]), "first_at": g["first"], "last_at": g["last"]}
              for (s,), g in _group(rows, 1).items()]
    listed.sort(key=lambda s: (s["last_at"] or "", s["session_id"] or ""), reverse=True)
    return {"sessions": listed[:config.max_sessions], "truncated": len(listed) > config.max_sessions}


WIDTH = {"day": 10, "month": 7, "year": 4}


def _next_period(period: str, bucket: str) -> str:
    """The period after this one (YYYY-MM-DD, YYYY-MM or YYYY)."""
    if bucket == "year":
        return f"{int(period) + 1:04d}"
    if bucket == "month":
        y, m = int(period[:4]), int(period[5:7])
        return f"{y + m // 12:04d}-{m % 12 + 1:02d}"
    return (date.fromisoformat(period) + timedelta(days=1)).isoformat()


def _auto_bucket(first: str, last: str, config: InspectConfig) -> str:
    """day when the span is short, month up to a few years, else year."""
    span = (date.fromisoformat(last[:10]) - date.fromisoformat(first[:10])).days
    return "day" if span <= config.auto_day_span else "month" if span <= config.auto_month_span else "year"


def timeline(memory: Memory, user_id: str | None, agent_id: str | None, session_id: str | None,
             bucket: str, config: InspectConfig = CONFIG) -> dict[str, Any]:
    """How many current memories of each kind fall in each day / month / year (occurred_at, else
    created_at), oldest first; the empty periods between the first and the last are filled in
    (up to `max_periods`) so the chart's axis is time. `auto` picks the bucket from the span."""
    where, params = _owner_clause(memory, user_id, agent_id, session_id)
    rows = memory.store.sql(f"SELECT kind, coalesce(occurred_at, created_at) FROM memories "
                            f"WHERE {where} AND valid_to IS NULL", params)
    # SQLite's text is UTC ISO 8601 already (sliced as it is); PostgreSQL's datetimes are converted
    times = [(kind, when if isinstance(when, str) and when.endswith("+00:00") else _iso(when) or "")
             for kind, when in rows]
    if bucket == "auto":
        bucket = _auto_bucket(min(t for _, t in times), max(t for _, t in times), config) if times else "day"
    width = WIDTH[bucket]
    periods: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for kind, when in times:
        periods[when[:width]][kind] += 1
    names = sorted(periods)
    if names:
        filled: list[str] = []
        period = names[0]
        while period <= names[-1] and len(filled) <= config.max_periods:
            filled.append(period)
            period = _next_period(period, bucket)
        if len(filled) <= config.max_periods:
            names = filled
    return {"bucket": bucket, "periods": [{"period": p} | periods[p] for p in names]}


def browse(memory: Memory, *, user_id: str | None, agent_id: str | None, session_id: str | None,
           kinds: Sequence[str] | None, since: str | None, until: str | None, text: str | None, limit: int,
           offset: int, include_superseded: bool, config: InspectConfig = CONFIG) -> dict[str, Any]:
    """Memories in scope, oldest first, filtered by kind, time range (occurred_at) and text
    (case-insensitive substring); paged by offset over the matches."""
    filters = memory._filters(user_id, agent_id, session_id, kinds, since, until, require_owner=False,
                              include_superseded=include_superseded)
    if not text:
        page = memory.store.list(filters, limit=limit + 1, offset=offset)
        more = len(page) > limit
        shown = with_strength(memory, page[:limit])
        return {"memories": shown, "limit": limit, "offset": offset,
                "next_offset": offset + limit if more else None, "scanned_all": True}
    needle = check_text(text, max_chars=1000).casefold()
    ids, stopped = _text_matches(memory, filters, needle, offset + limit + 1, config.max_scan)
    wanted = ids[offset:offset + limit]
    records = memory.store.fetch(memory.tenant, wanted)
    shown = with_strength(memory, [records[i] for i in wanted if i in records])  # expired: left out by the store
    return {"memories": shown, "limit": limit, "offset": offset,
            "next_offset": offset + limit if len(ids) > offset + limit else None, "scanned_all": not stopped}


def _text_matches(memory: Memory, filters: Any, needle: str, wanted: int, max_scan: int) -> tuple[list[str], bool]:
    """Ids of the first `wanted` memories (in list order) whose text holds the needle, reading
    only ids and texts of at most `max_scan` rows; and whether it stopped at that bound."""
    from memlm.stores.sqlite import SQLiteStore, _ts

    when = _ts if isinstance(memory.store, SQLiteStore) else (lambda d: d)  # SQLite keeps times as UTC text
    clause, params = where_clause(filters, ph="?", when=when, array_param=False)
    rows = memory.store.sql(f"SELECT m.id, m.text FROM memories m WHERE {clause} "
                            "ORDER BY m.occurred_at IS NULL, m.occurred_at, m.rid LIMIT ?", (*params, max_scan + 1))
    ids: list[str] = []
    for mid, body in rows[:max_scan]:
        if needle in body.casefold():
            ids.append(mid)
            if len(ids) >= wanted:
                return ids, False
    return ids, len(rows) > max_scan


OwnerParam = Annotated[str | None, Query(min_length=1, max_length=MAX_ID)]
TimeParam = Annotated[str | None, Query(max_length=100, description="ISO 8601 or a free-form date")]


@router.get("/owners", response_model=OwnersOut, summary="The tenant's users and agents with counts per kind")
async def list_owners(who: Auth) -> dict[str, Any]:
    return await who.run(owners)


@router.get("/sessions", response_model=SessionsOut, summary="An owner's sessions with counts per kind")
async def list_sessions(who: Auth, user_id: OwnerParam = None, agent_id: OwnerParam = None) -> dict[str, Any]:
    return await who.run(sessions, user_id, agent_id)


@router.get("/timeline", response_model=TimelineOut, summary="An owner's memories per kind over time")
async def memory_timeline(who: Auth, user_id: OwnerParam = None, agent_id: OwnerParam = None,
                          session_id: ScopeParam = None,
                          bucket: Literal["auto", "day", "month", "year"] = "auto") -> dict[str, Any]:
    return await who.run(timeline, user_id, agent_id, session_id, bucket)


@router.get("/browse", response_model=BrowseOut,
            summary="Memories in a scope, oldest first, filtered by kind, time range and text")
async def browse_memories(who: Auth, user_id: ScopeParam = None, agent_id: ScopeParam = None,
                          session_id: ScopeParam = None,
                          kind: Annotated[list[Kind] | None, Query(max_length=3)] = None,
                          since: TimeParam = None, until: TimeParam = None,
                          text: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
                          limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                          offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                          include_superseded: bool = False) -> dict[str, Any]:
    return await who.run(lambda m: browse(m, user_id=user_id, agent_id=agent_id, session_id=session_id,
                                          kinds=kind, since=since, until=until, text=text, limit=limit,
                                          offset=offset, include_superseded=include_superseded))

