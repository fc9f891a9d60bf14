"""Tests of the bAbI-style generator: the file format, determinism, and every task's answers
and supporting ids re-derived here from the story text alone (independently of the
generator's own world model)."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tasks.babi.generator import TASK_NAMES, generate_task, main, write_dataset, write_task
from tasks.babi.reader import (
    QASample,
    find_task_files,
    parse_babi_lines,
    read_babi_file,
    task_file_name,
)

NUM_QUESTIONS = 150
SEED = 7

PLACES = {"kitchen", "garden", "hallway", "bathroom", "office", "bedroom"}
OBJECTS = {"football", "apple", "milk"}
PICK_VERBS = {"picked", "got", "grabbed", "took"}
DROP_VERBS = {"dropped", "discarded", "put", "left"}
GIVE_VERBS = {"gave", "handed", "passed"}
ACTORS = {"mary", "john", "sandra", "daniel"}
PRONOUNS = {"he": {"john", "daniel"}, "she": {"mary", "sandra"}}
NUMBER_WORDS = ["none", "one", "two", "three"]
STEPS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
POSITIONS = {"left": (-1, 0), "right": (1, 0), "above": (0, 1), "below": (0, -1)}


@pytest.fixture(scope="module")
def samples() -> dict[int, list[QASample]]:
    """Every task's questions, parsed by the project's reader."""
    return {
        task: parse_babi_lines(
            generate_task(task, num_questions=NUM_QUESTIONS, seed=SEED), source=f"task {task}"
        )
        for task in TASK_NAMES
    }


def sentence(sample: QASample, line_id: int) -> tuple[str, ...]:
    return sample.story[sample.story_ids.index(line_id)]


def supported_words(sample: QASample) -> set[str]:
    """Every word of the question's supporting sentences."""
    return {word for line_id in sample.supporting_ids for word in sentence(sample, line_id)}


def numbered(sample: QASample):
    """(line id, words) of each story sentence before the question."""
    return zip(sample.story_ids, sample.story)


# ---------------------------------------------------------------------------
# format and determinism
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("task", sorted(TASK_NAMES))
def test_lines_follow_the_babi_format(task: int) -> None:
    lines = generate_task(task, num_questions=40, seed=SEED)
    questions = [line for line in lines if "\t" in line]
    assert len(questions) == 40
    assert "\t" in lines[-1]  # the file ends with a question
    expected_id = 1
    for line in lines:
        line_id, text = line.split(" ", 1)
        if line_id == "1":
            expected_id = 1
        assert int(line_id) == expected_id, line
        expected_id += 1
        assert text[0].isupper(), line
        if "\t" not in line:
            assert re.fullmatch(r"[A-Z][A-Za-z ]*[a-z]\.", text), line
            continue
        question, answer, supports = text.split("\t")
        assert re.fullmatch(r"[A-Z][A-Za-z ]*[a-z]\? ?", question), line
        # as in the released files: no space before the tab in tasks 4 and 15-20 only
        assert question.endswith(" ") == (task not in {4, 15, 16, 17, 18, 19, 20}), line
        assert re.fullmatch(r"[A-Za-z]+(,[A-Za-z]+)*", answer), line
        assert re.fullmatch(r"\d+( \d+)*", supports), line
        assert all(int(support) < int(line_id) for support in supports.split())


@pytest.mark.parametrize("task", sorted(TASK_NAMES))
def test_reader_round_trip(task: int, samples: dict[int, list[QASample]]) -> None:
    assert len(samples[task]) == NUM_QUESTIONS
    for sample in samples[task]:
        assert sample.supporting_ids and sample.answer
        assert set(sample.supporting_ids) <= set(sample.story_ids)


@pytest.mark.parametrize("task", sorted(TASK_NAMES))
def test_same_seed_same_lines_and_other_seed_other_lines(task: int) -> None:
    lines = generate_task(task, num_questions=30, seed=1)
    assert lines == generate_task(task, num_questions=30, seed=1)
    assert lines != generate_task(task, num_questions=30, seed=2)


def test_write_task_and_dataset(tmp_path) -> None:
    train_path, test_path = write_task(tmp_path / "a", 19, num_train=12, num_test=8, seed=3)
    assert train_path.name == task_file_name(19, "train") == "qa19_path-finding_train.txt"
    assert test_path.name == task_file_name(19, "test")
    assert len(read_babi_file(train_path)) == 12 and len(read_babi_file(test_path)) == 8
    assert train_path.read_text().endswith("\n")
    assert train_path.read_text() != test_path.read_text()  # different random streams

    directory = write_dataset(tmp_path / "b", tasks=[1, 19], num_train=12, num_test=8, seed=3)
    assert directory == tmp_path / "b"
    assert sorted(path.name for path in directory.iterdir()) == sorted(
        task_file_name(task, split) for task in (1, 19) for split in ("train", "test")
    )
    assert (directory / train_path.name).read_bytes() == train_path.read_bytes()
    assert find_task_files(directory, 1) == (
        directory / task_file_name(1, "train"),
        directory / task_file_name(1, "test"),
    )
    other_seed = write_dataset(tmp_path / "c", tasks=[19], num_train=12, num_test=8, seed=4)
    assert (other_seed / train_path.name).read_bytes() != train_path.read_bytes()


def test_command_line(tmp_path, capsys) -> None:
    main([str(tmp_path), "--tasks", "2", "15", "--num-train", "9", "--num-test", "4", "--seed=5"])
    assert "wrote tasks 2 15" in capsys.readouterr().out
    expected = tmp_path / "expected"
    for task in (2, 15):
        write_task(expected, task, num_train=9, num_test=4, seed=5)
        for split, count in (("train", 9), ("test", 4)):
            name = task_file_name(task, split)
            assert (tmp_path / name).read_bytes() == (expected / name).read_bytes()
            assert len(read_babi_file(tmp_path / name)) == count
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--tasks", "21"])


def test_unknown_task_is_rejected() -> None:
    with pytest.raises(ValueError, match="1..20"):
        generate_task(0)


# ---------------------------------------------------------------------------
# answers re-derived from the story text
# ---------------------------------------------------------------------------


def replay_house(sample: QASample) -> dict:
    """Replay moves, picks, drops and gives of the story; return the world state."""
    location: dict[str, str] = {}
    holder: dict[str, str] = {}
    lying: dict[str, str] = {}
    carried: dict[str, list[str]] = defaultdict(list)
    history: dict[str, list[str]] = defaultdict(list)  # object -> places, repeats merged
    gives: list[tuple[str, str, str, int]] = []

    def visit(obj: str, place: str) -> None:
        if not history[obj] or history[obj][-1] != place:
            history[obj].append(place)

    for line_id, words in numbered(sample):
        actor = words[0]
        obj = next((word for word in words if word in OBJECTS), None)
        if words[1] in GIVE_VERBS:
            receiver = words[-1]
            assert holder[obj] == actor and location[receiver] == location[actor]
            carried[actor].remove(obj)
            carried[receiver].append(obj)
            holder[obj] = receiver
            gives.append((actor, obj, receiver, line_id))
        elif words[1] in PICK_VERBS:
            assert obj not in holder and lying.get(obj, location[actor]) == location[actor]
            holder[obj] = actor
            lying.pop(obj, None)
            carried[actor].append(obj)
            visit(obj, location[actor])
        elif words[1] in DROP_VERBS:
            assert holder.pop(obj) == actor
            carried[actor].remove(obj)
            lying[obj] = location[actor]
        else:
            assert words[-1] in PLACES and obj is None, words
            location[actor] = words[-1]
            for held in carried[actor]:
                visit(held, words[-1])
    return dict(location=location, holder=holder, lying=lying, carried=carried,
                history=history, gives=gives)  # fmt: skip


def mentions_of(sample: QASample, *words: str) -> list[int]:
    """Ids of story sentences containing all of ``words``."""
    return [line_id for line_id, story_words in numbered(sample) if set(words) <= set(story_words)]


def test_task1_answers_and_supports(samples) -> None:
    for sample in samples[1]:
        actor = sample.question[-1]  # "where is mary"
        assert sample.answer == replay_house(sample)["location"][actor]
        (support,) = sample.supporting_ids
        assert {actor, sample.answer} <= set(sentence(sample, support))
        assert support == mentions_of(sample, actor)[-1]  # the latest news of the actor


def test_task2_and_task3_object_places(samples) -> None:
    for sample in samples[2]:
        obj = sample.question[-1]  # "where is the football"
        state = replay_house(sample)
        place = state["location"][state["holder"][obj]] if obj in state["holder"] else None
        assert sample.answer == (place or state["lying"][obj])
        assert len(sample.supporting_ids) == 2
        assert {obj, sample.answer} <= supported_words(sample)
    for sample in samples[3]:
        *_, obj, before, _, place = sample.question  # "where was the football before the garden"
        history = replay_house(sample)["history"][obj]
        assert before == "before" and history.count(place) == 1
        assert sample.answer == history[history.index(place) - 1]
        assert len(set(sample.supporting_ids)) == 3
        assert {obj, place, sample.answer} <= supported_words(sample)


def test_task5_gives(samples) -> None:
    for sample in samples[5]:
        gives = replay_house(sample)["gives"]
        q = sample.question
        if q[:2] == ("who", "gave"):  # who gave the O [to R]
            matching = [g for g in gives if g[1] == q[3] and (len(q) == 4 or g[2] == q[5])]
            answer_index = 0
        elif q[:2] == ("who", "received"):  # who received the O
            matching, answer_index = [g for g in gives if g[1] == q[3]], 2
        elif q[:2] == ("what", "did"):  # what did G give to R
            matching, answer_index = [g for g in gives if (g[0], g[2]) == (q[2], q[5])], 1
        else:  # who did G give the O to
            assert q[:2] == ("who", "did")
            matching, answer_index = [g for g in gives if g[:2] == (q[2], q[5])], 2
        assert sample.answer == matching[-1][answer_index]
        assert sample.supporting_ids == (matching[-1][3],)


def test_task6_yes_no(samples) -> None:
    for sample in samples[6]:
        _, actor, _, _, place = sample.question  # "is mary in the kitchen"
        in_place = replay_house(sample)["location"][actor] == place
        assert sample.answer == ("yes" if in_place else "no")
        assert sample.supporting_ids == (mentions_of(sample, actor, "to")[-1],)


def test_task7_and_task8_carrying(samples) -> None:
    for task in (7, 8):
        for sample in samples[task]:
            actor = sample.question[-2]  # "how many objects is mary carrying" / "what is ..."
            carried = replay_house(sample)["carried"][actor]
            if task == 7:
                assert sample.answer == NUMBER_WORDS[len(carried)]
            else:
                assert sample.answer == (",".join(carried) or "nothing")
            for line_id in sample.supporting_ids:  # each support changes what the actor holds
                words = sentence(sample, line_id)
                assert actor in words and OBJECTS & set(words)
    counts = {sample.answer for sample in samples[7]}
    assert {"none", "one", "two"} <= counts


def test_task4_and_task19_directions(samples) -> None:
    def relations(sample: QASample) -> dict[tuple[str, str], tuple[str, int]]:
        """(a, b) -> (direction, id) for "the a is direction of the b", both ways round."""
        opposite = {"north": "south", "south": "north", "east": "west", "west": "east"}
        found = {}
        for line_id, (_, a, _, direction, _, _, b) in numbered(sample):
            found[(a, b)] = (direction, line_id)
            found[(b, a)] = (opposite[direction], line_id)
        return found

    for sample in samples[4]:
        found, q = relations(sample), sample.question
        if q[2] == "the":  # what is the A D of
            answers = {b for (a, b), (d, _) in found.items() if (a, d) == (q[3], q[4])}
        else:  # what is D of the B
            answers = {a for (a, b), (d, _) in found.items() if (b, d) == (q[5], q[2])}
        assert answers == {sample.answer}
    for sample in samples[19]:
        found, (*_, start, _, _, end) = relations(sample), sample.question
        paths = [[start]]  # breadth-first search over the stated relations
        while paths[0][-1] != end:
            path = paths.pop(0)
            paths += [path + [b] for (a, b) in found if a == path[-1] and b not in path]
        path = paths[0]
        steps = [found[(b, a)] for a, b in zip(path, path[1:])]  # "b is d of a": go d
        assert sample.answer == ",".join(direction[0] for direction, _ in steps)
        assert sample.supporting_ids == tuple(line_id for _, line_id in steps)


def test_task9_and_task10_latest_fact(samples) -> None:
    for task in (9, 10):
        for sample in samples[task]:
            _, actor, _, _, place = sample.question
            latest = mentions_of(sample, actor)[-1]
            words = sentence(sample, latest)
            assert sample.supporting_ids == (latest,)
            if "either" in words:  # "X is either in the P or the Q"
                expected = "maybe" if place in (words[5], words[8]) else "no"
            elif "not" in words or "longer" in words:
                assert words[-1] == place  # only "Is X in the P?" about that P is decidable
                expected = "no"
            else:
                expected = "yes" if words[-1] == place else "no"
            assert sample.answer == expected
    assert {sample.answer for sample in samples[10]} == {"yes", "no", "maybe"}


@pytest.mark.parametrize("task", [11, 12, 13])
def test_coreference_and_conjunction(task: int, samples) -> None:
    for sample in samples[task]:
        location: dict[str, str] = {}
        supports: dict[str, list[int]] = {}
        subjects: list[str] = []
        previous_id = 0
        for line_id, words in numbered(sample):
            if words[0] in ACTORS:  # "mary went ..." or "mary and john went ..."
                subjects = [words[0], words[2]] if words[1] == "and" else [words[0]]
                antecedent = []
            else:  # "then he ...", "after that they ...": the previous sentence's subjects
                pronoun = next(word for word in words if word in ("he", "she", "they"))
                if pronoun == "they":
                    assert len(subjects) == 2
                else:
                    assert subjects[0] in PRONOUNS[pronoun]
                antecedent = [previous_id]
            for subject in subjects:
                location[subject], supports[subject] = words[-1], antecedent + [line_id]
            previous_id = line_id
        actor = sample.question[-1]
        assert sample.answer == location[actor]
        assert sample.supporting_ids == tuple(supports[actor])


def test_task14_time(samples) -> None:
    times = ["yesterday", "morning", "afternoon", "evening"]
    for sample in samples[14]:
        visits = {}  # (actor, time index) -> (place, id)
        for line_id, words in numbered(sample):
            time = times.index(next(word for word in words if word in times))
            actor = next(word for word in words if word in ACTORS)
            place = words[words.index("the") + 1]
            visits[(actor, time)] = (place, line_id)
        _, _, actor, _, _, place = sample.question  # "where was mary before the park"
        (time,) = [t for (a, t), (p, _) in visits.items() if (a, p) == (actor, place)]
        assert sample.answer == visits[(actor, time - 1)][0]
        supports = {visits[(actor, time)][1], visits[(actor, time - 1)][1]}
        assert set(sample.supporting_ids) == supports


def test_task15_and_task16_rules(samples) -> None:
    singular = {"mice": "mouse", "sheep": "sheep", "wolves": "wolf", "cats": "cat"}
    for sample in samples[15]:
        # "mice are afraid of wolves", "gertrude is a mouse"
        fears = {
            singular[words[0]]: singular[words[-1]] for words in sample.story if len(words) == 5
        }
        kind = {words[0]: words[-1] for words in sample.story if words[1:3] == ("is", "a")}
        name = sample.question[2]  # "what is gertrude afraid of"
        assert sample.answer == fears[kind[name]]
    for sample in samples[16]:
        kind = {words[0]: words[-1] for words in sample.story if words[1:3] == ("is", "a")}
        color = {words[0]: words[-1] for words in sample.story if len(words) == 3}
        name = sample.question[-1]
        assert name not in color
        evidence = {color[other] for other in color if kind[other] == kind[name]}
        assert evidence == {sample.answer}


def test_task17_positions(samples) -> None:
    for sample in samples[17]:
        position: dict[str, tuple[int, int]] = {}
        pairs = []
        for words in sample.story:  # "the red square is to the left of the blue triangle"
            text = " ".join(words)
            match = re.fullmatch(r"the (\w+ \w+) is (?:to the )?(\w+)(?: of)? the (\w+ \w+)", text)
            pairs.append(match.groups())
        position[pairs[0][2]] = (0, 0)
        while len(position) < 3:  # place each object next to one already placed
            for subject, relation, other in pairs:
                (dx, dy) = POSITIONS[relation]
                if other in position and subject not in position:
                    position[subject] = (position[other][0] + dx, position[other][1] + dy)
                if subject in position and other not in position:
                    position[other] = (position[subject][0] - dx, position[subject][1] - dy)
        text = " ".join(sample.question)
        subject, relation, other = re.fullmatch(
            r"is the (\w+ \w+) (?:to the )?(\w+)(?: of)? the (\w+ \w+)", text
        ).groups()
        (dx, dy), (x, y) = POSITIONS[relation], position[subject]
        other_x, other_y = position[other]
        holds = (x - other_x) * dx > 0 if dx else (y - other_y) * dy > 0
        assert sample.answer == ("yes" if holds else "no")


def test_task18_sizes(samples) -> None:
    for sample in samples[18]:
        smaller = set()  # (a, b): a is smaller than b, closed under transitivity below
        for words in sample.story:
            text = " ".join(words)
            if match := re.fullmatch(r"the (.+) fits inside the (.+)", text):
                smaller.add(match.groups())
            else:
                big, small = re.fullmatch(r"the (.+) is bigger than the (.+)", text).groups()
                smaller.add((small, big))
        while True:
            implied = {(a, d) for (a, b) in smaller for (c, d) in smaller if b == c} - smaller
            if not implied:
                break
            smaller |= implied
        text = " ".join(sample.question)
        if match := re.fullmatch(r"does the (.+) fit in the (.+)", text):
            first, second = match.groups()
        else:
            second, first = re.fullmatch(r"is the (.+) bigger than the (.+)", text).groups()
        # "does first fit in second" and "is second bigger than first" ask the same thing
        assert (first, second) in smaller or (second, first) in smaller  # decidable
        assert sample.answer == ("yes" if (first, second) in smaller else "no")


def test_task20_motivations(samples) -> None:
    place_for = {"hungry": "kitchen", "thirsty": "kitchen", "tired": "bedroom", "bored": "garden"}
    for sample in samples[20]:
        feelings = {words[0]: (words[2], line_id) for line_id, words in numbered(sample)
                    if len(words) == 3 and words[2] in place_for}  # fmt: skip
        name = sample.question[2]  # "where will omar go" / "why did omar go to the kitchen"
        feeling, line_id = feelings[name]
        expected = place_for[feeling] if sample.question[0] == "where" else feeling
        assert sample.answer == expected
        assert sample.supporting_ids == (line_id,)
