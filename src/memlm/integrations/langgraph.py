"""`MemlmStore`: LangGraph's long-term memory store (`BaseStore`) backed by memlm.

    from memlm import Memory
    from memlm.integrations.langgraph import MemlmStore

    store = MemlmStore(Memory("agent.db"))          # or MemlmStore(Client(url, api_key=...))
    store.put(("ana", "prefs"), "food", {"text": "Ana is vegetarian"})
    store.search(("ana",), query="what does Ana eat?")

Mapping (docs/integrations.md):
- the tenant is the backend's (a Memory's `config.tenant`, a Client's API key);
- `layout` names what the namespace's leading labels are: by default ("user_id",), so the
  first label is the memlm user and the others are a path inside that user's memories;
  (None, "user_id") reads ("memories", USER) namespaces, ("user_id", "agent_id", "session_id")
  maps three labels. The owner (user_id or agent_id) must be among them;
- an item is a memlm episode of that scope: its text (what recall indexes) is the value's
  `index` fields (the store's `index_fields`; by default the value's string fields), the item
  in its metadata. `search(query=...)` is memlm's hybrid recall, scores in [0, 1]; without a
  query it lists by most recently updated. get / put / delete look the key up among the
  scope's memories (one list call per 1000 memories of the scope);
- TTL: a put's `ttl` (minutes) is memlm's expiry (`ttl=` seconds on add): the item's memories
  are hidden from get / search / list once it passes, and `memlm memory purge` (or
  `Memory.purge`) deletes them. A read with `refresh_ttl` (LangGraph's default) pushes the
  expiry of each item it returns `ttl` minutes on again (an `update` with the same text, so
  it shows as an UPDATE in the memory's history). `ttl_config` ({"default_ttl",
  "refresh_on_read"}) applies as in LangGraph's own stores.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    get_text_at_path,
    validate_op_namespace,
)

from memlm.integrations._calls import Do, Steps, run_async, run_sync
from memlm.types import MemoryRecord

FIELDS = ("user_id", "agent_id", "session_id")
META = "langgraph"  # the metadata key holding an item: {"namespace", "key", "value", "created_at", "indexed"}
PAGE = 1000  # memories fetched per list call (the server's largest page)
SEARCH_K = 100  # most hits one recall asks for (the server's limit); filters apply after recall


class MemlmStore(BaseStore):
    """A LangGraph `BaseStore` over a memlm `Memory`, `Client` or `AsyncClient` (async methods only)."""

    supports_ttl = True

    def __init__(self, memory: Any, *, layout: tuple[str | None, ...] = ("user_id",),
                 index_fields: list[str] | None = None, ttl_config: TTLConfig | None = None) -> None:
        names = [f for f in layout if f is not None]
        if not names or any(f not in FIELDS for f in names) or len(set(names)) != len(names):
            raise ValueError(f"layout names each of {', '.join(FIELDS)} at most once (None skips a label), "
                             f"got {layout!r}")
        if "user_id" not in names and "agent_id" not in names:
            raise ValueError("layout must map a label to user_id or agent_id (a memlm memory needs an owner)")
        self.memory = memory
        self.layout = tuple(layout)
        self.index_fields = index_fields
        self.ttl_config = ttl_config

    # -- the two entry points --------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return run_sync(self.memory, self._batch(list(ops)))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await run_async(self.memory, self._batch(list(ops)))

    def _batch(self, ops: list[Op]) -> Steps[list[Result]]:
        for op in ops:
            validate_op_namespace(op)
            if isinstance(op, PutOp) and op.ttl is not None and (isinstance(op.ttl, bool) or not op.ttl > 0):
                raise ValueError(f"ttl must be a positive number of minutes, got {op.ttl!r}")
        results: list[Result] = []
        for op in ops:  # in order: a get after a put in one batch sees the put
            if isinstance(op, GetOp):
                results.append((yield from self._get(op)))
            elif isinstance(op, PutOp):
                yield from self._put(op)
                results.append(None)
            elif isinstance(op, SearchOp):
                results.append((yield from self._search(op)))
            elif isinstance(op, ListNamespacesOp):
                results.append((yield from self._list_namespaces(op)))
            else:
                raise TypeError(f"unknown operation {type(op).__name__}")
        return results

    # -- mapping ---------------------------------------------------------------
    def _scope(self, namespace: tuple[str, ...], *, require_owner: bool) -> dict[str, str] | None:
        """The memlm scope a namespace (or prefix) pins down; None if it names no owner."""
        scope = {f: label for f, label in zip(self.layout, namespace) if f is not None}
        if "user_id" not in scope and "agent_id" not in scope:
            if require_owner:
                raise InvalidNamespaceError(f"namespace {namespace!r} has no label in the owner position of "
                                            f"layout {self.layout!r}")
            return None
        return scope

    def _records(self, scope: dict[str, str] | None) -> Steps[list[MemoryRecord]]:
        """Every store item's memory in the scope (all scopes when None), oldest first."""
        out: list[MemoryRecord] = []
        offset = 0
        while True:
            page = yield Do("list", kwargs={**(scope or {}), "kinds": ["episode"], "limit": PAGE, "offset": offset})
            out += [r for r in page if isinstance(r.metadata.get(META), dict)]
            if len(page) < PAGE:
                return out
            offset += PAGE

    def _find(self, namespace: tuple[str, ...], key: str) -> Steps[list[MemoryRecord]]:
        """The memories holding (namespace, key): one, or several chunks of one long item."""
        records = yield from self._records(self._scope(namespace, require_owner=True))
        return [r for r in records if _address(r) == (namespace, key)]

    # -- operations ------------------------------------------------------------
    def _get(self, op: GetOp) -> Steps[Item | None]:
        found = yield from self._find(tuple(op.namespace), op.key)
        if found and op.refresh_ttl:
            yield from self._refresh(found)
        return _item(found[0]) if found else None

    def _refresh(self, records: list[MemoryRecord]) -> Steps[None]:
        """Push the expiry of an item's memories its ttl on again (items put without one: nothing)."""
        for record in records:
            ttl = record.metadata[META].get("ttl")
            if ttl is not None:
                with contextlib.suppress(KeyError):  # deleted meanwhile
                    yield Do("update", (record.id, record.text), {"ttl": float(ttl) * 60})

    def _put(self, op: PutOp) -> Steps[None]:
        namespace = tuple(op.namespace)
        scope = self._scope(namespace, require_owner=True) or {}
        old = yield from self._find(namespace, op.key)
        for record in old:  # replaced: the item keeps its created_at
            with contextlib.suppress(KeyError):  # deleted meanwhile
                yield Do("delete", (record.id,))
        if op.value is None:
            return None
        value = dict(op.value)
        fields = self.index_fields if op.index is None else op.index
        now = datetime.now(UTC)
        meta: dict[str, Any] = {META: {"namespace": list(namespace), "key": op.key, "value": value,
                                       "indexed": fields is not False}}
        if old:
            meta[META]["created_at"] = _item(old[0]).created_at.isoformat()
        expiry: dict[str, Any] = {}
        if op.ttl is not None:  # minutes (LangGraph) -> seconds (memlm)
            meta[META]["ttl"] = op.ttl
            expiry = {"ttl": float(op.ttl) * 60}
        text = _text(value, fields if fields else None)
        events = yield Do("add", ({"content": text},), {**scope, "occurred_at": now, "metadata": meta, **expiry})
        foreign = [e for e in events if e.event != "ADD"]
        if foreign:  # the gate matched another item's near-identical text: tell the two apart by speaker
            for e in events:
                if e.event == "ADD":
                    yield Do("delete", (e.id,))
            yield Do("add", ({"role": f"item {op.key}", "content": text},),
                     {**scope, "occurred_at": now, "metadata": meta, **expiry})
        return None

    def _search(self, op: SearchOp) -> Steps[list[SearchItem]]:
        prefix = tuple(op.namespace_prefix)
        scope = self._scope(prefix, require_owner=False)
        if op.query:
            if scope is None:  # no owner in the prefix: recall each owner's memories, merged by score
                owners = {tuple(sorted((self._scope(_address(r)[0], require_owner=True) or {}).items()))
                          for r in (yield from self._records(None)) if _starts(_address(r)[0], prefix)}
                scopes = [dict(o) for o in sorted(owners)]
            else:
                scopes = [scope]
            scored: list[tuple[float | None, MemoryRecord]] = []
            for s in scopes:
                hits = yield Do("search", (op.query,), {**s, "k": SEARCH_K, "kinds": ["episode"]})
                scored += [(h.score, h.memory) for h in hits if isinstance(h.memory.metadata.get(META), dict)
                           and h.memory.metadata[META].get("indexed", True)]
            scored.sort(key=lambda sr: -(sr[0] or 0.0))
        else:
            records = yield from self._records(scope)
            records.sort(key=lambda r: r.updated_at or datetime.min.replace(tzinfo=UTC), reverse=True)
            scored = [(None, r) for r in records]
        chosen: list[tuple[float | None, MemoryRecord]] = []
        seen: set[tuple] = set()
        for score, record in scored:
            address = _address(record)
            if address in seen or not _starts(address[0], prefix):
                continue
            seen.add(address)
            if op.filter and not _matches(record.metadata[META]["value"], op.filter):
                continue
            chosen.append((score, record))
        chosen = chosen[op.offset: op.offset + op.limit]
        if op.refresh_ttl:  # every memory of a returned item that has a ttl (a long item has several)
            for _, record in chosen:
                if record.metadata[META].get("ttl") is not None:
                    yield from self._refresh((yield from self._find(*_address(record))))
        return [_search_item(record, score) for score, record in chosen]

    def _list_namespaces(self, op: ListNamespacesOp) -> Steps[list[tuple[str, ...]]]:
        prefix: tuple[str, ...] = ()
        for cond in op.match_conditions or ():  # a literal prefix narrows the memlm scope listed
            if cond.match_type == "prefix" and "*" not in cond.path:
                prefix = tuple(cond.path)
        records = yield from self._records(self._scope(prefix, require_owner=False))
        spaces = {_address(r)[0] for r in records}
        spaces = {ns for ns in spaces if all(_condition(c, ns) for c in op.match_conditions or ())}
        if op.max_depth is not None:
            spaces = {ns[: op.max_depth] for ns in spaces}
        return sorted(spaces)[op.offset: op.offset + op.limit]


# -- helpers ---------------------------------------------------------------------
def _address(record: MemoryRecord) -> tuple[tuple[str, ...], str]:
    meta = record.metadata[META]
    return tuple(meta["namespace"]), meta["key"]


def _times(record: MemoryRecord) -> tuple[datetime, datetime]:
    meta = record.metadata[META]
    created = datetime.fromisoformat(meta["created_at"]) if meta.get("created_at") else record.created_at
    created = created or datetime.now(UTC)
    return created, record.updated_at or created


def _item(record: MemoryRecord) -> Item:
    namespace, key = _address(record)
    created, updated = _times(record)
    return Item(value=record.metadata[META]["value"], key=key, namespace=namespace, created_at=created,
                updated_at=updated)


def _search_item(record: MemoryRecord, score: float | None) -> SearchItem:
    namespace, key = _address(record)
    created, updated = _times(record)
    return SearchItem(namespace, key, record.metadata[META]["value"], created, updated, score=score)


def _text(value: dict[str, Any], fields: list[str] | None) -> str:
    """What recall indexes: the named fields' text; by default the value's text: its one string
    field as is ({"text": "..."}), several as "key: text" lines, none as the value's JSON."""
    if fields:
        parts = [t for f in fields for t in get_text_at_path(value, f)]
    else:
        strings = [(k, v) for k, v in value.items() if isinstance(v, str) and v.strip()]
        parts = [strings[0][1]] if len(strings) == 1 else [f"{k}: {v}" for k, v in strings]
    text = "\n".join(p for p in parts if p.strip())
    return text if text.strip() else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _starts(namespace: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return namespace[: len(prefix)] == prefix


def _condition(cond: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(cond.path)
    if len(namespace) < len(path):
        return False
    pairs = zip(namespace, path) if cond.match_type == "prefix" else zip(reversed(namespace), reversed(path))
    if cond.match_type not in ("prefix", "suffix"):
        raise ValueError(f"unknown match type {cond.match_type!r}")
    return all(p == "*" or n == p for n, p in pairs)


def _matches(value: Any, filter: dict[str, Any]) -> bool:
    """LangGraph's filter: exact values (nested objects by key), or $eq/$ne/$gt/$gte/$lt/$lte."""
    return all(_compare(value.get(k) if isinstance(value, dict) else None, v) for k, v in filter.items())


def _compare(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        if any(k.startswith("$") for k in wanted):
            return all(_operator(value, op, arg) for op, arg in wanted.items())
        return isinstance(value, dict) and all(_compare(value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, (list, tuple)):
        return (isinstance(value, (list, tuple)) and len(value) == len(wanted)
                and all(_compare(a, b) for a, b in zip(value, wanted)))
    return value == wanted


def _operator(value: Any, op: str, arg: Any) -> bool:
    if op == "$eq":
        return value == arg
    if op == "$ne":
        return value != arg
    if op not in ("$gt", "$gte", "$lt", "$lte"):
        raise ValueError(f"unsupported filter operator {op!r}")
    if value is None:
        return False
    try:
        a, b = float(value), float(arg)
    except (TypeError, ValueError):
        return False
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]


__all__ = ["MemlmStore"]
