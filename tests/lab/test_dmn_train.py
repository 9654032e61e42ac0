"""The DMN learns bAbI task 1 from a small training set, and plugs into the lab loop's config."""

from __future__ import annotations

import torch

from memlm.lab.tasks import get_task
from memlm.nn.dmn import DMN, DMNConfig


def _accuracy(model: DMN, task) -> float:
    model.eval()
    with torch.no_grad():
        hits = [(model(x)[0][:, -1].argmax(-1) == y[:, -1]).float() for x, y in task.iter_batches("val", 200)]
    return float(torch.cat(hits).mean())


def test_dmn_learns_generated_babi1():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    task = get_task("babi1", n_train=2000, n_val=200, seed=4)
    model = DMN(DMNConfig(**task.model_overrides(), n_embd=64, n_hidden=64, n_hops=2, dropout=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    assert _accuracy(model, task) < 0.5
    best = 0.0
    for step in range(1, 401):  # about 200 steps are enough; stop at the first good evaluation
        model.train()
        _, loss = model(*task.batch("train", 32, gen))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            best = max(best, _accuracy(model, task))
            if best >= 0.97:
                break
    assert best >= 0.97


def test_lab_loop_builds_the_dmn_config_from_the_task():
    from memlm.lab.train import model_config_for

    task = get_task("babi2", n_train=50, n_val=10)
    cfg = model_config_for("dmn", task, {"n_hidden": 16})
    o = task.model_overrides()
    assert (cfg.sep_id, cfg.question_id, cfg.pad_id, cfg.query_end_id, cfg.vocab_size) == (
        o["sep_id"], o["question_id"], o["pad_id"], o["query_end_id"], task.vocab_size)
    assert cfg.n_hidden == 16


def test_train_cli_with_gate_supervision_saves_and_reloads(tmp_path):
    import json

    from click.testing import CliRunner

    from memlm.cli import main
    from memlm.lab.checkpoint import load_checkpoint

    args = ["train", "dmn", "babi2", "--n_train=200", "--n_val=40", "--support=true", "--gate_weight=1.0",
            "--n_embd=16", "--n_hidden=16", "--n_hops=2", "--max_iters=6", "--eval_interval=3", "--eval_iters=1",
            "--batch_size=8", "--no-progress", f"--out_dir={tmp_path}"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    ckpt_path = json.loads(res.stdout)["checkpoint"]
    model, ckpt = load_checkpoint(ckpt_path)
    assert model.config.gate_weight == 1.0 and model.config.n_hops == 2
    assert ckpt["task"]["kwargs"]["support"] is True
    task = get_task("babi2", **ckpt["task"]["kwargs"])
    x, y = task.batch("val", 4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, loss = model(x, y)
    assert logits.shape == (4, 1, task.vocab_size) and torch.isfinite(loss)
    res = CliRunner().invoke(main, ["eval", ckpt_path, "babi2", "--iters", "1", "--batch-size", "4"])
    assert res.exit_code == 0, res.output
