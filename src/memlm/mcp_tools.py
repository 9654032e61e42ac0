"""The Model Context Protocol server: memlm's memory as MCP tools (`memlm mcp`, stdio).

Tools: add_memory, search_memory, get_context, delete_memory. Results are JSON objects;
bad input comes back as a tool error the calling model can read and correct.
Built on the official `mcp` SDK (`pip install 'memlm[mcp]'`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memlm.engine import Memory


def build_server(memory: Memory) -> Any:
    """An MCP server whose tools read and write `memory`."""
    from mcp.server.mcpserver import MCPServer

    from mcp.server.mcpserver.exceptions import ToolError

    def tool(func: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        """Register a tool whose bad-input errors reach the model as a readable tool error."""
        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> dict[str, Any]:
            try:
                return func(*args, **kwargs)
            except (ValueError, KeyError) as exc:
                raise ToolError(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)) from None
        return server.tool()(checked)

    server = MCPServer("memlm", instructions="Long-term memory: add what the user tells you, search it or get a "
                                             "context block before answering, delete what they ask you to forget.")

    @tool
    def add_memory(text: str, user_id: str, session_id: str | None = None, role: str | None = None) -> dict[str, Any]:
        """Remember a text for a user. With `role` ("user", "assistant" or a name) it is a conversation
        turn; without, a fact about the user. Duplicates are skipped, changed facts updated."""
        data: Any = {"role": role, "content": text} if role else text
        events = memory.add(data, user_id=user_id, session_id=session_id)
        return {"events": [e.to_dict() for e in events]}

    @tool
    def search_memory(query: str, user_id: str, k: int = 5) -> dict[str, Any]:
        """The user's k memories most relevant to the query, best first, with scores in [0, 1]."""
        hits = memory.search(query, user_id=user_id, k=k)
        return {"results": [{"id": h.memory.id, "text": h.memory.text, "kind": h.memory.kind,
                             "role": h.memory.role, "score": round(h.score, 4),
                             "occurred_at": h.memory.to_dict()["occurred_at"]} for h in hits]}

    @tool
    def get_context(query: str, user_id: str, session_id: str | None = None,
                    budget_tokens: int = 1000) -> dict[str, Any]:
        """A prompt block for answering the query: the session's recent turns and recalled memories, dated."""
        ctx = memory.context(query, user_id=user_id, session_id=session_id, budget_tokens=budget_tokens)
        return {"context": ctx.text, "tokens": ctx.tokens, "recalled": len(ctx.recalled)}

    @tool
    def delete_memory(memory_id: str) -> dict[str, Any]:
        """Forget one memory by id (its history keeps a DELETE entry)."""
        return memory.delete(memory_id).to_dict()

    return server
