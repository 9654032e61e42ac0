"""bAbI question answering as a flat token task (generated tasks or the real task-1 files).

Each example is flattened to ``fact words <sep> ... fact words <sep> <q> question words <eoq>``
and left-padded with ``<pad>``; the answer (one token, e.g. ``kitchen``, ``yes``, ``two``,
``apple,football``) is the target at the last position, every other target is IGNORE.

With ``support=True`` the ``<sep>`` closing the k-th supporting fact (reasoning order, k from 0)
also carries target k: the DMN's gate supervision (``DMNConfig.gate_weight``) reads these marks.
Only the DMN understands them (it scores the last position alone); leave ``support`` off for
sequence models, which would train on every target.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from memlm.lab.tasks.babi_format import Example, examples, read_babi
from memlm.lab.tasks.babi_gen import ACTORS, COUNTS, LOCATIONS, OBJECTS, generate
from memlm.lab.tasks.base import IGNORE
from memlm.lab.tasks.vocab import Vocab, tokenize
from memlm.settings import from_env

REAL_FILES = {1: "babi/qa1_single-supporting-fact_{split}.txt"}  # task id -> path in the data dir
VAL_SEED_OFFSET = 1_000_003  # generated validation stories use seed + this


def find_data(relpath: str) -> Path:
    """A shared data file: $MEMLM_DATA, else ``shared/data`` beside the repo or an ancestor of the CWD."""
    if from_env("data"):
        p = Path(from_env("data") or "") / relpath
        if p.exists():
            return p
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *Path.cwd().parents, *here.parents]:
        p = base / "shared" / "data" / relpath
        if p.exists():
            return p
    raise FileNotFoundError(f"{relpath} not found; set MEMLM_DATA to the data directory")


def load_examples(task_id: int, split: str, n: int | None, seed: int, real: bool) -> list[Example]:
    """QA examples of one split: read from the real files or generated with a seed."""
    if real:
        if task_id not in REAL_FILES:
            raise ValueError(f"no real file for bAbI task {task_id}")
        path = find_data(REAL_FILES[task_id].format(split="train" if split == "train" else "test"))
        exs = examples(read_babi(path))
        return exs[:n] if n else exs
    n = n or (10_000 if split == "train" else 1_000)
    return examples(generate(task_id, n, seed if split == "train" else seed + VAL_SEED_OFFSET))


def lexicon() -> set[str]:
    """Words every generated bAbI vocabulary contains, so vocabularies agree across seeds."""
    return {w.lower() for w in ACTORS + LOCATIONS + OBJECTS + COUNTS + ["yes", "no", "nothing"]}


def encode_example(ex: Example, vocab: Vocab) -> tuple[list[int], int]:
    """Example -> (token ids ending in ``<eoq>``, answer id)."""
    ids: list[int] = []
    for fact in ex.facts:
        ids += vocab.encode(tokenize(fact)) + [vocab.sep_id]
    ids += [vocab.question_id] + vocab.encode(tokenize(ex.question)) + [vocab.qend_id]
    return ids, vocab.stoi.get(ex.answer.lower(), vocab.unk_id)


def support_marks(ids: list[int], ex: Example, sep_id: int) -> list[tuple[int, int]]:
    """(position of the ``<sep>`` ending supporting fact k, k) for each supporting fact of ex."""
    seps = [i for i, t in enumerate(ids) if t == sep_id][: len(ex.facts)]
    return [(seps[f], k) for k, f in enumerate(ex.support) if 0 <= f < len(seps)]


def pad_left(seqs: Sequence[list[int]], pad_id: int) -> torch.Tensor:
    """Left-pad id lists to a (B, T) long tensor."""
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, T - len(s):] = torch.tensor(s, dtype=torch.long)
    return out


class BabiTask:
    """bAbI task ``task_id``: generated (seeded world simulation) or ``real=True`` for the files."""

    def __init__(
        self,
        task_id: int = 1,
        n_train: int = 10_000,
        n_val: int = 1_000,
        seed: int = 0,
        real: bool = False,
        max_facts: int | None = None,
        support: bool = False,
    ):
        self.task_id, self.real, self.max_facts, self.support = task_id, real, max_facts, support
        self.name = f"babi{task_id}" + ("-real" if real else "")
        self.examples = {
            "train": load_examples(task_id, "train", n_train, seed, real),
            "val": load_examples(task_id, "val", n_val, seed, real),
        }
        words = lexicon() | {a.lower() for exs in self.examples.values() for a in (e.answer for e in exs)}
        for exs in self.examples.values():
            for e in exs:
                words.update(w for text in e.facts + [e.question] for w in tokenize(text))
        self.vocab = Vocab(words)
        self.vocab_size = len(self.vocab)
        self.encoded = {k: [self._encode(e) for e in v] for k, v in self.examples.items()}
        self.max_len = max(len(item[0]) for v in self.encoded.values() for item in v)

    def _encode(self, ex: Example) -> tuple:
        """(ids, answer id), plus the support marks when ``support`` is on."""
        if self.max_facts and len(ex.facts) > self.max_facts:
            cut = len(ex.facts) - self.max_facts
            ex = Example(ex.facts[cut:], ex.question, ex.answer, [f - cut if f >= cut else -1 for f in ex.support])
        ids, answer = encode_example(ex, self.vocab)
        return (ids, answer, support_marks(ids, ex, self.vocab.sep_id)) if self.support else (ids, answer)

    def collate(self, items: Sequence[tuple]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoded examples -> (x, y): x left-padded (B, T); y IGNORE except y[:, -1] = answer
        (and, with support marks, y at each supporting fact's ``<sep>`` = its pass number)."""
        x = pad_left([item[0] for item in items], self.vocab.pad_id)
        y = torch.full_like(x, IGNORE)
        y[:, -1] = torch.tensor([item[1] for item in items], dtype=torch.long)
        for i, item in enumerate(items):
            offset = x.size(1) - len(item[0])
            for pos, k in item[2] if len(item) > 2 else ():
                y[i, offset + pos] = k
        return x, y

    def batch(self, split: str, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Random examples of a split ("train" or "val") as (x, y) of shape (B, T)."""
        data = self.encoded[split]
        idx = torch.randint(len(data), (batch_size,), generator=generator).tolist()
        return self.collate([data[i] for i in idx])

    def iter_batches(self, split: str, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every example of a split once, in order (for exact test accuracy)."""
        data = self.encoded[split]
        for i in range(0, len(data), batch_size):
            yield self.collate(data[i : i + batch_size])

    def decode(self, ids: list[int]) -> str:
        return self.vocab.decode(ids)

    def model_overrides(self) -> dict[str, int]:
        """Model-config fields this task fixes (the DMN reads the separator ids)."""
        v = self.vocab
        return {
            "vocab_size": self.vocab_size,
            "block_size": self.max_len,
            "pad_id": v.pad_id,
            "sep_id": v.sep_id,
            "question_id": v.question_id,
            "query_end_id": v.qend_id,
        }
