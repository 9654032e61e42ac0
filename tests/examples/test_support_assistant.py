"""examples/support_assistant.py: session 3 recalls what Maria said in sessions 1 and 2, from
the file (each session opens its own `Memory`), never Tom's order, and the LLM gets that
memory in its prompt. Assertions are on what was recalled and sent, not on the LLM's wording."""

from __future__ import annotations

from typing import Any

import pytest
from tests.llm.doubles import ScriptedLLM

from memlm import Memory

pytestmark = pytest.mark.slow

ORDER = "DK-58213"  # Maria's order, said in session 1
PROBLEM = "motor makes a grinding noise"  # her problem, said in session 2
FIX = "holding the down button for ten seconds"  # what was tried, session 2
TOMS_ORDER = "DK-60117"


class Recording:
    """Wraps an LLM and keeps every prompt it was sent with its answer."""

    def __init__(self, llm) -> None:
        self.llm, self.name = llm, llm.name
        self.calls: list[tuple[Any, str]] = []  # (prompt, answer)

    def complete(self, prompt, **kw) -> str:
        out = self.llm.complete(prompt, **kw)
        self.calls.append((prompt, out))
        return out

    def stream(self, prompt, **kw):
        yield self.complete(prompt, **kw)


def _answer_prompt(llm: Recording, message: str):
    """The prompt the assistant sent to answer this customer message."""
    return next(p for p, _ in llm.calls if p.text and p.text.rstrip().endswith(f"Customer: {message}\nSam:"))


def _check_recall(sa, visits, llm: Recording, db, encoder) -> None:
    assert [len(v) for v in visits] == [len(v.messages) for v in sa.SCRIPT]
    (last,) = visits[-1]  # Maria's third session: one message that repeats neither order nor fix
    assert ORDER not in last.message and FIX not in last.message
    recalled = last.context.text
    assert ORDER in recalled and PROBLEM in recalled and FIX in recalled
    assert {h.memory.session_id for h in last.context.recalled} >= {"2026-03-02-chat", "2026-03-10-chat"}
    for reply in visits[0] + visits[2] + visits[3]:  # Maria's sessions never see Tom's order
        assert TOMS_ORDER not in reply.context.text
    # the LLM answered with exactly that memory block in its prompt (system message and base-model text)
    prompt = _answer_prompt(llm, last.message)
    assert recalled in prompt.messages[0]["content"] and recalled in prompt.text
    assert prompt.messages[-1] == {"role": "user", "content": last.message}
    # everything lives in the file: a new handle sees the three sessions, each summarised
    with Memory(db, encoder=encoder) as m:
        maria = m.list(user_id="maria", limit=1000)
        assert {r.session_id for r in maria} == {"2026-03-02-chat", "2026-03-10-chat", "2026-03-21-chat"}
        assert sum(r.kind == "summary" for r in maria) == 3
        assert any(r.role == "user" and ORDER in r.text for r in maria)


def test_session_three_recalls_the_order_and_the_earlier_problem(tmp_path, support_assistant, minilm):
    llm = Recording(ScriptedLLM(answer=lambda p: "Thanks, I am looking into it.", summary=lambda p: ""))
    db = tmp_path / "support.db"
    shown: list[str] = []
    visits = support_assistant.run_demo(db, llm, encoder=minilm, show=shown.append)
    _check_recall(support_assistant, visits, llm, db, minilm)
    printed = "\n".join(shown)
    first_visit = f"Hi, I just ordered the Aero standing desk, my order number is {ORDER}."
    assert f"    | - [2026-03-02] (episode) user: {first_visit}" in printed  # the printout shows what was recalled
    assert printed.count("sam> Thanks, I am looking into it.") == sum(len(v.messages) for v in support_assistant.SCRIPT)


def test_end_to_end_with_the_local_model(tmp_path, support_assistant, minilm, local_llm):
    llm = Recording(local_llm)
    db = tmp_path / "support.db"
    visits = support_assistant.run_demo(db, llm, encoder=minilm, show=lambda *_: None, max_tokens=24)
    _check_recall(support_assistant, visits, llm, db, minilm)
    assert all(isinstance(r.answer, str) for v in visits for r in v)


def test_main_refuses_to_run_without_an_llm(tmp_path, support_assistant):
    with pytest.raises(SystemExit) as exc:
        support_assistant.main(["--db", str(tmp_path / "s.db"), "--llm", "none"])
    assert exc.value.code == 2
