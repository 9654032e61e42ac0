"""memlm.classify and memlm.lab.textclass: file formats, the split, batching, metrics, fine-tuning,
the Classifier API and checkpoint round-trip (a tiny random BERT; the baseline uses real MiniLM)."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from memlm.classify import (
    Classifier,
    FineTuneConfig,
    Prediction,
    fine_tune,
    logreg_baseline,
)
from memlm.lab.textclass import (
    DataError,
    TextClassificationTask,
    load_tokenizer,
    read_examples,
    stratified_split,
)
from memlm.lab.textclass_metrics import classification_metrics, plot_confusion

TINY_BERT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 max_position_embeddings=64)
GOOD = ["great", "excellent", "superb", "happy", "wonderful"]
BAD = ["awful", "terrible", "sad", "horrible", "poor"]


def toy(n: int = 120, seed: int = 0) -> tuple[list[str], list[str]]:
    """A trivially separable two-class dataset: the sentiment word decides the label."""
    rng = random.Random(seed)
    labels = [rng.choice(["pos", "neg"]) for _ in range(n)]
    return [f"results {rng.choice(GOOD if y == 'pos' else BAD)}" for y in labels], labels


def write_all_formats(folder: Path, texts: list[str], labels: list[str]) -> dict[str, Path]:
    rows = [{"text": t, "label": y} for t, y in zip(texts, labels)]
    paths = {fmt: folder / f"data.{fmt}" for fmt in ("csv", "tsv", "jsonl", "json", "txt")}
    for fmt, delim in (("csv", ","), ("tsv", "\t")):
        with open(paths[fmt], "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, ["text", "label"], delimiter=delim)
            writer.writeheader()
            writer.writerows(rows)
    paths["jsonl"].write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    paths["json"].write_text(json.dumps(rows), encoding="utf-8")
    paths["txt"].write_text("\n".join(f"{t}@{y}" for t, y in zip(texts, labels)) + "\n", encoding="utf-8")
    return paths


def tiny_cfg(**kw) -> FineTuneConfig:
    base = dict(epochs=5, batch_size=8, lr=3e-3, threads=1, pretrained=False, bert=dict(TINY_BERT), patience=0,
                max_len=32)
    return FineTuneConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("clf")
    texts, labels = toy()
    data = write_all_formats(folder, texts, labels)["txt"]
    return fine_tune(data, folder / "toy.pt", tiny_cfg())


# -- reading files -----------------------------------------------------------------

def test_all_formats_parse_identically(tmp_path) -> None:
    texts = ["Profit rose, says CEO", 'He said "no"', "mail me @ home", "Sales fell 5 %"]
    labels = ["positive", "neutral", "neutral", "negative"]
    for fmt, path in write_all_formats(tmp_path, texts, labels).items():
        ex = read_examples(path, require_labels=True)
        assert (ex.texts, ex.labels) == (texts, labels), fmt  # txt splits on the LAST '@'


def test_custom_columns_and_unlabelled_files(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"sentence": "a b", "y": 1}\n\n{"sentence": "c", "y": 0}\n', encoding="utf-8")
    ex = read_examples(path, text_column="sentence", label_column="y")
    assert ex.texts == ["a b", "c"] and ex.labels == ["1", "0"]
    csv_path = tmp_path / "d.csv"
    csv_path.write_text("text\nfirst one\nsecond one\n", encoding="utf-8")
    assert read_examples(csv_path).labels is None
    quoted = tmp_path / "q.csv"
    quoted.write_text('text,label\n"two\nlines, quoted",pos\nplain,neg\n', encoding="utf-8")
    assert read_examples(quoted).texts == ["two\nlines, quoted", "plain"]
    lines = tmp_path / "d.txt"
    lines.write_text("just a sentence\nanother one, with no label\n", encoding="utf-8")
    ex = read_examples(lines)
    assert ex.texts == ["just a sentence", "another one, with no label"] and ex.labels is None


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", "", "no examples"),
    ("blank.txt", "\n\n", "no examples"),
    ("cols.csv", "sentence,label\nhello,pos\n", "no 'text' column"),
    ("bad.jsonl", '{"text": "a", "label": "x"}\n{"text": \n', "bad.jsonl:2: invalid JSON"),
    ("nolabel.txt", "one@pos\ntwo without label\n", "nolabel.txt:2: expected 'text@label'"),
    ("partial.csv", "text,label\na,pos\nb,\n", "example 2 has no 'label'"),
])
def test_bad_files_give_clear_errors(tmp_path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        read_examples(path, require_labels=True)


# -- split and batches ----------------------------------------------------------------

def test_split_is_stratified_deterministic_and_disjoint() -> None:
    labels = ["a"] * 500 + ["b"] * 300 + ["c"] * 200
    random.Random(1).shuffle(labels)
    s1, s2, other = stratified_split(labels, seed=7), stratified_split(labels, seed=7), stratified_split(labels, seed=8)
    assert s1 == s2 and s1 != other
    assert sorted(s1["train"] + s1["val"] + s1["test"]) == list(range(1000))
    assert (len(s1["train"]), len(s1["val"]), len(s1["test"])) == (800, 100, 100)
    for part in ("val", "test"):
        counts = Counter(labels[i] for i in s1[part])
        assert counts == {"a": 50, "b": 30, "c": 20}
    with pytest.raises(DataError, match="at least 3 examples"):
        stratified_split(["a"] * 10 + ["b"] * 2)
    with pytest.raises(DataError, match="at least 2 labels"):
        stratified_split(["a"] * 10)


def test_task_batches_cover_an_epoch_with_padding() -> None:
    from memlm.classify import tokenizer_json

    texts, labels = toy(60)
    splits = stratified_split(labels, seed=1)
    task = TextClassificationTask(texts, labels, splits, load_tokenizer(tokenizer_json(True), 16))
    assert task.labels == ["neg", "pos"] and task.model_overrides() == {"n_labels": 2}
    import torch

    gen = torch.Generator().manual_seed(0)
    seen = []
    for _ in range(task.steps_per_epoch(5)):
        x, y = task.batch("train", 5, gen)
        assert x.dim() == 2 and y.shape == (x.size(0),) and x[:, 0].eq(101).all()  # [CLS] first
        seen += [tuple(row[row != 0].tolist()) for row in x]
    train_ids = [tuple(ids) for ids in task.data["train"][0]]
    assert sorted(seen) == sorted(train_ids)  # each training example exactly once per epoch


# -- metrics ----------------------------------------------------------------------

def test_metrics_and_plot(tmp_path) -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    m = classification_metrics([0, 1, 2, 2], probs, ["n", "u", "p"])
    assert m["accuracy"] == 0.75 and m["examples"] == 4
    assert m["per_class"]["p"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1.0 + 2 / 3) / 3)
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    assert 0.5 < m["roc_auc"] <= 1.0
    assert classification_metrics([0, 0], probs[:2], ["n", "u", "p"])["roc_auc"] is None  # a class absent
    # a file with no example of a class, all right: macro scores average the classes that occur
    perfect = classification_metrics([1, 2, 2], probs[1:3].repeat([1, 2], axis=0), ["n", "u", "p"])
    assert perfect["accuracy"] == 1.0 and perfect["macro_f1"] == 1.0 and perfect["per_class"]["n"]["support"] == 0
    png = plot_confusion(m["confusion_matrix"], ["n", "u", "p"], tmp_path / "cm.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


# -- fine-tuning, the Classifier API, round-trip --------------------------------------

def test_tiny_model_learns_separable_data(trained) -> None:
    assert trained["test"]["accuracy"] >= 0.9 and trained["val"]["macro_f1"] >= 0.9
    assert trained["split"] == {"train": 96, "val": 12, "test": 12}
    assert Path(trained["metrics"]).is_file() and Path(trained["confusion_png"]).is_file()
    saved = json.loads(Path(trained["metrics"]).read_text())
    assert saved["test"]["accuracy"] == trained["test"]["accuracy"] and saved["labels"] == ["neg", "pos"]


def test_classifier_round_trip_and_api(trained) -> None:
    clf = Classifier.load(trained["checkpoint"])
    again = Classifier.load(trained["checkpoint"])
    assert clf.labels == ["neg", "pos"]
    texts = ["results superb", "results horrible", "results happy"]
    preds = clf.predict(texts)
    assert all(isinstance(p, Prediction) for p in preds)
    assert [p.label for p in preds] == ["pos", "neg", "pos"]
    for p in preds:
        assert set(p.scores) == {"neg", "pos"} and sum(p.scores.values()) == pytest.approx(1.0)
    assert np.array_equal(clf.probabilities(texts), again.probabilities(texts))  # deterministic reload
    assert clf.predict([]) == []
    ev = clf.evaluate(*toy(40, seed=5))
    assert ev["accuracy"] >= 0.9 and ev["examples"] == 40 and set(ev["per_class"]) == {"neg", "pos"}
    assert {"macro_f1", "roc_auc", "confusion_matrix"} <= set(ev)
    with pytest.raises(ValueError, match="not known"):
        clf.evaluate(["results great"], ["neutral"])


def test_fine_tune_is_deterministic(tmp_path) -> None:
    texts, labels = toy()
    data = write_all_formats(tmp_path, texts, labels)["jsonl"]  # same examples, another format
    again = fine_tune(data, tmp_path / "again.pt", tiny_cfg(epochs=1))
    first = fine_tune(data, tmp_path / "first.pt", tiny_cfg(epochs=1))
    assert [h["loss"] for h in again["history"]] == [h["loss"] for h in first["history"]]
    assert again["test"] == first["test"]
    assert np.array_equal(Classifier.load(again["checkpoint"]).probabilities(texts[:8]),
                          Classifier.load(first["checkpoint"]).probabilities(texts[:8]))


def test_load_rejects_other_files(tmp_path) -> None:
    bogus = tmp_path / "x.pt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a memlm classifier checkpoint"):
        Classifier.load(bogus)


def test_logreg_baseline_on_same_split(tmp_path) -> None:
    texts, labels = toy(60)
    data = write_all_formats(tmp_path, texts, labels)["csv"]
    res = logreg_baseline(data, tmp_path / "base", tiny_cfg())
    assert res["split"] == {"train": 48, "val": 6, "test": 6}
    assert res["test"]["accuracy"] >= 0.8 and Path(res["confusion_png"]).is_file()


def test_importing_classify_does_not_import_torch() -> None:
    code = "import sys, memlm.classify; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
