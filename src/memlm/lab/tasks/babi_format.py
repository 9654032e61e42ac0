"""The original bAbI text format: reading, writing and flattening stories to QA examples.

A file is a list of numbered lines; numbering restarts at 1 with each new story. A
statement line is ``N sentence``; a question line is
``N question<TAB>answer<TAB>supporting line numbers``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    """One line of a story: a statement (answer is None) or a question."""

    text: str  # sentence or question, e.g. "Mary moved to the bathroom." / "Where is Mary?"
    answer: str | None = None  # answer of a question line, None for statements
    support: tuple[int, ...] = ()  # supporting line numbers (1-based, within the story)

    @property
    def is_question(self) -> bool:
        return self.answer is not None


Story = list[Entry]  # line number of entry i is i + 1


@dataclass
class Example:
    """A question with its context: the story's statements before it."""

    facts: list[str]  # statement sentences preceding the question, in order
    question: str
    answer: str
    support: list[int] = field(default_factory=list)  # indices into facts (0-based)


def format_story(story: Story) -> list[str]:
    """Story to text lines in the original format."""
    lines = []
    for n, e in enumerate(story, start=1):
        if e.is_question:
            lines.append(f"{n} {e.text} \t{e.answer}\t{' '.join(map(str, e.support))}")
        else:
            lines.append(f"{n} {e.text}")
    return lines


def write_babi(stories: Iterable[Story], path: str | Path) -> None:
    """Write stories to a bAbI-format file."""
    with open(path, "w") as f:
        for story in stories:
            f.write("\n".join(format_story(story)) + "\n")


def parse_line(line: str) -> tuple[int, Entry]:
    """``"N text[\\tanswer\\tsupport]"`` -> (N, Entry)."""
    num, _, rest = line.strip("\n").partition(" ")
    if "\t" in rest:
        text, answer, support = rest.split("\t")[:3]
        return int(num), Entry(text.strip(), answer.strip(), tuple(int(s) for s in support.split()))
    return int(num), Entry(rest.strip())


def parse_babi(lines: Iterable[str]) -> list[Story]:
    """Text lines to stories (a story restarts when numbering returns to 1)."""
    stories: list[Story] = []
    for line in lines:
        if not line.strip():
            continue
        n, entry = parse_line(line)
        if n == 1:
            stories.append([])
        if n != len(stories[-1]) + 1:
            raise ValueError(f"line number {n} out of sequence: {line!r}")
        stories[-1].append(entry)
    return stories


def read_babi(path: str | Path) -> list[Story]:
    """Read a bAbI-format file."""
    with open(path) as f:
        return parse_babi(f)


def story_examples(story: Story) -> list[Example]:
    """One Example per question; facts are the statements before it (questions skipped)."""
    out: list[Example] = []
    facts: list[str] = []
    line_to_fact: dict[int, int] = {}
    for n, e in enumerate(story, start=1):
        if e.answer is not None:  # a question
            support = [line_to_fact[s] for s in e.support if s in line_to_fact]
            out.append(Example(list(facts), e.text, e.answer, support))
        else:
            line_to_fact[n] = len(facts)
            facts.append(e.text)
    return out


def examples(stories: Iterable[Story]) -> list[Example]:
    """Flatten stories to QA examples."""
    return [ex for s in stories for ex in story_examples(s)]
