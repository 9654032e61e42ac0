from datetime import datetime, timezone

import pytest

from memlm.types import Scope
from memlm.write.inputs import drafts_from_input, parse_time


def drafts(data, **kw):
    return drafts_from_input(data, scope=Scope(user_id="u"), occurred_at=kw.get("when"), metadata=None,
                             kind=kw.get("kind"), max_chars=1000)


def test_message_shapes():
    [d] = drafts({"speaker": "Caroline", "text": "hi", "metadata": {"dia_id": "D1:1"}})
    assert (d.kind, d.role, d.text, d.metadata) == ("episode", "Caroline", "hi", {"dia_id": "D1:1"})
    [d] = drafts({"role": "user", "content": " spaced ", "session_id": "s9"})
    assert d.text == "spaced" and d.scope == Scope(user_id="u", session_id="s9")
    [d] = drafts("plain statement", kind="summary")
    assert d.kind == "summary"


def test_times_are_utc():
    assert parse_time("2023-05-08") == datetime(2023, 5, 8, tzinfo=timezone.utc)
    assert parse_time("1:56 pm 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)
    assert parse_time(0) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        parse_time(["2023"])


def test_message_scope_keys_validated():
    with pytest.raises(ValueError, match="session_id"):
        drafts({"role": "user", "content": "x", "session_id": ""})
    with pytest.raises(ValueError, match="metadata"):
        drafts({"role": "user", "content": "x", "metadata": [1]})
