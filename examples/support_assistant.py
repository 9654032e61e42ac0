"""A customer-support assistant that remembers each customer across sessions.

What it shows
-------------
Every customer message goes through the same three steps as `memlm chat`:

1. recall: `WorkingMemory.context(message)` builds a prompt block from the current
   session's recent turns (working memory) and what long-term memory recalls for the
   message: earlier sessions' turns and their summaries, scoped to this customer only;
2. answer: the LLM is asked with that block in its system prompt (`memlm.prompts.with_memory`);
3. write: the customer's turn and the answer are stored; when a session ends it is
   summarised (`WorkingMemory.end()`).

The scripted demo has three sessions a week apart, each opened with a fresh `Memory`
handle on the same file (as separate visits would be). In session 3 the customer says
"the noise is back, what did we try last time?" without repeating anything: the recalled
block printed before the answer holds the order number from session 1 and the problem and
fix from session 2. Another customer's order is never recalled for Maria.

The default LLM is the packaged Gemma 3 270M (a small *base* model, so its answers are
rough; the recall is what this example is about). Pass `--llm openai:MODEL` (or set
$MEMLM_LLM) for a real assistant.

Run:
    python examples/support_assistant.py                       # scripted 3-session demo, local model
    python examples/support_assistant.py --llm openai:gpt-4o-mini --db support.db
    python examples/support_assistant.py --db support.db --customer maria   # then chat on stdin as Maria
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from memlm import Context, Memory, WorkingMemory
from memlm.llm import LLM, Prompt, get_llm
from memlm.prompts import with_memory

SYSTEM = ("You are Sam, the support agent of Deskly, an online office-furniture shop. Answer the customer "
          "in one or two friendly sentences. Quote their order number and what was already tried when the "
          "memory has them.")


@dataclass
class Visit:
    """One scripted support session: who, when, and what the customer says."""

    customer: str
    session_id: str
    start: str  # ISO date-time of the first message
    messages: list[str]


SCRIPT = [
    Visit("maria", "2026-03-02-chat", "2026-03-02T09:15", [
        "Hi, I just ordered the Aero standing desk, my order number is DK-58213.",
        "Please email me rather than phone, I work night shifts.",
    ]),
    Visit("tom", "2026-03-04-chat", "2026-03-04T14:00", [  # another customer: never recalled for Maria
        "Hello, order DK-60117 for a Luma office chair: can I change the colour to grey?",
    ]),
    Visit("maria", "2026-03-10-chat", "2026-03-10T20:40", [
        "The desk arrived, but the motor makes a grinding noise when the desk goes up.",
        "I reset the motor by holding the down button for ten seconds and the grinding stopped.",
    ]),
    Visit("maria", "2026-03-21-chat", "2026-03-21T22:05", [
        ("Hello again! The grinding noise from the desk motor is back. What did we try last time, and can "
         "you look up my order?"),
    ]),
]


@dataclass
class Reply:
    """One answered message and the memory the answer was given."""

    message: str
    context: Context  # what was recalled: .text is the block in the prompt, .recalled the hits
    answer: str


def answer(memory: Memory, chat: WorkingMemory, message: str, *, when: datetime | None = None,
           budget_tokens: int = 600, max_tokens: int = 80) -> Reply:
    """Recall for the message, answer it with the LLM, then remember the exchange."""
    when = when or datetime.now(timezone.utc)
    # 1. recall before writing, so the block holds what was known when the customer asked
    ctx = chat.context(message, budget_tokens=budget_tokens, now=when)
    # 2. answer with the memory block in the system prompt
    messages = with_memory([{"role": "system", "content": SYSTEM}, {"role": "user", "content": message}], ctx.text)
    # chat models get the messages; a base model (the packaged Gemma) continues this transcript instead
    transcript = f"{messages[0]['content']}\n\nCustomer: {message}\nSam:"
    prompt = Prompt(Prompt.chat(messages).messages, text=transcript, stop=("\n",))
    reply = memory.llm.complete(prompt, max_tokens=max_tokens).strip()
    # 3. write both turns to the session (and so to long-term memory)
    chat.add("user", message, occurred_at=when)
    if reply:
        chat.add("assistant", reply, occurred_at=when + timedelta(seconds=30))
    return Reply(message, ctx, reply)


def run_visit(db: str | Path, visit: Visit, llm: LLM, *, encoder=None, show=print,
              max_tokens: int = 80) -> list[Reply]:
    """One support session with its own `Memory` handle: everything it knows comes from the file."""
    start = datetime.fromisoformat(visit.start).replace(tzinfo=timezone.utc)
    with Memory(db, encoder=encoder, llm=llm) as memory:
        chat = memory.session(visit.customer, visit.session_id, budget_tokens=300)
        show(f"\n=== {visit.customer}, session {visit.session_id} ===")
        replies = []
        for i, message in enumerate(visit.messages):
            reply = answer(memory, chat, message, when=start + timedelta(minutes=2 * i), max_tokens=max_tokens)
            show(f"\n{visit.customer}> {message}")
            show("  recalled:\n" + _indent(reply.context.text or "(nothing yet)", "    | "))
            show(f"sam> {reply.answer or '(no answer)'}")
            replies.append(reply)
        chat.end()  # summarise the session into one `summary` memory
    return replies


def run_demo(db: str | Path, llm: LLM, *, encoder=None, show=print, max_tokens: int = 80) -> list[list[Reply]]:
    """The scripted visits in order; returns each visit's replies."""
    return [run_visit(db, visit, llm, encoder=encoder, show=show, max_tokens=max_tokens) for visit in SCRIPT]


def interactive(db: str | Path, customer: str, llm: LLM, *, encoder=None) -> None:
    """Chat on stdin as one customer, in a new session (empty line or Ctrl-D ends it)."""
    session_id = datetime.now(timezone.utc).strftime("%Y-%m-%d-%H%M%S-chat")
    with Memory(db, encoder=encoder, llm=llm) as memory:
        chat = memory.session(customer, session_id, budget_tokens=300)
        print(f"support chat as {customer} (empty line to end)", file=sys.stderr)
        for line in sys.stdin:
            if not line.strip():
                break
            reply = answer(memory, chat, line.strip())
            print("  recalled:\n" + _indent(reply.context.text or "(nothing yet)", "    | "))
            print(f"sam> {reply.answer}")
        if memory.list(user_id=customer, session_id=session_id, limit=1):
            chat.end()


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="memory file (default: a fresh temporary file)")
    parser.add_argument("--llm", default=os.environ.get("MEMLM_LLM") or "local",
                        help="local, local:PATH.gguf or openai:MODEL [env MEMLM_LLM; default local]")
    parser.add_argument("--encoder", default=None, help="encoder spec (default: the packaged MiniLM)")
    parser.add_argument("--customer", help="chat on stdin as this customer instead of running the script")
    args = parser.parse_args(argv)

    llm = get_llm(args.llm)  # loaded once, shared by every session
    if llm is None:
        parser.error("this example needs an LLM: --llm local or --llm openai:MODEL")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "support.db"
        if args.customer:
            interactive(db, args.customer, llm, encoder=args.encoder)
        else:
            run_demo(db, llm, encoder=args.encoder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
