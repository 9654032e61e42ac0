"""Tatoeba English-Chinese pairs for the lab's translation models: split, tokens, vocabularies.

Chinese is split into characters; English is lower-cased and split into words and
punctuation. The split is by English sentence (with a seed), so no English sentence of the
test split is seen in training, whatever its Chinese translations.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from memlm.nn.seq2seq import BOS, EOS, PAD, SPECIALS, UNK

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "tatoeba-cmn" / "cmn.txt"
SHARED = Path("/work/shared/data/tatoeba-cmn/cmn.txt")
DIRECTIONS = ("en-zh", "zh-en")
_EN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def default_path() -> Path:
    """The data file: next to the checkout (../shared/data) or the shared folder."""
    return DATA if DATA.exists() else SHARED


def tokenize_en(text: str) -> list[str]:
    """'Don't go!' -> ['don', "'", 't', 'go', '!']."""
    return _EN.findall(text.lower())


def tokenize_zh(text: str) -> list[str]:
    """Characters, whitespace dropped."""
    return [ch for ch in text if not ch.isspace()]


def tokenize(text: str, lang: str) -> list[str]:
    return tokenize_en(text) if lang == "en" else tokenize_zh(text)


def detokenize(tokens: list[str], lang: str) -> str:
    """English tokens joined by spaces (the form BLEU scores), Chinese characters joined."""
    return " ".join(tokens) if lang == "en" else "".join(tokens)


def load_pairs(path: str | Path | None = None) -> list[tuple[str, str]]:
    """(English, Chinese) pairs from the tab-separated Tatoeba file."""
    pairs = []
    with open(path or default_path(), encoding="utf-8-sig") as fh:
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2 and cols[0].strip() and cols[1].strip():
                pairs.append((cols[0].strip(), cols[1].strip()))
    return pairs


def split_pairs(pairs: list[tuple[str, str]], seed: int = 1234, valid: float = 0.05,
                test: float = 0.1) -> dict[str, list[tuple[str, str]]]:
    """train / valid / test by English sentence: every line of one English sentence goes to one split."""
    english = sorted({en for en, _ in pairs})
    random.Random(seed).shuffle(english)
    n_test, n_valid = int(len(english) * test), int(len(english) * valid)
    where = dict.fromkeys(english[:n_test], "test")
    where.update(dict.fromkeys(english[n_test:n_test + n_valid], "valid"))
    out: dict[str, list[tuple[str, str]]] = {"train": [], "valid": [], "test": []}
    for en, zh in pairs:
        out[where.get(en, "train")].append((en, zh))
    return out


def build_vocab(texts: list[str], lang: str, min_count: int = 2) -> list[str]:
    """Specials, then tokens seen at least min_count times, most frequent first."""
    counts = Counter(tok for text in texts for tok in tokenize(text, lang))
    return SPECIALS + [tok for tok, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]


@dataclass
class Vocab:
    itos: list[str]  # token per id; the first four are SPECIALS
    lang: str  # "en" or "zh"

    def __post_init__(self) -> None:
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(t, UNK) for t in tokenize(text, self.lang)]

    def decode(self, ids: list[int]) -> str:
        return detokenize([self.itos[i] for i in ids if i >= len(SPECIALS) or i == UNK], self.lang)


def langs(direction: str) -> tuple[str, str]:
    """'en-zh' -> ('en', 'zh')."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; choose from {', '.join(DIRECTIONS)}")
    src, tgt = direction.split("-")
    return src, tgt


def orient(pairs: list[tuple[str, str]], direction: str) -> list[tuple[str, str]]:
    """(English, Chinese) pairs as (source, target) for the direction."""
    return pairs if langs(direction)[0] == "en" else [(zh, en) for en, zh in pairs]


def pad_batch(rows: list[list[int]]) -> torch.Tensor:
    """Lists of ids -> (B, L) padded with PAD."""
    width = max(1, max(len(r) for r in rows))
    out = torch.full((len(rows), width), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def source_ids(vocab: Vocab, text: str, max_len: int = 100) -> list[int]:
    """A source sentence as ids ending with EOS."""
    return vocab.encode(text)[: max_len - 1] + [EOS]


def make_batch(src_vocab: Vocab, tgt_vocab: Vocab, pairs: list[tuple[str, str]], max_len: int = 100):
    """(src (B, S), tgt_in (B, T) = BOS + y, targets (B, T) = y + EOS) for (source, target) pairs."""
    src = [source_ids(src_vocab, s, max_len) for s, _ in pairs]
    tgt = [tgt_vocab.encode(t)[: max_len - 1] for _, t in pairs]
    return pad_batch(src), pad_batch([[BOS, *y] for y in tgt]), pad_batch([[*y, EOS] for y in tgt])
