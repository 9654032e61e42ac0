"""`memlm train translate` -> `memlm translate` -> `memlm eval CHECKPOINT translate`, and bad input, via CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memlm.cli import main

SUBJ = [("I", "我"), ("you", "你"), ("he", "他"), ("she", "她")]
VERB = [("love", "爱"), ("see", "看见"), ("help", "帮助")]
TINY = ["--n_embd=16", "--n_hidden=24", "--max_iters=8", "--eval_interval=4", "--batch_size=8", "--min_count=1",
        "--warmup_iters=1", "--no-progress"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("translate")
    data = tmp / "cmn.txt"
    data.write_text("\n".join(f"{a} {v} {b}.\t{za}{zv}{zb}。\tattribution" for a, za in SUBJ for v, zv in VERB
                              for b, zb in SUBJ) + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["train", "translate", "--model", "gru-attn", "--direction", "en-zh", *TINY,
                                    f"--data={data}", f"--out_dir={tmp}"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output), tmp


def test_train_translate_eval(trained) -> None:
    out, _ = trained
    assert out["model"] == "seq2seq-gru-attn" and out["iters"] == 8 and out["checkpoint"].endswith("gru-attn-en-zh.pt")
    runner = CliRunner()
    res = runner.invoke(main, ["translate", out["checkpoint"], "I love you.", "--beam", "2"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    assert got["source"] == "I love you." and got["beam"] == 2 and isinstance(got["translation"], str)
    plain = runner.invoke(main, ["translate", out["checkpoint"], "I love you.", "--plain"])
    assert plain.exit_code == 0 and not plain.output.startswith("{")
    res = runner.invoke(main, ["eval", out["checkpoint"], "translate", "--limit=5"])
    assert res.exit_code == 0, res.output
    ev = json.loads(res.output)
    assert ev["test_sentences"] <= 5 and {"bleu", "chrf", "by_length"} <= set(ev) and ev["bleu_tokenize"] == "zh"


def test_train_plain(tmp_path, trained) -> None:
    _, tmp = trained
    res = CliRunner().invoke(main, ["train", "translate", "--model", "transformer", "--plain", "--n_layer=1",
                                    "--n_head=2", "--n_embd=16", "--max_iters=2", "--eval_interval=1", "--min_count=1",
                                    "--batch_size=4", "--no-progress", f"--data={tmp / 'cmn.txt'}",
                                    f"--out_dir={tmp_path}"])
    assert res.exit_code == 0, res.output
    assert "valid_loss:" in res.output and "seq2seq-transformer" in res.output


@pytest.mark.parametrize("text, message", [("", "empty"), ("   ", "empty"), ("qqq zzz", "vocabulary")])
def test_translate_bad_text(trained, text, message) -> None:
    out, _ = trained
    res = CliRunner().invoke(main, ["translate", out["checkpoint"], text])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_non_translation_checkpoints(tmp_path, trained) -> None:
    out, _ = trained
    runner = CliRunner()
    lm = runner.invoke(main, ["train", "transformer", "charlm", "--n_layer=1", "--n_head=2", "--n_embd=16",
                              "--block_size=16", "--max_iters=1", "--eval_iters=1", "--batch_size=2",
                              f"--out_dir={tmp_path}", "--no-progress"])
    assert lm.exit_code == 0, lm.output
    lm_ckpt = json.loads(lm.output)["checkpoint"]
    for args in (["translate", lm_ckpt, "hello"], ["eval", lm_ckpt, "translate"]):
        res = runner.invoke(main, args)
        assert res.exit_code == 1 and "not a translation model" in res.output
        assert len(res.output.strip().splitlines()) == 1
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    res = runner.invoke(main, ["translate", str(junk), "hello"])
    assert res.exit_code == 1 and "not a memlm lab checkpoint" in res.output
    res = runner.invoke(main, ["sample", out["checkpoint"]])
    assert res.exit_code == 1 and "translation model" in res.output
    res = runner.invoke(main, ["train", "translate", "--model", "gru", "--nonsense=1", "--max_iters=1",
                               f"--out_dir={tmp_path}"])
    assert res.exit_code != 0 and "nonsense" in res.output
