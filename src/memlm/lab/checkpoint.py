"""Checkpoints that rebuild their model with no flags: weights + every config + vocabulary."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from memlm.nn import get_model

FORMAT = "memlm-lab-1"


def task_vocab(task: Any) -> list[str]:
    """One string per token id, from the task's decode (for sampling without the data)."""
    return [task.decode([i]) for i in range(task.vocab_size)]


def save_checkpoint(path: str | Path, model: torch.nn.Module, model_name: str, model_config: Any,
                    train_config: dict[str, Any], task_name: str, task_kwargs: dict[str, Any],
                    task: Any, result: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint file (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {k: v for k, v in (result or {}).items() if k != "module"}
    torch.save({
        "format": FORMAT,
        "model_name": model_name,
        "model_config": asdict(model_config),
        "train_config": train_config,
        "task": {"name": task_name, "kwargs": task_kwargs},
        "vocab": task_vocab(task),
        "state_dict": model.state_dict(),
        "result": summary,
    }, path)
    return path


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """(model in eval mode, checkpoint dict) from a file written by save_checkpoint."""
    ckpt = torch.load(path, map_location=device, weights_only=True)
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not a memlm lab checkpoint")
    config_cls, model_cls = get_model(ckpt["model_name"])
    model = model_cls(config_cls(**ckpt["model_config"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device).eval(), ckpt


def open_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """load_checkpoint for the CLI: a file that is not a lab checkpoint is a ValueError with a
    one-line message, whatever failed inside (pickle, zip, missing keys)."""
    try:
        return load_checkpoint(path)
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"{path} is not a memlm lab checkpoint ({type(exc).__name__})") from None
