"""GRU encoder-decoders for translation: without attention (the source squeezed into one
vector) and with additive (Bahdanau) attention over the encoder states.

The encoder is a bidirectional GRU over the source. Without attention the decoder only sees
a single vector, the encoder's final states, as its initial state and as a context fed at
every step (Cho et al. 2014): the seeds' "short-term memory" limit. With attention the
decoder scores every encoder state against its previous state at each step
(score = v . tanh(W s + U h)), and the weights (B, T, S) are returned for plotting.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from memlm.nn.seq2seq import PAD, seq2seq_loss


@dataclass
class Seq2SeqGRUConfig:
    src_vocab_size: int = 1000  # source vocabulary (specials included)
    tgt_vocab_size: int = 1000  # target vocabulary (specials included)
    n_embd: int = 128  # token embedding width
    n_hidden: int = 256  # GRU state width (each encoder direction and the decoder)
    dropout: float = 0.1  # dropout on embeddings and decoder outputs
    attention: bool = False  # additive attention over the encoder states


@dataclass
class Seq2SeqGRUAttnConfig(Seq2SeqGRUConfig):
    attention: bool = True  # additive attention over the encoder states


class Seq2SeqGRU(nn.Module):
    def __init__(self, config: Seq2SeqGRUConfig) -> None:
        super().__init__()
        self.config = c = config
        self.src_emb = nn.Embedding(c.src_vocab_size, c.n_embd, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(c.tgt_vocab_size, c.n_embd, padding_idx=PAD)
        self.encoder = nn.GRU(c.n_embd, c.n_hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * c.n_hidden, c.n_hidden)  # final encoder states -> decoder state
        self.drop = nn.Dropout(c.dropout)
        ctx = 2 * c.n_hidden  # width of the context vector (encoder states are bidirectional)
        if c.attention:
            self.att_w = nn.Linear(c.n_hidden, c.n_hidden, bias=False)  # decoder state projection
            self.att_u = nn.Linear(ctx, c.n_hidden)  # encoder state projection
            self.att_v = nn.Linear(c.n_hidden, 1, bias=False)
            self.cell = nn.GRUCell(c.n_embd + ctx, c.n_hidden)
        else:
            self.decoder = nn.GRU(c.n_embd + ctx, c.n_hidden, batch_first=True)
        self.out = nn.Linear(c.n_hidden + ctx + c.n_embd, c.tgt_vocab_size)

    def encode(self, src: torch.Tensor):
        """src (B, S) -> (states (B, S, 2H), final (B, 2H), pad mask (B, S) True at PAD)."""
        lengths = (src != PAD).sum(dim=1).clamp(min=1).cpu()
        x = self.drop(self.src_emb(src))  # (B, S, E)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.encoder(packed)  # h (2, B, H)
        states, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        final = torch.cat([h[0], h[1]], dim=-1)  # (B, 2H)
        return states, final, src == PAD

    def decode(self, memory, tgt_in: torch.Tensor):
        """tgt_in (B, T) -> (logits (B, T, V), attention (B, T, S) or None)."""
        states, final, pad = memory
        emb = self.drop(self.tgt_emb(tgt_in))  # (B, T, E)
        s = torch.tanh(self.bridge(final))  # (B, H)
        if not self.config.attention:
            ctx = final[:, None, :].expand(-1, tgt_in.size(1), -1)  # (B, T, 2H): the same vector every step
            out, _ = self.decoder(torch.cat([emb, ctx], dim=-1), s[None].contiguous())  # (B, T, H)
            logits = self.out(self.drop(torch.cat([out, ctx, emb], dim=-1)))
            return logits, None
        keys = self.att_u(states)  # (B, S, H), computed once
        outs, ctxs, weights = [], [], []
        for t in range(tgt_in.size(1)):
            s, c, a = self._attend(keys, states, pad, emb[:, t], s)
            outs.append(s)
            ctxs.append(c)
            weights.append(a)
        out, ctx = torch.stack(outs, 1), torch.stack(ctxs, 1)  # (B, T, H), (B, T, 2H)
        logits = self.out(self.drop(torch.cat([out, ctx, emb], dim=-1)))
        return logits, torch.stack(weights, 1)

    def _attend(self, keys, states, pad, emb_t, s):
        """One attention decoder step: emb_t (B, E), s (B, H) -> (new s (B, H), context (B, 2H), weights (B, S))."""
        score = self.att_v(torch.tanh(keys + self.att_w(s)[:, None, :])).squeeze(-1)  # (B, S)
        a = torch.softmax(score.masked_fill(pad, float("-inf")), dim=-1)  # (B, S)
        c = torch.bmm(a[:, None, :], states).squeeze(1)  # (B, 2H)
        return self.cell(torch.cat([emb_t, c], dim=-1), s), c, a

    def step(self, memory, y: torch.Tensor, state):
        """Incremental decoding: last tokens y (B,), state (None at BOS) -> (logits (B, V), state)."""
        states, final, pad = memory
        emb = self.drop(self.tgt_emb(y))  # (B, E)
        s = torch.tanh(self.bridge(final)) if state is None else state  # (B, H)
        if not self.config.attention:
            out = self.decoder(torch.cat([emb, final], dim=-1)[:, None], s[None].contiguous())[0][:, 0]  # (B, H)
            return self.out(torch.cat([out, final, emb], dim=-1)), out
        s, c, _ = self._attend(self.att_u(states), states, pad, emb, s)
        return self.out(torch.cat([s, c, emb], dim=-1)), s

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, targets: torch.Tensor | None = None):
        """src (B, S), tgt_in (B, T) starting with BOS, targets (B, T) -> (logits (B, T, V), loss)."""
        logits, _ = self.decode(self.encode(src), tgt_in)
        return logits, seq2seq_loss(logits, targets)
