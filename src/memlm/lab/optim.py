"""The lab's optimiser, in one place for every trainer (lab/train.py, lab/translate.py).

AdamW with weight decay on matrices only, a linear warmup then a cosine decay from `lr` to
`min_lr` (over the steps, or the clock when a time budget is set: the trainer gives the
progress), and gradient clipping. A trainer's config is an `OptimConfig` (it inherits these
fields), so its checkpoints keep them at the top level of their `train_config`, as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class OptimConfig:
    lr: float = 1e-3  # peak learning rate
    min_lr: float = 1e-4  # learning rate at the end of the cosine decay
    warmup_iters: int = 100  # linear warmup steps
    weight_decay: float = 0.1  # AdamW weight decay (matrices only)
    beta1: float = 0.9  # AdamW beta1
    beta2: float = 0.99  # AdamW beta2
    grad_clip: float = 1.0  # max gradient norm (0 = off)


def lr_at(it: int, progress: float, cfg: OptimConfig) -> float:
    """Warmup for warmup_iters steps, then cosine from lr to min_lr over progress in [0, 1]."""
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / (cfg.warmup_iters + 1)
    coeff = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return cfg.min_lr + coeff * (cfg.lr - cfg.min_lr)


def make_optimizer(model: torch.nn.Module, cfg: OptimConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def set_lr(opt: torch.optim.Optimizer, it: int, progress: float, cfg: OptimConfig) -> float:
    """Give every parameter group the schedule's rate for step `it`; the rate."""
    lr = lr_at(it, progress, cfg)
    for group in opt.param_groups:
        group["lr"] = lr
    return lr


def optimise(model: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, cfg: OptimConfig) -> None:
    """One step on `loss`: gradients, clipped to grad_clip (when > 0), then the update."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
