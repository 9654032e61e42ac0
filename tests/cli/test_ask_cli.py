"""`memlm ask` questions a trained DMN; `memlm sample` on a DMN (and `ask` on a language model) is a one-line error."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

from memlm.cli import main
from memlm.lab.checkpoint import load_checkpoint
from memlm.lab.tasks import get_task

DMN = ["--n_train=300", "--n_val=50", "--n_embd=16", "--n_hidden=16", "--n_hops=1", "--max_iters=20",
       "--eval_interval=10", "--eval_iters=1", "--batch_size=8", "--no-progress"]


def _one_error_line(result) -> str:
    assert (result.exit_code == 1 and result.exception is None) or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output
    return lines[0]


def test_ask_a_dmn_and_sample_refuses_it(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["train", "dmn", "babi1", *DMN, f"--out_dir={tmp_path}"])
    assert res.exit_code == 0, res.output
    ckpt = json.loads(res.stdout)["checkpoint"]

    # ask encodes a story as training did: its answer is the model's prediction on the task's own encoding
    model, saved = load_checkpoint(ckpt)
    task = get_task("babi1", **saved["task"]["kwargs"])
    for example in task.examples["val"][:5]:
        story = " ".join(f if f.endswith(".") else f + "." for f in example.facts)
        out = runner.invoke(main, ["ask", ckpt, "--story", story, "--question", example.question, "--json"])
        assert out.exit_code == 0, out.output
        answer = json.loads(out.stdout)
        x, _ = task.collate([task._encode(example)])
        with torch.no_grad():
            expected = task.decode([int(model(x)[0][0, -1].argmax())])
        assert answer["answer"] == expected and 0 < answer["probability"] <= 1 and answer["unknown_words"] == []
    plain = runner.invoke(main, ["ask", ckpt, "--story", "Mary went to the kitchen. Zorblat flew.",
                                 "--question", "Where is Mary?"])
    assert plain.exit_code == 0 and plain.stdout.strip() in saved["vocab"] and "zorblat" in plain.stderr

    message = _one_error_line(runner.invoke(main, ["sample", ckpt, "--prompt", "Mary"]))
    assert "question-answering" in message and "memlm ask" in message
    assert "story" in _one_error_line(runner.invoke(main, ["ask", ckpt, "--story", "...", "--question", "Where?"]))


def test_ask_refuses_a_language_model(tmp_path):
    tiny = ["--n_layer=1", "--n_head=2", "--n_embd=16", "--block_size=16", "--max_iters=2", "--eval_interval=1",
            "--eval_iters=1", "--batch_size=2", "--no-progress"]
    runner = CliRunner()
    res = runner.invoke(main, ["train", "transformer", "charlm", *tiny, f"--out_dir={tmp_path}"])
    assert res.exit_code == 0, res.output
    ckpt = json.loads(res.stdout)["checkpoint"]
    message = _one_error_line(runner.invoke(main, ["ask", ckpt, "--story", "a.", "--question", "b?"]))
    assert "language model" in message and "memlm sample" in message
