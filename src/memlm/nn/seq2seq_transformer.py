"""A Transformer encoder-decoder for translation on ``scaled_dot_product_attention``.

Pre-norm blocks, learned positions, source padding masks in the encoder and in the
decoder's cross-attention, a causal decoder, tied target embedding and output head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from memlm.nn.seq2seq import PAD, seq2seq_loss


@dataclass
class Seq2SeqTransformerConfig:
    src_vocab_size: int = 1000  # source vocabulary (specials included)
    tgt_vocab_size: int = 1000  # target vocabulary (specials included)
    block_size: int = 128  # longest source or target sequence (learned positions)
    n_layer: int = 3  # encoder layers (and as many decoder layers)
    n_head: int = 4  # attention heads
    n_embd: int = 256  # model width
    dropout: float = 0.1  # dropout on attention outputs, MLPs and embeddings


class Attention(nn.Module):
    """Multi-head attention; self-attention when kv is None."""

    def __init__(self, c: Seq2SeqTransformerConfig) -> None:
        super().__init__()
        self.n_head, self.dropout = c.n_head, c.dropout
        self.q = nn.Linear(c.n_embd, c.n_embd)
        self.kv = nn.Linear(c.n_embd, 2 * c.n_embd)
        self.proj = nn.Linear(c.n_embd, c.n_embd)

    def keys_values(self, kv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """kv (B, S, C) -> keys and values, each (B, h, S, d)."""
        B, S, C = kv.shape
        k, v = self.kv(kv).split(C, dim=2)
        return (k.view(B, S, self.n_head, -1).transpose(1, 2), v.view(B, S, self.n_head, -1).transpose(1, 2))

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
               causal: bool = False) -> torch.Tensor:
        """Queries from x (B, T, C) over k, v (B, h, S, d) -> (B, T, C)."""
        B, T, C = x.shape
        q = self.q(x).view(B, T, self.n_head, -1).transpose(1, 2)  # (B, h, T, d)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))

    def forward(self, x: torch.Tensor, kv: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                causal: bool = False) -> torch.Tensor:
        """x (B, T, C), kv (B, S, C), mask (B, 1, 1, S) True where a key may be attended."""
        return self.attend(x, *self.keys_values(x if kv is None else kv), mask=mask, causal=causal)


class Block(nn.Module):
    def __init__(self, c: Seq2SeqTransformerConfig, cross: bool) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(c.n_embd)
        self.attn = Attention(c)
        self.cross = Attention(c) if cross else None
        self.ln2 = nn.LayerNorm(c.n_embd) if cross else None
        self.ln3 = nn.LayerNorm(c.n_embd)
        self.mlp = nn.Sequential(nn.Linear(c.n_embd, 4 * c.n_embd), nn.GELU(), nn.Linear(4 * c.n_embd, c.n_embd))
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, self_mask=None, causal=False, memory=None, mem_mask=None):
        x = x + self.drop(self.attn(self.ln1(x), mask=self_mask, causal=causal))
        if self.cross is not None and self.ln2 is not None:
            x = x + self.drop(self.cross(self.ln2(x), kv=memory, mask=mem_mask))
        return x + self.drop(self.mlp(self.ln3(x)))

    def step(self, x: torch.Tensor, past: tuple | None, memory_kv: tuple, mem_mask: torch.Tensor):
        """One new position x (B, 1, C) after the cached self-attention keys/values ``past``
        (each (B, h, t, d), None at the first position) -> (x (B, 1, C), past with this position)."""
        h = self.ln1(x)
        k, v = self.attn.keys_values(h)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        x = x + self.drop(self.attn.attend(h, k, v))  # the one query may see every earlier position
        if self.cross is not None and self.ln2 is not None:
            mk, mv = memory_kv
            x = x + self.drop(self.cross.attend(self.ln2(x), mk, mv, mask=mem_mask))
        return x + self.drop(self.mlp(self.ln3(x))), (k, v)

    def cross_keys_values(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The cross-attention keys/values over the encoder output (B, S, C), computed once per sentence."""
        return None if self.cross is None else self.cross.keys_values(memory)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, config: Seq2SeqTransformerConfig) -> None:
        super().__init__()
        self.config = c = config
        self.src_emb = nn.Embedding(c.src_vocab_size, c.n_embd)
        self.tgt_emb = nn.Embedding(c.tgt_vocab_size, c.n_embd)
        self.src_pos = nn.Embedding(c.block_size, c.n_embd)
        self.tgt_pos = nn.Embedding(c.block_size, c.n_embd)
        self.enc = nn.ModuleList([Block(c, cross=False) for _ in range(c.n_layer)])
        self.dec = nn.ModuleList([Block(c, cross=True) for _ in range(c.n_layer)])
        self.ln_enc, self.ln_dec = nn.LayerNorm(c.n_embd), nn.LayerNorm(c.n_embd)
        self.head = nn.Linear(c.n_embd, c.tgt_vocab_size, bias=False)
        self.head.weight = self.tgt_emb.weight  # weight tying
        self.drop = nn.Dropout(c.dropout)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def encode(self, src: torch.Tensor):
        """src (B, S) -> (memory (B, S, C), key mask (B, 1, 1, S) True at real tokens)."""
        src = src[:, : self.config.block_size]
        mask = (src != PAD)[:, None, None, :]
        pos = torch.arange(src.size(1), device=src.device)
        x = self.drop(self.src_emb(src) + self.src_pos(pos))
        for block in self.enc:
            x = block(x, self_mask=mask)
        return self.ln_enc(x), mask

    def decode(self, memory, tgt_in: torch.Tensor):
        """tgt_in (B, T) -> (logits (B, T, V), None: SDPA does not return attention weights)."""
        mem, mask = memory
        tgt_in = tgt_in[:, -self.config.block_size:]
        pos = torch.arange(tgt_in.size(1), device=tgt_in.device)
        x = self.drop(self.tgt_emb(tgt_in) + self.tgt_pos(pos))
        for block in self.dec:
            x = block(x, causal=True, memory=mem, mem_mask=mask)
        return self.head(self.ln_dec(x)), None

    def step(self, memory, y: torch.Tensor, state):
        """Incremental decoding with a key/value cache: last tokens y (B,), state (None at BOS)
        -> (logits (B, V), state). The state holds the tokens so far (B, t), each decoder layer's
        self-attention keys/values and its cross-attention keys/values over the source, so a step
        costs one position instead of the whole prefix. Past ``block_size`` tokens it falls back
        to ``decode`` over the last ``block_size`` tokens, as decoding the full prefix does."""
        mem, mask = memory
        if state is None:
            state = (y[:, None][:, :0], [None] * len(self.dec), [b.cross_keys_values(mem) for b in self._dec()])
        ys, pasts, cross = state
        ys = torch.cat([ys, y[:, None]], dim=1)  # (B, t)
        t = ys.size(1)
        if t > self.config.block_size:
            return self.decode(memory, ys)[0][:, -1], (ys, pasts, cross)
        x = self.drop(self.tgt_emb(y) + self.tgt_pos.weight[t - 1])[:, None]  # (B, 1, C)
        new = []
        for block, past, kv in zip(self._dec(), pasts, cross):
            x, past = block.step(x, past, kv, mask)
            new.append(past)
        return self.head(self.ln_dec(x))[:, 0], (ys, new, cross)

    def _dec(self) -> list[Block]:
        return [cast(Block, b) for b in self.dec]

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, targets: torch.Tensor | None = None):
        """src (B, S), tgt_in (B, T) starting with BOS, targets (B, T) -> (logits (B, T, V), loss)."""
        logits, _ = self.decode(self.encode(src), tgt_in)
        return logits, seq2seq_loss(logits, targets)
