"""The lab's optimiser has one home (lab/optim.py) for both trainers: the same defaults, the same
override routing and checkpoint layout as before, and checkpoints written before still load."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

import pytest
import torch
from click.testing import CliRunner

from memlm.cli import main
from memlm.lab import translate as tr
from memlm.lab.optim import OptimConfig, lr_at, make_optimizer, optimise
from memlm.lab.train import TrainConfig
from memlm.lab.train import split_overrides as lab_overrides

OPTIM = ("lr", "min_lr", "warmup_iters", "weight_decay", "beta1", "beta2", "grad_clip")
# TranslateConfig as checkpoints stored it before the optimiser had its own home (the train_config dict)
OLD_TRANSLATE = {
    "model": "gru-attn", "direction": "en-zh", "data": "", "split_seed": 1234, "min_count": 2, "max_len": 60,
    "max_iters": 100000, "max_seconds": 0.0, "batch_size": 64, "lr": 2e-3, "min_lr": 1e-4, "warmup_iters": 200,
    "weight_decay": 0.01, "beta1": 0.9, "beta2": 0.98, "grad_clip": 1.0, "eval_interval": 200, "eval_pairs": 512,
    "seed": 1337, "num_threads": 1, "out_dir": "out/lab", "checkpoint": "",
}
OLD_TRAIN_OPTIM = {"lr": 1e-3, "min_lr": 1e-4, "warmup_iters": 100, "weight_decay": 0.1, "beta1": 0.9,
                   "beta2": 0.99, "grad_clip": 1.0}


def write_tiny(path):
    """A Tatoeba-format file of 64 English-Chinese pairs."""
    subj = [("I", "我"), ("you", "你"), ("he", "他"), ("she", "她")]
    verb = [("love", "爱"), ("see", "看见"), ("help", "帮助"), ("know", "认识")]
    path.write_text("".join(f"{a} {v} {b}.\t{za}{zv}{zb}。\tCC-BY 2.0 (France) test\n"
                            for a, za in subj for v, zv in verb for b, zb in subj), encoding="utf-8")
    return path


def test_both_trainers_keep_their_defaults_and_checkpoint_layout():
    assert {f.name for f in fields(OptimConfig)} == set(OPTIM)
    assert asdict(tr.TranslateConfig()) == OLD_TRANSLATE  # a checkpoint's train_config: flat, as before
    train = asdict(TrainConfig())
    assert {k: train[k] for k in OPTIM} == OLD_TRAIN_OPTIM
    assert isinstance(TrainConfig(), OptimConfig) and isinstance(tr.TranslateConfig(), OptimConfig)


def test_overrides_reach_the_optimiser_fields():
    train_kw, model_kw = tr.split_overrides({"lr": 0.5, "train.beta2": 0.9, "model.lr": 1, "n_hidden": 8})
    assert train_kw == {"lr": 0.5, "beta2": 0.9} and model_kw == {"lr": 1, "n_hidden": 8}
    cfg = tr.TranslateConfig(**train_kw)
    assert (cfg.lr, cfg.beta2, cfg.weight_decay) == (0.5, 0.9, 0.01)
    train_kw, task_kw, model_kw = lab_overrides("gru", "charlm", {"lr": 0.2, "train.grad_clip": 0.5,
                                                                   "min_lr": 0.01, "n_hidden": 8})
    assert train_kw == {"lr": 0.2, "grad_clip": 0.5, "min_lr": 0.01} and model_kw == {"n_hidden": 8}
    assert task_kw == {}


def test_the_optimiser_is_adamw_decaying_matrices_only():
    model = torch.nn.Linear(3, 2)
    for cfg, betas, decay in ((TrainConfig(), (0.9, 0.99), 0.1), (tr.TranslateConfig(), (0.9, 0.98), 0.01)):
        opt = make_optimizer(model, cfg)
        assert isinstance(opt, torch.optim.AdamW)
        assert [g["weight_decay"] for g in opt.param_groups] == [decay, 0.0]
        assert [len(g["params"]) for g in opt.param_groups] == [1, 1]  # the weight; the bias
        assert all(g["betas"] == betas and g["lr"] == cfg.lr for g in opt.param_groups)


def test_the_schedule_warms_up_then_follows_the_cosine():
    cfg = tr.TranslateConfig(lr=1.0, min_lr=0.1, warmup_iters=10)
    assert lr_at(0, 0.0, cfg) == pytest.approx(1 / 11) and lr_at(10, 0.0, cfg) == pytest.approx(1.0)
    assert lr_at(50, 0.5, cfg) == pytest.approx(0.55) and lr_at(99, 2.0, cfg) == pytest.approx(0.1)


@pytest.mark.parametrize("clip, clipped", [(0.5, True), (0.0, False)])
def test_a_step_clips_the_gradient_only_when_asked(clip, clipped):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    cfg = OptimConfig(grad_clip=clip)
    loss = (model(torch.full((8, 4), 100.0)) ** 2).mean()
    before = [p.detach().clone() for p in model.parameters()]
    optimise(model, make_optimizer(model, cfg), loss, cfg)
    norm = float(torch.norm(torch.stack([p.grad.norm() for p in model.parameters()])))
    assert (norm <= clip + 1e-6) is clipped
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))  # it stepped


def test_a_checkpoint_in_the_old_layout_loads_and_evaluates(tmp_path):
    data = write_tiny(tmp_path / "cmn.txt")
    old = {**OLD_TRANSLATE, "data": str(data), "min_count": 1, "max_iters": 2, "out_dir": str(tmp_path)}
    cfg = tr.TranslateConfig(**{k: old[k] for k in ("model", "direction", "data", "min_count", "split_seed")})
    prepared = tr.prepare(cfg)
    name, config, model = tr.build(cfg, prepared["src_vocab"], prepared["tgt_vocab"], {"n_embd": 8, "n_hidden": 8})
    path = tmp_path / "old.pt"
    torch.save({  # exactly what save_translation wrote before lab/optim.py
        "format": "memlm-lab-1", "model_name": name, "model_config": asdict(config), "train_config": old,
        "task": {"name": "translate", "kwargs": {"direction": "en-zh", "split_seed": 1234, "max_len": 60,
                                                 "data": str(data)}},
        "vocab": {"src": prepared["src_vocab"].itos, "tgt": prepared["tgt_vocab"].itos, "src_lang": "en",
                  "tgt_lang": "zh"},
        "state_dict": model.state_dict(),
        "result": {"model": name, "direction": "en-zh", "iters": 2, "valid_loss": 3.0, "checkpoint": None},
    }, path)
    net, ckpt = tr.load_translation(path)
    assert ckpt["train_config"] == old and ckpt["model_name"] == "seq2seq-gru-attn"
    ev = tr.evaluate_translation(net, ckpt, limit=4)
    assert ev["test_sentences"] == 4 and 0 <= ev["bleu"] <= 100 and ev["bleu_tokenize"] == "zh"
    assert isinstance(tr.translate_text(net, ckpt, "I love you.")["translation"], str)
    res = CliRunner().invoke(main, ["eval", str(path), "translate", "--limit=3"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["test_sentences"] == 3


def test_cli_optimiser_overrides_are_saved_in_the_checkpoint(tmp_path):
    data = write_tiny(tmp_path / "cmn.txt")
    res = CliRunner().invoke(main, ["train", "translate", "--model", "gru", "--n_embd=8", "--n_hidden=8",
                                    "--max_iters=2", "--eval_interval=1", "--min_count=1", "--batch_size=4",
                                    "--lr=0.003", "--train.beta2=0.95", "--grad_clip=0.5", "--no-progress",
                                    f"--data={data}", f"--out_dir={tmp_path}"])
    assert res.exit_code == 0, res.output
    saved = torch.load(json.loads(res.output)["checkpoint"], weights_only=True)["train_config"]
    assert (saved["lr"], saved["beta2"], saved["grad_clip"], saved["weight_decay"]) == (0.003, 0.95, 0.5, 0.01)
    assert set(saved) == set(OLD_TRANSLATE)
