"""The write gate on labelled fact pairs (benchmarks/gate/pairs.jsonl): for each pair a fresh
owner gets a few unrelated background facts, then the old statement, then the new one; the
gate's event for the new one is compared with the label (ADD / UPDATE / NOOP).

A pair is right when the event is the label's (an UPDATE or NOOP of the old statement). A
**loss** is what the gate must never do: a fact that is still true is no longer current (an
ADD pair answered UPDATE, or any background fact replaced), or a new fact is dropped (an ADD
or UPDATE pair answered NOOP).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

BACKGROUND = {
    "en": ["I keep a journal", "The office coffee machine is broken", "I bought a new laptop last week",
           "My neighbour has a loud parrot"],
    "zh": ["我有写日记的习惯", "办公室的咖啡机坏了", "我上周买了一台新电脑", "我邻居养了一只很吵的鹦鹉"],
}


def load_pairs(path: str | Path) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        if r.get("label") not in ("ADD", "UPDATE", "NOOP") or not r.get("old") or not r.get("new"):
            raise ValueError(f"bad pair {r!r}")
    return rows


def tatoeba_background(path: str | Path, n: int, seed: int = 0) -> dict[str, list[str]]:
    """n first-person sentences per language from Tatoeba's cmn.txt that state no single-valued
    attribute (so no pair may rightly replace them): a crowd of neighbours for the gate."""
    import random
    import re

    from memlm.write.facts import parse

    rows = [line.split("\t") for line in Path(path).read_text(encoding="utf-8").splitlines()]
    out = {}
    for lang, col, pattern in (("en", 0, r"^(?:I|My|I'm|I've) "), ("zh", 1, r"^我")):
        pool = sorted({r[col].strip() for r in rows if len(r) > col and re.match(pattern, r[col])})
        pool = [t for t in pool if not (parse(t).attribute and parse(t).single)]
        out[lang] = random.Random(seed).sample(pool, n)
    return out


def run(memory: Any, pairs: list[dict[str, str]], background: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Per language: pairs, right, losses, the events given per label, and the wrong pairs."""
    by_lang: dict[str, dict[str, Any]] = {}
    background_texts = background or BACKGROUND
    for i, pair in enumerate(pairs):
        user = f"pair-{i}"
        lang = pair["lang"]
        kept = memory.add_many(background_texts.get(lang, background_texts["en"]), user_id=user)
        [old] = memory.add(pair["old"], user_id=user)
        [new] = memory.add(pair["new"], user_id=user)
        current = {m.id: m.text for m in memory.list(user_id=user)}
        event = new.event if new.event == "ADD" or new.id == old.id else f"{new.event}-other"
        lost = any(b.id not in current or current[b.id] != b.text for b in kept)
        if pair["label"] == "ADD":
            lost = lost or event != "ADD"
        elif pair["label"] == "UPDATE":
            lost = lost or event.startswith("NOOP") or event == "UPDATE-other"
        stats = by_lang.setdefault(lang, {"pairs": 0, "right": 0, "losses": 0, "events": {}, "wrong": []})
        stats["pairs"] += 1
        stats["right"] += event == pair["label"]
        stats["losses"] += lost
        stats["events"].setdefault(pair["label"], Counter())[event] += 1
        if event != pair["label"]:
            stats["wrong"].append({"id": pair["id"], "label": pair["label"], "got": event, "lost": lost,
                                   "old": pair["old"], "new": pair["new"]})
    for stats in by_lang.values():
        stats["right_share"] = round(stats["right"] / stats["pairs"], 4)
        stats["events"] = {k: dict(v) for k, v in stats["events"].items()}
    return by_lang
