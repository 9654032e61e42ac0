"""The generator against the real bAbI task 1 files: format, vocabulary and statistics."""

from __future__ import annotations

from collections import Counter

import pytest

from memlm.lab.tasks.babi import BabiTask, find_data
from memlm.lab.tasks.babi_format import Story, format_story, read_babi
from memlm.lab.tasks.babi_gen import generate
from memlm.lab.tasks.vocab import tokenize

REAL = "babi/qa1_single-supporting-fact_{}.txt"


@pytest.fixture(scope="module")
def real_train() -> list[Story]:
    try:
        return read_babi(find_data(REAL.format("train")))
    except FileNotFoundError:
        pytest.skip("real bAbI data not found (set MEMLM_DATA)")


@pytest.fixture(scope="module")
def generated() -> list[Story]:
    return generate(1, 10_000, seed=0)


def _questions(stories: list[Story]):
    return [(n, e) for s in stories for n, e in enumerate(s, start=1) if e.is_question]


def _freqs(counter: Counter) -> dict[str, float]:
    total = sum(counter.values())
    return {k: v / total for k, v in counter.items()}


def test_reading_and_writing_reproduces_the_real_file_exactly(real_train):
    original = find_data(REAL.format("train")).read_text().splitlines()
    assert [line for s in real_train for line in format_story(s)] == original


def test_same_story_shape(real_train, generated):
    assert len(generated) == len(real_train) == 2000
    assert Counter(map(len, generated)) == Counter(map(len, real_train))  # 15 lines each
    for stories in (real_train, generated):
        assert {tuple(e.is_question for e in s) for s in stories} == {(False, False, True) * 5}


def test_same_vocabulary(real_train, generated):
    def words(stories):
        return {w for s in stories for e in s for w in tokenize(e.text)}

    assert words(generated) == words(real_train)
    assert {e.answer for _, e in _questions(generated)} == {e.answer for _, e in _questions(real_train)}


def test_similar_answer_verb_and_actor_distributions(real_train, generated):
    def dists(stories):
        qs = _questions(stories)
        answers = Counter(e.answer for _, e in qs)
        verbs = Counter(" ".join(e.text.split()[1:-2]) for s in stories for e in s if not e.is_question)
        actors = Counter(e.text.split()[2] for _, e in qs)
        return _freqs(answers), _freqs(verbs), _freqs(actors)

    for real, gen in zip(dists(real_train), dists(generated)):
        assert set(real) == set(gen)
        assert all(abs(real[k] - gen[k]) < 0.02 for k in real), (real, gen)


def test_similar_distance_from_question_to_supporting_fact(real_train, generated):
    def dist(stories):
        return _freqs(Counter(n - e.support[0] for n, e in _questions(stories)))

    real, gen = dist(real_train), dist(generated)
    assert set(gen) <= set(real) == {1, 2, 4, 5, 7}
    assert all(abs(real[k] - gen.get(k, 0)) < 0.03 for k in real), (real, gen)


def test_real_task_uses_test_file_for_validation_and_shares_vocab_with_generated():
    try:
        real = BabiTask(1, real=True)
    except FileNotFoundError:
        pytest.skip("real bAbI data not found")
    gen = BabiTask(1, n_train=2000, n_val=200)
    assert len(real.examples["train"]) == 10_000 and len(real.examples["val"]) == 1_000
    assert real.vocab.itos == gen.vocab.itos
