"""`memlm train translate`, `memlm translate` and the translation branch of `memlm eval`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from memlm.cli.common import errors_as_messages
from memlm.cli.lab import EXTRA, emit, parse_overrides

MODEL_CHOICES = ["gru", "gru-attn", "transformer"]


@click.command("translate", context_settings=EXTRA)
@click.option("--model", type=click.Choice(MODEL_CHOICES), default="gru-attn", show_default=True)
@click.option("--direction", type=click.Choice(["en-zh", "zh-en"]), default="en-zh", show_default=True)
@click.option("--seconds", type=float, default=0.0, help="Wall-clock training budget (0: --max_iters steps).")
@click.option("--plain", is_flag=True, help="Human-readable output instead of JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: if a terminal).")
@click.pass_context
@errors_as_messages
def train_translate(ctx: click.Context, model: str, direction: str, seconds: float, plain: bool,
                    progress: bool | None) -> None:
    """Train an encoder-decoder on Tatoeba English <-> Chinese; --key=value sets training or model fields."""
    from memlm.lab.translate import TranslateConfig, split_overrides, train_translation

    train_kw, model_kw = split_overrides(parse_overrides(ctx.args))
    try:
        cfg = TranslateConfig(**{"model": model, "direction": direction, "max_seconds": seconds, **train_kw})
    except TypeError as exc:
        raise click.UsageError(str(exc)) from exc
    show = sys.stderr.isatty() if progress is None else progress
    result = train_translation(cfg, model_kw, progress=show)
    keys = ("model", "direction", "params", "iters", "seconds", "train_loss", "valid_loss", "train_pairs",
            "src_vocab", "tgt_vocab", "checkpoint")
    emit({k: result[k] for k in keys}, plain)


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("text")
@click.option("--beam", default=1, show_default=True, type=click.IntRange(1, 64), help="Beam width (1 = greedy).")
@click.option("--alpha", default=1.0, show_default=True, help="Length normalisation: score / length**alpha.")
@click.option("--plain", is_flag=True, help="Print only the translation.")
@errors_as_messages
def translate(checkpoint: str, text: str, beam: int, alpha: float, plain: bool) -> None:
    """Translate TEXT with a translation CHECKPOINT (from `memlm train translate`)."""
    from memlm.lab.translate import load_translation, translate_text

    model, ckpt = load_translation(checkpoint)
    out = translate_text(model, ckpt, text, beam=beam, alpha=alpha)
    if plain:
        click.echo(out["translation"])
    else:
        click.echo(json.dumps(out, ensure_ascii=False))


def eval_translation(checkpoint: str, args: list[str]) -> dict[str, Any]:
    """`memlm eval CHECKPOINT translate [--limit=N] [--beam=K]`: BLEU, chrF and BLEU by length on the test split."""
    from memlm.lab.translate import evaluate_translation, load_translation

    opts = parse_overrides(args)
    unknown = set(opts) - {"limit", "beam", "batch_size"}
    if unknown:
        raise ValueError(f"unknown translate evaluation options: {sorted(unknown)} (use --limit, --beam)")
    model, ckpt = load_translation(checkpoint)
    return evaluate_translation(model, ckpt, limit=int(opts.get("limit", 0)), beam=int(opts.get("beam", 1)),
                                batch_size=int(opts.get("batch_size", 128)))
