"""The one training loop for every lab model and task.

The lab's optimiser (lab/optim.py: AdamW, linear warmup then cosine decay, gradient clipping),
periodic evaluation, early stopping, and a checkpoint holding everything needed to rebuild the model.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from memlm.lab.checkpoint import save_checkpoint
from memlm.lab.optim import OptimConfig, make_optimizer, optimise, set_lr
from memlm.nn import IGNORE, config_fields, get_model, n_params


@dataclass
class TrainConfig(OptimConfig):
    """The loop's settings; the optimiser's (lr, min_lr, warmup_iters, weight_decay, beta1, beta2,
    grad_clip) are OptimConfig's, with its defaults."""

    max_iters: int = 2000  # optimisation steps
    batch_size: int = 12  # sequences per step
    eval_interval: int = 250  # evaluate every this many steps (and at the end)
    eval_iters: int = 20  # validation batches per evaluation
    patience: int = 0  # stop after this many evaluations without improvement (0 = off)
    target_accuracy: float = 0.0  # stop once validation accuracy reaches this (0 = off)
    max_seconds: float = 0.0  # wall-clock budget; the schedule follows time when set (0 = off)
    seed: int = 1337  # seeds model init, batches and evaluation
    num_threads: int = 1  # torch CPU threads (1 is fastest on a busy 2-core machine)
    device: str = "cpu"  # torch device
    out_dir: str = "out/lab"  # where the checkpoint goes
    checkpoint: str = ""  # checkpoint file name (default MODEL-TASK.pt)
    init_from: str = ""  # warm-start the weights from this checkpoint file (e.g. a length curriculum)


def get_task(name: str, **kwargs: Any):
    """A task by name, from Lab B's registry when present (charlm always works)."""
    registry_get_task: Any
    try:
        from memlm.lab.tasks import get_task as registry_get_task
    except ImportError:
        registry_get_task = None
    if registry_get_task is not None:
        return registry_get_task(name, **kwargs)
    if name == "charlm":
        from memlm.lab.tasks.charlm import CharLMTask

        return CharLMTask(**kwargs)
    raise KeyError(f"unknown task {name!r} (task registry not available)")


def is_lm_task(task: Any) -> bool:
    """Language-modelling tasks are scored by loss / bits per char, others by accuracy."""
    return getattr(task, "kind", None) == "lm" or getattr(task, "name", "") == "charlm"


def model_config_for(model_name: str, task: Any, overrides: dict[str, Any] | None = None):
    """Model config from defaults, then the task (vocab, length, extras), then overrides."""
    config_cls, _ = get_model(model_name)
    names = config_fields(config_cls)
    kwargs: dict[str, Any] = {"vocab_size": task.vocab_size}
    if "block_size" in names:
        x, _ = task.batch("train", 1, torch.Generator().manual_seed(0))
        kwargs["block_size"] = x.size(1)
    if hasattr(task, "model_overrides"):
        kwargs.update({k: v for k, v in task.model_overrides().items() if k in names})
    kwargs.update(overrides or {})
    unknown = set(kwargs) - names
    if unknown:
        raise ValueError(f"unknown {model_name} config fields: {sorted(unknown)}")
    return config_cls(**kwargs)


@torch.no_grad()
def evaluate(model: torch.nn.Module, task: Any, split: str = "val", iters: int = 20,
             batch_size: int = 32, seed: int = 0) -> dict[str, Any]:
    """Mean loss, accuracy over scored positions and example count on `iters` batches.

    A task with its own ``evaluate(model, split)`` (e.g. text classification, scored on the
    whole split) is evaluated by it; its dict may carry a ``score`` used to pick the best weights.
    """
    if callable(getattr(task, "evaluate", None)):
        return task.evaluate(model, split)
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    loss_sum, n_batches, correct, scored, examples = 0.0, 0, 0, 0, 0
    for _ in range(iters):
        x, y = (t.to(device) for t in task.batch(split, batch_size, gen))
        logits, loss = model(x, y)
        y = y[:, -logits.size(1):]
        mask = y != IGNORE
        correct += int(((logits.argmax(-1) == y) & mask).sum())
        scored += int(mask.sum())
        loss_sum, n_batches, examples = loss_sum + float(loss), n_batches + 1, examples + x.size(0)
    model.train(was_training)
    loss = loss_sum / max(n_batches, 1)
    out = {"loss": loss, "accuracy": correct / max(scored, 1), "examples": examples}
    if is_lm_task(task):
        out["bits_per_char"] = loss / math.log(2)
    return out


def train(model_name: str, task_name: str, task_kwargs: dict[str, Any] | None = None,
          model_kwargs: dict[str, Any] | None = None, cfg: TrainConfig | None = None,
          progress: bool = False, task: Any = None, save: bool = True,
          init_state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train a model on a task; returns metrics, history, checkpoint path and the model.

    ``task`` may be passed pre-built; ``init_state`` (a state dict) or ``cfg.init_from`` (a checkpoint
    file) warm-starts the weights.
    """
    cfg = cfg or TrainConfig()
    if cfg.max_iters < 1 or cfg.eval_interval < 1:
        raise ValueError("max_iters and eval_interval must be at least 1")
    task_kwargs = dict(task_kwargs or {})
    torch.set_num_threads(max(1, cfg.num_threads))
    torch.manual_seed(cfg.seed)
    task = task if task is not None else get_task(task_name, **task_kwargs)
    model_config = model_config_for(model_name, task, model_kwargs)
    model = get_model(model_name)[1](model_config).to(cfg.device)
    if init_state is None and cfg.init_from:
        init_state = torch.load(cfg.init_from, map_location=cfg.device, weights_only=True)["state_dict"]
    if init_state is not None:
        model.load_state_dict(init_state)
    state = _loop(model, task, cfg, progress)
    model.load_state_dict(state["best_state"])
    result = {
        "model": model_name, "task": task_name, "task_kwargs": task_kwargs, "params": n_params(model),
        "iters": state["iters"], "seconds": state["seconds"], "tokens_per_sec": state["tokens_per_sec"],
        "stopped": state["stopped"], "metrics": state["best"], "history": state["history"],
    }
    if save:
        name = cfg.checkpoint or f"{model_name}-{task_name}.pt"
        path = Path(cfg.out_dir) / name
        save_checkpoint(path, model, model_name, model_config, asdict(cfg), task_name, task_kwargs, task, result)
        result["checkpoint"] = str(path)
    result["module"] = model
    return result


def _is_better(ev: dict[str, Any], best: dict[str, Any] | None, lm: bool) -> bool:
    if best is None:
        return True
    if lm:
        return ev["loss"] < best["loss"]
    score = ev.get("score", ev["accuracy"])  # a task's own selection metric, else accuracy
    return (score, -ev["loss"]) > (best.get("score", best["accuracy"]), -best["loss"])


class _Tracker:
    """Evaluation history, best weights and the stopping rules."""

    def __init__(self, cfg: TrainConfig, lm: bool) -> None:
        self.cfg, self.lm = cfg, lm
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.best_state: dict[str, Any] | None = None
        self.bad_evals = 0

    def update(self, model: torch.nn.Module, ev: dict[str, Any], it: int, seconds: float,
               train_loss: float, out_of_time: bool) -> str | None:
        """Record an evaluation; returns why to stop, or None to go on."""
        self.history.append({"iter": it, "seconds": round(seconds, 3), "train_loss": train_loss, **ev})
        if _is_better(ev, self.best, self.lm):
            self.best, self.best_state, self.bad_evals = {**ev, "iter": it}, copy.deepcopy(model.state_dict()), 0
        else:
            self.bad_evals += 1
        if self.cfg.patience and self.bad_evals >= self.cfg.patience:
            return "early_stopping"
        if self.cfg.target_accuracy and ev["accuracy"] >= self.cfg.target_accuracy:
            return "target_accuracy"
        return "max_seconds" if out_of_time else None


def _step(model: torch.nn.Module, opt: torch.optim.Optimizer, task: Any, cfg: TrainConfig,
          gen: torch.Generator) -> tuple[float, int]:
    """One optimisation step; returns (loss, tokens seen)."""
    x, y = (t.to(cfg.device) for t in task.batch("train", cfg.batch_size, gen))
    _, loss = model(x, y)
    optimise(model, opt, loss, cfg)
    return loss.item(), x.numel()


def _loop(model: torch.nn.Module, task: Any, cfg: TrainConfig, progress: bool) -> dict[str, Any]:
    """The optimisation loop proper."""
    from tqdm import tqdm

    opt, gen = make_optimizer(model, cfg), torch.Generator().manual_seed(cfg.seed)
    tracker, stopped = _Tracker(cfg, is_lm_task(task)), "max_iters"
    tokens, t0, train_loss, eval_seconds, it = 0, time.perf_counter(), float("nan"), 0.0, 0
    bar = tqdm(range(cfg.max_iters), disable=not progress, desc="train", leave=False)
    model.train()
    for it in bar:
        prog = it / cfg.max_iters
        if cfg.max_seconds > 0:
            prog = max(prog, (time.perf_counter() - t0) / cfg.max_seconds)
        set_lr(opt, it, prog, cfg)
        loss, n = _step(model, opt, task, cfg, gen)
        tokens += n
        train_loss = loss if math.isnan(train_loss) else 0.9 * train_loss + 0.1 * loss
        out_of_time = cfg.max_seconds > 0 and time.perf_counter() - t0 >= cfg.max_seconds
        if (it + 1) % cfg.eval_interval == 0 or it == cfg.max_iters - 1 or out_of_time:
            t_eval = time.perf_counter()
            ev = evaluate(model, task, "val", cfg.eval_iters, cfg.batch_size, seed=cfg.seed + 1)
            eval_seconds += time.perf_counter() - t_eval
            bar.set_postfix(train=f"{train_loss:.3f}", val=f"{ev['loss']:.3f}", acc=f"{ev['accuracy']:.2f}")
            reason = tracker.update(model, ev, it + 1, time.perf_counter() - t0, train_loss, out_of_time)
            if reason:
                stopped = reason
                break
    bar.close()
    seconds = time.perf_counter() - t0
    return {  # tokens/s counts training steps only, evaluations excluded
        "iters": it + 1, "seconds": round(seconds, 3),
        "tokens_per_sec": round(tokens / max(seconds - eval_seconds, 1e-9), 1),
        "history": tracker.history, "best": tracker.best, "best_state": tracker.best_state, "stopped": stopped,
    }


def split_overrides(model_name: str, task_name: str, overrides: dict[str, Any]):
    """Route ``key=value`` overrides to (train, task, model) dicts.

    Prefixes ``train.``, ``task.``, ``model.`` force a destination; otherwise a train config
    field goes to training, a task constructor argument to the task, and the rest to the model.
    """
    train_names = {f.name for f in fields(TrainConfig)}
    model_names = config_fields(get_model(model_name)[0])
    task_params = _task_params(task_name)
    out: dict[str, dict[str, Any]] = {"train": {}, "task": {}, "model": {}}
    for key, value in overrides.items():
        prefix, _, rest = key.partition(".")
        if rest and prefix in out:
            out[prefix][rest] = value
        elif key in train_names:
            out["train"][key] = value
        elif key in task_params:
            out["task"][key] = value
        elif key in model_names:
            out["model"][key] = value
        else:
            raise ValueError(f"unknown option {key!r} for model {model_name} / task {task_name}")
    return out["train"], out["task"], out["model"]


def _task_params(task_name: str) -> set[str]:
    """Constructor parameter names of a task, from the task registry (empty for an unknown name).

    A haystack task hands options it does not take itself to its bAbI story generator.
    """
    import inspect

    from memlm.lab.tasks import task_class

    try:
        cls = task_class(task_name)
    except KeyError:
        return set()
    classes = [cls]
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values()):
        classes.append(task_class("babi1"))
    names = {p.name for c in classes for p in inspect.signature(c).parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names - {"self", "task_id", "real"}
