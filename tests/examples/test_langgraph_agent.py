"""examples/langgraph_agent.py: run 2 (a fresh graph, store and Memory on the same file)
recalls what Ana said in run 1 and sends it to the LLM; Tom's run recalls none of it."""

from __future__ import annotations

import pytest

from memlm import Memory
from memlm.llm import Prompt


class StubChat:
    """A chat model that answers with what its system prompt remembers, keeping every prompt."""

    name = "stub"

    def __init__(self) -> None:
        self.prompts: list[Prompt] = []

    def complete(self, prompt: Prompt, **kw) -> str:
        self.prompts.append(prompt)
        remembered = prompt.messages[0]["content"].split("What you remember:\n", 1)[1]
        return f"Based on: {remembered.strip()}"

    def stream(self, prompt: Prompt, **kw):
        yield self.complete(prompt, **kw)


def test_the_agent_remembers_ana_across_runs(langgraph_agent, tmp_path):
    db, llm = tmp_path / "agent.db", StubChat()
    (user, first), (_, second), (tom, _) = langgraph_agent.RUNS
    with Memory(db, encoder="hashing") as backend:
        one = langgraph_agent.run_once(backend, llm, user, first)
    assert one["recalled"] == []  # nothing known yet
    with Memory(db, encoder="hashing") as backend:  # a new handle: only the file carries memory over
        two = langgraph_agent.run_once(backend, llm, user, second)
    assert first in two["recalled"] and "allergic to peanuts" in llm.prompts[-1].messages[0]["content"]
    assert "allergic to peanuts" in two["reply"]
    with Memory(db, encoder="hashing") as backend:
        other = langgraph_agent.run_once(backend, llm, tom, second)
        assert other["recalled"] == []
        assert first in {r.text for r in backend.list(user_id="ana")}


def test_main_prints_the_runs(langgraph_agent, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    assert langgraph_agent.main(["--db", str(tmp_path / "a.db")], llm=StubChat()) == 0
    out = capsys.readouterr().out
    assert out.count("--- run") == 3 and "recalled: Hi! I'm Ana. I'm allergic to peanuts" in out


@pytest.mark.slow
def test_main_with_the_packaged_local_llm(langgraph_agent, tmp_path, capsys, monkeypatch, local_llm_runs):
    """In-process llama.cpp: only after the child-process probe (local_llm_runs) decoded, so a
    build that faults on this CPU fails this test with the reason instead of killing the session."""
    pytest.importorskip("llama_cpp")
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    assert langgraph_agent.main(["--db", str(tmp_path / "a.db"), "--user", "ana", "--say", "I love Thai food"]) == 0
    out = capsys.readouterr().out
    assert "agent: " in out and out.split("agent: ", 1)[1].strip()


def test_the_agent_over_a_memlm_server(langgraph_agent, served, monkeypatch, capsys):
    import uuid

    base, key = served
    monkeypatch.setenv("MEMLM_API_KEY", key)
    user = f"ana-{uuid.uuid4().hex[:6]}"
    assert langgraph_agent.main(["--server", base, "--user", user, "--say", "I'm allergic to peanuts"],
                                llm=StubChat()) == 0
    assert langgraph_agent.main(["--server", base, "--user", user, "--say", "What should I cook?"],
                                llm=StubChat()) == 0
    out = capsys.readouterr().out
    assert "recalled: (nothing)" in out and "recalled: I'm allergic to peanuts" in out
