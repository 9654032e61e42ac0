"""Dynamic Memory Network, DMN+ variant (Xiong, Merity & Socher 2016), nanoGPT style.

Input is a flat token sequence ``fact <sep> fact <sep> ... <q> question <eoq>`` (left padding
allowed). Modules: input fusion (positional-encoding sentence reader + bidirectional GRU over
facts, directions summed), question GRU, episodic memory (soft attention gates from fact /
question / memory interactions feeding an attention-based GRU, ``n_hops`` passes, untied
ReLU memory updates) and a linear answer module over ``[memory; question]``.

Strong supervision (``gate_weight > 0``, as in the original DMN of Kumar et al. 2016): an
auxiliary cross-entropy pulls pass k's attention gate toward the k-th supporting fact. The
supporting facts come in the targets: a target value k >= 0 on the ``<sep>`` closing a fact
marks it as pass k's fact (``BabiTask(support=True)`` writes these marks).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from memlm.nn import lm_loss


@dataclass
class DMNConfig:
    vocab_size: int = 64  # number of token ids (set from the task)
    block_size: int = 512  # longest flat input seen in training (informational; any length works)
    n_embd: int = 80  # word embedding size
    n_hidden: int = 80  # size of facts, question, episode and memory vectors
    n_hops: int = 3  # episodic memory passes
    dropout: float = 0.1  # dropout on facts (input fusion output) and before the answer
    pad_id: int = 0  # padding token (left padding)
    sep_id: int = 2  # sentence-end token, one after every fact
    question_id: int = 3  # question marker token (facts before it, question words after it)
    query_end_id: int = 4  # final token of the query (not read as a question word)
    max_facts: int = 0  # read only the last max_facts facts (0 = all)
    gate_weight: float = 0.0  # weight of the gate-supervision loss (0 = answer loss only)


def parse(idx: torch.Tensor, cfg: DMNConfig) -> dict[str, torch.Tensor]:
    """Locate fact words and question words in a flat batch idx (B, T).

    Returns per token position: ``fact`` (B, T) sentence index or -1, ``word`` (B, T) 1-based
    word position in its sentence, ``n_facts`` (B,), and the question as right-padded ids
    ``question`` (B, Lq) with lengths ``q_len`` (B,).
    """
    B, T = idx.shape
    pos = torch.arange(T, device=idx.device).expand(B, T)
    is_q = idx == cfg.question_id
    q_pos = torch.where(is_q.any(1), is_q.int().argmax(1), torch.full((B,), T, device=idx.device))  # (B,)
    story = pos < q_pos[:, None]
    is_sep, is_pad = (idx == cfg.sep_id) & story, idx == cfg.pad_id
    n_sep_before = torch.cumsum(is_sep.long(), 1) - is_sep.long()  # (B, T) sentence index of a word
    boundary = torch.where(is_sep | is_pad, pos + 1, torch.zeros_like(pos)).cummax(1).values
    is_word = story & ~is_sep & ~is_pad
    n_facts = is_sep.sum(1)
    fact = torch.where(is_word, n_sep_before, torch.full_like(pos, -1))
    sep_fact = torch.where(is_sep, n_sep_before, torch.full_like(pos, -1))  # (B, T) fact a <sep> closes
    if cfg.max_facts:  # keep the last max_facts sentences, renumbered from 0
        first = (n_facts - cfg.max_facts).clamp(min=0)[:, None]
        fact = torch.where(fact >= first, fact - first, torch.full_like(pos, -1))
        sep_fact = torch.where(sep_fact >= first, sep_fact - first, torch.full_like(pos, -1))
        n_facts = n_facts - first[:, 0]
    q_word = (pos > q_pos[:, None]) & (idx != cfg.query_end_id) & ~is_pad
    q_len = q_word.sum(1)
    Lq = max(int(q_len.max()), 1)
    q_idx = (q_pos[:, None] + 1 + torch.arange(Lq, device=idx.device)).clamp(max=T - 1)
    question = torch.where(torch.arange(Lq, device=idx.device) < q_len[:, None], idx.gather(1, q_idx), cfg.pad_id)
    return {"fact": fact, "word": pos - boundary + 1, "n_facts": n_facts, "question": question, "q_len": q_len,
            "sep_fact": sep_fact}


def support_targets(targets: torch.Tensor, sep_fact: torch.Tensor, n_hops: int) -> torch.Tensor:
    """Pass k's supporting fact (B, n_hops) from the marks in targets (B, T); -1 where unmarked."""
    B = targets.size(0)
    marked = (sep_fact >= 0) & (targets >= 0) & (targets < n_hops)
    marked[:, -1] = False  # the last target is the answer
    b, t = marked.nonzero(as_tuple=True)
    out = torch.full((B, n_hops), -1, dtype=torch.long, device=targets.device)
    out[b, targets[b, t]] = sep_fact[b, t]
    return out


def position_encode(emb: torch.Tensor, fact: torch.Tensor, word: torch.Tensor, n_facts_max: int) -> torch.Tensor:
    """Sentence vectors sum_j l_j * w_j (MemN2N positional encoding): emb (B,T,D) -> (B,S,D)."""
    B, T, D = emb.shape
    valid = fact >= 0
    slot = torch.where(valid, fact, torch.full_like(fact, n_facts_max))  # invalid -> dump slot S
    length = torch.zeros(B, n_facts_max + 1, device=emb.device).scatter_add_(1, slot, valid.float())
    J = length.gather(1, slot).clamp(min=1)[..., None]  # (B, T, 1) words in this token's sentence
    j = word.float()[..., None]
    k = torch.arange(1, D + 1, device=emb.device).float() / D  # (D,)
    weight = (1 - j / J) - k * (1 - 2 * j / J)  # (B, T, D): l_j, the position weight
    out = torch.zeros(B, n_facts_max + 1, D, device=emb.device)
    out.scatter_add_(1, slot[..., None].expand(B, T, D), weight * emb * valid[..., None])
    return out[:, :n_facts_max]


def run_gru(gru: nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Packed GRU over right-padded x (B, L, D): outputs (B, L, dirs*H), final hidden (dirs, B, H)."""
    packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
    out, h = gru(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
    return out, h


class AttnGRU(nn.Module):
    """GRU whose update gate is the attention gate g: h = g * h~ + (1 - g) * h_prev."""

    def __init__(self, n_in: int, n_hidden: int):
        super().__init__()
        self.W = nn.Linear(n_in, 2 * n_hidden)  # reset gate and candidate from the fact
        self.U_r = nn.Linear(n_hidden, n_hidden, bias=False)
        self.U = nn.Linear(n_hidden, n_hidden)

    def forward(self, facts: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """facts (B, S, H), gates (B, S) -> episode (B, H), the last hidden state."""
        wr, wh = self.W(facts).chunk(2, dim=-1)  # (B, S, H) each
        h = facts.new_zeros(facts.size(0), facts.size(2))
        for i in range(facts.size(1)):
            r = torch.sigmoid(wr[:, i] + self.U_r(h))
            h_tilde = torch.tanh(wh[:, i] + r * self.U(h))
            g = gates[:, i, None]
            h = g * h_tilde + (1 - g) * h
        return h


class EpisodicMemory(nn.Module):
    """n_hops attention passes over the facts with untied ReLU memory updates."""

    def __init__(self, cfg: DMNConfig):
        super().__init__()
        H = cfg.n_hidden
        self.attn = nn.Sequential(nn.Linear(4 * H, H), nn.Tanh(), nn.Linear(H, 1))
        self.gru = AttnGRU(H, H)
        self.updates = nn.ModuleList(nn.Linear(3 * H, H) for _ in range(cfg.n_hops))

    def gates(self, facts: torch.Tensor, q: torch.Tensor, m: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Softmax attention over facts (B, S) from z = [f*q, f*m, |f-q|, |f-m|]."""
        q, m = q[:, None], m[:, None]
        z = torch.cat([facts * q, facts * m, (facts - q).abs(), (facts - m).abs()], dim=-1)
        scores = self.attn(z).squeeze(-1).masked_fill(~mask, float("-inf"))
        return torch.nan_to_num(F.softmax(scores, dim=-1))  # rows without facts -> zeros

    def forward(self, facts: torch.Tensor, q: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """facts (B, S, H), q (B, H), mask (B, S) -> final memory (B, H), gates (B, n_hops, S)."""
        m, gates = q, []
        for update in self.updates:
            gates.append(self.gates(facts, q, m, mask))
            episode = self.gru(facts, gates[-1])
            m = F.relu(update(torch.cat([m, episode, q], dim=-1)))
        return m, torch.stack(gates, 1)


class DMN(nn.Module):
    """DMN+ for flat QA sequences; predicts one answer token per sequence."""

    def __init__(self, config: DMNConfig):
        super().__init__()
        self.config = config
        D, H = config.n_embd, config.n_hidden
        self.embed = nn.Embedding(config.vocab_size, D)
        self.fusion = nn.GRU(D, H, batch_first=True, bidirectional=True)
        self.question = nn.GRU(D, H, batch_first=True)
        self.memory = EpisodicMemory(config)
        self.drop = nn.Dropout(config.dropout)
        self.answer = nn.Linear(2 * H, config.vocab_size)

    def encode_facts(self, idx: torch.Tensor, p: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Fused fact vectors (B, S, H) and their mask (B, S)."""
        S = max(int(p["n_facts"].max()), 1)
        sentences = position_encode(self.embed(idx), p["fact"], p["word"], S)  # (B, S, D)
        out, _ = run_gru(self.fusion, sentences, p["n_facts"])  # (B, S, 2H)
        fwd, bwd = out.chunk(2, dim=-1)
        mask = torch.arange(S, device=idx.device) < p["n_facts"][:, None]
        return self.drop(fwd + bwd), mask

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx (B, T) -> logits (B, 1, V) for the last position; loss against targets[:, -1:]
        (plus gate_weight times the gate loss when targets mark supporting facts)."""
        p = parse(idx, self.config)
        facts, mask = self.encode_facts(idx, p)  # (B, S, H), (B, S)
        _, hq = run_gru(self.question, self.embed(p["question"]), p["q_len"])
        q = hq[-1]  # (B, H)
        m, gates = self.memory(facts, q, mask)  # (B, H), (B, n_hops, S)
        self.last_gates = gates.detach()  # for inspection and plots
        logits = self.answer(self.drop(torch.cat([m, q], dim=-1)))[:, None]  # (B, 1, V)
        loss = lm_loss(logits, targets)
        if loss is not None and targets is not None and self.config.gate_weight > 0:
            loss = loss + self.config.gate_weight * self.gate_loss(gates, support_targets(targets, p["sep_fact"],
                                                                                           self.config.n_hops))
        return logits, loss

    @staticmethod
    def gate_loss(gates: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
        """Mean -log gate on pass k's supporting fact: gates (B, K, S), support (B, K) (-1 = none)."""
        valid = support >= 0
        if not valid.any():
            return gates.sum() * 0.0
        picked = gates.gather(2, support.clamp(min=0)[..., None]).squeeze(-1)  # (B, K)
        return -(picked[valid] + 1e-8).log().mean()
