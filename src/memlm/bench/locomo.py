"""`memlm bench locomo`: turn- and session-level recall on LoCoMo-format conversations.

Each conversation is ingested into its own scope (user_id = sample id), turns as
episodes dated with their session's date. Every question of categories 1-4 that has
evidence is asked; a question counts for recall_any@k if any of its evidence turns is
in the top k, for recall_all@k if all are.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from memlm.bench.locomo_data import Conversation, Question
from memlm.engine import Memory

TURN_KS = (1, 5, 10, 20)
SESSION_KS = (5, 10)
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


@dataclass
class Outcome:
    question: Question
    ranked_turns: list[str | None]  # dia_ids, best first (None: a hit with no dia_id)
    ms: float  # search latency including the query embedding
    sessions: list[int] = field(default_factory=list)  # distinct sessions in rank order


def messages(conv: Conversation) -> list[dict[str, Any]]:
    """The conversation as episode messages, each in its own session scope."""
    out = []
    for session in conv.sessions:
        for turn in session.turns:
            meta = {"dia_id": turn.dia_id}
            if turn.caption:
                meta["caption"] = turn.caption
            out.append({"speaker": turn.speaker, "text": turn.text or "(shares a photo)", "metadata": meta,
                        "occurred_at": session.when, "session_id": f"{conv.sample_id}/s{session.number}"})
    return out


def ingest(mem: Memory, conversations: list[Conversation], progress: bool = True) -> tuple[int, float]:
    """Store every turn; returns (turns, seconds)."""
    msgs = [(c.sample_id, m) for c in conversations for m in messages(c)]
    start = time.perf_counter()
    with tqdm(total=len(msgs), desc="ingest", unit="turn", disable=not progress) as bar:
        for conv in conversations:
            batch = [m for sid, m in msgs if sid == conv.sample_id]
            mem.add_many(batch, user_id=conv.sample_id)
            bar.update(len(batch))
    return len(msgs), time.perf_counter() - start


def answerable(conv: Conversation) -> list[Question]:
    return [q for q in conv.questions if q.category in CATEGORIES and q.evidence]


def ask(mem: Memory, conv: Conversation, k: int = 20, progress: bool = True, **search_kwargs: Any) -> list[Outcome]:
    now = max((s.when for s in conv.sessions if s.when), default=None)
    out = []
    for q in tqdm(answerable(conv), desc=f"ask {conv.sample_id}", unit="q", disable=not progress):
        start = time.perf_counter()
        hits = mem.search(q.question, user_id=conv.sample_id, k=k, now=now, **search_kwargs)
        ms = (time.perf_counter() - start) * 1000
        ranked = [h.memory.metadata.get("dia_id") for h in hits]
        sessions: list[int] = []
        for dia in ranked:
            s = conv.session_of(dia or "")
            if s is not None and s not in sessions:
                sessions.append(s)
        out.append(Outcome(q, ranked, ms, sessions))
    return out


def score(outcomes: list[Outcome], conv_of: dict[int, Conversation]) -> dict[str, Any]:
    """Aggregate recall figures (overall and per category)."""
    def rec(items: list[Outcome]) -> dict[str, Any]:
        any_, all_, s_any, s_all = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
        for o in items:
            gold = set(o.question.evidence)
            gold_sessions = {int(e[1:].split(":")[0]) for e in gold}
            for k in TURN_KS:
                top = set(o.ranked_turns[:k])
                any_[str(k)].append(bool(gold & top))
                all_[str(k)].append(gold <= top)
            for k in SESSION_KS:
                top_s = set(o.sessions[:k])
                s_any[str(k)].append(bool(gold_sessions & top_s))
                s_all[str(k)].append(gold_sessions <= top_s)
        mean = lambda d: {k: round(float(np.mean(v)), 4) for k, v in d.items()}
        return {"questions": len(items), "turn_recall_any": mean(any_), "turn_recall_all": mean(all_),
                "session_recall_any": mean(s_any), "session_recall_all": mean(s_all)}

    result = rec(outcomes)
    result["per_category"] = {
        f"{c} {name}": rec(group) for c, name in CATEGORIES.items()
        if (group := [o for o in outcomes if o.question.category == c])
    }
    ms = [o.ms for o in outcomes]
    result["search_ms_p50"] = round(float(np.percentile(ms, 50)), 2) if ms else None
    result["search_ms_p95"] = round(float(np.percentile(ms, 95)), 2) if ms else None
    return result


def run(
    mem: Memory, conversations: list[Conversation], *, progress: bool = True, **search_kwargs: Any
) -> dict[str, Any]:
    """Ingest, ask, score. The memory should be fresh (an empty file)."""
    turns, seconds = ingest(mem, conversations, progress)
    outcomes: list[Outcome] = []
    for conv in conversations:
        mem.search("warm up", user_id=conv.sample_id)  # load the owner's vectors before timing
        outcomes.extend(ask(mem, conv, progress=progress, **search_kwargs))
    result = score(outcomes, {})
    result.update(
        {
            "conversations": len(conversations),
            "turns": turns,
            "ingest_seconds": round(seconds, 2),
            "ingest_turns_per_s": round(turns / seconds, 1) if seconds else None,
            "encoder": mem.encoder.name,
        }
    )
    return result
