"""The LangChain retriever and chat history with langchain-core, over Memory, Client and
AsyncClient (async methods), sync and async."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, ChatMessage, HumanMessage, SystemMessage

from memlm import AsyncClient, Client, Memory
from memlm.integrations.langchain import MemlmChatMessageHistory, MemlmRetriever

PAIRS = [(b, m) for b in ("memory", "client", "async") for m in ("sync", "async") if (b, m) != ("async", "sync")]


@pytest.fixture(params=PAIRS, ids=lambda p: "-".join(p))
def setup(request, tmp_path):
    """(backend, mode, run): `run(coroutine_or_value)` resolves async calls on one loop."""
    kind, mode = request.param
    if kind == "memory":
        backend = Memory(tmp_path / "local.db", encoder="hashing")
    else:
        base, key = request.getfixturevalue("served")
        backend = Client(base, api_key=key) if kind == "client" else AsyncClient(base, api_key=key)
    loop = asyncio.new_event_loop()
    yield backend, mode, loop.run_until_complete
    if isinstance(backend, AsyncClient):
        loop.run_until_complete(backend.aclose())
    else:
        backend.close()
    loop.close()


def _seed(backend, run, user):
    facts = ["Ana has a grey cat called Miso", "Ana works as a night-shift nurse", "Ana hiked in Patagonia"]
    for f in facts:
        result = backend.add(f, user_id=user)
        if asyncio.iscoroutine(result):
            run(result)


def test_retriever_returns_recalled_documents(setup):
    backend, mode, run = setup
    user = f"u{uuid.uuid4().hex[:8]}"
    _seed(backend, run, user)
    retriever = MemlmRetriever(memory=backend, user_id=user, k=2)
    docs = retriever.invoke("what is her cat called?") if mode == "sync" else run(
        retriever.ainvoke("what is her cat called?"))
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    assert docs[0].page_content == "Ana has a grey cat called Miso"
    assert docs[0].metadata["kind"] == "fact" and 0 <= docs[0].metadata["score"] <= 1 and docs[0].id
    other = MemlmRetriever(memory=backend, user_id=f"x{user}")
    assert (other.invoke("cat") if mode == "sync" else run(other.ainvoke("cat"))) == []
    narrowed = MemlmRetriever(memory=backend, user_id=user, kinds=["episode"])
    assert (narrowed.invoke("cat") if mode == "sync" else run(narrowed.ainvoke("cat"))) == []


def test_chat_history_round_trip(setup):
    backend, mode, run = setup
    user = f"u{uuid.uuid4().hex[:8]}"
    history = MemlmChatMessageHistory(backend, user_id=user, session_id="chat-1")
    other = MemlmChatMessageHistory(backend, user_id=user, session_id="chat-2")
    first = [SystemMessage("You are a travel agent."), HumanMessage("I want to visit Oslo in May")]
    second = [AIMessage("Oslo in May is lovely; shall I look at flights?"),
              ChatMessage(role="guide", content="The fjord cruise leaves at 9")]
    if mode == "sync":
        history.add_messages(first)
        history.add_messages(second)
        other.add_user_message("unrelated chat")
        messages = history.messages
    else:
        run(history.aadd_messages(first))
        run(history.aadd_messages(second))
        run(other.aadd_messages([HumanMessage("unrelated chat")]))
        messages = run(history.aget_messages())
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage, AIMessage, ChatMessage]
    assert [m.content for m in messages] == [m.content for m in first + second]
    assert messages[3].role == "guide"
    # the turns are long-term memory too: recall finds them
    retriever = MemlmRetriever(memory=backend, user_id=user, session_id="chat-1")
    docs = retriever.invoke("Oslo trip") if mode == "sync" else run(retriever.ainvoke("Oslo trip"))
    assert "I want to visit Oslo in May" in {d.page_content for d in docs}
    if mode == "sync":
        history.clear()
        assert history.messages == [] and [m.content for m in other.messages] == ["unrelated chat"]
    else:
        run(history.aclear())
        assert run(history.aget_messages()) == []
        assert [m.content for m in run(other.aget_messages())] == ["unrelated chat"]


def test_chat_history_needs_a_session_and_an_owner():
    with pytest.raises(ValueError, match="session_id"):
        MemlmChatMessageHistory(object(), user_id="u", session_id=" ")
    with pytest.raises(ValueError, match="user_id or agent_id"):
        MemlmChatMessageHistory(object(), session_id="s")
