"""Segment-recurrent memory Transformer (in the spirit of RMT, Bulatov et al. 2022).

A sequence is cut into segments of ``segment_len`` tokens. ``n_mem`` memory slots carry
information from one segment to the next:

- ``mem_mode="prepend"``: each segment is processed as ``[read memory | tokens | write memory]``;
  tokens attend to the read slots and causally to each other, the write slots attend to
  everything and their outputs become the next memory.
- ``mem_mode="cross"``: tokens read the memory by cross-attention in every block; at the end
  of the segment the memory slots cross-attend to the segment's hidden states to update.

Gradients flow back through ``bptt_segments`` segments (the memory is detached every
``bptt_segments`` segments; 0 = never). Generation streams segment by segment: its state is
the memory (n_mem x n_embd) plus the tokens of the current, unfinished segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from memlm.nn import first_scored, lm_loss, sample_next
from memlm.nn.transformer import MLP, Block, TransformerConfig, init_weights, rope_tables


@dataclass
class MemoryTransformerConfig:
    vocab_size: int = 65  # number of token ids (set from the task)
    block_size: int = 64  # training sequence length (informational; any length is streamed)
    segment_len: int = 32  # tokens per segment: the attention window
    n_mem: int = 8  # memory slots carried between segments
    mem_mode: str = "prepend"  # "prepend" (memory tokens) or "cross" (cross-attention read/write)
    bptt_segments: int = 0  # segments gradients flow through before the memory is detached (0 = all)
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads per block
    n_embd: int = 128  # model width (divisible by n_head)
    dropout: float = 0.0  # dropout on attention, residual and embeddings
    bias: bool = True  # biases in Linear and LayerNorm layers
    pos: str = "learned"  # "learned" positions within a segment or "rope" rotary positions
    tie_weights: bool = True  # share token embedding and output head weights
    conv: int = 0  # kernel of a short causal depthwise convolution before each attention (0 = off)
    mem_gate: bool = False  # gated slot update m + z * (write - m), z = sigmoid(W [m, write]); False = overwrite

    def block_config(self) -> TransformerConfig:
        return TransformerConfig(
            vocab_size=self.vocab_size, block_size=self.segment_len, n_layer=self.n_layer, n_head=self.n_head,
            n_embd=self.n_embd, dropout=self.dropout, bias=self.bias, pos=self.pos, tie_weights=self.tie_weights,
            conv=self.conv,
        )


class CrossAttention(nn.Module):
    """Multi-head attention of queries x (B, Tq, C) over a context (B, Tk, C), unmasked."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.q = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.kv = nn.Linear(config.n_embd, 2 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        B, Tq, C = x.shape
        hd = C // self.n_head
        q = self.q(x).view(B, Tq, self.n_head, hd).transpose(1, 2)  # (B, H, Tq, hd)
        k, v = (t.view(B, ctx.size(1), self.n_head, hd).transpose(1, 2) for t in self.kv(ctx).split(C, dim=2))
        y = F.scaled_dot_product_attention(q, k, v)  # (B, H, Tq, hd)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, Tq, C))


class CrossBlock(nn.Module):
    """Residual cross-attention (pre-norm) followed by an MLP; used to read or write memory."""

    def __init__(self, config: TransformerConfig, mlp: bool) -> None:
        super().__init__()
        self.ln_q = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.ln_kv = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CrossAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias) if mlp else None
        self.mlp = MLP(config) if mlp else None

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_q(x), self.ln_kv(ctx))
        if self.mlp is None or self.ln_2 is None:
            return x
        return x + self.mlp(self.ln_2(x))


def prepend_mask(n_mem: int, n_tok: int, write: bool, device=None) -> torch.Tensor:
    """Boolean mask (L, L), True = may attend, for [read M | tokens | write M (if write)]."""
    L = 2 * n_mem + n_tok if write else n_mem + n_tok
    mask = torch.zeros(L, L, dtype=torch.bool, device=device)
    mask[:, :n_mem] = True  # everyone reads the memory
    tok = slice(n_mem, n_mem + n_tok)
    mask[tok, tok] = torch.ones(n_tok, n_tok, dtype=torch.bool, device=device).tril()  # causal tokens
    if write:
        mask[n_mem + n_tok:, :] = True  # write slots see everything
    return mask


class MemoryTransformer(nn.Module):
    """Causal Transformer over segments with recurrent memory slots."""

    def __init__(self, config: MemoryTransformerConfig) -> None:
        super().__init__()
        if config.mem_mode not in ("prepend", "cross"):
            raise ValueError(f"mem_mode must be 'prepend' or 'cross', not {config.mem_mode!r}")
        self.config = config
        bc = config.block_config()
        C, M = config.n_embd, config.n_mem
        self.wte = nn.Embedding(config.vocab_size, C)
        self.wpe = nn.Embedding(config.segment_len, C) if config.pos == "learned" else None
        self.mem_init = nn.Parameter(torch.zeros(M, C))  # initial memory (M, C)
        self.read_emb = nn.Parameter(torch.zeros(M, C))  # marks read slots (prepend mode)
        self.write_emb = nn.Parameter(torch.zeros(M, C))  # marks write slots (prepend mode)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(bc) for _ in range(config.n_layer))
        cross = config.mem_mode == "cross"
        self.readers = nn.ModuleList(CrossBlock(bc, mlp=False) for _ in range(config.n_layer)) if cross else None
        self.writer = CrossBlock(bc, mlp=True) if cross else None
        self.mem_norm = nn.LayerNorm(C, bias=config.bias)
        self.gate = nn.Linear(2 * C, C, bias=config.bias) if config.mem_gate else None
        self.ln_f = nn.LayerNorm(C, bias=config.bias)
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
        init_weights(self, config.n_layer)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight
        if config.pos == "rope":
            cos, sin = rope_tables(2 * M + config.segment_len, C // config.n_head)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.rope_cos: torch.Tensor  # (block, head_dim / 2) buffers when pos == "rope"
        self.rope_sin: torch.Tensor

    def init_memory(self, batch_size: int) -> torch.Tensor:
        """The starting memory, (B, M, C)."""
        return self.mem_init.unsqueeze(0).expand(batch_size, -1, -1)

    def _rope(self, offset: int, length: int):
        if self.wpe is not None:
            return None
        return self.rope_cos[offset:offset + length], self.rope_sin[offset:offset + length]

    def _embed(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx)  # (B, S, C)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(idx.size(1), device=idx.device))
        return x

    def segment(self, mem: torch.Tensor, idx: torch.Tensor, write: bool = True, start: int = 0):
        """One segment: mem (B, M, C), idx (B, S) -> logits (B, S - start, V), new memory or None."""
        M, S = self.config.n_mem, idx.size(1)
        x = self._embed(idx)
        if self.config.mem_mode == "prepend":
            parts = [mem + self.read_emb, x] + ([mem + self.write_emb] if write else [])
            h = self.drop(torch.cat(parts, dim=1))  # (B, L, C)
            mask = prepend_mask(M, S, write, idx.device)
            rope = self._rope(0, h.size(1))
            for block in self.blocks:
                h = block(h, mask, rope)
            tok, new_mem = h[:, M:M + S], (self.mem_norm(h[:, M + S:]) if write else None)
        else:
            assert self.readers is not None and self.writer is not None  # built for mem_mode "cross"
            h, rope = self.drop(x), self._rope(0, S)
            for block, reader in zip(self.blocks, self.readers):
                h = reader(block(h, None, rope), mem)
            tok, new_mem = h, (self.mem_norm(self.writer(mem, h)) if write else None)
        if new_mem is not None and self.gate is not None:
            z = torch.sigmoid(self.gate(torch.cat([mem.expand_as(new_mem), new_mem], dim=-1)))  # (B, M, C)
            new_mem = mem + z * (new_mem - mem)  # per-channel interpolation: keep or overwrite
        return self.lm_head(self.ln_f(tok[:, start:])), new_mem

    def run(self, idx: torch.Tensor, mem: torch.Tensor | None = None, skip: int = 0):
        """Process idx (B, T) segment by segment -> logits (B, T - skip, V), final memory (B, M, C)."""
        mem = self.init_memory(idx.size(0)) if mem is None else mem
        S, bptt, out = self.config.segment_len, self.config.bptt_segments, []
        for k, start in enumerate(range(0, idx.size(1), S)):
            seg = idx[:, start:start + S]
            write = seg.size(1) == S
            logits, new_mem = self.segment(mem, seg, write, start=min(S, max(0, skip - start)))
            out.append(logits)
            if write:
                mem = new_mem.detach() if bptt > 0 and (k + 1) % bptt == 0 else new_mem
        return torch.cat(out, dim=1), mem

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) -> logits (B, T', V), loss or None.

        T' = T without targets; with targets, positions before the first scored one are skipped.
        """
        logits, _ = self.run(idx, skip=first_scored(targets))
        return logits, lm_loss(logits, targets)

    def stream(self, batch_size: int = 1) -> MemoryStream:
        """A streaming reader with constant-size state (memory + current segment)."""
        return MemoryStream(self, batch_size)

    @torch.no_grad()
    def generate(
        self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
        top_k: int | None = None, generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend idx (B, T) by max_new_tokens, streaming segment by segment."""
        stream = self.stream(idx.size(0))
        logits, out = stream.feed(idx), [idx]
        for _ in range(max_new_tokens):
            nxt = sample_next(logits[:, -1], temperature, top_k, generator)  # (B, 1)
            out.append(nxt)
            logits = stream.feed(nxt)
        return torch.cat(out, dim=1)


class MemoryStream:
    """Feeds tokens to a MemoryTransformer incrementally; state = memory + unfinished segment."""

    def __init__(self, model: MemoryTransformer, batch_size: int) -> None:
        self.model = model
        self.memory = model.init_memory(batch_size)  # (B, M, C)
        self.buffer = torch.zeros(batch_size, 0, dtype=torch.long, device=self.memory.device)  # (B, < S)

    def state_numel(self) -> int:
        """Number of elements held between calls (memory + buffered tokens)."""
        return self.memory.numel() + self.buffer.numel()

    @torch.no_grad()
    def feed(self, idx: torch.Tensor) -> torch.Tensor:
        """Feed idx (B, n) -> logits (B, n, V) for those positions."""
        S, out = self.model.config.segment_len, []
        pos = 0
        while pos < idx.size(1):
            take = min(S - self.buffer.size(1), idx.size(1) - pos)
            chunk = idx[:, pos:pos + take]
            seg = torch.cat([self.buffer, chunk], dim=1)  # (B, <= S)
            full = seg.size(1) == S
            logits, new_mem = self.model.segment(self.memory, seg, write=full)
            out.append(logits[:, -take:])
            self.memory, self.buffer = (new_mem, seg[:, :0]) if full else (self.memory, seg)
            pos += take
        return torch.cat(out, dim=1)
