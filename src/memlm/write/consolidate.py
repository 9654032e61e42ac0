"""Consolidation: a session's episodes summarised into one `summary` memory linked to them.

With an LLM the summary is written by it (prompts.summarise) and checked: not empty, not
repetitive, not longer than MAX_SUMMARY_CHARS, grounded in the transcript (most of its
content words occur there). Invalid output is retried once; then, as without an LLM, an
extractive summary is used: the session's most central turns (cosine to the session's mean
vector), in time order. A session has one summary: consolidating again updates it (the
old text stays in history). `source_ids` lists the episodes summarised.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from memlm import prompts
from memlm.llm.output import ask, repetitive
from memlm.stores.base import Filters
from memlm.text import content_words
from memlm.types import Event, MemoryRecord, Scope
from memlm.write.gate import Decision
from memlm.write.inputs import Draft
from memlm.write.writer import Batch, Writer

if TYPE_CHECKING:
    from memlm.llm.base import LLM

MAX_EPISODES = 2000  # turns read from a session
MAX_TRANSCRIPT_CHARS = 6000  # the latest part of a long session is what the LLM sees
MAX_SUMMARY_CHARS = 1200
EXTRACTIVE_TURNS = 3  # turns an extractive summary keeps


def consolidate(writer: Writer, scope: Scope, llm: LLM | None) -> Event:
    """Summarise the scope's session into its summary memory (ADD the first time, then UPDATE)."""
    if scope.session_id is None:
        raise ValueError("consolidation needs a session_id")
    store = writer.store
    base = Filters(writer.tenant, scope.user_id, scope.agent_id, scope.session_id)
    # archived turns (superseded by this summary: write/capacity.py) stay in it
    episodes = store.list(replace(base, kinds=("episode",), include_superseded=True), limit=MAX_EPISODES)
    if not episodes:
        raise ValueError(f"session {scope.session_id!r} has no turns to summarise")
    text, method, note = _summary(writer, llm, episodes)
    meta = {"summary_of": scope.session_id, "method": method, "turns": len(episodes)}
    if method == "llm" and llm is not None:  # _summary only answers "llm" with one
        meta.update(summarised_by=llm.name, prompt_version=prompts.VERSION)
    draft = Draft(text, "summary", scope, None, episodes[-1].occurred_at, meta, [e.id for e in episodes])
    vector = writer.embed([draft])[0]
    with store.transaction():
        existing = store.list(replace(base, kinds=("summary",)), limit=1)
        decision = Decision("UPDATE", existing[0], note=note, replace=True) if existing else Decision("ADD", note=note)
        batch = Batch()
        [event] = writer.apply(decision, draft, vector, batch)
        writer.flush(batch)
    return event


def _summary(writer: Writer, llm: LLM | None, episodes: list[MemoryRecord]) -> tuple[str, str, str | None]:
    """(text, "llm" | "extractive", why the LLM's summary was not used)."""
    if llm is None:
        return extractive(writer, episodes), "extractive", None
    transcript = "\n".join(_line(e) for e in episodes)[-MAX_TRANSCRIPT_CHARS:]
    summary, why = ask(llm, prompts.summarise(transcript), lambda raw: parse_summary(raw, transcript),
                       max_tokens=200)
    if summary is not None:
        return summary, "llm", None
    return extractive(writer, episodes), "extractive", f"LLM summary rejected, kept an extractive one: {why}"


def parse_summary(raw: str, transcript: str) -> str:
    text = " ".join(raw.split())
    if len(text) < 20:
        raise ValueError("too short")
    if len(text) > MAX_SUMMARY_CHARS:
        raise ValueError("too long")
    if repetitive(text):
        raise ValueError("repetitive")
    words, said = set(content_words(text)), set(content_words(transcript))
    if len(words & said) < 0.5 * len(words):
        raise ValueError("not grounded in the conversation")
    return text


def extractive(writer: Writer, episodes: list[MemoryRecord]) -> str:
    """The session's most central turns, in time order."""
    if len(episodes) <= EXTRACTIVE_TURNS:
        keep = list(range(len(episodes)))
    else:
        vecs = writer.store.vectors(writer.tenant, [e.id for e in episodes])
        centre = vecs.mean(axis=0)
        keep = sorted(np.argsort(-(vecs @ centre))[:EXTRACTIVE_TURNS].tolist())
    when = episodes[0].occurred_at.strftime("%Y-%m-%d") if episodes[0].occurred_at else None
    body = " ".join(f"{episodes[i].role or 'someone'}: {episodes[i].text}" for i in keep)
    text = f"Session of {when}: {body}" if when else f"Session: {body}"
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 3] + "..."


def _line(e: MemoryRecord) -> str:
    when = e.occurred_at.strftime("%Y-%m-%d") if e.occurred_at else "undated"
    return f"[{when}] {e.role or 'someone'}: {' '.join(e.text.split())}"
