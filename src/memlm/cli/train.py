"""`memlm train`: the lab's `train MODEL TASK`, plus `train classifier` and `train encoder`.

`classifier` and `encoder` are subcommands in their own modules (imported on first use);
any other first argument is a lab model name, handled by the lab's training command.
"""

from __future__ import annotations

import importlib

import click

# subcommand -> "module:attribute"; anything else is `memlm train MODEL TASK` (the lab)
SUBCOMMANDS: dict[str, str] = {
    "classifier": "memlm.cli.classifier:train_classifier",
    "encoder": "memlm.cli.retrieval:train_encoder",
    "translate": "memlm.cli.translate:train_translate",
}
LAB = "memlm.cli.lab:train"


def _load(target: str) -> click.Command | None:
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:  # a subcommand not built in this checkout
        if exc.name == module_name:
            return None
        raise
    return getattr(module, attr)


class TrainGroup(click.Group):
    """Dispatches named subcommands; every other invocation goes to the lab's trainer."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        return _load(target) if target else None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        if args and args[0] not in ("--help", "-h") and first not in SUBCOMMANDS:
            ctx.meta["memlm.train.lab_args"] = list(args)
            return super().parse_args(ctx, ["__lab__"])
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] == "__lab__":
            lab = _load(LAB)
            return "lab", lab, ctx.meta["memlm.train.lab_args"]
        return super().resolve_command(ctx, args)


@click.group(cls=TrainGroup)
def train() -> None:
    """Train: `memlm train MODEL TASK [--key=value ...]` (memory lab), or a subcommand:

    \b
    memlm train classifier --data FILE   fine-tune the MiniLM encoder to classify text
    memlm train encoder --pairs FILE     adapt the retrieval encoder to (query, memory) pairs
    memlm train translate --model M      an English <-> Chinese encoder-decoder (Tatoeba)
    """
