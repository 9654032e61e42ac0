"""Token buckets shared by the worker processes of `memlm serve --workers N` (a memory-mapped file)."""

from __future__ import annotations

import multiprocessing
import random

import pytest

from memlm.server.buckets import SharedBuckets, _digest

BURST = 40


def _grab(path: str, start, results, attempts: int) -> None:
    """In a child process: take tokens for key "k" as fast as possible; put how many were granted."""
    buckets = SharedBuckets(path)
    start.wait(timeout=30)
    results.put(sum(buckets.take("k", None, rate=1 / 60, burst=BURST) == 0.0 for _ in range(attempts)))
    buckets.close()


def test_two_processes_share_one_bucket(tmp_path):
    path = tmp_path / "buckets"
    SharedBuckets.create(path)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_grab, args=(str(path), start, results, 5 * BURST)) for _ in range(2)]
    for proc in procs:
        proc.start()
    counts = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    assert [proc.exitcode for proc in procs] == [0, 0]
    # one bucket of BURST tokens (a token a minute: at most one more refills during the run), not one each
    assert BURST <= sum(counts) <= BURST + 1, counts


def _limiter(tmp_path, per_minute=60, burst=2, slots=None):
    from memlm.server.limits import RateLimiter

    path = tmp_path / "buckets"
    SharedBuckets.create(path, **({"slots": slots} if slots else {}))
    return RateLimiter(per_minute, burst, shared_file=path)


def test_different_keys_have_their_own_buckets(tmp_path):
    limiter = _limiter(tmp_path, slots=4)
    home = {k: _digest(k) % 4 for k in (f"key{i}" for i in range(50))}
    a = next(iter(home))
    b = next(k for k in home if k != a and home[k] == home[a])  # same home slot: b probes past a's
    for key in (a, b):
        assert [limiter.retry_after(key, now=0.0) for _ in range(2)] == [0.0, 0.0]
    assert limiter.retry_after(a, now=0.0) == pytest.approx(1.0)
    assert limiter.retry_after(b, now=0.5) == pytest.approx(0.5)
    assert limiter.retry_after("another", now=0.5) == 0.0  # a third key, still untouched


def test_a_second_handle_on_the_file_sees_the_same_bucket(tmp_path):
    limiter = _limiter(tmp_path)
    other = SharedBuckets(tmp_path / "buckets")
    assert limiter.retry_after("k", now=0.0) == 0.0
    assert other.take("k", 0.0, rate=1.0, burst=2.0) == 0.0
    assert limiter.retry_after("k", now=0.0) == pytest.approx(1.0)  # two taken, one through each handle
    other.close()


def test_dict_and_file_give_the_same_answers(tmp_path):
    from memlm.server.limits import RateLimiter

    in_process, shared = RateLimiter(30, 3), _limiter(tmp_path, per_minute=30, burst=3)
    rng, now, calls = random.Random(7), 0.0, []
    for _ in range(500):
        now += rng.choice([0.0, 0.0, 0.1, 0.7, 2.5, 9.0])
        calls.append((rng.choice("abcd"), now))
    answers = [(in_process.retry_after(k, now=t), shared.retry_after(k, now=t)) for k, t in calls]
    assert all(d == f for d, f in answers)
    waits = [d for d, _ in answers]
    assert 0.0 in waits and any(w > 0 for w in waits)  # the sequence both allows and limits


def test_a_full_table_reuses_the_stalest_slot_and_still_limits(tmp_path):
    limiter = _limiter(tmp_path, per_minute=60, burst=2, slots=2)  # a token a second
    assert [limiter.retry_after("a", now=0.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    assert limiter.retry_after("b", now=0.5) == 0.0  # the table is full now
    assert [limiter.retry_after("c", now=0.6) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]  # in a's slot
    assert limiter.retry_after("b", now=0.6) == 0.0  # b kept its slot: 1.1 tokens, one taken
    assert limiter.retry_after("b", now=0.6) == pytest.approx(0.9)
    assert limiter.retry_after("a", now=0.7) == 0.0  # a was dropped: a full bucket again, where it had 0.7


def test_the_file_must_be_a_bucket_table(tmp_path):
    (tmp_path / "odd").write_bytes(b"x" * 25)
    with pytest.raises(ValueError, match="not a bucket file"):
        SharedBuckets(tmp_path / "odd")


def test_serve_shares_the_buckets_of_several_workers():
    from memlm.cli.serve import shared_rate_limit
    from memlm.server.settings import ServerSettings

    settings = ServerSettings(db="unused.db", rate_limit_per_minute=60)
    with shared_rate_limit(settings, 2) as shared:
        path = shared.rate_limit_file
        assert path is not None and path.is_file()
        buckets = SharedBuckets(path)
        assert buckets.slots == 4096
        buckets.close()
        as_read = ServerSettings.model_validate_json(shared.model_dump_json())  # as workers read it
        assert as_read.rate_limit_file == path
    assert not path.parent.exists()  # the temporary folder is gone when serve returns
    with shared_rate_limit(settings, 1) as single:
        assert single.rate_limit_file is None
    with shared_rate_limit(settings.model_copy(update={"rate_limit_per_minute": 0}), 2) as unlimited:
        assert unlimited.rate_limit_file is None


def test_closing_the_limiter_releases_the_shared_file(tmp_path):
    from memlm.server.buckets import SharedBuckets
    from memlm.server.limits import RateLimiter

    path = tmp_path / "b"
    SharedBuckets.create(path)
    limiter = RateLimiter(60, shared_file=path)
    assert limiter.retry_after("k", now=1.0) == 0.0
    limiter.close()
    assert limiter._buckets._map.closed
