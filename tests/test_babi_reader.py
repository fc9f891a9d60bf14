"""bAbI reading, vocabulary, vectorisation and archive handling, on hand-written fixtures.

Nothing here reads the real data set; every story is written inline below.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import torch

from tasks.babi.download import (
    ChecksumError,
    download_babi,
    ensure_babi,
    extract_archive,
    file_md5,
    find_babi_root,
)
from tasks.babi.reader import (
    TASK_NAMES,
    BabiFormatError,
    QASample,
    available_tasks,
    find_task_files,
    parse_babi_lines,
    read_babi_file,
    task_file_name,
    tokenize,
)
from tasks.babi.vocab import (
    NIL_INDEX,
    UNKNOWN_ANSWER_INDEX,
    UNKNOWN_INDEX,
    Vocabulary,
    longest_sentence,
    vectorize,
)

# Every quirk of the real files, one story each:
#   story 1: task 1 style, a space before the tab, two questions, support ids after questions
#   story 2: task 19 style (no space before the tab, answer "n,w", two supporting ids)
#   story 3: task 8 style ("apple,football", "nothing"), a double space, trailing spaces
FIXTURE = (
    "1 Mary moved to the bathroom.\n"
    "2 John went to the hallway.\n"
    "3 Where is Mary? \tbathroom\t1\n"
    "4 Daniel went back to the hallway.\n"
    "5 Where is Daniel? \thallway\t4\n"
    "1 The kitchen is north of the office.\n"
    "2 The garden is west of the kitchen.\n"
    "3 How do you go from the office to the garden?\tn,w\t1 2\n"
    "\n"
    "1 Mary got the apple there.\n"
    "2 Mary  took the football there.   \n"
    "3 What is Mary carrying? \tapple,football\t1 2\n"
    "4 Mary dropped the apple.\n"
    "5 Mary discarded the football.\n"
    "6 What is Mary carrying? \tnothing\t1 2 4 5\n"
)


def parse(text: str) -> list[QASample]:
    return parse_babi_lines(io.StringIO(text), source="fixture.txt")


# ---------------------------------------------------------------------------
# tokenize and parse
# ---------------------------------------------------------------------------


def test_tokenize_lowercases_and_drops_full_stops_and_question_marks():
    assert tokenize("Mary  moved to the Bathroom.") == ["mary", "moved", "to", "the", "bathroom"]
    assert tokenize("Where is Mary? ") == ["where", "is", "mary"]
    assert tokenize("\t") == []


def test_parse_fixture_questions_stories_and_answers():
    samples = parse(FIXTURE)
    assert [s.answer for s in samples] == [
        "bathroom",
        "hallway",
        "n,w",
        "apple,football",
        "nothing",
    ]
    first, second, path, carrying, nothing = samples
    assert first.story == (
        ("mary", "moved", "to", "the", "bathroom"),
        ("john", "went", "to", "the", "hallway"),
    )
    assert first.story_ids == (1, 2)
    assert first.question == ("where", "is", "mary")
    assert first.supporting_ids == (1,)
    assert first.source == "fixture.txt:3"
    # the question line (id 3) is not part of the story
    assert second.story_ids == (1, 2, 4)
    assert second.supporting_positions == (2,)
    # a new story starts at id 1 and forgets the old one
    assert path.story_ids == (1, 2)
    assert path.question == (
        "how",
        "do",
        "you",
        "go",
        "from",
        "the",
        "office",
        "to",
        "the",
        "garden",
    )
    assert path.supporting_ids == (1, 2)
    # the double space and the trailing spaces leave no empty words
    assert carrying.story[1] == ("mary", "took", "the", "football", "there")
    assert nothing.story_ids == (1, 2, 4, 5)
    assert nothing.supporting_ids == (1, 2, 4, 5)
    assert nothing.source == "fixture.txt:15"


def test_crlf_blank_lines_and_trailing_whitespace_parse_the_same(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(FIXTURE.replace("\n", "  \r\n\r\n").encode())
    samples = read_babi_file(path)
    expected = parse(FIXTURE)
    assert [(s.story, s.question, s.answer, s.supporting_ids) for s in samples] == [
        (s.story, s.question, s.answer, s.supporting_ids) for s in expected
    ]


def test_question_with_empty_support_field_is_allowed():
    (sample,) = parse("1 Mary moved to the bathroom.\n2 Is Mary in the hallway?\tno\t\n")
    assert sample.supporting_ids == ()


@pytest.mark.parametrize(
    ("text", "bad_line", "reason"),
    [
        ("1 Mary moved.\nMary went home.\n", 2, "integer line id"),
        ("1 Mary moved.\n2\n", 2, "integer line id"),
        ("1 Mary moved.\n2 Where is Mary?\tkitchen\n", 2, "3 tab-separated fields"),
        ("1 Mary moved.\n2 Where is Mary?\tkitchen\t1\textra\n", 2, "3 tab-separated fields"),
        ("1 Mary moved.\n2 Where is Mary?\tkitchen\tone\n", 2, "not an integer"),
        ("1 Mary moved.\n2 Where is Mary?\tkitchen\t3\n", 2, "refers to no earlier sentence"),
        ("1 Mary moved.\n2 Where?\tx\t1\n3 Where?\tx\t2\n", 3, "refers to no earlier sentence"),
        (
            "1 A b.\n2 C d.\n1 E f.\n2 G h.\n3 Where?\tx\t2 1\n",
            5,
            None,
        ),  # fine: 1 and 2 of story two
        ("1 Mary moved.\n3 John moved.\n2 Sandra moved.\n", 3, "does not increase"),
        ("1 Mary moved.\n2 John moved.\n2 Sandra moved.\n", 3, "does not increase"),
        ("2 Mary moved.\n", 1, "must have id 1"),
        ("1 Mary moved.\n2 Where is Mary?\t\t1\n", 2, "answer"),
        ("1 Mary moved.\n2 Where is Mary?\tthe kitchen\t1\n", 2, "answer"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, text, bad_line, reason):
    path = tmp_path / "qa_bad.txt"
    path.write_text(text)
    if reason is None:
        assert len(read_babi_file(path)) == 1
        return
    with pytest.raises(BabiFormatError) as caught:
        read_babi_file(path)
    message = str(caught.value)
    assert f"{path}:{bad_line}:" in message
    assert reason in message
    assert repr(text.splitlines()[bad_line - 1]) in message  # the offending line is shown
    assert caught.value.line_number == bad_line


def test_supporting_id_from_previous_story_is_rejected():
    text = "1 A b.\n2 C d.\n3 E f.\n1 G h.\n2 Where?\tx\t3\n"
    with pytest.raises(BabiFormatError, match="fixture.txt:5:"):
        parse(text)


# ---------------------------------------------------------------------------
# locating files
# ---------------------------------------------------------------------------


def write_task(directory: Path, task: int, *, splits=("train", "test")) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for split in splits:
        (directory / task_file_name(task, split)).write_text(FIXTURE)


def test_task_names_match_the_real_file_stems():
    assert len(TASK_NAMES) == 20
    assert task_file_name(1, "train") == "qa1_single-supporting-fact_train.txt"
    assert task_file_name(20, "test") == "qa20_agents-motivations_test.txt"


def test_find_task_files_in_archive_root_and_in_a_flat_folder(tmp_path):
    root = tmp_path / "tasks_1-20_v1-2"
    write_task(root / "en", 1)
    write_task(root / "en-10k", 1)
    train, test = find_task_files(root, 1)
    assert train == root / "en" / "qa1_single-supporting-fact_train.txt"
    assert test == root / "en" / "qa1_single-supporting-fact_test.txt"
    assert find_task_files(root, 1, setting="10k")[0].parent == root / "en-10k"
    flat = tmp_path / "flat"
    write_task(flat, 2)
    assert find_task_files(flat, 2)[0] == flat / "qa2_two-supporting-facts_train.txt"
    with pytest.raises(ValueError, match="setting"):
        find_task_files(root / "en", 1, setting="10k")


def test_missing_file_error_names_the_path_and_how_to_get_data(tmp_path):
    write_task(tmp_path / "en-10k", 3, splits=("test",))  # like the reference en-10k copy
    expected = tmp_path / "en-10k" / "qa3_three-supporting-facts_train.txt"
    with pytest.raises(FileNotFoundError) as caught:
        find_task_files(tmp_path, 3, setting="10k")
    assert str(expected) in str(caught.value)
    assert "download_babi" in str(caught.value)
    write_task(tmp_path / "en-10k", 1)
    assert available_tasks(tmp_path, setting="10k") == [1]


# ---------------------------------------------------------------------------
# vocabulary and vectorisation
# ---------------------------------------------------------------------------


def test_vocabulary_reserves_nil_and_unknown_and_round_trips():
    vocabulary = Vocabulary.from_samples(parse(FIXTURE))
    assert vocabulary.words[NIL_INDEX] == "<nil>"
    assert vocabulary.words[UNKNOWN_INDEX] == "<unk>"
    assert list(vocabulary.words[2:]) == sorted(vocabulary.words[2:])
    assert vocabulary.answers == ("apple,football", "bathroom", "hallway", "n,w", "nothing")
    assert vocabulary.encode(["mary", "zebra"]) == [vocabulary.word_index("mary"), UNKNOWN_INDEX]
    assert vocabulary.answer_index("n,w") == 3
    assert vocabulary.answer_index("football,apple") == UNKNOWN_ANSWER_INDEX
    assert vocabulary.decode_answer(UNKNOWN_ANSWER_INDEX) == "<unk>"
    assert vocabulary.decode(torch.tensor([vocabulary.word_index("mary"), 1, 0, 0])) == "mary <unk>"
    assert Vocabulary.from_dict(vocabulary.to_dict()) == vocabulary


def test_unknown_test_words_and_answers(tmp_path):
    vocabulary = Vocabulary.from_samples(parse(FIXTURE))
    test = parse("1 Bill flew to the moon.\n2 Where is Bill?\tmoon\t1\n")
    tensors = vectorize(test, vocabulary, memory_size=4, sentence_length=6)
    words = tensors.story[0, -1].tolist()  # (W,) the only sentence, in the last slot
    assert words[:5] == [
        UNKNOWN_INDEX,
        UNKNOWN_INDEX,
        vocabulary.word_index("to"),
        vocabulary.word_index("the"),
        UNKNOWN_INDEX,
    ]
    assert words[5] == NIL_INDEX
    assert tensors.question[0].tolist()[:3] == [
        vocabulary.word_index("where"),
        vocabulary.word_index("is"),
        UNKNOWN_INDEX,
    ]
    assert tensors.answer.tolist() == [UNKNOWN_ANSWER_INDEX]
    # no argmax can hit it, and cross_entropy skips it by default
    logits = torch.randn(1, vocabulary.num_answers)
    assert logits.argmax(-1).item() != tensors.answer.item()
    assert torch.nn.functional.cross_entropy(logits, tensors.answer, reduction="sum").item() == 0


def test_vectorize_keeps_the_most_recent_sentences_right_aligned():
    lines = [f"{i} Sentence number w{i}." for i in range(1, 8)]  # 7 sentences
    lines.append("8 Which one?\tw2\t2 6")
    (sample,) = parse("\n".join(lines))
    vocabulary = Vocabulary.from_samples([sample])
    tensors = vectorize([sample], vocabulary, memory_size=3)
    assert tensors.story.shape == (1, 3, 3)  # (Q, S, W): W from the longest sentence
    assert tensors.story.dtype == torch.int64
    kept = [vocabulary.decode(tensors.story[0, slot]) for slot in range(3)]
    assert kept == ["sentence number w5", "sentence number w6", "sentence number w7"]
    assert tensors.story_mask.tolist() == [[True, True, True]]
    assert tensors.story_lengths.tolist() == [3]
    # support: sentence 2 was truncated away, sentence 6 survived in slot 1
    assert tensors.support.tolist() == [[False, True, False]]
    # a short story: empty slots first, most recent sentence in the last slot
    tensors = vectorize(parse(FIXTURE), vocabulary, memory_size=4, sentence_length=10)
    assert tensors.story.shape == (5, 4, 10)
    assert tensors.story_lengths.tolist() == [2, 3, 2, 2, 4]
    assert tensors.story_mask[0].tolist() == [False, False, True, True]
    assert tensors.story[0, :2].eq(NIL_INDEX).all()
    assert tensors.support[0].tolist() == [False, False, True, False]  # support id 1 = oldest
    assert tensors.support[4].tolist() == [True, True, True, True]
    assert tensors.question.shape == (5, 10)
    assert len(tensors.select([1, 3])) == 2


def test_vectorize_refuses_to_cut_sentences():
    samples = parse(FIXTURE)
    vocabulary = Vocabulary.from_samples(samples)
    assert longest_sentence(samples) == 10  # the task 19 style question
    with pytest.raises(ValueError, match="fixture.txt:8"):
        vectorize(samples, vocabulary, memory_size=5, sentence_length=6)


# ---------------------------------------------------------------------------
# archives (no network: local files and file:// URLs only)
# ---------------------------------------------------------------------------


def make_archive(tmp_path: Path) -> Path:
    source = tmp_path / "source" / "tasks_1-20_v1-2"
    write_task(source / "en", 1)
    archive = tmp_path / "tasks_1-20_v1-2.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(source, arcname="tasks_1-20_v1-2")
    return archive


def test_extract_archive_checks_md5(tmp_path):
    archive = make_archive(tmp_path)
    md5 = file_md5(archive)
    out = extract_archive(archive, tmp_path / "out", md5=md5.upper())
    assert (out / "tasks_1-20_v1-2" / "en" / "qa1_single-supporting-fact_train.txt").is_file()
    assert find_babi_root(out) == out / "tasks_1-20_v1-2"
    with pytest.raises(ChecksumError, match="expected 0123"):
        extract_archive(archive, tmp_path / "bad", md5="0123" + md5[4:])
    assert not (tmp_path / "bad").exists()


def test_download_and_ensure_without_network(tmp_path):
    archive = make_archive(tmp_path)
    target = tmp_path / "data"
    with pytest.raises(FileNotFoundError, match="tasks_1-20_v1-2/en/qa1_single-supporting-fact"):
        ensure_babi(target, download=False)
    with pytest.raises(FileNotFoundError, match="download failed"):
        ensure_babi(target, url=(tmp_path / "absent.tar.gz").as_uri())
    root = download_babi(target, url=archive.as_uri(), md5=file_md5(archive))
    assert root == target / "tasks_1-20_v1-2"
    assert ensure_babi(target, download=False) == root
    assert len(read_babi_file(find_task_files(root, 1)[0])) == 5
