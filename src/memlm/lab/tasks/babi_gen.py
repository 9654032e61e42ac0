"""A small bAbI world simulation generating tasks 1, 2, 3, 6, 7, 8, 9 and 11.

Actors move between locations, pick up, drop and give objects; sentences use the
vocabulary of the original bAbI tasks (Weston et al., 2015). Every question's answer
and supporting facts come from the simulated world state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from memlm.lab.tasks.babi_format import Entry, Story

ACTORS = ["Mary", "John", "Daniel", "Sandra"]
PRONOUN = {"Mary": "she", "Sandra": "she", "John": "he", "Daniel": "he"}
LOCATIONS = ["bathroom", "hallway", "garden", "office", "bedroom", "kitchen"]
OBJECTS = ["football", "apple", "milk"]
MOVE_VERBS = ["moved to", "went to", "journeyed to", "travelled to", "went back to"]
GRAB_VERBS = ["got", "picked up", "grabbed", "took"]  # "<actor> got the milk there."
DROP_VERBS = ["dropped", "discarded", "put down", "left"]  # "<actor> left the milk."
GIVE_VERBS = ["gave", "passed", "handed"]  # "<actor> gave the milk to <actor>."
COREF_LINKS = ["Then", "After that", "Following that", "Afterwards"]
COUNTS = ["none", "one", "two", "three"]
TASK_IDS = (1, 2, 3, 6, 7, 8, 9, 11)
QUESTIONS_PER_STORY = 5
RECENT = 0.2  # chance a question is about an actor of the last two statements


@dataclass
class World:
    """World state plus the story written so far; ``line`` is the next line number."""

    rng: random.Random
    story: Story = field(default_factory=list)
    loc: dict[str, tuple[str, int]] = field(default_factory=dict)  # actor -> (location, line)
    holder: dict[str, tuple[str, int]] = field(default_factory=dict)  # object -> (actor, line)
    dropped: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # obj -> (loc, line, loc line)
    trail: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # obj -> [(loc, line)]
    touched: dict[str, int] = field(default_factory=dict)  # actor -> line of last object event
    absent: dict[str, str] = field(default_factory=dict)  # task 9: actor -> location it is not in
    antecedent: dict[str, int] = field(default_factory=dict)  # task 11: actor -> line naming it

    @property
    def line(self) -> int:
        return len(self.story) + 1

    def say(self, text: str) -> int:
        self.story.append(Entry(text))
        return len(self.story)

    def ask(self, question: str, answer: str, support: list[int]) -> None:
        """A question; ``support`` in reasoning order (the order a DMN pass would visit them)."""
        self.story.append(Entry(question, answer, tuple(dict.fromkeys(support))))

    def carried(self, actor: str) -> list[str]:
        return sorted(o for o, (a, _) in self.holder.items() if a == actor)

    def move(self, actor: str, text: str | None = None) -> None:
        """Move an actor (and what it carries) to a new location."""
        here = self.loc.get(actor, (None, 0))[0]
        dest = self.rng.choice([place for place in LOCATIONS if place != here])
        verb = self.rng.choice(MOVE_VERBS)
        n = self.say(text or f"{actor} {verb} the {dest}.")
        self.loc[actor] = (dest, n)
        for obj in self.carried(actor):
            self.trail[obj].append((dest, n))

    def grab(self, actor: str, obj: str) -> None:
        n = self.say(f"{actor} {self.rng.choice(GRAB_VERBS)} the {obj} there.")
        here, here_line = self.loc[actor]
        self.holder[obj] = (actor, n)
        self.dropped.pop(obj, None)
        trail = self.trail.setdefault(obj, [])
        if not trail or trail[-1][0] != here:
            trail.append((here, here_line))
        self.touched[actor] = n

    def drop(self, actor: str, obj: str) -> None:
        n = self.say(f"{actor} {self.rng.choice(DROP_VERBS)} the {obj}.")
        here, here_line = self.loc[actor]
        del self.holder[obj]
        self.dropped[obj] = (here, n, here_line)
        self.touched[actor] = n

    def give(self, actor: str, obj: str, other: str) -> None:
        n = self.say(f"{actor} {self.rng.choice(GIVE_VERBS)} the {obj} to {other}.")
        self.holder[obj] = (other, n)
        self.touched[actor] = self.touched[other] = n


def _grabbable(w: World, actor: str) -> list[str]:
    """Objects the actor could pick up: never seen yet, or dropped where the actor is."""
    here = w.loc[actor][0]
    return [o for o in OBJECTS if o not in w.holder and (o not in w.dropped or w.dropped[o][0] == here)]


def _object_step(w: World, give: bool) -> None:
    """One random event of the object world (move, grab, drop or give)."""
    actor = w.rng.choice(ACTORS)
    if actor not in w.loc or w.rng.random() < 0.4:
        return w.move(actor)
    held, free = w.carried(actor), _grabbable(w, actor)
    mates = [a for a in ACTORS if a != actor and w.loc.get(a, ("",))[0] == w.loc[actor][0]]
    options = (["grab"] if free and len(held) < 3 else []) + (["drop"] if held else [])
    options += ["give"] if give and held and mates else []
    if not options:
        return w.move(actor)
    action = w.rng.choice(options)
    if action == "grab":
        w.grab(actor, w.rng.choice(free))
    elif action == "drop":
        w.drop(actor, w.rng.choice(held))
    else:
        w.give(actor, w.rng.choice(held), w.rng.choice(mates))


# --- questions: each returns False when no valid question exists yet -------------------


def _pick_actor(w: World, known: list[str], window: int = 7, recent: float = RECENT) -> str:
    """A known actor whose last fact is within ``window`` lines; with probability ``recent``
    one named in the last two statements (as in the real task 1, whose questions are about
    facts at most 7 lines back, 74% about one of the last two statements)."""
    near = [a for a in known if w.line - w.loc[a][1] <= window] or known
    last = {e.text.split()[0] for e in w.story[-2:] if not e.is_question} & set(near)
    return w.rng.choice(sorted(last) if last and w.rng.random() < recent else near)


def _q_where_actor(w: World) -> bool:
    known = [a for a in ACTORS if a in w.loc]
    if not known:
        return False
    actor = _pick_actor(w, known)
    w.ask(f"Where is {actor}?", w.loc[actor][0], [w.loc[actor][1]])
    return True


def _q_where_object(w: World) -> bool:
    held = [o for o, (a, _) in w.holder.items() if a in w.loc]
    options = [(o, "held") for o in held] + [(o, "dropped") for o in w.dropped]
    if not options:
        return False
    obj, kind = w.rng.choice(sorted(options))
    if kind == "held":
        actor, grab_line = w.holder[obj]
        loc, loc_line = w.loc[actor]
        w.ask(f"Where is the {obj}?", loc, [grab_line, loc_line])
    else:
        loc, drop_line, loc_line = w.dropped[obj]
        w.ask(f"Where is the {obj}?", loc, [drop_line, loc_line])
    return True


def _q_where_before(w: World) -> bool:
    options = [o for o, t in w.trail.items() if len(t) >= 2 and o in w.holder]
    if not options:
        return False
    obj = w.rng.choice(sorted(options))
    (before, l1), (now, l2) = w.trail[obj][-2:]
    w.ask(f"Where was the {obj} before the {now}?", before, [w.holder[obj][1], l2, l1])
    return True


def _q_yes_no(w: World) -> bool:
    """Tasks 6 and 9: "Is X in the L?", yes for half of the questions."""
    known = [a for a in ACTORS if a in w.loc]
    if not known:
        return False
    here = [a for a in known if a not in w.absent]  # actors whose location is known
    if here and w.rng.random() < 0.5:
        actor = _pick_actor(w, here)
        w.ask(f"Is {actor} in the {w.loc[actor][0]}?", "yes", [w.loc[actor][1]])
        return True
    actor = _pick_actor(w, known)
    loc, n = w.loc[actor]
    wrong = w.absent[actor] if actor in w.absent else w.rng.choice([place for place in LOCATIONS if place != loc])
    w.ask(f"Is {actor} in the {wrong}?", "no", [n])
    return True


def _holding_support(w: World, actor: str) -> list[int]:
    held = w.carried(actor)
    return [w.holder[o][1] for o in held] if held else [w.touched[actor]]


def _q_count(w: World) -> bool:
    actors = [a for a in ACTORS if a in w.touched]
    if not actors:
        return False
    actor = w.rng.choice(actors)
    n_held = len(w.carried(actor))
    w.ask(f"How many objects is {actor} carrying?", COUNTS[n_held], _holding_support(w, actor))
    return True


def _q_list(w: World) -> bool:
    actors = [a for a in ACTORS if a in w.touched]
    if not actors:
        return False
    actor = w.rng.choice(actors)
    answer = ",".join(w.carried(actor)) or "nothing"
    w.ask(f"What is {actor} carrying?", answer, _holding_support(w, actor))
    return True


# --- task-specific statement steps -----------------------------------------------------


def _negation_step(w: World) -> None:
    """Task 9: "X is in the L." / "X is no longer in the L." / "X is not in the L." or a move."""
    actor, loc = w.rng.choice(ACTORS), w.rng.choice(LOCATIONS)
    kind = w.rng.choice(["move", "is", "no longer", "not"])
    if kind == "move":
        w.absent.pop(actor, None)
        return w.move(actor)
    if kind == "is":
        w.absent.pop(actor, None)
        w.loc[actor] = (loc, w.say(f"{actor} is in the {loc}."))
        return None
    if kind == "no longer" and actor in w.loc and actor not in w.absent:
        loc = w.loc[actor][0]
    w.absent[actor] = loc
    w.loc[actor] = ("-", w.say(f"{actor} is {kind} in the {loc}."))  # "-": somewhere else
    return None


def _coref_step(w: World) -> None:
    """Task 11: a move, or "<link> <pronoun> <verb> the <loc>." about the previous actor."""
    prev = w.story[-1].text.split()[0] if w.story and not w.story[-1].is_question else None
    if prev in ACTORS and w.rng.random() < 0.6:
        here = w.loc[prev][0]
        dest = w.rng.choice([place for place in LOCATIONS if place != here])
        text = f"{w.rng.choice(COREF_LINKS)} {PRONOUN[prev]} {w.rng.choice(MOVE_VERBS)} the {dest}."
        w.antecedent[prev] = w.loc[prev][1]
        w.loc[prev] = (dest, w.say(text))
        return None
    actor = w.rng.choice(ACTORS)
    w.antecedent.pop(actor, None)
    return w.move(actor)


def _q_coref(w: World) -> bool:
    known = [a for a in ACTORS if a in w.loc]
    if not known:
        return False
    linked = [a for a in known if a in w.antecedent]
    actor = w.rng.choice(linked if linked and w.rng.random() < 0.7 else known)
    loc, n = w.loc[actor]
    support = [n] + ([w.antecedent[actor]] if actor in w.antecedent else [])
    w.ask(f"Where is {actor}?", loc, support)
    return True


# task id -> (statement step, question, (min, max) statements between questions)
_SPECS = {
    1: (lambda w: w.move(w.rng.choice(ACTORS)), _q_where_actor, (2, 2)),
    2: (lambda w: _object_step(w, give=False), _q_where_object, (1, 5)),
    3: (lambda w: _object_step(w, give=False), _q_where_before, (2, 6)),
    6: (lambda w: w.move(w.rng.choice(ACTORS)), _q_yes_no, (2, 2)),
    7: (lambda w: _object_step(w, give=True), _q_count, (1, 4)),
    8: (lambda w: _object_step(w, give=True), _q_list, (1, 4)),
    9: (_negation_step, _q_yes_no, (2, 2)),
    11: (_coref_step, _q_coref, (2, 2)),
}


def generate_story(task_id: int, rng: random.Random, n_questions: int = QUESTIONS_PER_STORY) -> Story:
    """One story of a task with ``n_questions`` questions."""
    step, question, (lo, hi) = _SPECS[task_id]
    w, asked = World(rng), 0
    while asked < n_questions:
        for _ in range(rng.randint(lo, hi)):
            step(w)
        while not question(w):
            step(w)
        asked += 1
    return w.story


def generate(task_id: int, n_questions: int, seed: int = 0) -> list[Story]:
    """Stories of a task holding ``n_questions`` questions in all (the last story may be shorter)."""
    if task_id not in _SPECS:
        raise ValueError(f"bAbI task {task_id} not generated; choose from {TASK_IDS}")
    rng, stories, total = random.Random(seed), [], 0
    while total < n_questions:
        k = min(QUESTIONS_PER_STORY, n_questions - total)
        stories.append(generate_story(task_id, rng, k))
        total += k
    return stories
