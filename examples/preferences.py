"""Personalised recommendations from remembered likes and dislikes.

What it shows
-------------
- A user's statements ("I love spicy food", "I don't like seafood") become `fact` memories
  ("ana likes spicy food") with the like/dislike and its topic in the fact's metadata.
- A changed preference supersedes the old one instead of erasing it: after "I've gone off
  spicy food", "ana likes spicy food" gets `valid_to` / `superseded_by`, drops out of
  `Memory.list` and recall, and stays visible with `include_superseded=True` and in
  `Memory.history` ("what did she like before?" stays answerable).
- A catalogue (examples/data/catalogue.json, 32 dishes) is ranked by how well each item
  matches the user's *current* likes minus their dislikes, by cosine similarity under the
  memory's own encoder (all-MiniLM-L6-v2 by default), with the preference that counted most.

Statements are read with a few keyword rules (love/like/enjoy vs. don't like/hate/gone
off...); no LLM is needed. The app, not the engine's similarity gate, decides which
preference replaces which: one about the same topic (topic cosine >= SAME_TOPIC).

Run:
    python examples/preferences.py                         # scripted demo: ranking before/after a change
    python examples/preferences.py --db prefs.db --user ana --say "I love Thai food" --say "I hate mushrooms"
    python examples/preferences.py --db prefs.db --user ana --top 10 --json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memlm import Event, GateConfig, Memory, MemoryConfig, MemoryRecord

CATALOGUE = Path(__file__).resolve().parent / "data" / "catalogue.json"
SAME_TOPIC = 0.75  # topic cosine at or above which a new preference replaces an old one

# The app decides which fact replaces which, so the engine's gate must not update facts by
# itself; exact repeats are still NOOPs.
CONFIG = MemoryConfig(gate=GateConfig(updates=False))

_DISLIKE = re.compile(
    r"\b(?:(?:don't|do not|doesn't|no longer|never|not) (?:really )?(?:like|love|enjoy|eat|want|care for)"
    r"|dislike|hate|can't stand|cannot stand|(?:have |'ve )?(?:gone|went) off|not (?:a fan of|keen on|into)"
    r"|avoid|allergic to|sick of|tired of)\b", re.IGNORECASE)
_LIKE = re.compile(r"\b(?:love|like|enjoy|adore|prefer|fan of|keen on|into|crave|fancy)\b", re.IGNORECASE)
_FILLER = re.compile(r"\b(?:any ?more|these days|nowadays|now|lately|a lot|so much|very much|too)\b|[.!?]+$",
                     re.IGNORECASE)


@dataclass
class Preference:
    like: bool  # True: a like, False: a dislike
    topic: str  # what it is about, e.g. "spicy food"


@dataclass
class Recommendation:
    item: dict  # the catalogue entry
    score: float  # > 0: matches likes more than dislikes
    because: str  # the remembered preference that speaks most for it


def parse_preference(statement: str) -> Preference:
    """A like or dislike and its topic from a statement; ValueError if it states neither."""
    cue = _DISLIKE.search(statement) or _LIKE.search(statement)
    if cue is None:
        raise ValueError(f"no like or dislike found in {statement!r}")
    topic = _FILLER.sub("", statement[cue.end():]).strip(" ,.!?")
    topic = re.sub(r"^(?:the|eating|having)\s+", "", topic, flags=re.IGNORECASE)
    if not topic:
        raise ValueError(f"no topic found in {statement!r}")
    return Preference(like=cue.re is _LIKE, topic=topic)


def open_memory(db: str | Path, encoder=None) -> Memory:
    """A memory handle with the gate this app needs (see CONFIG)."""
    return Memory(db, encoder=encoder, config=CONFIG)


def preferences(memory: Memory, user: str, *, include_superseded: bool = False) -> list[MemoryRecord]:
    """The user's preference facts, oldest first (current ones only unless asked)."""
    facts = memory.list(user_id=user, kinds=["fact"], limit=1000, include_superseded=include_superseded)
    return [f for f in facts if "preference" in f.metadata]


def remember(memory: Memory, user: str, statement: str) -> list[Event]:
    """Store a statement as a preference fact; it supersedes current ones on the same topic."""
    pref = parse_preference(statement)
    text = f"{user} {'likes' if pref.like else 'dislikes'} {pref.topic}"
    current = preferences(memory, user)
    same = []
    if current:
        topics = memory.encoder.encode([pref.topic] + [f.metadata["topic"] for f in current])
        same = [f for f, cos in zip(current, topics[1:] @ topics[0]) if cos >= SAME_TOPIC and f.text != text]
    meta = {"preference": "like" if pref.like else "dislike", "topic": pref.topic, "said": statement}
    events = memory.add(text, user_id=user, kind="fact", metadata=meta)  # ADD, or NOOP if said before
    for old in same:  # no longer true: kept with valid_to and a link to what replaced it
        events.append(memory.supersede(old.id, by=events[0].id))
    return events


def load_catalogue(path: str | Path = CATALOGUE) -> list[dict]:
    """Items with "id", "name" and "description"."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def recommend(memory: Memory, user: str, catalogue: list[dict], *, top: int | None = None) -> list[Recommendation]:
    """The catalogue ranked by its match to the user's current likes minus dislikes."""
    prefs = preferences(memory, user)
    if not prefs:
        return [Recommendation(item, 0.0, "no preferences yet") for item in catalogue][:top]
    enc = memory.encoder
    items = enc.encode([f"{i['name']}: {i['description']}" for i in catalogue])
    topics = enc.encode([p.metadata["topic"] for p in prefs])
    sims = items @ topics.T  # (items, preferences) cosines
    sims -= sims.mean(axis=0)  # how much more than the average item each one matches a topic
    signs = np.array([1.0 if p.metadata["preference"] == "like" else -1.0 for p in prefs])
    contrib = sims * signs
    order = np.argsort(-contrib.sum(axis=1), kind="stable")
    out = []
    for i in order[:top]:
        j = int(np.argmax(contrib[i]))  # the preference that speaks most for this item
        topic = prefs[j].metadata["topic"]
        why = f"you like {topic}" if signs[j] > 0 else f"far from {topic}, which you dislike"
        out.append(Recommendation(catalogue[i], float(contrib[i].sum()), why))
    return out


def show_ranking(recs: list[Recommendation], title: str) -> None:
    print(f"\n{title}")
    for rank, r in enumerate(recs, 1):
        print(f"  {rank:2}. {r.item['name']:<24} {r.score:+.3f}  (because: {r.because})")


def demo(memory: Memory, user: str, catalogue: list[dict], top: int) -> None:
    """The scripted story: three preferences, a ranking, a change of taste, the new ranking."""
    for said in ["I love spicy food", "I don't like seafood", "I really enjoy Italian dishes"]:
        print(f"{user}> {said}   -> " + ", ".join(f"{e.event} {e.text!r}" for e in remember(memory, user, said)))
    show_ranking(recommend(memory, user, catalogue, top=top), f"Top {top} for {user}:")
    said = "I've gone off spicy food"
    print(f"\n{user}> {said}   -> " + ", ".join(f"{e.event} {e.text!r}" for e in remember(memory, user, said)))
    show_ranking(recommend(memory, user, catalogue, top=top), f"Top {top} for {user} now:")
    print("\nRemembered preferences (superseded ones included):")
    for fact in preferences(memory, user, include_superseded=True):
        state = f"superseded {fact.valid_to:%Y-%m-%d %H:%M}" if fact.valid_to else "current"
        print(f"  - {fact.text:<32} [{state}]  history: {[h.event for h in memory.history(fact.id)]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="memory file (default: a fresh temporary file)")
    parser.add_argument("--encoder", default=None, help="encoder spec (default: the packaged MiniLM)")
    parser.add_argument("--user", default="ana", help="whose preferences (default: ana)")
    parser.add_argument("--say", action="append", default=[], help="a statement to remember (repeatable); "
                        "without any, the scripted demo runs")
    parser.add_argument("--catalogue", default=str(CATALOGUE), help="JSON list of {id, name, description}")
    parser.add_argument("--top", type=int, default=5, help="how many recommendations to show")
    parser.add_argument("--json", action="store_true", help="print the ranking as JSON")
    args = parser.parse_args(argv)

    catalogue = load_catalogue(args.catalogue)
    with tempfile.TemporaryDirectory() as tmp, open_memory(args.db or Path(tmp) / "prefs.db", args.encoder) as memory:
        if not args.say and not args.json:
            demo(memory, args.user, catalogue, args.top)
            return 0
        for said in args.say:
            try:
                events = remember(memory, args.user, said)
            except ValueError as exc:
                parser.error(str(exc))
            if not args.json:
                print(f"{args.user}> {said}   -> " + ", ".join(f"{e.event} {e.text!r}" for e in events))
        recs = recommend(memory, args.user, catalogue, top=args.top)
        if args.json:
            print(json.dumps([{"id": r.item["id"], "name": r.item["name"], "score": round(r.score, 4),
                               "because": r.because} for r in recs], indent=2))
        else:
            show_ranking(recs, f"Top {args.top} for {args.user}:")
    return 0


if __name__ == "__main__":
    sys.exit(main())
