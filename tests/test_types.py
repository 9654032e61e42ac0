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
