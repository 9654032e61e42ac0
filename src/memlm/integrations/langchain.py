"""LangChain over memlm (`pip install 'memlm[langchain]'`), for a `Memory`, `Client` or
`AsyncClient` (async methods only):

- `MemlmRetriever`: a `BaseRetriever` whose documents are memlm's recall for the query
  (`Memory.search`), best first, each with its id, kind, score and dates in `metadata`.
- `MemlmChatMessageHistory`: a `BaseChatMessageHistory` over one session's turns: each
  message is an episode of (user_id, session_id), so it is also long-term memory (found by
  search, and the session's working memory in `Memory.context`). Like every memlm write it
  passes the write gate: a turn that repeats the same speaker's turn in the session almost
  word for word is stored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from memlm.integrations._calls import Do, Steps, run_async, run_sync
from memlm.types import Hit, MemoryRecord

PAGE = 1000  # turns fetched per list call (the server's largest page)
ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}  # LangChain type -> memlm role


class MemlmRetriever(BaseRetriever):
    """Documents recalled by memlm for a query, within one owner's memories."""

    memory: Any  # a Memory, Client or AsyncClient
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None  # only this session's memories, if given
    k: int = 4  # documents per query
    kinds: list[str] | None = None  # e.g. ["fact", "summary"]; None: every kind
    # more `Memory.search` arguments (since, until, hops, neighbors, ...)
    search_kwargs: dict[str, Any] = Field(default_factory=dict)

    def _steps(self, query: str) -> Steps[list[Document]]:
        hits = yield Do("search", (query,), {"user_id": self.user_id, "agent_id": self.agent_id,
                                             "session_id": self.session_id, "k": self.k, "kinds": self.kinds,
                                             **self.search_kwargs})
        return [_document(h) for h in hits]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return run_sync(self.memory, self._steps(query))

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun) -> list[Document]:
        return await run_async(self.memory, self._steps(query))


def _document(hit: Hit) -> Document:
    m = hit.memory
    meta = {"id": m.id, "kind": m.kind, "score": hit.score, "user_id": m.user_id, "agent_id": m.agent_id,
            "session_id": m.session_id, "role": m.role,
            "occurred_at": m.occurred_at.isoformat() if m.occurred_at else None,
            "created_at": m.created_at.isoformat() if m.created_at else None, "metadata": dict(m.metadata)}
    return Document(page_content=m.text, id=m.id, metadata={k: v for k, v in meta.items() if v is not None})


class MemlmChatMessageHistory(BaseChatMessageHistory):
    """One session's messages, oldest first, kept as memlm episodes."""

    def __init__(self, memory: Any, *, session_id: str, user_id: str | None = None,
                 agent_id: str | None = None) -> None:
        if not isinstance(session_id, str) or not session_id.strip():
            raise ValueError("a chat history needs a session_id (a non-empty string)")
        if user_id is None and agent_id is None:
            raise ValueError("a chat history needs user_id or agent_id")
        self.memory = memory
        self.scope = {k: v for k, v in (("user_id", user_id), ("agent_id", agent_id), ("session_id", session_id))
                      if v is not None}

    # -- written once, run either way --------------------------------------------
    def _read(self) -> Steps[list[BaseMessage]]:
        records: list[MemoryRecord] = []
        while True:
            page = yield Do("list", kwargs={**self.scope, "kinds": ["episode"], "limit": PAGE, "offset": len(records)})
            records += page
            if len(page) < PAGE:
                return [_message(r) for r in records]

    def _write(self, messages: Sequence[BaseMessage]) -> Steps[None]:
        turns = [{"role": _role(m), "content": _content(m)} for m in messages]
        turns = [t for t in turns if t["content"].strip()]  # memlm keeps no empty turns (e.g. a bare tool call)
        if turns:
            yield Do("add", (turns,), {**self.scope, "occurred_at": datetime.now(UTC)})

    def _clear(self) -> Steps[None]:
        yield Do("delete_all", kwargs=self.scope)

    # -- LangChain's interface -----------------------------------------------------
    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        return run_sync(self.memory, self._read())

    async def aget_messages(self) -> list[BaseMessage]:
        return await run_async(self.memory, self._read())

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        run_sync(self.memory, self._write(messages))

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        await run_async(self.memory, self._write(messages))

    def clear(self) -> None:
        run_sync(self.memory, self._clear())

    async def aclear(self) -> None:
        await run_async(self.memory, self._clear())


def _role(message: BaseMessage) -> str:
    if isinstance(message, ChatMessage):
        return message.role
    return ROLES.get(message.type, message.type)


def _content(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else message.text


def _message(record: MemoryRecord) -> BaseMessage:
    role = record.role or "user"
    meta = {"id": record.id}
    if role in ("user", "human"):
        return HumanMessage(record.text, id=record.id)
    if role in ("assistant", "ai"):
        return AIMessage(record.text, id=record.id)
    if role == "system":
        return SystemMessage(record.text, id=record.id)
    if role == "tool":
        return ToolMessage(record.text, tool_call_id=record.metadata.get("tool_call_id", ""), id=record.id)
    return ChatMessage(role=role, content=record.text, id=record.id, additional_kwargs=meta)


__all__ = ["MemlmChatMessageHistory", "MemlmRetriever"]
