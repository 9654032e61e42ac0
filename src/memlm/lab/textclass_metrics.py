"""Classification metrics (sklearn) and the confusion-matrix plot (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def classification_metrics(
    y_true: Sequence[int] | np.ndarray, probs: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1, per-class scores, one-vs-rest ROC-AUC, confusion matrix.

    ``y_true`` holds class ids into ``labels``; ``probs`` is (N, C) class probabilities.
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    y = np.asarray(y_true)
    pred = np.asarray(probs).argmax(1)
    ids = list(range(len(labels)))
    p, r, f, support = precision_recall_fscore_support(y, pred, labels=ids, zero_division=0)
    # macro averages over the classes that occur (as truth or prediction): a file without any
    # example of a class would otherwise count that class as an F1 of 0
    seen = sorted(set(y.tolist()) | set(pred.tolist()))
    macro = precision_recall_fscore_support(y, pred, labels=seen, average="macro", zero_division=0)
    per_class = {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
        for i, name in enumerate(labels)
    }
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "macro_precision": float(macro[0]),
        "macro_recall": float(macro[1]),
        "macro_f1": float(macro[2]),
        "roc_auc": roc_auc(y, probs, len(labels)),
        "examples": len(y),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y, pred, labels=ids).tolist(),  # rows: true, columns: predicted
    }


def roc_auc(y: np.ndarray, probs: np.ndarray, n_labels: int) -> float | None:
    """Macro one-vs-rest ROC-AUC (binary: of the second class); None if a class is absent."""
    from sklearn.metrics import roc_auc_score

    if len(set(y.tolist())) < n_labels:
        return None
    if n_labels == 2:
        return float(roc_auc_score(y, probs[:, 1]))
    return float(roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=list(range(n_labels))))


def plot_confusion(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path, title: str = "Confusion matrix"
) -> Path:
    """Write a confusion-matrix PNG (counts in the cells; rows true, columns predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(matrix)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 1.2 + 0.9 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = m.max() / 2 if m.size else 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color="white" if m[i, j] > threshold else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
