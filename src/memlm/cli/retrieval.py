"""`memlm train encoder`: adapt the retrieval encoder to (query, relevant memory) pairs.

The result is a model folder; use it with ``--encoder minilm@DIR`` (any backend:
``minilm:torch@DIR``...) and move an existing database onto it with
``memlm memory reembed --encoder minilm@DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from memlm.cli.common import emit, errors_as_messages, plain_option


@click.command("encoder")
@click.option(
    "--pairs",
    "pairs_path",
    required=True,
    type=click.Path(path_type=Path),
    help='Training pairs: JSONL {"query": ..., "memory": ...} per line, or CSV/TSV with query,memory columns.',
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Model folder to write (must not exist, or be empty).",
)
@click.option(
    "--base",
    "base_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Model folder to start from (default: the packaged all-MiniLM-L6-v2).",
)
@click.option("--epochs", type=int, default=2, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True, help="Pairs per step (in-batch negatives).")
@click.option("--lr", type=float, default=2e-5, show_default=True, help="Peak learning rate (AdamW).")
@click.option("--scale", type=float, default=20.0, show_default=True, help="Cosine scale (inverse temperature).")
@click.option("--symmetric", is_flag=True, help="Also train memories to find their queries.")
@click.option("--max-seq-length", type=int, default=128, show_default=True, help="Tokens per text while training.")
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps.")
@click.option("--seed", type=int, default=0, show_default=True)
@plain_option
@errors_as_messages
def train_encoder(
    pairs_path, out_dir, base_dir, epochs, batch_size, lr, scale, symmetric, max_seq_length, max_steps, seed, plain
):
    """Fine-tune the retrieval encoder contrastively on (query, memory) pairs."""
    from memlm.encoders.finetune import FinetuneConfig, finetune, load_pairs

    if base_dir is not None and not (Path(base_dir) / "tokenizer.json").is_file():
        raise ValueError(f"--base {base_dir} is not a model folder (no tokenizer.json)")
    if max_steps is not None and max_steps < 1:
        raise ValueError("--max-steps must be at least 1")
    if not 8 <= max_seq_length <= 512:
        raise ValueError("--max-seq-length must be in 8..512")
    pairs = load_pairs(pairs_path)
    config = FinetuneConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        scale=scale,
        symmetric=symmetric,
        max_seq_length=max_seq_length,
        max_steps=max_steps,
        seed=seed,
    )
    result = finetune(pairs, out_dir, config, base_dir=base_dir, progress=sys.stderr.isatty())
    data = {**result.to_dict(), "spec": f"minilm@{Path(result.out_dir).resolve()}"}
    emit(
        data,
        plain,
        lambda d: (
            f"trained on {d['pairs']} pairs ({d['steps']} steps, loss {d['first_loss']} -> "
            f"{d['last_loss']}); use --encoder {d['spec']}  (vector space {d['name']})"
        ),
    )
