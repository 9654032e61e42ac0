"""`memlm train` -> `memlm eval` -> `memlm sample`, and `memlm lab report --quick`, via CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from memlm.cli import main

TINY = ["--n_layer=1", "--n_head=2", "--n_embd=16", "--block_size=16", "--max_iters=6", "--eval_interval=3",
        "--eval_iters=1", "--batch_size=4"]


def test_train_eval_sample(tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["train", "transformer", "charlm", *TINY, f"--out_dir={tmp_path}", "--no-progress"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["iters"] == 6 and out["task_kwargs"] == {"block_size": 16}
    ckpt = out["checkpoint"]
    assert ckpt.endswith("transformer-charlm.pt")

    res = runner.invoke(main, ["eval", ckpt, "charlm", "--iters", "2", "--batch-size", "3"])
    assert res.exit_code == 0, res.output
    ev = json.loads(res.output)
    assert ev["task"] == "charlm" and ev["model"] == "transformer" and ev["examples"] == 6
    assert ev["bits_per_char"] > 0 and "accuracy" not in ev

    res = runner.invoke(main, ["sample", ckpt, "--prompt", "ROMEO:", "--max-new-tokens", "20", "--seed", "1"])
    assert res.exit_code == 0, res.output
    text = res.output.rstrip("\n")
    assert text.startswith("ROMEO:") and len(text) == 26
    again = runner.invoke(main, ["sample", ckpt, "--prompt", "ROMEO:", "--max-new-tokens", "20", "--seed", "1"])
    assert again.output == res.output


def test_train_with_toml_config_and_plain_output(tmp_path) -> None:
    conf = tmp_path / "run.toml"
    conf.write_text('[train]\nmax_iters = 2\neval_interval = 1\neval_iters = 1\nbatch_size = 2\n'
                    '[model]\nn_layer = 1\nn_embd = 8\nn_hidden = 8\n')
    res = CliRunner().invoke(main, ["train", "gru", "charlm", "--config", str(conf), f"--out_dir={tmp_path}",
                                    "--block_size", "8", "--plain", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "checkpoint:" in res.output and "iters: 2" in res.output


def test_unknown_option_is_a_usage_error(tmp_path) -> None:
    res = CliRunner().invoke(main, ["train", "lstm", "charlm", "--frobnicate=1", f"--out_dir={tmp_path}"])
    assert res.exit_code == 2 and "frobnicate" in res.output


def test_qa_task_eval_reports_accuracy(tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["train", "lstm", "mqar", "--seq_len=16", "--n_pairs=2", "--vocab_size=16",
                               "--n_embd=8", "--n_hidden=8", "--n_layer=1", "--max_iters=2", "--eval_interval=1",
                               "--eval_iters=1", "--batch_size=2", f"--out_dir={tmp_path}", "--no-progress"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["task_kwargs"] == {"seq_len": 16, "n_pairs": 2, "vocab_size": 16}
    ev = json.loads(runner.invoke(main, ["eval", out["checkpoint"], "mqar", "--iters", "1", "--batch-size", "4"])
                    .output)
    assert ev["task"] == "mqar" and 0.0 <= ev["accuracy"] <= 1.0 and "bits_per_char" not in ev
    assert ev["examples"] == 4
