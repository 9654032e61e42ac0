import pytest

from memlm.types import Scope


def test_scope_requires_an_owner():
    with pytest.raises(ValueError, match="user_id or agent_id"):
        Scope(session_id="s").validate()
    assert Scope(agent_id="bot").validate().as_dict() == {"agent_id": "bot"}


@pytest.mark.parametrize("bad", ["", "   ", 3])
def test_scope_ids_must_be_non_empty_strings(bad):
    with pytest.raises(ValueError, match="user_id"):
        Scope(user_id=bad).validate()


def test_scope_from_dict_refuses_unknown_keys():
    with pytest.raises(ValueError, match="unknown scope key"):
        Scope.from_dict({"user_id": "u", "tenant_id": "x"})
    assert Scope.from_dict({"user_id": "u"}) == Scope(user_id="u")


def test_memory_record_to_dict_has_every_field_and_shares_nothing_mutable():
    from dataclasses import asdict, fields
    from datetime import datetime, timezone

    from memlm.types import MemoryRecord

    at = datetime(2026, 5, 1, 12, 30, tzinfo=timezone.utc)
    rec = MemoryRecord(id="m1", kind="fact", text="likes tea", user_id="u", created_at=at, occurred_at=at,
                       metadata={"tags": ["a"]}, source_ids=["e1"], valid_to=at, superseded_by="m2")
    out = rec.to_dict()
    expected = asdict(rec)
    for key in ("created_at", "updated_at", "occurred_at", "valid_to"):
        expected[key] = expected[key].isoformat() if expected[key] else None
    assert out == expected and list(out) == [f.name for f in fields(MemoryRecord)]
    out["metadata"]["tags"].append("b")
    out["source_ids"].append("e2")
    assert rec.metadata == {"tags": ["a"]} and rec.source_ids == ["e1"]
