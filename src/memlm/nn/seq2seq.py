"""Shared pieces of the lab's encoder-decoders: special ids, the loss, greedy and beam decoding.

Every seq2seq model takes ``forward(src, tgt_in, targets=None) -> (logits, loss)`` with
src (B, S) and tgt_in (B, T) token ids, padded with PAD, and logits (B, T, V_tgt). Decoding
only needs ``encode(src) -> memory`` and ``decode(memory, tgt_in) -> (logits, attn)``
where attn (B, T, S) is the decoder's attention over the source (None without attention);
greedy decoding uses ``step(memory, y, state) -> (logits (B, V), state)`` when a model has it.
Memories are tensors or tuples of tensors with the batch on dimension 0.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # the first four entries of every translation vocabulary
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]


def seq2seq_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Cross-entropy of logits (B, T, V) against targets (B, T); PAD positions are not scored."""
    if targets is None:
        return None
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD)


def _select(memory: Any, index: torch.Tensor) -> Any:
    """Rows index of a memory or decoder state (tensors, batch first, nested in tuples/lists)."""
    if isinstance(memory, (tuple, list)):
        return type(memory)(_select(m, index) for m in memory)
    return None if memory is None else memory.index_select(0, index)


def _next_logits(model: Any, memory: Any, ys: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
    """Logits (B, V) after the prefix ys (B, t): one incremental step when the model has ``step``
    (recurrent state, key/value cache), else the whole prefix again."""
    if hasattr(model, "step"):
        return model.step(memory, ys[:, -1], state)
    return model.decode(memory, ys)[0][:, -1], None


@torch.no_grad()
def greedy_decode(model: Any, src: torch.Tensor, max_len: int = 60) -> list[list[int]]:
    """Argmax decoding of a batch src (B, S) -> one list of target ids per row (no BOS/EOS)."""
    memory = model.encode(src)
    batch = src.size(0)
    ys = torch.full((batch, 1), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    state = None
    for _ in range(max_len):
        last, state = _next_logits(model, memory, ys, state)  # (B, V)
        nxt = _allowed(last).argmax(dim=-1)  # (B,)
        nxt = nxt.masked_fill(done, PAD)
        ys = torch.cat([ys, nxt[:, None]], dim=1)
        done |= nxt == EOS
        if bool(done.all()):
            break
    return [_strip(row) for row in ys[:, 1:].tolist()]


def _allowed(logits: torch.Tensor) -> torch.Tensor:
    """Next-token logits (B, V) with PAD and BOS ruled out."""
    return logits.index_fill(-1, torch.tensor([PAD, BOS], device=logits.device), float("-inf"))


def _strip(ids: list[int]) -> list[int]:
    out = []
    for i in ids:
        if i in (EOS, PAD):
            break
        out.append(i)
    return out


@torch.no_grad()
def beam_decode(model: Any, src: torch.Tensor, beam: int = 4, max_len: int = 60,
                alpha: float = 1.0) -> list[int]:
    """Beam search for one sentence src (1, S) -> target ids (no BOS/EOS).

    Finished hypotheses are ranked by log-probability / length**alpha (alpha 0: no length
    normalisation). beam 1 is greedy decoding.
    """
    memory = model.encode(src)
    ys = torch.full((1, 1), BOS, dtype=torch.long, device=src.device)
    scores = torch.zeros(1, device=src.device)  # (k,) summed log-probabilities of live beams
    finished: list[tuple[float, list[int]]] = []
    state = None  # the live beams' decoder state, rows in the order of ys
    for step in range(max_len):
        mem = _select(memory, torch.zeros(ys.size(0), dtype=torch.long, device=src.device))
        last, state = _next_logits(model, mem, ys, state)
        logp = F.log_softmax(_allowed(last.float()), dim=-1)  # (k, V)
        vocab = logp.size(-1)
        cand = (scores[:, None] + logp).reshape(-1)  # (k * V,)
        top = cand.topk(min(2 * beam, cand.numel()))
        new_rows, new_scores = [], []
        for score, flat in zip(top.values.tolist(), top.indices.tolist()):
            row, tok = divmod(flat, vocab)
            if tok == EOS:
                length = step + 1
                finished.append((score / (length ** alpha), ys[row, 1:].tolist()))
            else:
                new_rows.append((row, tok))
                new_scores.append(score)
            if len(new_rows) == beam:
                break
        if len(finished) >= beam or not new_rows:
            break
        rows = torch.tensor([r for r, _ in new_rows], device=src.device)
        toks = torch.tensor([t for _, t in new_rows], device=src.device)
        ys = torch.cat([ys[rows], toks[:, None]], dim=1)
        state = _select(state, rows)
        scores = torch.tensor(new_scores, device=src.device)
    if not finished:  # ran to max_len: the best live hypothesis
        length = ys.size(1) - 1
        finished = [(float(s) / (length ** alpha), ys[i, 1:].tolist()) for i, s in enumerate(scores.tolist())]
    return max(finished, key=lambda f: f[0])[1]


@torch.no_grad()
def attention_map(model: Any, src: torch.Tensor, tgt: list[int]) -> torch.Tensor | None:
    """The decoder's attention (T, S) over src (1, S) while reading BOS + tgt (teacher forced)."""
    memory = model.encode(src)
    ys = torch.tensor([[BOS, *tgt]], dtype=torch.long, device=src.device)
    _, attn = model.decode(memory, ys)
    return None if attn is None else attn[0, :, :]
