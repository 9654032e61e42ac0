"""The LLM interface every backend implements, and the prompt type it takes.

An LLM is optional in memlm: the engine stores and recalls without one. With one it also
extracts facts, summarises sessions and answers (chat, the OpenAI-compatible proxy).
Backends: `openai` (any OpenAI-compatible HTTP endpoint) and `local` (a GGUF file run
in-process by llama.cpp). Both take a `Prompt`, which carries chat messages for
instruction-tuned models and, for base models, the plain text to continue.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

ROLES = ("system", "user", "assistant")


class LLMError(RuntimeError):
    """The backend could not produce an answer (transport failure, refusal, bad config)."""


@dataclass(frozen=True)
class Prompt:
    """What to ask: chat messages, and optionally a plain continuation for base models."""

    messages: tuple[dict[str, str], ...]  # {"role": "system"|"user"|"assistant", "content": str}, in order
    text: str | None = None  # for base (not chat-tuned) models: the text to continue; None: a transcript
    stop: tuple[str, ...] = field(default=())  # where a continuation ends (base models; chat models stop by themselves)

    @classmethod
    def chat(cls, messages: Sequence[dict[str, str]]) -> Prompt:
        """A prompt from chat messages, checked."""
        checked = []
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                raise ValueError(f"a message needs a role in {ROLES} and string content, got {m!r}")
            checked.append({"role": m["role"], "content": m["content"]})
        if not checked:
            raise ValueError("a prompt needs at least one message")
        return cls(tuple(checked))

    def as_text(self) -> str:
        """The text a base model continues: `text`, else the messages as a transcript."""
        if self.text is not None:
            return self.text
        lines = []
        for m in self.messages:
            if m["role"] == "system":
                lines.append(m["content"].strip() + "\n")
            else:
                lines.append(f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content'].strip()}")
        return "\n".join(lines) + "\nAssistant:"

    def stops(self) -> list[str]:
        """Stop strings for a base model's continuation."""
        if self.stop:
            return list(self.stop)
        return [] if self.text is not None else ["\nUser:", "\nAssistant:"]


class LLM(Protocol):
    """A text generator. `complete` returns the whole answer; `stream` yields it in pieces."""

    name: str  # backend and model, e.g. "local:gemma-3-270m-q4_k_m.gguf" or "openai:gpt-4o-mini"

    def complete(self, prompt: Prompt, *, max_tokens: int = 256, temperature: float = 0.0) -> str:
        """The model's answer to the prompt (may be empty); raises LLMError on failure."""
        ...

    def stream(self, prompt: Prompt, *, max_tokens: int = 256, temperature: float = 0.0) -> Iterator[str]:
        """The answer as it is generated, piece by piece; raises LLMError on failure."""
        ...
