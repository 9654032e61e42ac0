"""The Model Context Protocol server: memlm's memory as MCP tools (`memlm mcp`, stdio).

Tools: add_memory, search_memory, get_context, list_memories, get_memory, update_memory,
memory_history, delete_memory, delete_all_memories (only with confirm=true), forget_memories
(by rule, a dry run unless dry_run=false), purge_expired. Results are
JSON objects; bad input comes back as a tool error the calling model can read and correct.
The backend is a local `Memory` (one tenant, `memlm mcp --tenant`) or a `Client` of a memlm
server (`memlm mcp --server URL`). Built on the official `mcp` SDK (`pip install 'memlm[mcp]'`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from memlm.errors import ApiError
from memlm.types import Hit, MemoryRecord

INSTRUCTIONS = ("Long-term memory. Add what the user tells you (facts about them, or conversation turns with a "
                "role), search it or get a context block before answering, list, correct (update) or delete "
                "memories when asked; deleting everything of a user needs confirm=true. Give short-lived "
                "things (a parking spot, a code for today) an expiry; forget by rule only after a dry run.")

UserId = Annotated[str | None, Field(description="the user the memories belong to (user_id or agent_id is needed)")]
AgentId = Annotated[str | None, Field(description="the agent / assistant the memories belong to")]
SessionId = Annotated[str | None, Field(description="one conversation; limits reads to it, dates writes to it")]
When = Annotated[str | None, Field(description="a date or date-time, ISO 8601 or free-form ('2024-06-03 10:15')")]
Kinds = Annotated[list[str] | None, Field(description='memory kinds to include: "episode", "fact", "summary"')]
MemoryId = Annotated[str, Field(description="a memory id, as returned by add, search or list")]


def describe(func: Callable[..., Any]) -> str:
    """A tool's description: its docstring as one paragraph (no indentation or line breaks)."""
    return " ".join(inspect.cleandoc(func.__doc__ or "").split())


def record_out(m: MemoryRecord) -> dict[str, Any]:
    """A memory as the tools show it: what a model needs, without the tenant and internals."""
    full = m.to_dict()
    out = {k: full[k] for k in ("id", "kind", "text", "role", "user_id", "agent_id", "session_id", "occurred_at",
                                "created_at", "updated_at")}
    if m.metadata:
        out["metadata"] = full["metadata"]
    if m.valid_to is not None:
        out["valid_to"], out["superseded_by"] = full["valid_to"], m.superseded_by
    return {k: v for k, v in out.items() if v is not None}


def hit_out(h: Hit) -> dict[str, Any]:
    return {**record_out(h.memory), "score": round(h.score, 4)}


def build_server(memory: Any) -> Any:
    """An MCP server whose tools read and write `memory` (a Memory or a Client)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    from memlm import __version__

    server = MCPServer("memlm", version=__version__, instructions=INSTRUCTIONS)

    def tool(*, read_only: bool = False, destructive: bool = False, idempotent: bool = False):
        """Register a tool (description from its docstring) whose bad-input errors reach the model as a tool error."""
        def register(func: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
            @functools.wraps(func)
            def checked(*args: Any, **kwargs: Any) -> dict[str, Any]:
                try:
                    return func(*args, **kwargs)
                except KeyError as exc:
                    raise ToolError(str(exc.args[0]) if exc.args else "not found") from None
                except (ValueError, ApiError) as exc:
                    raise ToolError(str(exc)) from None
            hints = ToolAnnotations(read_only_hint=read_only, destructive_hint=destructive,
                                    idempotent_hint=idempotent, open_world_hint=False)
            return server.tool(description=describe(func), annotations=hints)(checked)
        return register

    @tool()
    def add_memory(text: str, user_id: UserId = None, agent_id: AgentId = None, session_id: SessionId = None,
                   role: Annotated[str | None, Field(description='speaker: "user", "assistant" or a name')] = None,
                   occurred_at: When = None,
                   kind: Annotated[str | None, Field(description='"fact" (default without role), "episode" '
                                                                 '(default with role) or "summary"')] = None,
                   metadata: dict[str, Any] | None = None,
                   expires_at: Annotated[str | None, Field(description="forget it at this date: hidden from "
                                                                       "then on, deleted by purge")] = None,
                   ttl: Annotated[float | None, Field(description="forget it after this many seconds "
                                                                  "(instead of expires_at)")] = None,
                   ) -> dict[str, Any]:
        """Remember a text for a user or agent. With `role` it is a conversation turn; without, a fact about
        the user. `occurred_at` dates it (default: unknown); `expires_at` or `ttl` makes it expire.
        Duplicates are skipped (NOOP), changed facts updated (UPDATE)."""
        data: Any = {"role": role, "content": text} if role else text
        events = memory.add(data, user_id=user_id, agent_id=agent_id, session_id=session_id,
                            occurred_at=occurred_at, metadata=metadata, kind=kind, expires_at=expires_at, ttl=ttl)
        return {"events": [e.to_dict() for e in events]}

    @tool(read_only=True)
    def search_memory(query: str, user_id: UserId = None, agent_id: AgentId = None, session_id: SessionId = None,
                      k: int = 5, kinds: Kinds = None,
                      since: Annotated[str | None, Field(description="only memories from this date on")] = None,
                      until: Annotated[str | None, Field(description="only memories up to this date")] = None,
                      ) -> dict[str, Any]:
        """The k memories most relevant to the query, best first, with scores in [0, 1]; `since` / `until`
        keep those that happened in a time range."""
        hits = memory.search(query, user_id=user_id, agent_id=agent_id, session_id=session_id, k=k, kinds=kinds,
                             since=since, until=until)
        return {"results": [hit_out(h) for h in hits]}

    @tool(read_only=True)
    def get_context(query: str, user_id: UserId = None, agent_id: AgentId = None, session_id: SessionId = None,
                    budget_tokens: int = 1000, k: int = 10) -> dict[str, Any]:
        """A prompt block for answering the query: the session's recent turns and recalled memories, dated,
        within a token budget."""
        ctx = memory.context(query, user_id=user_id, agent_id=agent_id, session_id=session_id,
                             budget_tokens=budget_tokens, k=k)
        return {"context": ctx.text, "tokens": ctx.tokens, "recalled": len(ctx.recalled)}

    @tool(read_only=True)
    def list_memories(user_id: UserId = None, agent_id: AgentId = None, session_id: SessionId = None,
                      kinds: Kinds = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Memories in a scope, oldest first, a page at a time (`next_offset` is null on the last page)."""
        records = memory.list(user_id=user_id, agent_id=agent_id, session_id=session_id, kinds=kinds,
                              limit=limit, offset=offset)
        return {"memories": [record_out(r) for r in records],
                "next_offset": offset + limit if len(records) == limit else None}

    @tool(read_only=True)
    def get_memory(memory_id: MemoryId) -> dict[str, Any]:
        """One memory by id."""
        record = memory.get(memory_id)
        if record is None:
            raise KeyError(f"no memory {memory_id!r}")
        return record_out(record)

    @tool(idempotent=True)
    def update_memory(memory_id: MemoryId, text: str) -> dict[str, Any]:
        """Correct a memory's text (the old text stays in its history)."""
        return memory.update(memory_id, text).to_dict()

    @tool(idempotent=True)
    def supersede_memory(memory_id: MemoryId,
                         by: Annotated[str | None, Field(description="the id of the memory that replaces "
                                                                     "it, if any")] = None) -> dict[str, Any]:
        """Mark a memory as no longer true (the user contradicted it) without erasing it: it keeps its
        history and is left out of recall."""
        return memory.supersede(memory_id, by=by).to_dict()

    @tool()
    def consolidate_session(session_id: str, user_id: UserId = None, agent_id: AgentId = None) -> dict[str, Any]:
        """Summarise a session into its summary memory (linked to its turns); a second call updates it."""
        return memory.consolidate(user_id=user_id, agent_id=agent_id, session_id=session_id).to_dict()

    @tool(read_only=True)
    def memory_history(memory_id: MemoryId) -> dict[str, Any]:
        """Every change to a memory, oldest first: ADD, UPDATE, SUPERSEDE, DELETE with old and new text."""
        return {"history": [e.to_dict() for e in memory.history(memory_id)]}

    @tool(destructive=True, idempotent=True)
    def delete_memory(memory_id: MemoryId) -> dict[str, Any]:
        """Forget one memory by id (its history keeps a DELETE entry)."""
        return memory.delete(memory_id).to_dict()

    @tool(destructive=True)
    def delete_all_memories(user_id: UserId = None, agent_id: AgentId = None, session_id: SessionId = None,
                            confirm: Annotated[bool, Field(description="must be true: the erasure cannot be "
                                                                       "undone")] = False) -> dict[str, Any]:
        """Erase every memory of a user, agent or session, with its history. Only with confirm=true, and only
        when the user asked for it."""
        if confirm is not True:
            raise ValueError("delete_all_memories erases for good: call it again with confirm=true if the user "
                             "asked for it")
        return {"deleted": memory.delete_all(user_id=user_id, agent_id=agent_id, session_id=session_id)}

    @tool(destructive=True)
    def forget_memories(user_id: UserId = None, agent_id: AgentId = None, session_id: SessionId = None,
                        before: Annotated[str | None, Field(description="memories that happened before this "
                                                                        "date")] = None,
                        kinds: Kinds = None,
                        weaker_than: Annotated[float | None, Field(description="strength below this (recalls "
                                                                               "into a context, decaying)")] = None,
                        dry_run: Annotated[bool, Field(description="only list what would be forgotten (the "
                                                                   "default); false deletes them")] = True,
                        ) -> dict[str, Any]:
        """Forget on purpose, by rule: a scope's memories older than `before`, of `kinds`, in `session_id`,
        weaker than `weaker_than`. A dry run first (the default) lists what would go; only call again with
        dry_run=false when the user agrees."""
        forget = _method(memory, "forget")
        chosen = forget(user_id=user_id, agent_id=agent_id, session_id=session_id, before=before, kind=kinds,
                        weaker_than=weaker_than, dry_run=dry_run)
        return {"dry_run": dry_run, "count": len(chosen), "memories": [record_out(r) for r in chosen]}

    @tool(destructive=True, idempotent=True)
    def purge_expired() -> dict[str, Any]:
        """Delete every memory whose expiry (expires_at / ttl) has passed; they were already hidden."""
        return {"purged": _method(memory, "purge")()}

    return server


def _method(memory: Any, name: str) -> Callable[..., Any]:
    """The backend's method, or a readable refusal where it has none (a Client of an older server API)."""
    found = getattr(memory, name, None)
    if found is None:
        raise ValueError(f"{name} is not available through this backend (use a local database: memlm mcp --db)")
    return found
