"""The `memlm` command line: noun groups loaded lazily so `memlm --help` stays fast.

Each command group lives in its own module; this file only maps names to them.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute"; modules are imported only when the command runs.
COMMANDS: dict[str, str] = {
    "memory": "memlm.cli.memory:memory",
    "bench": "memlm.cli.bench:bench",
    "demo": "memlm.cli.demo:demo",
    "serve": "memlm.cli.serve:serve",
    "mcp": "memlm.cli.mcp:mcp",
    "chat": "memlm.cli.chat:chat",
    "keys": "memlm.cli.keys:keys",
    "migrate": "memlm.cli.migrate:migrate",
    "train": "memlm.cli.train:train",
    "sample": "memlm.cli.lab:sample",
    "ask": "memlm.cli.lab:ask",
    "eval": "memlm.cli.lab:eval_",
    "lab": "memlm.cli.lab:lab",
    "classify": "memlm.cli.classifier:classify",
    "translate": "memlm.cli.translate:translate",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a group not built yet in this checkout
            if exc.name == module_name:
                return None
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup)
@click.version_option(package_name="memlm")
def main() -> None:
    """memlm: memory for language models."""


if __name__ == "__main__":  # pragma: no cover
    main()
