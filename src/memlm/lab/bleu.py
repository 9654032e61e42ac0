"""Corpus BLEU and chrF, with sacrebleu when it is installed and a faithful fallback otherwise.

The fallback follows sacrebleu's defaults: BLEU-4 with exponential smoothing and the 13a
tokenizer ("zh" splits CJK characters first), chrF with character 6-grams and beta 2.
"""

from __future__ import annotations

import math
import re
from collections import Counter

_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]
_CJK = re.compile(r"([\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f])")


def tokenize_13a(text: str) -> list[str]:
    text = f" {text} "
    for pattern, repl in _13A:
        text = pattern.sub(repl, text)
    return text.split()


def tokenize_zh(text: str) -> list[str]:
    return tokenize_13a(_CJK.sub(r" \1 ", text))


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _own_bleu(hyps: list[str], refs: list[str], tokenize: str) -> float:
    tok = tokenize_zh if tokenize == "zh" else tokenize_13a
    matches, totals, hyp_len, ref_len = [0] * 4, [0] * 4, 0, 0
    for h, r in zip(hyps, refs):
        ht, rt = tok(h), tok(r)
        hyp_len, ref_len = hyp_len + len(ht), ref_len + len(rt)
        for n in range(1, 5):
            hn, rn = _ngrams(ht, n), _ngrams(rt, n)
            matches[n - 1] += sum(min(c, rn[g]) for g, c in hn.items())
            totals[n - 1] += max(0, len(ht) - n + 1)
    if hyp_len == 0 or not any(matches):  # sacrebleu stops early without any match too
        return 0.0
    log_p, k = 0.0, 1.0
    for m, t in zip(matches, totals):
        if t == 0:
            return 0.0
        if m == 0:
            k *= 2
            log_p += math.log(1.0 / (k * t))
        else:
            log_p += math.log(m / t)
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100.0 * bp * math.exp(log_p / 4)


def _own_chrf(hyps: list[str], refs: list[str], order: int = 6, beta: float = 2.0) -> float:
    stats = [[0, 0, 0] for _ in range(order)]  # matches, hyp n-grams, ref n-grams
    for h, r in zip(hyps, refs):
        hc, rc = [c for c in h if not c.isspace()], [c for c in r if not c.isspace()]
        for n in range(1, order + 1):
            hn, rn = _ngrams(hc, n), _ngrams(rc, n)
            stats[n - 1][0] += sum(min(c, rn[g]) for g, c in hn.items())
            stats[n - 1][1] += sum(hn.values())
            stats[n - 1][2] += sum(rn.values())
    score, orders = 0.0, 0
    for matched, n_hyp, n_ref in stats:  # sacrebleu 2: the mean over n-gram orders of each order's F-beta
        prec = matched / n_hyp if n_hyp else 1e-16
        rec = matched / n_ref if n_ref else 1e-16
        denom = beta ** 2 * prec + rec
        score += (1 + beta ** 2) * prec * rec / denom if denom > 0 else 1e-16
        orders += 1 if n_hyp and n_ref else 0
    return 100.0 * score / orders if orders else 0.0


def corpus_bleu(hyps: list[str], refs: list[str], tokenize: str = "13a") -> float:
    """BLEU (0-100) of hypotheses against one reference each; tokenize "zh" for Chinese output."""
    try:
        import sacrebleu
    except ImportError:
        return _own_bleu(hyps, refs, tokenize)
    return float(sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize).score)


def corpus_chrf(hyps: list[str], refs: list[str]) -> float:
    """chrF (0-100) of hypotheses against one reference each."""
    try:
        import sacrebleu
    except ImportError:
        return _own_chrf(hyps, refs)
    return float(sacrebleu.corpus_chrf(hyps, [refs]).score)


def backend() -> str:
    """'sacrebleu' when it is importable, else 'memlm' (the fallback above)."""
    try:
        import sacrebleu  # noqa: F401
    except ImportError:
        return "memlm"
    return "sacrebleu"
