"""`memlm train classifier` (fine-tune MiniLM to classify text) and `memlm classify` (use it)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

TEXT_COL = click.option("--text-column", default="text", show_default=True, envvar="MEMLM_TEXT_COLUMN",
                        help="Text column / field in CSV, TSV, JSONL. [env MEMLM_TEXT_COLUMN]")
LABEL_COL = click.option("--label-column", default="label", show_default=True, envvar="MEMLM_LABEL_COLUMN",
                         help="Label column / field. [env MEMLM_LABEL_COLUMN]")


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _bert_config(text: str | None) -> dict[str, Any]:
    """--bert: BertConfig fields as JSON text or a JSON file (a randomly initialised encoder)."""
    if not text:
        return {}
    try:
        raw = Path(text).read_text(encoding="utf-8") if Path(text).is_file() else text
        data = json.loads(raw)
    except (OSError, json.JSONDecodeError) as exc:
        raise click.UsageError(f"--bert: not a JSON object or JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise click.UsageError("--bert: expected a JSON object of BertConfig fields")
    return data


def _fmt(x: Any) -> str:
    return "-" if x is None else f"{x:.4f}"


def _render_scores(m: dict[str, Any]) -> str:
    head = (f"accuracy {_fmt(m['accuracy'])}  macro-F1 {_fmt(m['macro_f1'])}  ROC-AUC {_fmt(m.get('roc_auc'))}"
            f"  examples {m['examples']}")
    lines = [head]
    lines += [f"  {name:<16} F1 {_fmt(s['f1'])}  P {_fmt(s['precision'])}  R {_fmt(s['recall'])}  n={s['support']}"
              for name, s in m["per_class"].items()]
    return "\n".join(lines)


@click.command("classifier")
@click.option("--data", "data", required=True, envvar="MEMLM_CLASSIFIER_DATA",
              type=click.Path(exists=True, dir_okay=False),
              help="Labelled CSV / TSV / JSONL, or text@label lines. [env MEMLM_CLASSIFIER_DATA]")
@click.option("--out", "out", default="out/classifier.pt", show_default=True, envvar="MEMLM_CLASSIFIER_OUT",
              help="Checkpoint path (metrics JSON and confusion PNG go next to it); with --baseline, the "
                   "prefix of those files. [env MEMLM_CLASSIFIER_OUT]")
@TEXT_COL
@LABEL_COL
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=8e-5, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Peak learning rate (linear warmup, then cosine to 0).")
@click.option("--warmup", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="Share of the steps spent warming up.")
@click.option("--weight-decay", default=0.01, show_default=True, type=click.FloatRange(min=0))
@click.option("--dropout", default=0.1, show_default=True, type=click.FloatRange(0, 1, max_open=True))
@click.option("--pooling", default="mean", show_default=True, type=click.Choice(["mean", "cls"]))
@click.option("--max-len", default=128, show_default=True, type=click.IntRange(8, 512), help="Tokens per text.")
@click.option("--patience", default=2, show_default=True, type=click.IntRange(min=0),
              help="Validation passes without a better macro-F1 before stopping (0 = off).")
@click.option("--evals-per-epoch", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--train-embeddings", is_flag=True, help="Also fine-tune the word-embedding matrix (slower).")
@click.option("--val-frac", default=0.1, show_default=True, type=float)
@click.option("--test-frac", default=0.1, show_default=True, type=float)
@click.option("--seed", default=1337, show_default=True, envvar="MEMLM_SEED")
@click.option("--threads", default=2, show_default=True, envvar="MEMLM_THREADS", type=click.IntRange(min=1),
              help="Torch CPU threads. [env MEMLM_THREADS]")
@click.option("--max-seconds", default=0.0, show_default=True, help="Training time budget (0 = none).")
@click.option("--model-dir", default=None, envvar="MEMLM_CLASSIFIER_MODEL",
              help="Another Hugging Face BERT folder to start from (default: packaged all-MiniLM-L6-v2).")
@click.option("--bert", "bert", default=None,
              help="BertConfig fields (JSON text or file) for a randomly initialised encoder, e.g. for tests.")
@click.option("--baseline", type=click.Choice(["logreg"]), default=None,
              help="Instead of fine-tuning: frozen MiniLM vectors + logistic regression, same split.")
@click.option("--plain", is_flag=True, help="Human-readable output instead of JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: if a terminal).")
def train_classifier(data: str, out: str, text_column: str, label_column: str, epochs: int, batch_size: int,
                     lr: float, warmup: float, weight_decay: float, dropout: float, pooling: str, max_len: int,
                     patience: int, evals_per_epoch: int, train_embeddings: bool, val_frac: float, test_frac: float,
                     seed: int, threads: int, max_seconds: float, model_dir: str | None, bert: str | None,
                     baseline: str | None, plain: bool, progress: bool | None) -> None:
    """Fine-tune the MiniLM encoder + a classification head on --data; report test-split scores.

    The data is split train/validation/test (seeded, stratified); validation picks the best
    weights, the test split is only scored. Prints the summary as JSON (or --plain).
    """
    _offline()
    from memlm.classify import FineTuneConfig, fine_tune, logreg_baseline
    from memlm.lab.textclass import DataError

    bert_cfg = _bert_config(bert)
    if model_dir and not Path(model_dir).is_dir():
        raise click.UsageError(f"--model-dir {model_dir}: not a folder")
    cfg = FineTuneConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, warmup=warmup, weight_decay=weight_decay, dropout=dropout,
        pooling=pooling, max_len=max_len, patience=patience, evals_per_epoch=evals_per_epoch,
        freeze_embeddings=not train_embeddings, val_frac=val_frac, test_frac=test_frac, seed=seed,
        threads=threads, max_seconds=max_seconds, pretrained=False if bert_cfg else (model_dir or True),
        bert=bert_cfg, text_column=text_column, label_column=label_column,
    )
    show = sys.stderr.isatty() if progress is None else progress
    try:
        if baseline:
            prefix = Path(out).with_suffix("")
            if not prefix.name.endswith("-logreg"):  # keep apart from the fine-tuned model's files
                prefix = prefix.with_name(prefix.name + "-logreg")
            result = logreg_baseline(data, prefix, cfg)
        else:
            result = fine_tune(data, out, cfg, progress=show)
    except DataError as exc:
        raise click.UsageError(str(exc)) from exc
    keys = (
        "baseline",
        "data",
        "labels",
        "examples",
        "split",
        "params",
        "trainable_params",
        "iters",
        "epochs",
        "stopped",
        "C",
        "train_seconds",
        "seconds",
        "test",
        "checkpoint",
        "metrics",
        "confusion_png",
    )
    brief = {k: result[k] for k in keys if k in result}
    brief["test"] = {k: v for k, v in result["test"].items() if k != "confusion_matrix"}
    if not plain:
        click.echo(json.dumps(brief, indent=2))
        return
    click.echo(
        f"{'baseline ' + baseline if baseline else 'fine-tuned'}: {result['examples']} examples, "
        f"split {result['split']}, {result['seconds']:.0f} s"
    )
    click.echo("test split: " + _render_scores(result["test"]))
    for key in ("checkpoint", "metrics", "confusion_png"):
        if key in result:
            click.echo(f"{key}: {result[key]}")


def _split_part(ex: Any, split: str, config: dict[str, Any]) -> Any:
    """The examples of one part of the seeded split the checkpoint was trained with."""
    from memlm.lab.textclass import DataError, Examples, stratified_split

    if ex.labels is None:
        raise DataError("--split needs a labelled file")
    parts = stratified_split(
        ex.labels, config.get("val_frac", 0.1), config.get("test_frac", 0.1), config.get("seed", 1337)
    )
    return Examples([ex.texts[i] for i in parts[split]], [ex.labels[i] for i in parts[split]])


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("texts", nargs=-1)
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False),
    help="Texts to classify (CSV / TSV / JSONL / text@label / one per line); with labels, scores them.",
)
@click.option(
    "--split",
    "split",
    type=click.Choice(["train", "val", "test"]),
    default=None,
    help="Only this part of --file, split as in training (the checkpoint's seed and fractions).",
)
@TEXT_COL
@LABEL_COL
@click.option("--plain", is_flag=True, help="Human-readable output instead of JSON.")
def classify(
    checkpoint: str,
    texts: tuple[str, ...],
    file: str | None,
    split: str | None,
    text_column: str,
    label_column: str,
    plain: bool,
) -> None:
    """Classify TEXTS (or the texts of --file) with a CHECKPOINT from `memlm train classifier`.

    Without labels: one JSON object per text (label and per-class probabilities). When --file
    carries labels: one JSON object with accuracy, macro_f1, examples and per-class scores.
    """
    _offline()
    from memlm.classify import Classifier
    from memlm.lab.textclass import DataError, read_examples

    if bool(texts) == bool(file):
        raise click.UsageError("give either TEXTS or --file")
    try:
        clf = Classifier.load(checkpoint)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from exc
    if file:
        try:
            ex = read_examples(file, text_column, label_column)
            if split:
                ex = _split_part(ex, split, clf.info.get("config", {}))
        except DataError as exc:
            raise click.UsageError(str(exc)) from exc
        if ex.labels is not None:
            try:
                scores = clf.evaluate(ex.texts, ex.labels)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
            out = {k: v for k, v in scores.items() if k != "confusion_matrix"}
            out["labels"] = clf.labels
            out["confusion_matrix"] = scores["confusion_matrix"]
            click.echo(_render_scores(scores) if plain else json.dumps(out))
            return
        texts = tuple(ex.texts)
    for text, pred in zip(texts, clf.predict(list(texts))):
        if plain:
            probs = "  ".join(f"{k} {v:.3f}" for k, v in pred.scores.items())
            click.echo(f"{pred.label:<12} {probs}  | {text}")
        else:
            click.echo(json.dumps({"text": text, "label": pred.label, "scores": pred.scores}, ensure_ascii=False))
