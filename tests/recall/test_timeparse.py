from datetime import datetime, timezone

import pytest

from memlm.recall.timeparse import parse_window

NOW = datetime(2023, 6, 15, 12, 0, tzinfo=timezone.utc)


def d(y, m, day=1):
    return datetime(y, m, day, tzinfo=timezone.utc)


@pytest.mark.parametrize("query, start, end", [
    ("what happened in 2022?", d(2022, 1), d(2023, 1)),
    ("what did I do last May", d(2023, 5), d(2023, 6)),  # the May just past
    ("last July", d(2022, 7), d(2022, 8)),
    ("plans for last March", d(2023, 3), d(2023, 4)),
    ("in May 2023 we met", d(2023, 5), d(2023, 6)),
    ("on 8 May, 2023", d(2023, 5, 8), d(2023, 5, 9)),
    ("on May 8th, 2023", d(2023, 5, 8), d(2023, 5, 9)),
    ("notes from 2023-01-31", d(2023, 1, 31), d(2023, 2, 1)),
    ("what did I eat yesterday", d(2023, 6, 14), d(2023, 6, 15)),
    ("last week's meeting", d(2023, 6, 5), d(2023, 6, 12)),
    ("last month", d(2023, 5), d(2023, 6)),
    ("last year", d(2022, 1), d(2023, 1)),
])
def test_windows(query, start, end):
    w = parse_window(query, NOW)
    assert (w.start, w.end) == (start, end)


def test_recently_and_ago_are_relative_to_now():
    w = parse_window("what have I been reading recently", NOW)
    assert w.end > NOW > w.start and (NOW - w.start).days == 30
    w = parse_window("the trip two weeks ago", NOW)
    assert w.contains(d(2023, 6, 1)) and not w.contains(d(2023, 5, 1))


@pytest.mark.parametrize("query", ["where does my sister live", "may I ask about dogs", "what is 42 times 3"])
def test_no_time_named(query):
    assert parse_window(query, NOW) is None
