"""PNG plots for the lab report (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def line_plot(path: Path, series: dict[str, dict[Any, float]], title: str, xlabel: str, ylabel: str,
              logx: bool = False) -> Path:
    """One line per series name; each series maps x -> y."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in series.items():
        xs = sorted(points)
        ax.plot(xs, [points[x] for x in xs], marker="o", label=name)
    if logx:
        ax.set_xscale("log", base=2)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if ylabel.startswith("accuracy"):
        ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def loss_curves(path: Path, curves: dict[str, dict[str, list[dict[str, Any]]]]) -> Path:
    """One panel per task; validation loss against iteration for each model."""
    n = max(len(curves), 1)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(curves):]:
        ax.axis("off")
    for ax, (task, by_model) in zip(axes.flat, curves.items()):
        for model, hist in by_model.items():
            ax.plot([h["iter"] for h in hist], [h["loss"] for h in hist], marker=".", label=model)
        ax.set(title=task, xlabel="iteration", ylabel="validation loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def gate_heatmaps(path: Path, gates: dict[str, Any], text: str, n_units: int = 32) -> Path:
    """Heatmaps (units x time) of LSTM gate activations over a text, one row per gate."""
    names = [g for g in ("input", "forget", "output", "cell") if g in gates]
    fig, axes = plt.subplots(len(names), 1, figsize=(max(6, len(text) * 0.18), 2.2 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        values = gates[name][:n_units]  # (units, T)
        cmap, lims = ("coolwarm", (-1, 1)) if name == "cell" else ("viridis", (0, 1))
        im = ax.imshow(values, aspect="auto", cmap=cmap, vmin=lims[0], vmax=lims[1], interpolation="nearest")
        ax.set_ylabel(f"{name}\nunit")
        ax.set_xticks(range(len(text)))
        ax.set_xticklabels([c if c.strip() else "_" for c in text], fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.02)
    axes[0, 0].set_title("LSTM gate activations (layer 1), cell state clipped to [-1, 1]")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
