"""Causal Transformer language model (nanoGPT style) with learned or rotary positions.

Attention uses ``torch.nn.functional.scaled_dot_product_attention``. The model sees at most
``block_size`` tokens: a longer input is cropped to its last ``block_size`` tokens and the
logits cover only those (callers align targets with ``y[:, -logits.size(1):]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from memlm.nn import first_scored, lm_loss, sample_next


@dataclass
class TransformerConfig:
    vocab_size: int = 65  # number of token ids (set from the task)
    block_size: int = 64  # context window: the most tokens attended to
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads per block
    n_embd: int = 128  # model width (divisible by n_head)
    dropout: float = 0.0  # dropout on attention, residual and embeddings
    bias: bool = True  # biases in Linear and LayerNorm layers
    pos: str = "learned"  # "learned" absolute position embeddings or "rope" rotary positions
    tie_weights: bool = True  # share token embedding and output head weights
    conv: int = 0  # kernel of a short causal depthwise convolution before each attention (0 = off)


def rope_tables(n_pos: int, head_dim: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin tables of shape (n_pos, head_dim // 2) for rotary embeddings."""
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2).float() / head_dim)
    angles = torch.outer(torch.arange(n_pos).float(), inv_freq)  # (n_pos, hd/2)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs of channels of x (B, H, T, hd) by position; cos/sin are (T, hd/2)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


class SelfAttention(nn.Module):
    """Multi-head self-attention; causal unless an explicit boolean mask is given."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, rope=None) -> torch.Tensor:
        """x (B, T, C); mask (T, T) bool, True = may attend; rope = (cos, sin) or None."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, hd)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None,
            dropout_p=self.dropout if self.training else 0.0,
        )  # (B, H, T, hd)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_drop(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward layer (4x expansion, GELU)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.c_proj(F.gelu(self.c_fc(x))))


class ShortConv(nn.Module):
    """Causal depthwise convolution over time (kernel k): mixes each token with the k-1 before it.

    Gives attention the previous tokens at every position (Zoology / H3 / Based "short conv"), so an
    associative-recall (induction) lookup needs one attention layer instead of two.
    """

    def __init__(self, n_embd: int, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.weight = nn.Parameter(torch.zeros(n_embd, 1, kernel))  # starts as the identity (h + 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C); position t sees positions t-k+1 .. t only."""
        h = F.pad(x.transpose(1, 2), (self.kernel - 1, 0))
        return F.conv1d(h, self.weight, groups=x.size(2)).transpose(1, 2)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.conv = ShortConv(config.n_embd, config.conv) if config.conv > 0 else None
        self.attn = SelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, rope=None) -> torch.Tensor:
        h = self.ln_1(x)
        if self.conv is not None:
            h = h + self.conv(h)
        x = x + self.attn(h, mask, rope)
        return x + self.mlp(self.ln_2(x))


def init_weights(module: nn.Module, n_layer: int) -> None:
    """GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer)."""
    for name, p in module.named_parameters():
        if name.endswith("c_proj.weight"):
            nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))
        elif p.dim() >= 2:
            nn.init.normal_(p, mean=0.0, std=0.02)
        elif name.endswith("bias"):
            nn.init.zeros_(p)


class Transformer(nn.Module):
    """Decoder-only causal Transformer language model."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        if config.pos not in ("learned", "rope"):
            raise ValueError(f"pos must be 'learned' or 'rope', not {config.pos!r}")
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd) if config.pos == "learned" else None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        init_weights(self, config.n_layer)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight
        if config.pos == "rope":
            cos, sin = rope_tables(config.block_size, config.n_embd // config.n_head)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.rope_cos: torch.Tensor  # (block, head_dim / 2) buffers when pos == "rope"
        self.rope_sin: torch.Tensor

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) -> logits (B, T', V), loss or None.

        T' = min(T, block_size); with targets, positions before the first scored one are skipped.
        """
        idx = idx[:, -self.config.block_size:]  # window: only the last block_size tokens
        T = idx.size(1)
        x = self.wte(idx)  # (B, T, C)
        rope = None
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(T, device=idx.device))
        else:
            rope = (self.rope_cos[:T], self.rope_sin[:T])
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, None, rope)
        if targets is not None:
            x = x[:, max(0, first_scored(targets[:, -T:])):]
        logits = self.lm_head(self.ln_f(x))  # (B, T', V)
        return logits, lm_loss(logits, targets)

    @torch.no_grad()
    def generate(
        self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
        top_k: int | None = None, generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend idx (B, T) by max_new_tokens, attending to the last block_size tokens."""
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size:])
            idx = torch.cat([idx, sample_next(logits[:, -1], temperature, top_k, generator)], dim=1)
        return idx
