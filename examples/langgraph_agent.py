"""A LangGraph agent that remembers a user across runs, with memlm as its store.

What it shows
-------------
The graph has two nodes around LangGraph's `BaseStore`, here `MemlmStore` (memlm):

1. `answer`: recall the user's memories for their message (`store.search(query=...)`,
   memlm's hybrid recall), put them in the system prompt and ask the LLM;
2. `remember`: keep what the user said as a memory item of their namespace (user, "memories").

Each run compiles the graph afresh with a new `MemlmStore` on the same memory file, as a
restarted application would. Run 1: Ana says she is allergic to peanuts and loves Thai food.
Run 2, a new process in real life: she asks what to cook tonight, and the memories recalled
for that (printed before the answer) hold the allergy from run 1. Another user's run recalls
nothing of Ana's.

The LLM is the packaged Gemma 3 270M by default (a small base model: rough answers; the
recall is the point), `--llm openai:MODEL` for a real one. Against a memlm server instead of
a local file: `--server http://127.0.0.1:8420` with $MEMLM_API_KEY set.

Run:
    python examples/langgraph_agent.py                      # the two scripted runs, local model
    python examples/langgraph_agent.py --db agent.db --user ana --say "what should I cook tonight?"
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.store.base import BaseStore

from memlm import Client, Memory
from memlm.integrations.langgraph import MemlmStore
from memlm.llm import LLM, Prompt, get_llm

SYSTEM = "You are a helpful cooking assistant. Use what you remember about the user. Answer in one sentence."
RUNS = [  # (user, message) per scripted run
    ("ana", "Hi! I'm Ana. I'm allergic to peanuts and I love Thai food."),
    ("ana", "What should I cook tonight?"),
    ("tom", "What should I cook tonight?"),
]


def build_graph(llm: LLM, store: BaseStore, recall_k: int = 3):
    """The agent: answer with recalled memories, then remember the user's message."""

    def answer(state: MessagesState, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
        user = config["configurable"]["user_id"]
        message = state["messages"][-1].content
        recalled = [h.value["text"] for h in store.search((user, "memories"), query=message, limit=recall_k)]
        memory_block = "\n".join(f"- {t}" for t in recalled) or "- (nothing yet)"
        prompt = Prompt.chat([{"role": "system", "content": f"{SYSTEM}\n\nWhat you remember:\n{memory_block}"},
                              {"role": "user", "content": message}])
        reply = llm.complete(prompt, max_tokens=60).strip()
        return {"messages": [{"role": "assistant", "content": reply}], "recalled": recalled}

    def remember(state: MessagesState, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
        user = config["configurable"]["user_id"]
        said = next(m.content for m in reversed(state["messages"]) if m.type == "human")
        store.put((user, "memories"), uuid.uuid4().hex, {"text": said})
        return {}

    class State(MessagesState):
        recalled: list[str]

    graph = StateGraph(State)
    graph.add_node("answer", answer)
    graph.add_node("remember", remember)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", "remember")
    graph.add_edge("remember", END)
    return graph.compile(store=store)


def run_once(backend: Any, llm: LLM, user: str, message: str) -> dict[str, Any]:
    """One run of the agent (a fresh graph and store on the backend): the recalled memories and the reply."""
    graph = build_graph(llm, MemlmStore(backend))
    out = graph.invoke({"messages": [{"role": "user", "content": message}]}, {"configurable": {"user_id": user}})
    return {"user": user, "message": message, "recalled": out["recalled"], "reply": out["messages"][-1].content}


def _backend(db: Path, server: str | None, encoder: str | None) -> Any:
    return Client(server) if server else Memory(db, encoder=encoder)


def main(argv: list[str] | None = None, llm: LLM | None = None) -> int:
    parser = argparse.ArgumentParser(description="A LangGraph agent with memlm as its long-term memory store.")
    parser.add_argument("--db", type=Path, help="memory file (default: a fresh temporary one)")
    parser.add_argument("--server", help="a memlm server URL instead of a file ($MEMLM_API_KEY holds the key)")
    parser.add_argument("--encoder", help="memlm encoder spec (default: $MEMLM_ENCODER, else MiniLM)")
    parser.add_argument("--llm", default="local", help="LLM spec: local (packaged Gemma 3 270M) or openai:MODEL")
    parser.add_argument("--user", help="with --say: who speaks")
    parser.add_argument("--say", help="one message instead of the scripted runs")
    args = parser.parse_args(argv)
    llm = llm or get_llm(args.llm)
    if llm is None:
        parser.error("an LLM is needed: --llm local or --llm openai:MODEL")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "agent.db"
        runs = [(args.user or "ana", args.say)] if args.say else RUNS
        for i, (user, message) in enumerate(runs, 1):
            backend = _backend(db, args.server, args.encoder)  # a fresh handle per run, as a restart would have
            try:
                result = run_once(backend, llm, user, message)
            finally:
                backend.close()
            print(f"--- run {i}: {user}: {message}")
            print("recalled: " + ("; ".join(result["recalled"]) or "(nothing)"))
            print(f"agent: {result['reply']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
