"""Corpus BLEU and chrF through sacrebleu (the lab extra: pip install 'memlm[lab]').

BLEU-4 with sacrebleu's defaults (exponential smoothing), tokenised with "13a" for English
output and "zh" (each Chinese character a token) for Chinese; chrF with 6-gram characters
and beta 2. Scores are on sacrebleu's 0-100 scale.
"""

from __future__ import annotations

from typing import Any


def _sacrebleu() -> Any:
    try:
        import sacrebleu
    except ImportError:  # pragma: no cover - part of the test and lab installs
        raise ValueError("BLEU and chrF need sacrebleu: pip install 'memlm[lab]'") from None
    return sacrebleu


def corpus_bleu(hyps: list[str], refs: list[str], tokenize: str = "13a") -> float:
    """BLEU of hypotheses against one reference each (0-100)."""
    return float(_sacrebleu().corpus_bleu(hyps, [refs], tokenize=tokenize).score)


def corpus_chrf(hyps: list[str], refs: list[str]) -> float:
    """chrF of hypotheses against one reference each (0-100)."""
    return float(_sacrebleu().corpus_chrf(hyps, [refs]).score)


def backend() -> str:
    """The metric implementation, recorded with every evaluation."""
    return f"sacrebleu {_sacrebleu().__version__}"
