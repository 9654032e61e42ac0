"""Checking what an LLM wrote: find the JSON in it, validate it, ask once more if it is bad.

Small models write malformed JSON, nothing at all, or the same line over and over. Every
answer goes through a parser that raises ValueError on anything unusable; `ask` retries
once (at a higher temperature, so the retry is not the same text again) and then gives up
with the reason, so the caller can fall back instead of storing garbage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from memlm.llm.base import LLM, LLMError, Prompt

T = TypeVar("T")
RETRY_TEMPERATURE = 0.5  # the second attempt samples, so a deterministic failure is not repeated


def ask(llm: LLM, prompt: Prompt, parse: Callable[[str], T], *, max_tokens: int) -> tuple[T | None, str | None]:
    """(parsed answer, None), or (None, why) after an invalid answer and an invalid retry."""
    why = "no answer"
    for temperature in (0.0, RETRY_TEMPERATURE):
        try:
            raw = llm.complete(prompt, max_tokens=max_tokens, temperature=temperature)
        except LLMError as exc:  # the backend already retried the transport
            return None, f"LLM failed: {exc}"
        try:
            return parse(raw), None
        except ValueError as exc:
            why = f"invalid LLM output ({exc}): {raw[:120]!r}"
    return None, why


def find_json(raw: str) -> Any:
    """The first JSON object or array in a text (models wrap JSON in prose or code fences)."""
    decoder = json.JSONDecoder()
    for i, ch in enumerate(raw):
        if ch in "[{":
            try:
                value, _ = decoder.raw_decode(raw[i:])
                return value
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON found")


def repetitive(text: str, n: int = 4) -> bool:
    """True when a text repeats itself: over half of its word n-grams are repeats."""
    words = text.lower().split()
    if len(words) < 3 * n:
        return False
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) < 0.5 * len(grams)
