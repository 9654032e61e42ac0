"""`memlm chat`: a terminal chat with memory. Each turn recalls memory for the message,
shows it with --show-memory, answers with the chosen LLM (streamed), and writes the turn;
when the chat ends the session is summarised. A later session remembers earlier ones."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from memlm.cli.common import db_options, errors_as_messages

QUIT = {"/quit", "/exit", "/bye"}


@click.command()
@db_options
@click.option("--user", "user_id", envvar="MEMLM_USER_ID", required=True, help="Whose memory [env MEMLM_USER_ID].")
@click.option("--session", "session_id", envvar="MEMLM_SESSION_ID", default=None,
              help="Session id [env MEMLM_SESSION_ID; default: a new one per chat].")
@click.option("--llm", default=None, help="LLM: local, local:PATH.gguf, openai:MODEL [env MEMLM_LLM; default local].")
@click.option("--show-memory", is_flag=True, help="Print the memory recalled for each message.")
@click.option("--extract/--no-extract", default=False, show_default=True,
              help="Have the LLM extract facts from each turn.")
@click.option("--budget", "budget_tokens", type=click.IntRange(min=50), default=1000, show_default=True,
              help="Tokens of memory put in the prompt.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=256, show_default=True, help="Longest answer.")
@errors_as_messages
def chat(db, encoder, user_id, session_id, llm, show_memory, extract, budget_tokens, max_tokens):
    """Chat with an LLM that remembers you across sessions (type /quit or Ctrl-D to end)."""
    from memlm.cli.common import open_memory, settings

    memory = open_memory(db, encoder, settings(db, encoder, llm).llm or "local")
    if memory.llm is None:
        raise ValueError("memlm chat needs an LLM: --llm local or --llm openai:MODEL")
    session_id = session_id or datetime.now(timezone.utc).strftime("chat-%Y%m%d-%H%M%S")
    click.echo(f"memlm chat: user {user_id}, session {session_id}, {memory.llm.name}. /quit to end.", err=True)
    try:
        while (message := _read()) is not None:
            if message.strip() in QUIT:
                break
            if message.strip():
                _turn(memory, message.strip(), user_id, session_id, show_memory, extract, budget_tokens, max_tokens)
        if memory.list(user_id=user_id, session_id=session_id, kinds=["episode"], limit=1):
            memory.consolidate(user_id=user_id, session_id=session_id)
    finally:
        memory.close()


def _read() -> str | None:
    if sys.stdin.isatty():
        try:
            return click.prompt("you", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            return None
    line = sys.stdin.readline()
    return line.rstrip("\n") if line else None


def _turn(memory, message: str, user_id: str, session_id: str, show: bool, extract: bool, budget: int,
          max_tokens: int) -> None:
    from memlm import prompts
    from memlm.llm.base import Prompt

    ctx = memory.context(message, user_id=user_id, session_id=session_id, budget_tokens=budget)
    if show:
        click.echo(click.style(ctx.text or "# Memory\n(nothing yet)", dim=True))
    prompt = Prompt.chat(prompts.with_memory([{"role": "user", "content": message}], ctx.text))
    click.echo("assistant> ", nl=False)
    pieces = []
    for piece in memory.llm.stream(prompt, max_tokens=max_tokens):
        pieces.append(piece)
        click.echo(piece, nl=False)
    click.echo()
    answer = "".join(pieces).strip()
    turn = [{"role": "user", "content": message}] + ([{"role": "assistant", "content": answer}] if answer else [])
    memory.add(turn, user_id=user_id, session_id=session_id, occurred_at=datetime.now(timezone.utc), extract=extract)
