"""`hops` means what it says: 1 or 2 passes; 0 (or 3) is refused, not silently the default."""

from __future__ import annotations

import pytest

from memlm import Memory
from memlm.config import MemoryConfig, RecallConfig

FACTS = ["Ana's sister is called Mia", "Mia lives in Lisbon", "Ana plays the cello", "The cat is named Tofu"]


def _texts(hits):
    return [(h.memory.text, round(h.score, 9)) for h in hits]


@pytest.mark.parametrize("bad", [0, 3, -1, True])
def test_hops_outside_one_or_two_is_refused(mem, bad):
    mem.add(FACTS[0], user_id="u")
    with pytest.raises(ValueError, match="hops must be 1"):
        mem.search("sister", user_id="u", hops=bad)


def test_hops_none_is_the_configured_default(tmp_path, hashing):
    with Memory(tmp_path / "a.db", encoder=hashing, config=MemoryConfig(recall=RecallConfig(hops=2))) as m:
        for f in FACTS:
            m.add(f, user_id="u")
        default = _texts(m.search("where does Ana's sister live", user_id="u"))
        assert default == _texts(m.search("where does Ana's sister live", user_id="u", hops=2))
        one = m.search("where does Ana's sister live", user_id="u", hops=1)
        assert all("hop" not in h.reasons for h in one)  # one pass: no second-pass evidence
        assert any("hop" in h.reasons for h in m.search("where does Ana's sister live", user_id="u", hops=2))


def test_configured_hops_zero_is_refused(tmp_path, hashing):
    with Memory(tmp_path / "b.db", encoder=hashing, config=MemoryConfig(recall=RecallConfig(hops=0))) as m:
        m.add(FACTS[0], user_id="u")
        with pytest.raises(ValueError, match="hops must be 1"):
            m.search("sister", user_id="u")
