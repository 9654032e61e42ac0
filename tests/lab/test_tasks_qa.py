"""bAbI and haystack tasks as flat token batches."""

from __future__ import annotations

import pytest
import torch

from memlm.lab.tasks import IGNORE
from memlm.lab.tasks.babi import BabiTask
from memlm.lab.tasks.haystack import HaystackTask, make_haystacks
from memlm.lab.tasks.vocab import Vocab, tokenize


@pytest.fixture(scope="module")
def babi2() -> BabiTask:
    return BabiTask(2, n_train=300, n_val=60, seed=1)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_babi_batch_layout(babi2):
    x, y = babi2.batch("train", 16, _gen())
    v = babi2.vocab
    assert x.shape == y.shape and x.dtype == y.dtype == torch.long
    assert (x[:, -1] == v.qend_id).all() and ((x == v.question_id).sum(1) == 1).all()
    assert (y[:, :-1] == IGNORE).all() and (y[:, -1] != IGNORE).all()
    for row in x:  # padding only on the left
        n_pad = int((row == v.pad_id).sum())
        assert (row[:n_pad] == v.pad_id).all()


def test_babi_batch_matches_examples(babi2):
    batches = list(babi2.iter_batches("val", 25))
    assert sum(len(x) for x, _ in batches) == len(babi2.examples["val"]) == 60
    x, y = batches[0]
    for row, target, ex in zip(x, y[:, -1], babi2.examples["val"]):
        text = babi2.decode(row.tolist())
        assert text == " ".join(" ".join(tokenize(f)) + " <sep>" for f in ex.facts) + \
            f" <q> {' '.join(tokenize(ex.question))} <eoq>"
        assert babi2.decode([int(target)]) == ex.answer


def test_babi_batches_are_seeded(babi2):
    assert all(torch.equal(a, b) for a, b in zip(babi2.batch("train", 4, _gen(3)), babi2.batch("train", 4, _gen(3))))


def test_model_overrides_name_the_special_ids(babi2):
    o = babi2.model_overrides()
    assert o["vocab_size"] == len(babi2.vocab) and o["block_size"] == babi2.max_len
    assert [o["pad_id"], o["sep_id"], o["question_id"], o["query_end_id"]] == babi2.vocab.encode(
        ["<pad>", "<sep>", "<q>", "<eoq>"])


def test_max_facts_keeps_the_last_facts():
    task = BabiTask(3, n_train=50, n_val=10, max_facts=4)
    x, _ = task.batch("train", 8, _gen())
    assert ((x == task.vocab.sep_id).sum(1) <= 4).all()


def test_vocab_round_trip(tmp_path):
    v = Vocab(["mary", "kitchen", "apple,milk"])
    v.save(tmp_path / "v.txt")
    assert Vocab.load(tmp_path / "v.txt").itos == v.itos and v.pad_id == 0
    assert v.decode(v.encode(["mary", "zebra"])) == "mary <unk>"


@pytest.fixture(scope="module")
def hay() -> HaystackTask:
    return HaystackTask(1, length=300, n_train=200, n_val=40)


def _contains_in_order(seq: list[int], parts: list[list[int]]) -> bool:
    """Each part occurs as a contiguous run, in order, without overlap."""
    i = 0
    for p in parts:
        while i <= len(seq) - len(p) and seq[i : i + len(p)] != p:
            i += 1
        if i > len(seq) - len(p):
            return False
        i += len(p)
    return True


def test_haystack_has_requested_length_and_all_facts_in_order(hay):
    for split in ("train", "val"):
        x, y = hay.batch(split, 6, _gen(1))
        assert x.shape == (6, 300) and (y[:, :-1] == IGNORE).all()
        assert (x != hay.vocab.pad_id).all() and (x[:, -1] == hay.vocab.qend_id).all()
    seeded_idx = torch.randint(len(hay.stories["train"]), (1,), generator=_gen(2)).item()  # as batch() draws
    x, y = hay.batch("train", 1, _gen(2))
    facts, question, answer = hay.stories["train"][seeded_idx]
    assert _contains_in_order(x[0].tolist(), facts + [question]) and int(y[0, -1]) == answer
    assert x[0, -len(question):].tolist() == question


def test_haystack_background_is_shakespeare_and_splits_differ(hay):
    x_train, _ = hay.batch("train", 4, _gen(5))
    x_val, _ = hay.batch("val", 4, _gen(5))
    words = hay.decode(x_train[0].tolist()).split()
    assert len(set(words)) > 40  # far more than the bAbI vocabulary
    assert not torch.equal(x_train, x_val)


def test_make_haystacks_builds_each_length():
    tasks = make_haystacks((128, 512), n_train=50, n_val=10)
    assert tasks[128].vocab.itos == tasks[512].vocab.itos  # one model can be evaluated at every length
    for n, task in tasks.items():
        assert task.batch("val", 2, _gen())[0].shape == (2, n) and task.model_overrides()["block_size"] == n
    with pytest.raises(ValueError):
        HaystackTask(3, length=16, n_train=20, n_val=5)


def test_haystack_iter_batches_is_fixed_and_complete(hay):
    a = list(hay.iter_batches("val", 16))
    b = list(hay.iter_batches("val", 16))
    assert sum(len(x) for x, _ in a) == len(hay.stories["val"])
    assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))
    assert all(x.shape[1] == 300 for x, _ in a)


def test_support_marks_sit_on_the_supporting_facts_separators():
    task = BabiTask(3, n_train=30, n_val=5, seed=1, support=True)
    x, y = task.collate(task.encoded["train"][:4])
    for row_x, row_y, ex in zip(x, y, task.examples["train"][:4]):
        seps = (row_x == task.vocab.sep_id).nonzero().squeeze(1).tolist()
        marked = {int(row_y[p]): seps.index(p) for p in seps if row_y[p] >= 0}
        assert marked == dict(enumerate(ex.support))
    plain = BabiTask(3, n_train=30, n_val=5, seed=1)
    assert (plain.collate(plain.encoded["train"][:4])[1][:, :-1] == IGNORE).all()


def test_support_marks_follow_max_facts():
    task = BabiTask(3, n_train=60, n_val=5, seed=1, support=True, max_facts=4)
    for item, ex in zip(task.encoded["train"], task.examples["train"]):
        cut = max(len(ex.facts) - 4, 0)
        assert [k for _, k in item[2]] == [k for k, f in enumerate(ex.support) if f >= cut]
