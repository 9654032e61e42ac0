"""Export / import as JSONL round-trips exactly."""

from __future__ import annotations

import json

import pytest

from memlm import Memory


def fill(m: Memory) -> None:
    m.add([{"role": "user", "content": "We adopted a kitten"}, {"role": "assistant", "content": "Lovely!"}],
          user_id="u", session_id="s1", occurred_at="2024-03-01T10:00:00Z", metadata={"source": "chat"})
    [e] = m.add("My favourite tea is oolong", user_id="u", agent_id="bot")
    m.update(e.id, "My favourite tea is sencha")
    m.add("Agent note", agent_id="bot")
    [old] = m.add("I drive a Volvo", user_id="u")
    m.supersede(old.id, at="2024-05-01T00:00:00Z")


def test_export_import_export_is_identical(tmp_path, hashing):
    with Memory(tmp_path / "a.db", encoder=hashing) as a:
        fill(a)
        assert a.export(tmp_path / "a.jsonl") == 5
    with Memory(tmp_path / "b.db", encoder=hashing) as b:
        assert b.import_(tmp_path / "a.jsonl") == 5
        [gone] = [r for r in b.list(user_id="u", include_superseded=True) if r.valid_to is not None]
        assert gone.text == "I drive a Volvo" and gone.valid_to.year == 2024
        assert [h.event for h in b.history(gone.id)] == ["ADD", "SUPERSEDE"]
        b.export(tmp_path / "b.jsonl")
        fact = next(r for r in b.list(user_id="u") if r.kind == "fact" and "tea" in r.text)
        assert [h.event for h in b.history(fact.id)] == ["ADD", "UPDATE"]
        assert b.search("kitten", user_id="u")[0].memory.text == "We adopted a kitten"
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    header = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert header["format"] == "memlm-export" and header["encoder"] == hashing.name


def test_import_with_another_encoder_re_embeds(tmp_path, hashing):
    from memlm.encoders import HashingEncoder

    with Memory(tmp_path / "a.db", encoder=hashing) as a:
        fill(a)
        a.export(tmp_path / "a.jsonl")
    with Memory(tmp_path / "c.db", encoder=HashingEncoder(64)) as c:
        assert c.import_(tmp_path / "a.jsonl") == 5
        assert c.search("oolong sencha tea", user_id="u")[0].memory.text == "My favourite tea is sencha"


def test_import_refuses_garbage_and_duplicates(tmp_path, hashing):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with Memory(tmp_path / "a.db", encoder=hashing) as a:
        with pytest.raises(ValueError, match="not a memlm export"):
            a.import_(bad)
        fill(a)
        a.export(tmp_path / "a.jsonl")
        assert a.import_(tmp_path / "a.jsonl") == 0  # already here, unchanged: skipped (tests/test_export_import.py)
        assert len(a.list(user_id="u")) == 3  # the second import added nothing
