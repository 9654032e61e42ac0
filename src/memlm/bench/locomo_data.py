"""Reading LoCoMo-format conversations (multi-session dialogues with recall questions)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from memlm.settings import from_env
from memlm.write.inputs import parse_time

SAMPLE = "sample_conversation.json"  # shipped with the package, used when no data set is found


@dataclass
class Turn:
    dia_id: str  # "D<session>:<turn>"
    speaker: str
    text: str
    caption: str | None = None  # description of a shared image


@dataclass
class Session:
    number: int
    when: datetime | None
    turns: list[Turn] = field(default_factory=list)


@dataclass
class Question:
    question: str
    answer: str
    evidence: list[str]  # dia_ids
    category: int  # 1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop, 5 adversarial


@dataclass
class Conversation:
    sample_id: str
    speakers: tuple[str, str]
    sessions: list[Session]
    questions: list[Question]

    @property
    def turns(self) -> list[Turn]:
        return [t for s in self.sessions for t in s.turns]

    def session_of(self, dia_id: str) -> int | None:
        m = re.match(r"D(\d+):", dia_id)
        return int(m.group(1)) if m else None


def find_locomo(explicit: str | Path | None = None) -> Path:
    """The data file: explicit path, $MEMLM_LOCOMO, ../shared/data/locomo/locomo-dev.json, else the sample."""
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise FileNotFoundError(f"no such data file: {path}")
        return path
    if from_env("locomo"):
        return find_locomo(from_env("locomo") or "")
    rel = Path("shared/data/locomo/locomo-dev.json")
    for base in [Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents]:
        for candidate in (base / ".." / rel, base / rel):
            if candidate.exists():
                return candidate.resolve()
    return Path(str(resources.files("memlm").joinpath("data", SAMPLE)))


def load_locomo(path: str | Path) -> list[Conversation]:
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if isinstance(raw, dict):
        raw = [raw]
    return [_conversation(c) for c in raw]


def _conversation(c: dict) -> Conversation:
    conv = c["conversation"]
    sessions = []
    numbers = sorted(int(m.group(1)) for k in conv if (m := re.fullmatch(r"session_(\d+)", k)))
    for n in numbers:
        turns = [
            Turn(t["dia_id"], t["speaker"], t.get("text", ""), t.get("blip_caption")) for t in conv[f"session_{n}"]
        ]
        sessions.append(Session(n, _date(conv.get(f"session_{n}_date_time")), turns))
    questions = [
        Question(
            q["question"],
            str(q.get("answer", q.get("adversarial_answer", ""))),
            _evidence(q.get("evidence", [])),
            int(q.get("category", 0)),
        )
        for q in c.get("qa", [])
    ]
    return Conversation(
        c.get("sample_id", "conv"), (conv.get("speaker_a", "A"), conv.get("speaker_b", "B")), sessions, questions
    )


def _date(value: str | None) -> datetime | None:
    """'1:56 pm on 8 May, 2023' -> a UTC datetime."""
    return parse_time(value.replace(" on ", " ")) if value else None


def _evidence(items: list) -> list[str]:
    """Evidence ids, with malformed entries ('D8:6; D9:17') split into their ids."""
    out: list[str] = []
    for item in items:
        out.extend(re.findall(r"D\d+:\d+", str(item)))
    return out
