"""Fine-tuning the retrieval encoder: pairs files, training, the model folder and its name."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from memlm.cli import main
from memlm.encoders import MiniLMEncoder, get_encoder
from memlm.encoders.finetune import FinetuneConfig, PairsError, finetune, load_pairs

# arbitrary associations the base model cannot know: only training can pull these pairs together
PAIRS = [
    ("project bluebird", "Maya: the invoice for the roof repair is overdue"),
    ("project kestrel", "Omar: I finally finished knitting the green scarf"),
    ("project heron", "Lena: our flight to Osaka got cancelled again"),
    ("project falcon", "Tom: the sourdough starter smells like vinegar"),
    ("project magpie", "Ivy: my piano teacher moved to Berlin"),
    ("project osprey", "Raj: the garage door sensor keeps beeping"),
]


def _gap(encoder) -> float:
    """Mean cosine of the trained pairs minus the mean cosine of mismatched ones."""
    q = encoder.encode([a for a, _ in PAIRS])
    m = encoder.encode([b for _, b in PAIRS])
    sims = q @ m.T
    n = len(PAIRS)
    return float(np.trace(sims) / n - (sims.sum() - np.trace(sims)) / (n * n - n))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short training run through `memlm train encoder` (a few steps on 6 pairs)."""
    root = tmp_path_factory.mktemp("ft")
    pairs = root / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"query": q, "memory": m}) + "\n" for q, m in PAIRS))
    out = root / "model"
    result = CliRunner().invoke(main, ["train", "encoder", "--pairs", str(pairs), "--out", str(out), "--epochs", "4",
                                       "--batch-size", "6", "--lr", "1e-4", "--max-seq-length", "24"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


@pytest.mark.slow
def test_training_pulls_the_pairs_together(trained):
    out, info = trained
    assert info["steps"] == 4 and info["pairs"] == len(PAIRS) and info["last_loss"] < info["first_loss"]
    base, tuned = MiniLMEncoder("torch"), get_encoder(f"minilm:torch@{out}")
    assert _gap(tuned) > _gap(base) + 0.05


@pytest.mark.slow
def test_model_folder_loads_under_its_own_name(trained, tmp_path):
    out, info = trained
    for name in ("model.safetensors", "config.json", "tokenizer.json", "vocab.txt", "modules.json"):
        assert (out / name).is_file()
    tuned = get_encoder(f"minilm:torch@{out}")
    assert tuned.name == info["name"] and tuned.name.startswith("all-MiniLM-L6-v2-ft-") and len(tuned.name) == 32
    assert info["spec"] == f"minilm@{out.resolve()}"
    assert get_encoder(f"minilm:int8@{out}").name == tuned.name + "-int8"
    assert MiniLMEncoder("torch").name == "all-MiniLM-L6-v2"  # the packaged model keeps its name
    from memlm import Memory

    with Memory(tmp_path / "ft.db", encoder=tuned) as mem:
        mem.add("the garage door sensor keeps beeping", user_id="u")
    with Memory(tmp_path / "ft.db", encoder=MiniLMEncoder("torch")) as mem, \
            pytest.raises(ValueError, match="built with encoder 'all-MiniLM-L6-v2-ft-"):
        mem.search("garage", user_id="u")


def test_output_folder_must_be_new(trained):
    out, _ = trained
    with pytest.raises(ValueError, match="not empty"):
        finetune(PAIRS, out, FinetuneConfig(max_steps=1))


def test_pairs_formats(tmp_path):
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"query": "q1", "memory": "m1"}\n\n{"query": " q2 ", "memory": "m2", "extra": 1}\n')
    assert load_pairs(jsonl) == [("q1", "m1"), ("q2", "m2")]
    csv_file = tmp_path / "p.csv"
    csv_file.write_text('memory,query\n"m, one",q1\nm2,q2\n')
    assert load_pairs(csv_file) == [("q1", "m, one"), ("q2", "m2")]
    tsv = tmp_path / "p.tsv"
    tsv.write_text("query\tmemory\nq1\tm1\n")
    assert load_pairs(tsv) == [("q1", "m1")]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.jsonl", "", "holds no pairs"),
    ("blank.jsonl", "\n\n", "holds no pairs"),
    ("bad.jsonl", '{"query": "q", "memory": "m"}\n{oops\n', "bad.jsonl:2: not valid JSON"),
    ("list.jsonl", '["q", "m"]\n', "expected an object"),
    ("nokey.jsonl", '{"query": "q"}\n', "'memory' must be a non-empty string"),
    ("blankq.jsonl", '{"query": "  ", "memory": "m"}\n', "'query' must be a non-empty string"),
    ("cols.csv", "question,answer\nq,m\n", "needs a header with 'query' and 'memory'"),
    ("short.csv", "query,memory\nq\n", "short.csv:2: 'memory' must be"),
])
def test_pairs_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PairsError, match=message):
        load_pairs(path)


def test_missing_file_and_too_few_pairs(tmp_path):
    with pytest.raises(PairsError, match="does not exist"):
        load_pairs(tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="at least 2 pairs"):
        finetune(PAIRS[:1], tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--pairs", "{missing}"], "does not exist"),
    (["--pairs", "{bad}"], "not valid JSON"),
    (["--pairs", "{good}", "--max-steps", "0"], "--max-steps"),
    (["--pairs", "{good}", "--base", "{tmp}"], "not a model folder"),
])
def test_cli_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    (tmp_path / "good.jsonl").write_text('{"query": "q", "memory": "m"}\n{"query": "q2", "memory": "m2"}\n')
    paths = {"missing": tmp_path / "nope.jsonl", "bad": tmp_path / "bad.jsonl", "good": tmp_path / "good.jsonl",
             "tmp": tmp_path}
    argv = ["train", "encoder", "--out", str(tmp_path / "out")] + [a.format(**paths) for a in args]
    result = CliRunner().invoke(main, argv)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]
    assert not (tmp_path / "out").exists()
