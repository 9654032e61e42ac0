"""Every prompt memlm sends to an LLM, in one place, versioned.

Each builder returns a `Prompt` with chat messages (for instruction-tuned models, which
answer in JSON) and a few-shot text (for base models such as the packaged Gemma 3 270M,
which continue a pattern and stop at a newline). The parsers in write/extract.py and
write/consolidate.py accept either form. Bump VERSION when a prompt changes: it is
recorded in the metadata of every memory an LLM wrote.
"""

from __future__ import annotations

from memlm.llm.base import Prompt

VERSION = "2026-11-24.1"

_FACTS_RULES = ("Extract short facts about the speaker from what they said: who they are, what they have, "
                "like, plan or did. Each fact is one short sentence that names the speaker. Skip greetings, "
                "questions and small talk. If there is nothing worth remembering, give an empty list.")

_FACTS_SHOTS: tuple[tuple[str, str, list[str]], ...] = (
    ("Tom", "I'm a nurse and on weekends I go hiking in the Alps.",
     ["Tom works as a nurse", "Tom goes hiking in the Alps on weekends"]),
    ("Kim", "Haha, that's funny. How was your day?", []),
    ("Raj", "My sister Mia just had a baby girl, they named her Lily!",
     ["Raj's sister Mia had a baby girl named Lily"]),
)


def extract_facts(speaker: str, said: str) -> Prompt:
    """Facts about `speaker` in `said`. Answer: a JSON list of strings (or {"facts": [...]})."""
    shots = "\n\n".join(f'{who} said: "{text}"\nFacts: {_json_list(facts)}' for who, text, facts in _FACTS_SHOTS)
    text = f"{_FACTS_RULES}\n\n{shots}\n\n{speaker} said: \"{_one_line(said)}\"\nFacts:"
    user = (f'{_FACTS_RULES}\nAnswer with JSON only: {{"facts": ["...", "..."]}}.\n\nExamples:\n{shots}\n\n'
            f'{speaker} said: "{_one_line(said)}"')
    return Prompt(({"role": "user", "content": user},), text=text, stop=("\n",))


_DECIDE_RULES = ("Decide how a new fact changes what is remembered. ADD: it is new. UPDATE n: it adds detail to "
                 "remembered fact n or corrects it. DELETE n: it contradicts remembered fact n, which is no longer "
                 "true. NOOP: it is already remembered.")

_DECIDE_SHOTS = (
    (["Ana lives in Paris", "Ana likes tea"], "Ana moved to Berlin", "DELETE 0"),
    (["Ben has a dog named Rex"], "Ben's dog Rex is a beagle", "UPDATE 0"),
    (["Cleo likes jazz", "Cleo works as a teacher"], "Cleo enjoys jazz music", "NOOP 0"),
    (["Dan likes jazz"], "Dan works as a teacher", "ADD"),
)


def decide_fact(remembered: list[str], new: str) -> Prompt:
    """ADD / UPDATE n / DELETE n / NOOP n for `new` against numbered remembered facts.
    Answer: such a line, or JSON {"op": ..., "index": n}."""
    shots = "\n\n".join(_decide_block(old, fact) + f" {answer}" for old, fact, answer in _DECIDE_SHOTS)
    text = f"{_DECIDE_RULES}\n\n{shots}\n\n{_decide_block(remembered, new)}"
    user = (f"{_DECIDE_RULES}\nAnswer with JSON only: {{\"op\": \"ADD|UPDATE|DELETE|NOOP\", \"index\": n}}.\n\n"
            f"Examples:\n{shots}\n\n{_decide_block(remembered, new)}")
    return Prompt(({"role": "user", "content": user},), text=text, stop=("\n",))


def _decide_block(remembered: list[str], new: str) -> str:
    listing = "\n".join(f"{i}. {_one_line(t)}" for i, t in enumerate(remembered))
    return f"Remembered:\n{listing}\nNew fact: {_one_line(new)}\nDecision:"


_SUMMARY_RULES = ("Summarise the conversation in two or three sentences for someone who will talk to these "
                  "people again: who they are, what happened, plans, preferences, names and dates.")

_SUMMARY_SHOT = (
    "[2023-05-08] Ana: I adopted a puppy today! His name is Rex.\n[2023-05-08] Ben: Congrats! What breed?\n"
    "[2023-05-08] Ana: A beagle. We start obedience classes next Monday.",
    "On 2023-05-08 Ana told Ben she had adopted a beagle puppy named Rex; they start obedience classes "
    "the following Monday.",
)


def summarise(transcript: str) -> Prompt:
    """A short summary of a session transcript (lines "[date] speaker: text")."""
    text = (f"{_SUMMARY_RULES}\n\nConversation:\n{_SUMMARY_SHOT[0]}\nSummary: {_SUMMARY_SHOT[1]}\n\n"
            f"Conversation:\n{transcript}\nSummary:")
    user = f"{_SUMMARY_RULES}\nAnswer with the summary only.\n\nConversation:\n{transcript}"
    return Prompt(({"role": "user", "content": user},), text=text, stop=("\n",))


ANSWER_SYSTEM = ("You are a helpful assistant that remembers earlier conversations with the user. "
                 "Use the memory below when it is relevant; do not mention it otherwise.")


def with_memory(messages: list[dict[str, str]], context: str) -> list[dict[str, str]]:
    """Chat messages with the memory block added to the system prompt (one is created if absent)."""
    block = f"{ANSWER_SYSTEM}\n\n{context}".strip() if context else ANSWER_SYSTEM
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": f"{messages[0]['content']}\n\n{block}"}, *messages[1:]]
    return [{"role": "system", "content": block}, *messages]


def _json_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{t}"' for t in items) + "]"


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace('"', "'")
