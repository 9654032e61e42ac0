"""Text classification data for the lab: file reading, a seeded stratified split, and a task.

Files: CSV / TSV (header row), JSONL (one object per line) or a JSON array of objects, with
text and label columns (``text`` / ``label`` by default); any other file is one example per
line, ``text@label`` (split on the last '@', as the Financial PhraseBank files), or plain
text lines when no label is needed.

``TextClassificationTask`` plugs into the lab's one training loop: ``batch`` yields padded
WordPiece ids (B, T) and class ids (B,), length-bucketed for speed; ``evaluate`` scores a
whole split (the loop picks the best weights by its ``score``, validation macro-F1).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


class DataError(ValueError):
    """A data file that cannot be used (empty, malformed, missing columns)."""


@dataclass
class Examples:
    texts: list[str]
    labels: list[str] | None  # None when the file has no labels


def read_examples(path: str | Path, text_column: str = "text", label_column: str = "label",
                  require_labels: bool = False) -> Examples:
    """Texts (and labels, when the file has them) from a data file; DataError if unusable."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        rows = _table_rows(raw, TABLE_SUFFIXES[suffix], path)
        ex = _from_rows(rows, text_column, label_column, path)
    elif suffix in JSON_SUFFIXES:
        ex = _from_rows(_json_rows(raw, path), text_column, label_column, path)
    else:
        ex = _from_lines(raw, path, require_labels)
    if not ex.texts:
        raise DataError(f"{path}: no examples")
    if require_labels and ex.labels is None:
        raise DataError(f"{path}: no labels (expected a {label_column!r} column or text@label lines)")
    return ex


def _table_rows(raw: str, delimiter: str, path: Path) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter)  # quoted newlines kept
    try:
        return [row for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    except csv.Error as exc:
        raise DataError(f"{path}: malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {exc}") from exc


def _json_rows(raw: str, path: Path) -> list[dict[str, Any]]:
    if raw.lstrip().startswith("["):
        try:
            rows = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: invalid JSON: {exc}") from exc
    else:
        rows = []
        for n, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{n}: invalid JSON: {exc.msg}") from exc
    if not all(isinstance(r, dict) for r in rows):
        raise DataError(f"{path}: expected JSON objects with text and label fields")
    return rows


def _from_rows(rows: list[dict[str, Any]], text_column: str, label_column: str, path: Path) -> Examples:
    if not rows:
        return Examples([], None)
    if any(text_column not in r for r in rows):
        columns = sorted({k for r in rows for k in r if k is not None})
        raise DataError(f"{path}: no {text_column!r} column (found: {', '.join(map(str, columns))}); "
                        "set --text-column")
    texts = [str(r[text_column] or "").strip() for r in rows]
    has = [label_column in r and r[label_column] not in (None, "") for r in rows]
    if not any(has):
        return Examples(texts, None)
    if not all(has):
        raise DataError(f"{path}: example {has.index(False) + 1} has no {label_column!r} value")
    return Examples(texts, [str(r[label_column]).strip() for r in rows])


def _from_lines(raw: str, path: Path, require_labels: bool) -> Examples:
    lines = [(n, line.strip()) for n, line in enumerate(raw.splitlines(), 1) if line.strip()]
    texts, labels, bad = [], [], None
    for n, line in lines:
        text, at, label = line.rpartition("@")
        if not at or not text.strip() or not label.strip() or " " in label.strip():
            bad = bad or n
        texts.append(text.strip())
        labels.append(label.strip())
    if bad is None:
        return Examples(texts, labels)
    if require_labels:
        raise DataError(f"{path}:{bad}: expected 'text@label' (or use a .csv/.tsv/.jsonl file)")
    return Examples([line for _, line in lines], None)  # plain text, one per line


def stratified_split(labels: Sequence[str], val_frac: float = 0.1, test_frac: float = 0.1,
                     seed: int = 1337) -> dict[str, list[int]]:
    """Seeded stratified split of example indices into train / val / test (sorted lists)."""
    from sklearn.model_selection import train_test_split

    if not (0 < val_frac < 1 and 0 < test_frac < 1 and val_frac + test_frac < 1):
        raise DataError("val and test fractions must be in (0, 1) and sum to less than 1")
    counts = Counter(labels)
    if len(counts) < 2:
        raise DataError(f"need at least 2 labels, found {len(counts)}")
    rare = [label for label, c in counts.items() if c < 3]
    if rare:
        raise DataError(f"each label needs at least 3 examples for a stratified split; too few: {', '.join(rare)}")
    idx = np.arange(len(labels))
    y = np.asarray(labels)
    try:
        rest, test = train_test_split(idx, test_size=test_frac, stratify=y, random_state=seed)
        train, val = train_test_split(rest, test_size=val_frac / (1 - test_frac), stratify=y[rest],
                                      random_state=seed)
    except ValueError as exc:  # too few examples for the requested fractions
        raise DataError(f"cannot split {len(labels)} examples: {exc}") from exc
    return {"train": sorted(train.tolist()), "val": sorted(val.tolist()), "test": sorted(test.tolist())}


def load_tokenizer(tokenizer_json: str, max_len: int):
    """A `tokenizers` WordPiece tokenizer from its JSON text, truncating to max_len, no padding."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json)
    tok.no_padding()  # batches are padded to their own longest text
    tok.enable_truncation(max_length=max_len)
    return tok


def pad_batch(seqs: Sequence[Sequence[int]]):
    """Token id lists -> (B, T) long tensor padded with 0 ([PAD]) to the longest."""
    import torch

    width = max(len(s) for s in seqs)
    out = torch.zeros(len(seqs), width, dtype=torch.long)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches of similar length (longest first): little padding for inference."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class TextClassificationTask:
    """Tokenised splits of a labelled dataset, batched for the lab's training loop."""

    name = "classify"
    kind = "classify"

    def __init__(self, texts: Sequence[str], labels: Sequence[str], splits: dict[str, list[int]],
                 tokenizer: Any, label_names: Sequence[str] | None = None, eval_batch_size: int = 64,
                 bucket: int = 50) -> None:
        self.labels = list(label_names or sorted(set(labels)))  # class id -> name
        index = {name: i for i, name in enumerate(self.labels)}
        self.vocab_size = tokenizer.get_vocab_size()
        ids = [enc.ids for enc in tokenizer.encode_batch(list(texts))]
        self.data = {s: ([ids[i] for i in idx], [index[labels[i]] for i in idx]) for s, idx in splits.items()}
        self.texts = {s: [texts[i] for i in idx] for s, idx in splits.items()}
        self.eval_batch_size, self.bucket = eval_batch_size, bucket  # bucket: batches sorted together
        self._queue: list[list[int]] = []

    def model_overrides(self) -> dict[str, Any]:
        return {"n_labels": len(self.labels)}

    def decode(self, ids: list[int]) -> str:  # the classifier keeps its tokenizer, not a vocab
        return " ".join(map(str, ids))

    def batch(self, split: str, batch_size: int, generator):
        """(ids (B, T), class ids (B,)); train batches walk shuffled, length-bucketed epochs."""
        import torch

        seqs, ys = self.data[split]
        if split != "train":
            pick = torch.randint(len(seqs), (batch_size,), generator=generator).tolist()
        else:
            if not self._queue:
                self._queue = self._epoch(batch_size, generator)
            pick = self._queue.pop()
        return pad_batch([seqs[i] for i in pick]), torch.tensor([ys[i] for i in pick], dtype=torch.long)

    def _epoch(self, batch_size: int, generator) -> list[list[int]]:
        """One shuffled pass over train: chunks of bucket*batch_size sorted by length, cut into
        batches, batches shuffled (popped from the end)."""
        import torch

        seqs = self.data["train"][0]
        perm = torch.randperm(len(seqs), generator=generator).tolist()
        chunk, batches = batch_size * self.bucket, []
        for start in range(0, len(perm), chunk):
            part = sorted(perm[start : start + chunk], key=lambda i: len(seqs[i]))
            batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
        order = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in order]

    def steps_per_epoch(self, batch_size: int) -> int:
        return -(-len(self.data["train"][0]) // batch_size)

    def probabilities(self, model, split: str) -> tuple[np.ndarray, np.ndarray, float]:
        """(class probabilities (N, C), true class ids (N,), mean loss) over a whole split."""
        probs, loss = predict_ids(model, self.data[split][0], self.data[split][1], self.eval_batch_size)
        return probs, np.asarray(self.data[split][1]), loss

    def evaluate(self, model, split: str = "val") -> dict[str, Any]:
        """Loss, accuracy and macro-F1 on a whole split; ``score`` (macro-F1) picks the best weights."""
        from sklearn.metrics import f1_score

        probs, y, loss = self.probabilities(model, split)
        pred = probs.argmax(1)
        macro = float(f1_score(y, pred, average="macro", labels=list(range(len(self.labels))), zero_division=0))
        return {"loss": loss, "accuracy": float((pred == y).mean()), "macro_f1": macro, "score": macro,
                "examples": len(y)}


def predict_ids(model, seqs: Sequence[Sequence[int]], targets: Sequence[int] | None = None,
                batch_size: int = 64) -> tuple[np.ndarray, float]:
    """Class probabilities (N, C) in input order, and the mean loss when targets are given."""
    import torch

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: np.ndarray | None = None
    loss_sum = 0.0
    with torch.inference_mode():
        for idx in sorted_batches([len(s) for s in seqs], batch_size):
            y = torch.tensor([targets[i] for i in idx], device=device) if targets is not None else None
            logits, loss = model(pad_batch([seqs[i] for i in idx]).to(device), y)
            if out is None:
                out = np.zeros((len(seqs), logits.size(-1)), dtype=np.float64)
            out[idx] = torch.softmax(logits.double(), dim=-1).cpu().numpy()
            loss_sum += float(loss) * len(idx) if loss is not None else 0.0
    model.train(was_training)
    assert out is not None, "no sequences"
    return out, loss_sum / max(len(seqs), 1)
