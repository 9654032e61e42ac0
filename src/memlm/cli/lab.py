"""`memlm train`, `memlm sample`, `memlm eval` and `memlm lab report`: the memory lab CLI."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from typing import Any

import click

from memlm.cli.common import errors_as_messages

EXTRA = {"ignore_unknown_options": True, "allow_extra_args": True}


def parse_value(text: str) -> Any:
    """'3' -> 3, '1e-3' -> 0.001, 'true' -> True, anything else stays a string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """['--a=1', '--b', 'x'] -> {'a': 1, 'b': 'x'}; dashes in keys become underscores."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise click.UsageError(f"unexpected argument {arg!r}; use --key=value")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise click.UsageError(f"{arg} needs a value")
            value, i = args[i + 1], i + 1
        out[key.replace("-", "_")] = parse_value(value)
        i += 1
    return out


def read_config(path: str | None) -> dict[str, Any]:
    """Flatten a TOML file: [train]/[task]/[model] tables become prefixed keys."""
    if not path:
        return {}
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key in ("train", "task", "model"):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def emit(obj: dict[str, Any], plain: bool) -> None:
    """JSON on stdout, or aligned `key: value` lines with --plain."""
    if not plain:
        click.echo(json.dumps(obj, indent=2, default=str))
        return
    for key, value in obj.items():
        if isinstance(value, float):
            value = f"{value:.4f}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())
        click.echo(f"{key:>16}: {value}")


@click.command(context_settings=EXTRA)
@click.argument("model")
@click.argument("task")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), help="TOML file of options.")
@click.option("--plain", is_flag=True, help="Human-readable output instead of JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: if a terminal).")
@click.pass_context
def train(
    ctx: click.Context, model: str, task: str, config_path: str | None, plain: bool, progress: bool | None
) -> None:
    """Train MODEL on TASK; --key=value sets train, task or model config fields."""
    from memlm.lab.train import TrainConfig, split_overrides
    from memlm.lab.train import train as run_train

    overrides = {**read_config(config_path), **parse_overrides(ctx.args)}
    try:
        train_kw, task_kw, model_kw = split_overrides(model, task, overrides)
        cfg = TrainConfig(**train_kw)
    except (KeyError, ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc
    show = sys.stderr.isatty() if progress is None else progress
    result = run_train(model, task, task_kw, model_kw, cfg, progress=show)
    keys = (
        "model",
        "task",
        "task_kwargs",
        "params",
        "iters",
        "seconds",
        "tokens_per_sec",
        "stopped",
        "metrics",
        "checkpoint",
    )
    emit({k: result[k] for k in keys}, plain)


def encode_prompt(vocab: list[str], prompt: str) -> list[int]:
    """Prompt to ids with the checkpoint's vocabulary (characters, else whitespace words)."""
    index = {tok: i for i, tok in enumerate(vocab)}
    pieces = list(prompt) if all(len(t) == 1 for t in vocab) else prompt.split()
    return [index[p] for p in pieces if p in index]


def join_tokens(vocab: list[str], ids: list[int]) -> str:
    sep = "" if all(len(t) == 1 for t in vocab) else " "
    return sep.join(vocab[i] for i in ids)


@click.command(context_settings=EXTRA)
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--prompt", default="\n", show_default=True, help="Text to continue.")
@click.option("--max-new-tokens", "--max_new_tokens", default=200, show_default=True)
@click.option("--temperature", default=0.8, show_default=True)
@click.option("--top-k", "--top_k", default=0, show_default=True, help="0 = no top-k filtering.")
@click.option("--seed", default=1337, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of the text.")
@errors_as_messages
def sample(
    checkpoint: str, prompt: str, max_new_tokens: int, temperature: float, top_k: int, seed: int, as_json: bool
) -> None:
    """Generate text from a trained CHECKPOINT (a language model; ask a DMN with `memlm ask`)."""
    import torch

    model, ckpt = _load(checkpoint)
    if not hasattr(model, "generate"):
        raise ValueError(f"{checkpoint} is a {ckpt['model_name']} question-answering model, not a language model: "
                         f"ask it with `memlm ask {checkpoint} --story TEXT --question TEXT`")
    vocab = ckpt["vocab"]
    ids = encode_prompt(vocab, prompt) or [0]
    gen = torch.Generator().manual_seed(seed)
    out = model.generate(
        torch.tensor([ids]), max_new_tokens, temperature=temperature, top_k=top_k or None, generator=gen
    )
    text = join_tokens(vocab, out[0].tolist())
    if as_json:
        click.echo(json.dumps({"model": ckpt["model_name"], "prompt": prompt, "text": text}))
    else:
        click.echo(text)


def _load(checkpoint: str) -> tuple[Any, dict[str, Any]]:
    """load_checkpoint, with a one-line error for a file that is not a lab checkpoint."""
    from memlm.lab.checkpoint import open_checkpoint

    model, ckpt = open_checkpoint(checkpoint)
    if ckpt.get("task", {}).get("name") == "translate":
        raise ValueError(f"{checkpoint} is a translation model: use `memlm translate {checkpoint} TEXT` "
                         f"or `memlm eval {checkpoint} translate`")
    return model, ckpt


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--story", required=True, help="The facts: sentences ending in '.', or one per line.")
@click.option("--question", required=True, help="The question, e.g. 'Where is Mary?'.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of the answer.")
@errors_as_messages
def ask(checkpoint: str, story: str, question: str, as_json: bool) -> None:
    """Ask a trained question-answering CHECKPOINT (a DMN on bAbI) a QUESTION about a STORY."""
    import torch

    from memlm.lab.tasks.vocab import QEND, QUESTION, SEP, UNK, tokenize

    model, ckpt = _load(checkpoint)
    if hasattr(model, "generate"):
        raise ValueError(f"{checkpoint} is a {ckpt['model_name']} language model: continue text with "
                         f"`memlm sample {checkpoint} --prompt TEXT`")
    stoi = {w: i for i, w in enumerate(ckpt["vocab"])}
    facts = [f for f in re.split(r"[.\n]+", story) if tokenize(f)]
    if not facts or not tokenize(question):
        raise ValueError("give a story with at least one sentence and a question with words")
    unknown = sorted({w for text in [*facts, question] for w in tokenize(text) if w not in stoi})
    ids: list[int] = []
    for fact in facts:
        ids += [stoi.get(w, stoi[UNK]) for w in tokenize(fact)] + [stoi[SEP]]
    ids += [stoi[QUESTION]] + [stoi.get(w, stoi[UNK]) for w in tokenize(question)] + [stoi[QEND]]
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([ids]))[0][0, -1], dim=-1)
    best = int(probs.argmax())
    out = {"model": ckpt["model_name"], "answer": ckpt["vocab"][best], "probability": round(float(probs[best]), 4),
           "facts": len(facts), "unknown_words": unknown}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(out["answer"])
        if unknown:
            click.echo(f"(words the model never saw: {', '.join(unknown)})", err=True)


@click.command("eval", context_settings=EXTRA)
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("task")
@click.option("--iters", default=50, show_default=True, help="Evaluation batches.")
@click.option("--batch-size", "--batch_size", default=32, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--split", default="val", show_default=True)
@click.pass_context
@errors_as_messages
def eval_(ctx: click.Context, checkpoint: str, task: str, iters: int, batch_size: int, seed: int, split: str) -> None:
    """Evaluate CHECKPOINT on TASK (--key=value sets task arguments); prints one JSON object.

    TASK translate: BLEU, chrF and BLEU by source length on the test split (--limit=N, --beam=K).
    """
    from memlm.lab.train import evaluate, get_task, is_lm_task

    if task == "translate":  # BLEU / chrF on the held-out test split (memlm.cli.translate)
        from memlm.cli.translate import eval_translation

        click.echo(json.dumps(eval_translation(checkpoint, ctx.args), ensure_ascii=False))
        return
    model, ckpt = _load(checkpoint)
    task_kw = dict(ckpt["task"]["kwargs"]) if ckpt["task"]["name"] == task else {}
    task_kw.update(parse_overrides(ctx.args))
    task_obj = get_task(task, **task_kw)
    metrics = evaluate(model, task_obj, split, iters, batch_size, seed)
    out: dict[str, Any] = {"task": task, "model": ckpt["model_name"], "examples": metrics["examples"]}
    if is_lm_task(task_obj):
        out.update(loss=metrics["loss"], bits_per_char=metrics["bits_per_char"])
    else:
        out.update(accuracy=metrics["accuracy"], loss=metrics["loss"])
    click.echo(json.dumps(out))


@click.group()
def lab() -> None:
    """The memory lab: reports across architectures and tasks."""


@lab.command()
@click.option("--out", "out_dir", default="out/lab/report", show_default=True, help="Output folder.")
@click.option("--train", is_flag=True, help="Train every model now (about 22 min) instead of re-plotting cached runs.")
@click.option("--quick", is_flag=True, help="Train with tiny budgets (seconds), for tests.")
@click.option("--results", "results_dir", default=None,
              help="Cached long-run results to re-plot [default: benchmarks/lab/results].")
@click.option("--seed", default=1337, show_default=True, help="Seed for --train / --quick.")
@click.option("--plain", is_flag=True, help="Print the markdown table instead of JSON.")
@errors_as_messages
def report(out_dir: str, train: bool, quick: bool, results_dir: str | None, seed: int, plain: bool) -> None:
    """Tables and plots of every architecture on the memory tasks.

    By default re-plots the committed results of the long runs (seconds); --train / --quick train instead.
    """
    if train and quick:
        raise click.UsageError("--train and --quick exclude each other")
    if train or quick:
        from memlm.lab.report import run_report

        summary = run_report(out_dir, quick=quick, seed=seed, progress=sys.stderr.isatty())
    else:
        from memlm.lab.report_cache import report_from_cache

        summary = report_from_cache(out_dir, results_dir)
    if plain:
        with open(summary["table"], encoding="utf-8") as table:
            click.echo(table.read())
    else:
        click.echo(json.dumps(summary, indent=2))
