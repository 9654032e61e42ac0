"""Word-level vocabulary and tokenizer shared by the QA tasks (bAbI, haystack)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

PAD, UNK, SEP, QUESTION, QEND = "<pad>", "<unk>", "<sep>", "<q>", "<eoq>"
SPECIALS = (PAD, UNK, SEP, QUESTION, QEND)  # ids 0..4 in every Vocab

_WORD = re.compile(r"[a-z0-9']+")


def tokenize(text: str) -> list[str]:
    """Lower-cased words; punctuation other than ``'`` dropped (answers are never tokenized)."""
    return _WORD.findall(text.lower())


class Vocab:
    """Bidirectional word <-> id map with the special tokens first (pad is id 0)."""

    def __init__(self, words: Iterable[str]):
        extra = sorted(set(words) - set(SPECIALS))
        self.itos: list[str] = list(SPECIALS) + extra
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    @property
    def sep_id(self) -> int:
        return self.stoi[SEP]

    @property
    def question_id(self) -> int:
        return self.stoi[QUESTION]

    @property
    def qend_id(self) -> int:
        return self.stoi[QEND]

    def encode(self, words: Iterable[str]) -> list[int]:
        """Words to ids (unknown words map to ``<unk>``)."""
        return [self.stoi.get(w, self.unk_id) for w in words]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to space-separated words; padding is dropped."""
        return " ".join(self.itos[i] for i in ids if i != self.pad_id)

    def save(self, path: str | Path) -> None:
        """One word per line (specials included)."""
        Path(path).write_text("\n".join(self.itos) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        return cls(w for w in Path(path).read_text().split("\n") if w)
