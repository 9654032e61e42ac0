"""A scripted LLM for tests of what the pipeline does with each kind of answer (the real
local model is exercised in test_local.py and the chat / proxy tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from memlm.llm.base import LLMError, Prompt


class ScriptedLLM:
    """Answers from per-task queues: "facts", "decide", "summary", "answer" (by the prompt's shape)."""

    name = "scripted:test"

    def __init__(self, **answers: list[str] | Callable[[Prompt], str]) -> None:
        self.answers = {k: (list(v) if isinstance(v, list) else v) for k, v in answers.items()}
        self.calls: list[tuple[str, Prompt, float]] = []

    def complete(self, prompt: Prompt, *, max_tokens: int = 256, temperature: float = 0.0) -> str:
        task = _task(prompt)
        self.calls.append((task, prompt, temperature))
        source = self.answers.get(task)
        if callable(source):
            return source(prompt)
        if not source:
            raise AssertionError(f"no scripted answer left for {task}")
        answer = source.pop(0)
        if answer == "<error>":
            raise LLMError("scripted outage")
        return answer

    def stream(self, prompt: Prompt, *, max_tokens: int = 256, temperature: float = 0.0) -> Iterator[str]:
        text = self.complete(prompt, max_tokens=max_tokens, temperature=temperature)
        for i in range(0, len(text), 4):
            yield text[i : i + 4]

    def asked(self, task: str) -> int:
        return sum(t == task for t, _, _ in self.calls)


def _task(prompt: Prompt) -> str:
    text = prompt.as_text()
    if text.rstrip().endswith("Facts:"):
        return "facts"
    if text.rstrip().endswith("Decision:"):
        return "decide"
    if text.rstrip().endswith("Summary:"):
        return "summary"
    return "answer"
