"""examples/preferences.py: statements become preference facts; a changed taste supersedes the
old fact (kept in history) and moves the matching catalogue items down. Real MiniLM: the
ranking is semantic."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

SPICY = {"mapo-tofu", "green-curry", "hot-chicken", "vindaloo", "spicy-tuna", "kimchi-stew", "arrabbiata",
         "jerk-chicken", "tom-yum"}  # the catalogue's hot dishes


def ranks(recs) -> dict[str, int]:
    return {r.item["id"]: i for i, r in enumerate(recs)}


@pytest.mark.parametrize("said, like, topic", [
    ("I love spicy food", True, "spicy food"),
    ("I've gone off spicy food", False, "spicy food"),
    ("I don't like seafood anymore.", False, "seafood"),
    ("I really enjoy Italian dishes!", True, "Italian dishes"),
    ("I can't stand mushrooms", False, "mushrooms"),
    ("I'm into Thai food these days", True, "Thai food"),
])
def test_statements_are_read_as_likes_and_dislikes(preferences, said, like, topic):
    assert preferences.parse_preference(said) == preferences.Preference(like, topic)


def test_a_statement_without_a_preference_is_refused(preferences):
    with pytest.raises(ValueError, match="no like or dislike"):
        preferences.parse_preference("The weather is nice today")


def test_a_changed_preference_supersedes_the_old_one_and_moves_spicy_items_down(tmp_path, preferences, minilm):
    catalogue = preferences.load_catalogue()
    assert len(catalogue) >= 30 and {i["id"] for i in catalogue} >= SPICY
    db = tmp_path / "prefs.db"
    with preferences.open_memory(db, minilm) as m:
        for said in ["I love spicy food", "I don't like seafood", "I really enjoy Italian dishes"]:
            assert [e.event for e in preferences.remember(m, "ana", said)] == ["ADD"]
        before = preferences.recommend(m, "ana", catalogue)
        events = preferences.remember(m, "ana", "I've gone off spicy food")
        after = preferences.recommend(m, "ana", catalogue)

    assert [(e.event, e.text) for e in events] == [("ADD", "ana dislikes spicy food"),
                                                  ("SUPERSEDE", "ana likes spicy food")]
    # every spicy dish moves down; from at least two in the top 5 to none
    rb, ra = ranks(before), ranks(after)
    assert all(ra[i] > rb[i] for i in SPICY), {i: (rb[i], ra[i]) for i in SPICY}
    assert len(SPICY & {r.item["id"] for r in before[:5]}) >= 2
    assert not SPICY & {r.item["id"] for r in after[:5]}
    assert all(r.score < 0 for r in after if r.item["id"] in SPICY - {"arrabbiata"})  # arrabbiata is Italian

    with preferences.open_memory(db, minilm) as m:  # a new handle on the same file
        current = {f.text for f in preferences.preferences(m, "ana")}
        assert current == {"ana dislikes seafood", "ana likes Italian dishes", "ana dislikes spicy food"}
        (old,) = [f for f in preferences.preferences(m, "ana", include_superseded=True)
                  if f.text == "ana likes spicy food"]
        assert old.valid_to is not None and old.superseded_by == events[0].id
        assert old.metadata == {"preference": "like", "topic": "spicy food", "said": "I love spicy food"}
        assert [h.event for h in m.history(old.id)] == ["ADD", "SUPERSEDE"]
        assert old.id not in {h.memory.id for h in m.search("spicy food", user_id="ana")}
        assert old.id in {h.memory.id for h in m.search("spicy food", user_id="ana", include_superseded=True)}


def test_repeats_are_noops_other_topics_stay_and_a_taste_can_come_back(tmp_path, preferences, minilm):
    with preferences.open_memory(tmp_path / "p.db", minilm) as m:
        first = preferences.remember(m, "ana", "I love spicy food")
        assert [e.event for e in preferences.remember(m, "ana", "I love spicy food")] == ["NOOP"]
        assert [e.event for e in preferences.remember(m, "ana", "I like Italian food")] == ["ADD"]  # another topic
        assert [e.event for e in preferences.remember(m, "ana", "I hate spicy dishes")] == ["ADD", "SUPERSEDE"]
        back = preferences.remember(m, "ana", "I love spicy food")  # a new fact, not the superseded one
        assert [e.event for e in back] == ["ADD", "SUPERSEDE"] and back[0].id != first[0].id
        assert [f.text for f in preferences.preferences(m, "ana")] == ["ana likes Italian food", "ana likes spicy food"]
        assert preferences.preferences(m, "bob") == []  # per user
        assert all(r.score == 0 for r in preferences.recommend(m, "bob", preferences.load_catalogue()))


def test_main_demo_and_json(tmp_path, preferences, capsys, minilm, monkeypatch):
    monkeypatch.setattr(preferences, "open_memory", lambda db, encoder=None: preferences.Memory(
        db, encoder=minilm, config=preferences.CONFIG))  # reuse the session's encoder
    assert preferences.main(["--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "SUPERSEDE 'ana likes spicy food'" in out and "[superseded " in out
    db = str(tmp_path / "p.db")
    assert preferences.main(["--db", db, "--say", "I love Thai food", "--json", "--top", "2"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 2 and all(r["because"] == "you like Thai food" for r in recs)
    assert preferences.main(["--db", db, "--json", "--top", "2"]) == 0  # remembered in the file
    assert json.loads(capsys.readouterr().out) == recs
