"""`memlm demo`: remember a real multi-session conversation, then recall from it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from memlm.cli.common import encoder_option, errors_as_messages

QUESTIONS_PER_CATEGORY = 2
SAMPLE_ZH = "sample_conversation_zh.json"  # the shipped Chinese conversation (`--lang zh`)


@click.command()
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), envvar="MEMLM_LOCOMO", default=None,
              help="LoCoMo JSON (default ../shared/data/locomo/locomo-dev.json, else the shipped sample; "
                   "with --lang zh: the shipped Chinese conversation).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the demo conversation and its questions.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Memory file to create (default: a temporary one).")
@encoder_option
@click.option("-k", "k", type=int, default=3, show_default=True, help="Memories recalled per question.")
@errors_as_messages
def demo(data, lang, db, encoder, k):
    """Ingest a conversation into a fresh memory file and answer recall questions from it."""
    from rich.console import Console

    from memlm.bench.locomo import answerable, ingest
    from memlm.bench.locomo_data import find_locomo, load_locomo
    from memlm.engine import Memory

    console = Console()
    path = _chinese_sample(data) if lang == "zh" else find_locomo(data)
    conv = load_locomo(path)[0]
    with tempfile.TemporaryDirectory() as tmp:
        db_path = db or Path(tmp) / "demo.db"
        if db_path.exists():
            raise ValueError(f"{db_path} exists; the demo writes a fresh memory file")
        with Memory(db_path, encoder=encoder) as mem:
            console.print(
                f"[bold]memlm demo[/]: {conv.sample_id} from {path.name}: {len(conv.sessions)} sessions "
                f"between {conv.speakers[0]} and {conv.speakers[1]}, {len(conv.turns)} turns -> {db_path.name}"
            )
            turns, seconds = ingest(mem, [conv])
            console.print(f"stored {turns} turns in {seconds:.1f} s ({turns / seconds:.0f} turns/s)\n")
            now = max(s.when for s in conv.sessions if s.when)
            for q in _pick(answerable(conv)):
                _show(console, mem, conv.sample_id, q, k, now)
            last = conv.sessions[-1]
            console.rule("[bold]Context block for an LLM[/] (working memory of the last session + recall)")
            ctx = mem.context(
                _pick(answerable(conv))[0].question,
                user_id=conv.sample_id,
                session_id=f"{conv.sample_id}/s{last.number}",
                budget_tokens=400,
                now=now,
            )
            console.print(ctx.text, markup=False, highlight=False)
            console.print(
                f"\n[dim]{ctx.tokens} tokens (budget 400): {len(ctx.working)} working turns, "
                f"{len(ctx.recalled)} recalled memories[/]"
            )


def _chinese_sample(data: Path | None) -> Path:
    """--data if given on the command line (not $MEMLM_LOCOMO, an English default), else the shipped conversation."""
    from importlib import resources

    from memlm.bench.locomo_data import find_locomo

    explicit = click.get_current_context().get_parameter_source("data") == click.core.ParameterSource.COMMANDLINE
    if data is not None and explicit:
        return find_locomo(data)
    return Path(str(resources.files("memlm").joinpath("data", SAMPLE_ZH)))


def _pick(questions):
    """A few questions from each category, in file order."""
    chosen, per = [], {}
    for q in questions:
        if per.get(q.category, 0) < QUESTIONS_PER_CATEGORY:
            chosen.append(q)
            per[q.category] = per.get(q.category, 0) + 1
    return chosen


def _show(console, mem, user_id, q, k, now) -> None:
    hits = mem.search(q.question, user_id=user_id, k=k, now=now)
    found = {h.memory.metadata.get("dia_id") for h in hits} & set(q.evidence)
    mark = "[green]recalled[/]" if found else "[red]missed[/]"
    console.print(
        f"[bold]Q:[/] {q.question}  [dim](answer: {q.answer}; evidence {', '.join(q.evidence)}: {mark}[dim])[/]"
    )
    for h in hits:
        m = h.memory
        when = m.occurred_at.strftime("%d %b %Y") if m.occurred_at else "undated"
        why = ", ".join(f"{name} {v:.2f}" for name, v in h.reasons.items())
        console.print(
            f"  {h.score:.3f}  [cyan]{when}[/] {m.role}: {m.text}  [dim]({m.metadata.get('dia_id')}; {why})[/]",
            highlight=False,
        )
    console.print()
