"""`memlm train classifier` and `memlm classify` via CliRunner, on a tiny random BERT."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from memlm.cli import main

TINY_BERT = json.dumps(dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            max_position_embeddings=64))
GOOD = ["great", "excellent", "superb", "happy", "wonderful"]
BAD = ["awful", "terrible", "sad", "horrible", "poor"]


def toy_csv(path, n: int = 120, seed: int = 0, labelled: bool = True):
    rng = random.Random(seed)
    lines = ["review,sentiment" if labelled else "review"]
    for _ in range(n):
        y = rng.choice(["pos", "neg"])
        text = f"results {rng.choice(GOOD if y == 'pos' else BAD)}"
        lines.append(f"{text},{y}" if labelled else text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    data = toy_csv(folder / "toy.csv")
    out = folder / "toy.pt"
    res = CliRunner().invoke(main, [
        "train", "classifier", "--data", str(data), "--out", str(out), "--text-column", "review",
        "--label-column", "sentiment", "--bert", TINY_BERT, "--lr", "3e-3", "--batch-size", "8", "--max-len", "32",
        "--patience", "0", "--threads", "1", "--no-progress"])
    assert res.exit_code == 0, res.output
    return folder, json.loads(res.output)


def test_train_reports_test_scores_and_writes_files(trained) -> None:
    folder, out = trained
    assert out["labels"] == ["neg", "pos"] and out["split"] == {"train": 96, "val": 12, "test": 12}
    assert out["test"]["accuracy"] >= 0.9 and set(out["test"]["per_class"]) == {"neg", "pos"}
    for key in ("checkpoint", "metrics", "confusion_png"):
        assert (folder / out[key].split("/")[-1]).is_file()


def test_classify_texts(trained) -> None:
    _, out = trained
    res = CliRunner().invoke(main, ["classify", out["checkpoint"], "results superb", "results awful"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [r["label"] for r in rows] == ["pos", "neg"] and rows[0]["text"] == "results superb"
    assert sum(rows[0]["scores"].values()) == pytest.approx(1.0)
    plain = CliRunner().invoke(main, ["classify", out["checkpoint"], "results superb", "--plain"])
    assert plain.exit_code == 0 and plain.output.startswith("pos")


def test_classify_labelled_and_unlabelled_files(trained, tmp_path) -> None:
    _, out = trained
    env = {"MEMLM_TEXT_COLUMN": "review", "MEMLM_LABEL_COLUMN": "sentiment"}
    labelled = toy_csv(tmp_path / "eval.csv", n=30, seed=9)
    res = CliRunner().invoke(main, ["classify", out["checkpoint"], "--file", str(labelled)], env=env)
    assert res.exit_code == 0, res.output
    scores = json.loads(res.output)
    assert scores["examples"] == 30 and scores["accuracy"] >= 0.9 and scores["macro_f1"] >= 0.9
    assert set(scores["per_class"]) == {"neg", "pos"} and "f1" in scores["per_class"]["pos"]

    folder, _ = trained  # --split test: the very test split of training, same scores
    res = CliRunner().invoke(main, ["classify", out["checkpoint"], "--file", str(folder / "toy.csv"),
                                    "--split", "test"], env=env)
    assert res.exit_code == 0, res.output
    again = json.loads(res.output)
    assert again["examples"] == 12 and again["accuracy"] == out["test"]["accuracy"]
    assert again["macro_f1"] == out["test"]["macro_f1"]

    unlabelled = toy_csv(tmp_path / "texts.csv", n=5, labelled=False)
    res = CliRunner().invoke(main, ["classify", out["checkpoint"], "--file", str(unlabelled)], env=env)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert len(rows) == 5 and all(r["label"] in ("neg", "pos") for r in rows)


def test_bad_input_gives_one_line_error(trained, tmp_path) -> None:
    _, out = trained
    bad = tmp_path / "bad.txt"
    bad.write_text("a sentence@pos\nno label here\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["train", "classifier", "--data", str(bad), "--out", str(tmp_path / "x.pt")])
    assert res.exit_code != 0 and "bad.txt:2: expected 'text@label'" in res.output
    assert "Traceback" not in res.output

    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    res = CliRunner().invoke(main, ["classify", out["checkpoint"], "--file", str(empty)])
    assert res.exit_code != 0 and "no examples" in res.output

    res = CliRunner().invoke(main, ["classify", str(bad), "some text"])  # not a checkpoint
    assert res.exit_code != 0 and "not a memlm classifier checkpoint" in res.output
    assert len(res.output.strip().splitlines()) == 1

    res = CliRunner().invoke(main, ["classify", out["checkpoint"]])  # neither texts nor --file
    assert res.exit_code != 0 and "give either TEXTS or --file" in res.output
