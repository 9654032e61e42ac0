"""Needle-in-a-haystack QA (as BABILong): a bAbI story's facts hidden in Shakespeare.

Each example takes a bAbI question, draws a run of consecutive background sentences from
tiny Shakespeare (first 90% for train, last 10% for val) and inserts the story's facts
between them, in order, at random places. The flat sequence has exactly ``length`` word
tokens: ``sentence <sep> ... fact <sep> ... <q> question <eoq>``; the answer is the target
at the last position.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

import torch

from memlm.lab.tasks.babi import BabiTask, find_data
from memlm.lab.tasks.base import IGNORE
from memlm.lab.tasks.vocab import Vocab, tokenize

SHAKESPEARE = "tinyshakespeare/input.txt"
DEFAULT_LENGTHS = (256, 1024, 4096, 16384)


@lru_cache(maxsize=1)
def background_sentences() -> tuple[list[list[str]], list[list[str]]]:
    """Tiny Shakespeare as tokenized sentences: (train = first 90% of chars, val = last 10%)."""
    text = find_data(SHAKESPEARE).read_text()
    cut = int(0.9 * len(text))

    def split(part: str) -> list[list[str]]:
        sents = (tokenize(s) for s in re.split(r"[.!?;:]+|\n\n", part))
        return [s for s in sents if len(s) >= 3]

    return split(text[:cut]), split(text[cut:])


class HaystackTask:
    """bAbI task ``task_id`` hidden in background text, ``length`` tokens per example."""

    def __init__(self, task_id: int = 1, length: int = 1024, min_count: int = 2, **babi_kwargs):
        self.babi = BabiTask(task_id, **babi_kwargs)
        self.name = f"haystack{task_id}" + ("-real" if self.babi.real else "")
        self.length = length
        train_bg, val_bg = background_sentences()
        counts = Counter(w for s in train_bg for w in s)
        words = set(self.babi.vocab.itos) | {w for w, c in counts.items() if c >= min_count}
        self.vocab = Vocab(words)
        self.vocab_size = len(self.vocab)
        self.background = {k: [self.vocab.encode(s) + [self.vocab.sep_id] for s in bg]
                           for k, bg in (("train", train_bg), ("val", val_bg))}
        self.stories = {k: self._encode_stories(k) for k in ("train", "val")}

    def _encode_stories(self, split: str) -> list[tuple[list[list[int]], list[int], int]]:
        """(fact id lists, question ids, answer id) of examples that fit in half the length."""
        out, v = [], self.vocab
        for ex in self.babi.examples[split]:
            facts = [v.encode(tokenize(f)) + [v.sep_id] for f in ex.facts]
            question = [v.question_id] + v.encode(tokenize(ex.question)) + [v.qend_id]
            if sum(map(len, facts)) + len(question) <= self.length // 2:
                out.append((facts, question, v.stoi[ex.answer.lower()]))
        if not out:
            raise ValueError(f"length {self.length} too short for bAbI task {self.babi.task_id}")
        return out

    def build(self, facts: list[list[int]], question: list[int], split: str, rng: random.Random) -> list[int]:
        """Facts spread in order through background text; exactly ``self.length`` ids."""
        budget = self.length - sum(map(len, facts)) - len(question)
        bg, i = self.background[split], rng.randrange(len(self.background[split]))
        filler: list[list[int]] = []
        while sum(map(len, filler)) < budget:
            filler.append(bg[i % len(bg)])
            i += 1
        excess = sum(map(len, filler)) - budget
        if excess:  # cut the last sentence short (it keeps its separator)
            filler[-1] = filler[-1][: len(filler[-1]) - excess - 1] + [self.vocab.sep_id]
        slots = sorted(rng.randint(0, len(filler)) for _ in facts)
        pieces: list[list[int]] = []
        for k, sentence in enumerate(filler + [[]]):
            pieces += [facts[j] for j, s in enumerate(slots) if s == k]
            pieces.append(sentence)
        return [t for p in pieces for t in p] + question

    def batch(self, split: str, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of shape (B, length); y is IGNORE except y[:, -1] = answer."""
        stories = self.stories[split]
        idx = torch.randint(len(stories), (batch_size,), generator=generator).tolist()
        seeds = torch.randint(2**62, (batch_size,), generator=generator).tolist()
        x = torch.tensor(
            [self.build(stories[i][0], stories[i][1], split, random.Random(s)) for i, s in zip(idx, seeds)]
        )
        y = torch.full_like(x, IGNORE)
        y[:, -1] = torch.tensor([stories[i][2] for i in idx])
        return x, y

    def iter_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every question of a split once, in order, each with a fixed haystack (seeded by its index)."""
        stories = self.stories[split]
        for i in range(0, len(stories), batch_size):
            chunk = stories[i : i + batch_size]
            x = torch.tensor([self.build(f, q, split, random.Random(i + k)) for k, (f, q, _) in enumerate(chunk)])
            y = torch.full_like(x, IGNORE)
            y[:, -1] = torch.tensor([a for _, _, a in chunk])
            yield x, y

    def decode(self, ids: list[int]) -> str:
        return self.vocab.decode(ids)

    def model_overrides(self) -> dict[str, int]:
        """Model-config fields this task fixes (the DMN reads the separator ids)."""
        v = self.vocab
        return {
            "vocab_size": self.vocab_size,
            "block_size": self.length,
            "pad_id": v.pad_id,
            "sep_id": v.sep_id,
            "question_id": v.question_id,
            "query_end_id": v.qend_id,
        }


def make_haystacks(lengths: tuple[int, ...] = DEFAULT_LENGTHS, task_id: int = 1, **kwargs) -> dict[int, HaystackTask]:
    """One HaystackTask per total length, e.g. ``make_haystacks((256, 4096))[4096]``."""
    return {n: HaystackTask(task_id, length=n, **kwargs) for n in lengths}
