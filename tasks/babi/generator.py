"""A bundled generator of bAbI-STYLE question-answering tasks (standard library only).

This is a bAbI-STYLE generator, NOT the released bAbI dataset and not its generator.
It simulates its own small world (people walking between rooms and carrying things,
animals, shapes, boxes, a map of rooms) and writes files in the bAbI v1.2 text format
(Weston et al. 2015, "Towards AI-Complete Question Answering: A Set of Prerequisite Toy
Tasks"), with the same 20 file names and the same kinds of question, so that training,
demos and tests run offline. Results on these files are NOT comparable with published
bAbI numbers; use the released data (CC BY 3.0) for that.

Format (one file per task and split, e.g. ``qa1_single-supporting-fact_train.txt``)::

    1 Mary moved to the bathroom.
    2 John went to the hallway.
    3 Where is Mary? <TAB>bathroom<TAB>1
    1 The office is north of the kitchen.          <- a new story restarts the ids at 1
    2 The garden is south of the kitchen.
    3 What is north of the kitchen?<TAB>office<TAB>1

A question line is ``ID question<TAB>answer<TAB>supporting ids``; the supporting ids are
the story sentences that establish the answer. Answers of several words are joined by
commas (``n,w``, ``apple,football``, ``nothing``). As in the released files, questions of
tasks 4 and 15-20 have no space before the tab and the others have one.

Every answer is computed from the simulated world state, never guessed, and only
questions whose answer follows from the sentences told so far are asked.

Usage::

    python -m tasks.babi.generator OUT_DIR --tasks 1 2 --num-train 1000 --num-test 1000 --seed 0

(``python -m memnets_tasks.babi.generator ...`` outside a checkout: see ``tasks/__init__.py``.)
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .reader import TASK_NAMES, task_file_name

__all__ = ["TASK_NAMES", "generate_task", "main", "split_seed", "write_dataset", "write_task"]

# ---------------------------------------------------------------------------
# vocabulary
# ---------------------------------------------------------------------------

ACTORS = ("Mary", "John", "Sandra", "Daniel")
PRONOUNS = {"Mary": "she", "John": "he", "Sandra": "she", "Daniel": "he"}
PLACES = ("kitchen", "garden", "hallway", "bathroom", "office", "bedroom")
TOWN_PLACES = ("school", "park", "cinema", "office", "kitchen", "bedroom")  # tasks 10 and 14
OBJECTS = ("football", "apple", "milk")

MOVE_VERBS = ("went to", "went back to", "journeyed to", "travelled to", "moved to")
PICK_VERBS = ("picked up", "got", "grabbed", "took")
DROP_VERBS = ("dropped", "discarded", "put down", "left")
GIVE_VERBS = ("gave", "handed", "passed")
CONNECTIVES = ("then", "after that", "afterwards", "following that")  # tasks 11 and 13
NUMBER_WORDS = ("none", "one", "two", "three")

DIRECTIONS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
OPPOSITE_DIRECTION = {"north": "south", "south": "north", "east": "west", "west": "east"}

TIMES = ("yesterday", "this morning", "this afternoon", "this evening")  # in time order

SPECIES_PLURALS = {"mouse": "mice", "sheep": "sheep", "wolf": "wolves", "cat": "cats"}
DEDUCTION_NAMES = ("Gertrude", "Oscar", "Lena", "Rufus")
INDUCTION_NAMES = ("Lily", "Hugo", "Greta", "Brian", "Felix")
INDUCTION_SPECIES = ("swan", "lion", "frog", "rhino")
COLORS = ("white", "gray", "yellow", "green")

SHAPE_COLORS = ("red", "blue", "pink", "yellow")
SHAPES = ("square", "sphere", "rectangle", "triangle")
POSITIONS = {
    "to the left of": (-1, 0),
    "to the right of": (1, 0),
    "above": (0, 1),
    "below": (0, -1),
}
INVERSE_POSITION = {
    "to the left of": "to the right of",
    "to the right of": "to the left of",
    "above": "below",
    "below": "above",
}

CONTAINERS = ("box", "chest", "suitcase", "container", "chocolate", "box of chocolates")

MOTIVATION_NAMES = ("Nadia", "Omar", "Keiko", "Pavel")
MOTIVATIONS = {  # feeling -> (place it sends you to, things you get there)
    "hungry": ("kitchen", ("apple",)),
    "thirsty": ("kitchen", ("milk",)),
    "tired": ("bedroom", ("pajamas",)),
    "bored": ("garden", ("football",)),
}

NO_SPACE_BEFORE_TAB = frozenset({4, 15, 16, 17, 18, 19, 20})  # quirk of the released files

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class Story:
    """The numbered lines of one story; sentence ids restart at 1 for each story."""

    def __init__(self, *, space_before_tab: bool = True) -> None:
        self.lines: list[str] = []
        self.num_questions = 0
        self.space_before_tab = space_before_tab

    def tell(self, sentence: str) -> int:
        """Add a story sentence (first letter capitalised) and return its id."""
        sentence_id = len(self.lines) + 1
        self.lines.append(f"{sentence_id} {sentence[0].upper()}{sentence[1:]}")
        return sentence_id

    def ask(self, question: str, answer: str, supporting_ids: Iterable[int]) -> None:
        """Add a question line ``question<TAB>answer<TAB>ids``."""
        gap = " " if self.space_before_tab else ""
        supports = " ".join(str(sentence_id) for sentence_id in supporting_ids)
        self.lines.append(f"{len(self.lines) + 1} {question}{gap}\t{answer}\t{supports}")
        self.num_questions += 1

    def lines_through_question(self, count: int) -> list[str]:
        """The lines up to and including question number ``count`` (or the last question)."""
        seen = 0
        end = 0
        for index, line in enumerate(self.lines):
            if "\t" in line:
                seen += 1
                end = index + 1
                if seen == count:
                    break
        return self.lines[:end]


def _run(
    story: Story,
    *,
    tell: Callable[[], None],
    ask: Callable[[], bool],
    num_questions: int = 5,
    statements_between_questions: int = 2,
    max_statements: int = 200,
) -> None:
    """Alternate ``tell()`` and ``ask()``: a question is tried every few statements.

    ``ask`` returns False where nothing answerable can be asked yet; it is tried again
    after the next statement.
    """
    since_question = 0
    for _ in range(max_statements):
        if story.num_questions >= num_questions:
            return
        tell()
        since_question += 1
        if since_question >= statements_between_questions and ask():
            since_question = 0


class World:
    """People moving between places and carrying objects.

    Remembers, for every fact, the id of the sentence that established it, so that
    questions can name their supporting sentences.
    """

    def __init__(
        self,
        story: Story,
        rng: random.Random,
        *,
        actors: Sequence[str] = ACTORS,
        places: Sequence[str] = PLACES,
        objects: Sequence[str] = OBJECTS,
    ) -> None:
        self.story = story
        self.rng = rng
        self.actors = tuple(actors)
        self.places = tuple(places)
        self.objects = tuple(objects)
        self.location: dict[str, str] = {}  # actor -> place
        self.location_fact: dict[str, int] = {}  # actor -> id of the move that put them there
        self.holder: dict[str, str] = {}  # object -> actor carrying it
        self.carried: dict[str, list[str]] = {actor: [] for actor in self.actors}  # in pick order
        self.holding_facts: dict[str, list[int]] = {actor: [] for actor in self.actors}
        self.lying: dict[str, tuple[str, list[int]]] = {}  # object -> (place, [drop, move])
        self.object_fact: dict[str, int] = {}  # object -> id of its latest pick/drop/give
        # object -> [(place, id of the carrier's move there)] during its latest carrying
        self.trail: dict[str, list[tuple[str, int]]] = {}
        self.history: dict[str, list[str]] = {obj: [] for obj in self.objects}  # places visited
        self.gives: list[tuple[str, str, str, int]] = []  # (giver, object, receiver, id)

    # -- actions: each tells its sentence and returns False where it is impossible --

    def move(self, actor: str, place: str | None = None) -> bool:
        if place is None or place == self.location.get(actor):
            place = self.rng.choice([p for p in self.places if p != self.location.get(actor)])
        sentence_id = self.story.tell(f"{actor} {self.rng.choice(MOVE_VERBS)} the {place}.")
        self.location[actor] = place
        self.location_fact[actor] = sentence_id
        for obj in self.carried[actor]:
            self.trail[obj].append((place, sentence_id))
            self.history[obj].append(place)
        return True

    def meet(self, actor: str) -> bool:
        """Move to where another actor is (makes giving possible)."""
        others = [
            other
            for other in self.actors
            if other in self.location and self.location[other] != self.location.get(actor)
        ]
        return bool(others) and self.move(actor, self.location[self.rng.choice(others)])

    def pick(self, actor: str) -> bool:
        if actor not in self.location:
            return False
        place = self.location[actor]
        free = [
            obj
            for obj in self.objects
            if obj not in self.holder and (obj not in self.lying or self.lying[obj][0] == place)
        ]
        if not free:
            return False
        obj = self.rng.choice(free)
        there = " there" if self.rng.random() < 0.5 else ""
        sentence_id = self.story.tell(f"{actor} {self.rng.choice(PICK_VERBS)} the {obj}{there}.")
        self._receive(actor, obj, sentence_id)
        return True

    def drop(self, actor: str) -> bool:
        if not self.carried[actor]:
            return False
        obj = self.rng.choice(self.carried[actor])
        there = " there" if self.rng.random() < 0.5 else ""
        sentence_id = self.story.tell(f"{actor} {self.rng.choice(DROP_VERBS)} the {obj}{there}.")
        self._release(actor, obj, sentence_id)
        self.lying[obj] = (self.location[actor], [sentence_id, self.location_fact[actor]])
        return True

    def give(self, actor: str) -> bool:
        receivers = [
            other
            for other in self.actors
            if other != actor and self.location.get(other, "") == self.location.get(actor)
        ]
        if not self.carried[actor] or not receivers:
            return False
        obj = self.rng.choice(self.carried[actor])
        receiver = self.rng.choice(receivers)
        verb = self.rng.choice(GIVE_VERBS)
        sentence_id = self.story.tell(f"{actor} {verb} the {obj} to {receiver}.")
        self._release(actor, obj, sentence_id)
        self._receive(receiver, obj, sentence_id)
        self.gives.append((actor, obj, receiver, sentence_id))
        return True

    def step(self, weights: dict[str, float]) -> None:
        """One random action of a random actor, drawn by ``weights``; a move if impossible."""
        actor = self.rng.choice(self.actors)
        action = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        if action == "move" or not getattr(self, action)(actor):
            self.move(actor)

    def _receive(self, actor: str, obj: str, sentence_id: int) -> None:
        place = self.location[actor]
        self.holder[obj] = actor
        self.lying.pop(obj, None)
        self.carried[actor].append(obj)
        self.holding_facts[actor].append(sentence_id)
        self.object_fact[obj] = sentence_id
        self.trail[obj] = [(place, self.location_fact[actor])]
        if not self.history[obj] or self.history[obj][-1] != place:
            self.history[obj].append(place)

    def _release(self, actor: str, obj: str, sentence_id: int) -> None:
        del self.holder[obj]
        self.carried[actor].remove(obj)
        self.holding_facts[actor].append(sentence_id)
        self.object_fact[obj] = sentence_id

    # -- questions --

    def object_place(self, obj: str) -> tuple[str, list[int]] | None:
        """Where ``obj`` is, with the two sentences that show it; None if unknown."""
        if obj in self.holder:
            actor = self.holder[obj]
            return self.location[actor], [self.object_fact[obj], self.location_fact[actor]]
        return self.lying.get(obj)


# ---------------------------------------------------------------------------
# the 20 tasks: each fills one story
# ---------------------------------------------------------------------------


def _where_is_actor(world: World) -> bool:
    """Ask 'Where is X?' about someone whose place is known (one supporting fact)."""
    known = [actor for actor in world.actors if actor in world.location]
    if not known:
        return False
    actor = world.rng.choice(known)
    world.story.ask(f"Where is {actor}?", world.location[actor], [world.location_fact[actor]])
    return True


def _single_supporting_fact(story: Story, rng: random.Random) -> None:
    world = World(story, rng)
    _run(story, tell=lambda: world.step({"move": 1.0}), ask=lambda: _where_is_actor(world))


def _two_supporting_facts(story: Story, rng: random.Random) -> None:
    world = World(story, rng)

    def ask() -> bool:
        known = [obj for obj in world.objects if world.object_place(obj) is not None]
        if not known:
            return False
        obj = rng.choice(known)
        place, supports = world.object_place(obj)
        story.ask(f"Where is the {obj}?", place, supports)
        return True

    weights = {"move": 0.5, "pick": 0.3, "drop": 0.2}
    _run(story, tell=lambda: world.step(weights), ask=ask, max_statements=60)


def _three_supporting_facts(story: Story, rng: random.Random) -> None:
    world = World(story, rng)

    def ask() -> bool:
        # the object's present place must occur once in its history, so "before" is unambiguous
        askable = [
            obj
            for obj in world.objects
            if len(world.trail.get(obj, ())) >= 2
            and world.history[obj].count(world.trail[obj][-1][0]) == 1
        ]
        if not askable:
            return False
        obj = rng.choice(askable)
        (earlier, earlier_fact), (place, place_fact) = world.trail[obj][-2:]
        supports = [world.object_fact[obj], place_fact, earlier_fact]
        story.ask(f"Where was the {obj} before the {place}?", earlier, supports)
        return True

    weights = {"move": 0.5, "pick": 0.3, "drop": 0.2}
    _run(story, tell=lambda: world.step(weights), ask=ask, max_statements=150)


def _two_arg_relations(story: Story, rng: random.Random) -> None:
    first, middle, last = rng.sample(PLACES, 3)
    first_direction, last_direction = rng.sample(list(DIRECTIONS), 2)
    edges = []  # (a, direction, b, id): "the a is direction of the b"
    for place, direction in ((first, first_direction), (last, last_direction)):
        if rng.random() < 0.5:
            place, direction, other = middle, OPPOSITE_DIRECTION[direction], place
        else:
            other = middle
        edges.append(
            (place, direction, other, story.tell(f"the {place} is {direction} of the {other}."))
        )
    subject, direction, other, sentence_id = rng.choice(edges)
    if rng.random() < 0.5:  # ask either end of the edge, in either wording
        subject, direction, other = other, OPPOSITE_DIRECTION[direction], subject
    if rng.random() < 0.5:
        story.ask(f"What is {direction} of the {other}?", subject, [sentence_id])
    else:
        story.ask(f"What is the {subject} {direction} of?", other, [sentence_id])


def _three_arg_relations(story: Story, rng: random.Random) -> None:
    world = World(story, rng)

    def ask() -> bool:
        if not world.gives:
            return False
        giver, obj, receiver, _ = rng.choice(world.gives)
        forms = [  # (question, index of the answer in a give, filter on earlier gives)
            (f"Who gave the {obj}?", 0, lambda g: g[1] == obj),
            (f"Who received the {obj}?", 2, lambda g: g[1] == obj),
            (f"Who gave the {obj} to {receiver}?", 0, lambda g: g[1:3] == (obj, receiver)),
            (
                f"What did {giver} give to {receiver}?",
                1,
                lambda g: (g[0], g[2]) == (giver, receiver),
            ),
            (f"Who did {giver} give the {obj} to?", 2, lambda g: g[:2] == (giver, obj)),
        ]
        question, answer_index, matches = rng.choice(forms)
        latest = [give for give in world.gives if matches(give)][-1]  # the most recent one counts
        story.ask(question, latest[answer_index], [latest[3]])
        return True

    weights = {"move": 0.25, "meet": 0.25, "pick": 0.2, "drop": 0.05, "give": 0.25}
    _run(story, tell=lambda: world.step(weights), ask=ask, max_statements=100)


def _yes_no_questions(story: Story, rng: random.Random) -> None:
    world = World(story, rng)

    def ask() -> bool:
        known = [actor for actor in world.actors if actor in world.location]
        if not known:
            return False
        actor = rng.choice(known)
        place = world.location[actor]
        answer = "yes" if rng.random() < 0.5 else "no"
        if answer == "no":
            place = rng.choice([p for p in world.places if p != place])
        story.ask(f"Is {actor} in the {place}?", answer, [world.location_fact[actor]])
        return True

    weights = {"move": 0.7, "pick": 0.2, "drop": 0.1}
    _run(story, tell=lambda: world.step(weights), ask=ask)


def _carrying_question(story: Story, rng: random.Random, *, counting: bool) -> None:
    """Tasks 7 and 8: what / how many objects someone carries (all their pick, drop, give
    sentences support the answer)."""
    world = World(story, rng)

    def ask() -> bool:
        askable = [actor for actor in world.actors if world.holding_facts[actor]]
        if not askable:
            return False
        actor = rng.choice(askable)
        carried = world.carried[actor]
        if counting:
            question, answer = f"How many objects is {actor} carrying?", NUMBER_WORDS[len(carried)]
        else:
            question, answer = f"What is {actor} carrying?", ",".join(carried) or "nothing"
        story.ask(question, answer, world.holding_facts[actor])
        return True

    weights = {"move": 0.3, "pick": 0.3, "drop": 0.5}
    if counting:
        weights.update(meet=0.05, give=0.1)
    _run(story, tell=lambda: world.step(weights), ask=ask, max_statements=60)


def _facts_about_people(
    story: Story,
    rng: random.Random,
    *,
    tell_fact: Callable[[str, tuple], str],
    draw_fact: Callable[[str, tuple | None], tuple],
    answer: Callable[[tuple], tuple[str, str]],
) -> None:
    """Tasks 9 and 10: each person's latest fact (a place, or what they are not / either in)
    answers 'Is X in the P?'. A fact is a tuple whose first item is its kind."""
    latest: dict[str, tuple[tuple, int]] = {}  # actor -> (fact, id)

    def tell() -> None:
        actor = rng.choice(ACTORS)
        fact = draw_fact(actor, latest.get(actor, (None,))[0])
        latest[actor] = (fact, story.tell(tell_fact(actor, fact)))

    def ask() -> bool:
        actor = rng.choice(sorted(latest))
        fact, sentence_id = latest[actor]
        place, reply = answer(fact)
        story.ask(f"Is {actor} in the {place}?", reply, [sentence_id])
        return True

    _run(story, tell=tell, ask=ask)


def _simple_negation(story: Story, rng: random.Random) -> None:
    def draw_fact(actor: str, previous: tuple | None) -> tuple:
        kind = rng.choices(("went", "is", "not"), weights=(0.4, 0.2, 0.4))[0]
        if kind == "not" and previous and previous[0] in ("went", "is") and rng.random() < 0.5:
            return ("no longer", previous[1])
        return (kind, rng.choice(PLACES))

    def tell_fact(actor: str, fact: tuple) -> str:
        kind, place = fact
        if kind == "went":
            return f"{actor} {rng.choice(MOVE_VERBS)} the {place}."
        return f"{actor} is {'' if kind == 'is' else kind + ' '}in the {place}."

    def answer(fact: tuple) -> tuple[str, str]:
        kind, place = fact
        if kind in ("not", "no longer"):
            return place, "no"
        if rng.random() < 0.5:
            return place, "yes"
        return rng.choice([p for p in PLACES if p != place]), "no"

    _facts_about_people(story, rng, tell_fact=tell_fact, draw_fact=draw_fact, answer=answer)


def _indefinite_knowledge(story: Story, rng: random.Random) -> None:
    def draw_fact(actor: str, previous: tuple | None) -> tuple:
        if rng.random() < 0.5:
            return ("either", *rng.sample(TOWN_PLACES, 2))
        return (rng.choice(("went", "is")), rng.choice(TOWN_PLACES))

    def tell_fact(actor: str, fact: tuple) -> str:
        if fact[0] == "either":
            return f"{actor} is either in the {fact[1]} or the {fact[2]}."
        if fact[0] == "went":
            return f"{actor} {rng.choice(MOVE_VERBS)} the {fact[1]}."
        return f"{actor} is in the {fact[1]}."

    def answer(fact: tuple) -> tuple[str, str]:
        candidates = fact[1:]
        if rng.random() < 0.5:
            return rng.choice(candidates), "maybe" if fact[0] == "either" else "yes"
        return rng.choice([p for p in TOWN_PLACES if p not in candidates]), "no"

    _facts_about_people(story, rng, tell_fact=tell_fact, draw_fact=draw_fact, answer=answer)


def _move_sentence(subject: str, place: str, rng: random.Random) -> str:
    return f"{subject} {rng.choice(MOVE_VERBS)} the {place}."


def _coreference(story: Story, rng: random.Random, *, compound: bool) -> None:
    """Tasks 11 and 13: a named move then 'Then he/she/they went to ...' (two supports)."""
    location: dict[str, str] = {}
    support: dict[str, list[int]] = {}

    def tell() -> None:
        people = rng.sample(ACTORS, 2 if compound else 1)
        first_place, second_place = rng.sample(PLACES, 2)
        first = story.tell(_move_sentence(" and ".join(people), first_place, rng))
        pronoun = "they" if compound else PRONOUNS[people[0]]
        second = story.tell(
            _move_sentence(f"{rng.choice(CONNECTIVES)} {pronoun}", second_place, rng)
        )
        for person in people:
            location[person], support[person] = second_place, [first, second]

    def ask() -> bool:
        person = rng.choice(sorted(location))
        story.ask(f"Where is {person}?", location[person], support[person])
        return True

    _run(story, tell=tell, ask=ask, statements_between_questions=1)


def _conjunction(story: Story, rng: random.Random) -> None:
    location: dict[str, tuple[str, int]] = {}

    def tell() -> None:
        people, place = rng.sample(ACTORS, 2), rng.choice(PLACES)
        sentence_id = story.tell(_move_sentence(" and ".join(people), place, rng))
        for person in people:
            location[person] = (place, sentence_id)

    def ask() -> bool:
        person = rng.choice(sorted(location))
        place, sentence_id = location[person]
        story.ask(f"Where is {person}?", place, [sentence_id])
        return True

    _run(story, tell=tell, ask=ask)


def _time_reasoning(story: Story, rng: random.Random) -> None:
    # each person visits distinct places at consecutive times from yesterday on
    timeline = {actor: rng.sample(TOWN_PLACES, rng.randint(2, 4)) for actor in ACTORS}
    pending = [(actor, time) for actor, places in timeline.items() for time in range(len(places))]
    rng.shuffle(pending)
    told: dict[tuple[str, int], int] = {}  # (actor, time index) -> id

    def tell() -> None:
        actor, time = pending.pop()
        phrase = _move_sentence(actor, timeline[actor][time], rng)
        if rng.random() < 0.5:
            phrase = f"{TIMES[time]} {phrase}"
        else:
            phrase = f"{phrase[:-1]} {TIMES[time]}."
        told[(actor, time)] = story.tell(phrase)

    def ask() -> bool:
        askable = sorted(key for key in told if key[1] > 0 and (key[0], key[1] - 1) in told)
        if not askable:
            return False
        actor, time = rng.choice(askable)
        story.ask(
            f"Where was {actor} before the {timeline[actor][time]}?",
            timeline[actor][time - 1],
            [told[(actor, time)], told[(actor, time - 1)]],
        )
        return True

    _run(story, tell=tell, ask=ask, max_statements=len(pending))


def _basic_deduction(story: Story, rng: random.Random) -> None:
    species = list(SPECIES_PLURALS)
    fears = {kind: rng.choice([other for other in species if other != kind]) for kind in species}
    membership = {name: rng.choice(species) for name in DEDUCTION_NAMES}
    statements = [("fear", kind) for kind in species] + [("member", name) for name in membership]
    rng.shuffle(statements)
    ids = {}
    for kind, key in statements:
        if kind == "fear":
            sentence = f"{SPECIES_PLURALS[key]} are afraid of {SPECIES_PLURALS[fears[key]]}."
        else:
            sentence = f"{key} is a {membership[key]}."
        ids[(kind, key)] = story.tell(sentence)
    for _ in range(4):
        name = rng.choice(DEDUCTION_NAMES)
        kind = membership[name]
        supports = [ids[("member", name)], ids[("fear", kind)]]
        story.ask(f"What is {name.lower()} afraid of?", fears[kind], supports)


def _basic_induction(story: Story, rng: random.Random) -> None:
    color_of = {kind: rng.choice(COLORS) for kind in INDUCTION_SPECIES}
    *others, target = rng.sample(INDUCTION_NAMES, len(INDUCTION_NAMES))
    membership = {name: rng.choice(INDUCTION_SPECIES) for name in others}
    membership[target] = membership[rng.choice(others)]  # someone shares the target's species
    evidence: dict[str, tuple[int, int]] = {}  # species -> (member id, color id) of a member
    for name in others:
        member_id = story.tell(f"{name} is a {membership[name]}.")
        color_id = story.tell(f"{name} is {color_of[membership[name]]}.")
        evidence[membership[name]] = (member_id, color_id)
    target_id = story.tell(f"{target} is a {membership[target]}.")
    supports = [target_id, *evidence[membership[target]]]
    story.ask(f"What color is {target}?", color_of[membership[target]], supports)


def _positional_reasoning(story: Story, rng: random.Random) -> None:
    names = rng.sample([f"{color} {shape}" for color in SHAPE_COLORS for shape in SHAPES], 3)
    anchor, first, second = names
    position = {anchor: (0, 0)}
    mention = {}  # object -> id of the sentence placing it next to the anchor
    for name, relation in zip((first, second), rng.sample(list(POSITIONS), 2)):
        position[name] = POSITIONS[relation]
        if rng.random() < 0.5:
            sentence = f"the {name} is {relation} the {anchor}."
        else:
            sentence = f"the {anchor} is {INVERSE_POSITION[relation]} the {name}."
        mention[name] = story.tell(sentence)

    def holds(relation: str, subject: str, other: str) -> bool:
        (dx, dy), (x, y) = POSITIONS[relation], position[subject]
        other_x, other_y = position[other]
        return (x - other_x) * dx > 0 if dx else (y - other_y) * dy > 0

    for _ in range(8):
        subject, other = rng.sample([first, second], 2)
        wanted = rng.random() < 0.5
        relations = [r for r in POSITIONS if holds(r, subject, other) == wanted] or list(POSITIONS)
        relation = rng.choice(relations)
        answer = "yes" if holds(relation, subject, other) else "no"
        story.ask(
            f"Is the {subject} {relation} the {other}?", answer, [mention[subject], mention[other]]
        )


def _size_reasoning(story: Story, rng: random.Random) -> None:
    order = rng.sample(CONTAINERS, len(CONTAINERS))  # smallest first
    size = {thing: rank for rank, thing in enumerate(order)}
    stated: dict[tuple[str, str], int] = {}  # (smaller, bigger) -> id

    def tell() -> None:
        smaller, bigger = sorted(rng.sample(CONTAINERS, 2), key=size.get)
        if rng.random() < 0.5:
            sentence = f"the {smaller} fits inside the {bigger}."
        else:
            sentence = f"the {bigger} is bigger than the {smaller}."
        stated[(smaller, bigger)] = story.tell(sentence)

    def ask() -> bool:
        chains = [  # smaller < middle < bigger, stated in two steps but not directly
            (low, high, stated[(middle, high)], stated[(low, middle)])
            for (low, middle) in stated
            for (middle_again, high) in stated
            if middle == middle_again and (low, high) not in stated
        ]
        if not chains:
            return False
        for _ in range(rng.randint(1, 3)):
            low, high, *supports = rng.choice(sorted(chains))
            first, second = rng.sample([low, high], 2)
            if rng.random() < 0.5:
                question, true = f"Does the {first} fit in the {second}?", first == low
            else:
                question, true = f"Is the {first} bigger than the {second}?", first == high
            story.ask(question, "yes" if true else "no", supports)
        return True

    _run(story, tell=tell, ask=ask, statements_between_questions=3, max_statements=15)


def _path_finding(story: Story, rng: random.Random) -> None:
    places = rng.sample(PLACES, len(PLACES))
    position = {places[0]: (0, 0)}
    edges = []  # (place, direction, anchor): "the place is direction of the anchor"
    for place in places[1:]:  # grow a tree of rooms on a grid, one room per free cell
        while True:
            anchor, direction = rng.choice(list(position)), rng.choice(list(DIRECTIONS))
            (x, y), (dx, dy) = position[anchor], DIRECTIONS[direction]
            if (x + dx, y + dy) not in position.values():
                break
        position[place] = (x + dx, y + dy)
        edges.append((place, direction, anchor))
    rng.shuffle(edges)
    neighbours: dict[str, list[tuple[str, str, int]]] = {place: [] for place in places}
    for place, direction, anchor in edges:
        if rng.random() < 0.5:
            sentence_id = story.tell(f"the {place} is {direction} of the {anchor}.")
        else:
            sentence_id = story.tell(
                f"the {anchor} is {OPPOSITE_DIRECTION[direction]} of the {place}."
            )
        neighbours[anchor].append((place, direction, sentence_id))  # from anchor, go direction
        neighbours[place].append((anchor, OPPOSITE_DIRECTION[direction], sentence_id))
    middle = rng.choice([place for place in places if len(neighbours[place]) >= 2])
    (start, back_direction, first_id), (end, direction, second_id) = rng.sample(
        neighbours[middle], 2
    )
    answer = f"{OPPOSITE_DIRECTION[back_direction][0]},{direction[0]}"
    story.ask(f"How do you go from the {start} to the {end}?", answer, [first_id, second_id])


def _agents_motivations(story: Story, rng: random.Random) -> None:
    people = rng.sample(MOTIVATION_NAMES, rng.randint(3, 4))
    feeling = {person: rng.choice(list(MOTIVATIONS)) for person in people}
    plans = {person: ["feel", "go", "get"][: rng.choice((2, 3, 3))] for person in people}
    feeling_id: dict[str, int] = {}
    while any(plans.values()):
        person = rng.choice([p for p in people if plans[p]])
        step, name = plans[person].pop(0), person.lower()
        place, things = MOTIVATIONS[feeling[person]]
        if step == "feel":
            feeling_id[person] = story.tell(f"{person} is {feeling[person]}.")
            story.ask(f"Where will {name} go?", place, [feeling_id[person]])
        elif step == "go":
            story.tell(_move_sentence(person, place, rng))
            story.ask(f"Why did {name} go to the {place}?", feeling[person], [feeling_id[person]])
        else:
            thing = rng.choice(things)
            story.tell(f"{person} {rng.choice(PICK_VERBS)} the {thing} there.")
            story.ask(f"Why did {name} get the {thing}?", feeling[person], [feeling_id[person]])


_STORY_BUILDERS: dict[int, Callable[[Story, random.Random], None]] = {
    1: _single_supporting_fact,
    2: _two_supporting_facts,
    3: _three_supporting_facts,
    4: _two_arg_relations,
    5: _three_arg_relations,
    6: _yes_no_questions,
    7: lambda story, rng: _carrying_question(story, rng, counting=True),
    8: lambda story, rng: _carrying_question(story, rng, counting=False),
    9: _simple_negation,
    10: _indefinite_knowledge,
    11: lambda story, rng: _coreference(story, rng, compound=False),
    12: _conjunction,
    13: lambda story, rng: _coreference(story, rng, compound=True),
    14: _time_reasoning,
    15: _basic_deduction,
    16: _basic_induction,
    17: _positional_reasoning,
    18: _size_reasoning,
    19: _path_finding,
    20: _agents_motivations,
}

# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def generate_task(task: int, *, num_questions: int = 1000, seed: int = 0) -> list[str]:
    """Lines (without newlines) of one bAbI-style file of ``task`` with ``num_questions``
    questions. The same ``seed`` always gives the same lines."""
    if task not in _STORY_BUILDERS:
        raise ValueError(f"task must be an integer in 1..20, got {task!r}")
    if num_questions < 1:
        raise ValueError(f"num_questions must be positive, got {num_questions}")
    rng = random.Random(seed)
    lines: list[str] = []
    remaining = num_questions
    empty_stories = 0
    while remaining > 0:
        story = Story(space_before_tab=task not in NO_SPACE_BEFORE_TAB)
        _STORY_BUILDERS[task](story, rng)
        if story.num_questions == 0:  # a story where nothing became answerable: draw again
            empty_stories += 1
            if empty_stories > 1000:
                raise RuntimeError(f"task {task}: the generator produced no questions")
            continue
        lines.extend(story.lines_through_question(remaining))
        remaining -= min(remaining, story.num_questions)
    return lines


def split_seed(seed: int, task: int, split: str) -> int:
    """The seed of one task's split: train and test use different random streams."""
    return seed * 1000 + task * 2 + (split == "test")


def write_task(
    directory: str | Path,
    task: int,
    *,
    num_train: int = 1000,
    num_test: int = 1000,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write ``qa{task}_{name}_train.txt`` and ``_test.txt`` into ``directory``; return
    their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, num_questions in (("train", num_train), ("test", num_test)):
        lines = generate_task(task, num_questions=num_questions, seed=split_seed(seed, task, split))
        path = directory / task_file_name(task, split)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
        paths.append(path)
    return paths[0], paths[1]


def write_dataset(
    directory: str | Path,
    *,
    tasks: Iterable[int] = range(1, 21),
    num_train: int = 1000,
    num_test: int = 1000,
    seed: int = 0,
) -> Path:
    """Write the train and test files of every task in ``tasks`` into ``directory``
    (created if needed) and return ``directory``."""
    directory = Path(directory)
    for task in tasks:
        write_task(directory, task, num_train=num_train, num_test=num_test, seed=seed)
    return directory


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.generator",
        description="Write bAbI-STYLE task files (a simulated world, NOT the released dataset).",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the qa*_train/test.txt files")
    parser.add_argument("--tasks", type=int, nargs="+", default=list(range(1, 21)))
    parser.add_argument("--num-train", type=int, default=1000, help="questions per train file")
    parser.add_argument("--num-test", type=int, default=1000, help="questions per test file")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    for task in arguments.tasks:
        if task not in TASK_NAMES:
            parser.error(f"unknown task {task}; tasks are 1..20")
    directory = write_dataset(
        arguments.out_dir,
        tasks=arguments.tasks,
        num_train=arguments.num_train,
        num_test=arguments.num_test,
        seed=arguments.seed,
    )
    print(f"wrote tasks {' '.join(map(str, arguments.tasks))} to {directory}")


if __name__ == "__main__":
    main()
