"""Reader for the bAbI question-answering tasks (Weston et al. 2015, v1.2 text format).

A bAbI file is a sequence of stories. Every line starts with an integer id;
ids restart at 1 where a new story begins and increase inside a story:

    1 Mary moved to the bathroom.
    2 John went to the hallway.
    3 Where is Mary? <TAB>bathroom<TAB>1
    4 Daniel went back to the hallway.
    ...
    1 Sandra travelled to the office.

A line without a tab is a story sentence. A line with two tabs is a question:
``question<TAB>answer<TAB>supporting ids`` (the ids, space separated, point to
earlier sentences of the same story). The reader turns every question into one
:class:`QASample` holding the whole story so far. As in the End-To-End Memory
Networks paper, question lines are not added to the story; cutting the story
down to the most recent sentences happens later, at vectorisation.

Quirks handled: a space or no space before the first tab (tasks 16, 19, 20 have
none); answers made of several words such as ``n,w`` or ``apple,football``
(one answer class each, kept as written); stray double spaces; trailing
whitespace and CRLF line ends; blank lines (ignored); an empty supporting-id
field (``question<TAB>answer<TAB>``, never in the real files) gives no supporting
ids. Anything else that does not fit the format raises :class:`BabiFormatError`
naming the file and line.

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

__all__ = [
    "BabiFormatError",
    "QASample",
    "TASK_NAMES",
    "SETTING_DIRECTORIES",
    "available_tasks",
    "find_task_files",
    "parse_babi_lines",
    "read_babi_file",
    "task_file_name",
    "tokenize",
]

# ---------------------------------------------------------------------------
# constants
# ---------------------------------------------------------------------------

#: Task number -> file-name stem, as in ``qa1_single-supporting-fact_train.txt``.
TASK_NAMES: dict[int, str] = {
    1: "single-supporting-fact",
    2: "two-supporting-facts",
    3: "three-supporting-facts",
    4: "two-arg-relations",
    5: "three-arg-relations",
    6: "yes-no-questions",
    7: "counting",
    8: "lists-sets",
    9: "simple-negation",
    10: "indefinite-knowledge",
    11: "basic-coreference",
    12: "conjunction",
    13: "compound-coreference",
    14: "time-reasoning",
    15: "basic-deduction",
    16: "basic-induction",
    17: "positional-reasoning",
    18: "size-reasoning",
    19: "path-finding",
    20: "agents-motivations",
}

#: Training-set size -> sub-directory of the ``tasks_1-20_v1-2`` archive root.
SETTING_DIRECTORIES: dict[str, str] = {"1k": "en", "10k": "en-10k"}

_LINE = re.compile(r"^(\d+) +(\S.*)$")  # "ID text", one or more spaces after the id
_WORD_SEPARATORS = re.compile(r"[.?\s]+")

# ---------------------------------------------------------------------------
# samples and errors
# ---------------------------------------------------------------------------


class BabiFormatError(ValueError):
    """A line that does not follow the bAbI format.

    The message reads ``FILE:LINE: reason`` followed by the offending line, and
    the parts are kept as attributes for programs.
    """

    def __init__(self, reason: str, *, source: str, line_number: int, line: str) -> None:
        self.reason = reason
        self.source = source
        self.line_number = line_number
        self.line = line
        super().__init__(f"{source}:{line_number}: {reason}\n    offending line: {line!r}")


@dataclass(frozen=True)
class QASample:
    """One bAbI question with the story it is asked about.

    ``story`` holds every sentence of the story before the question, oldest
    first (question lines excluded); truncation to a memory size happens at
    vectorisation, not here.
    """

    story: tuple[tuple[str, ...], ...]  # tokenised story sentences, oldest first
    story_ids: tuple[int, ...]  # the bAbI line id of each sentence in ``story``
    question: tuple[str, ...]  # tokenised question
    answer: str  # one answer class, multi-word answers kept whole ("n,w", "nothing")
    supporting_ids: tuple[int, ...]  # line ids of the supporting sentences, as in the file
    source: str  # "path:line" of the question line
    story_source: str = ""  # "path:line" of the story's first line: the questions of one story

    @property
    def supporting_positions(self) -> tuple[int, ...]:
        """Indices into ``story`` of the supporting sentences."""
        position = {line_id: index for index, line_id in enumerate(self.story_ids)}
        return tuple(position[line_id] for line_id in self.supporting_ids)


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words.

    Full stops and question marks are dropped (not kept as tokens), as in the
    End-To-End Memory Networks setup: every bAbI sentence ends with one, so they
    carry no information. Any run of whitespace separates words. Commas are
    kept inside words; in bAbI they only occur inside answers such as ``n,w``,
    which are not tokenised.

    >>> tokenize("Where is  Mary? ")
    ['where', 'is', 'mary']
    """
    return [word for word in _WORD_SEPARATORS.split(text.lower()) if word]


def parse_babi_lines(lines: Iterable[str], *, source: str = "<lines>") -> list[QASample]:
    """Parse bAbI-format ``lines`` into one :class:`QASample` per question.

    ``source`` names the input in error messages and in ``QASample.source``.
    Raises :class:`BabiFormatError` for a malformed line.
    """
    samples: list[QASample] = []
    story: list[tuple[str, ...]] = []
    story_ids: list[int] = []
    previous_id: int | None = None  # last line id of the current story (sentence or question)

    for line_number, raw_line in enumerate(lines, start=1):
        line = raw_line.rstrip(" \r\n")  # trailing spaces, "\n", "\r\n"; tabs are fields
        if not line.strip():
            continue
        error = partial(BabiFormatError, source=source, line_number=line_number, line=line)

        match = _LINE.match(line.lstrip())
        if match is None:
            raise error("expected 'ID text' with an integer line id followed by a space and text")
        line_id, text = int(match.group(1)), match.group(2)

        if line_id == 1:
            story, story_ids = [], []
            story_source = f"{source}:{line_number}"
        elif previous_id is None:
            raise error(f"the first line of a story must have id 1, got {line_id}")
        elif line_id <= previous_id:
            raise error(
                f"line id {line_id} does not increase (previous id {previous_id}); "
                "only id 1 may start a new story"
            )
        previous_id = line_id

        fields = text.split("\t")
        if len(fields) == 1:
            sentence = tuple(tokenize(text))
            if not sentence:
                raise error("story sentence has no words")
            story.append(sentence)
            story_ids.append(line_id)
            continue
        if len(fields) != 3:
            raise error(
                f"a question line needs 3 tab-separated fields "
                f"(question, answer, supporting ids), got {len(fields)}"
            )

        question_text, answer_text, support_text = fields
        question = tuple(tokenize(question_text))
        if not question:
            raise error("question has no words")
        answer = answer_text.strip().lower()
        if not answer or any(character.isspace() for character in answer):
            raise error(
                f"answer must be one non-empty token (words joined by ','), got {answer_text!r}"
            )
        supporting_ids: list[int] = []
        for token in support_text.split():
            if not (token.isascii() and token.isdigit()):
                raise error(f"supporting id {token!r} is not an integer")
            if int(token) not in story_ids:
                raise error(
                    f"supporting id {token} refers to no earlier sentence of this story "
                    f"(story sentence ids: {story_ids})"
                )
            supporting_ids.append(int(token))

        samples.append(
            QASample(
                story=tuple(story),
                story_ids=tuple(story_ids),
                question=question,
                answer=answer,
                supporting_ids=tuple(supporting_ids),
                source=f"{source}:{line_number}",
                story_source=story_source,
            )
        )
    return samples


def read_babi_file(path: str | Path) -> list[QASample]:
    """Read one bAbI file (UTF-8) into :class:`QASample` s; see :func:`parse_babi_lines`.

    A file without a single question (empty, or story lines only) raises
    :class:`BabiFormatError` at its end: nothing could be trained or tested on it.
    """
    path = Path(path)
    with path.open(encoding="utf-8", newline="") as handle:
        lines = handle.readlines()
    samples = parse_babi_lines(lines, source=str(path))
    if not samples:
        raise BabiFormatError(
            f"no question in the file ({len(lines)} lines; "
            + (
                "empty)"
                if not lines
                else "a bAbI file needs 'ID question?\tanswer\tsupport' lines)"
            ),
            source=str(path),
            line_number=len(lines),
            line=lines[-1] if lines else "",
        )
    return samples


# ---------------------------------------------------------------------------
# locating files
# ---------------------------------------------------------------------------


def task_file_name(task: int, split: str) -> str:
    """``task_file_name(1, "train") == "qa1_single-supporting-fact_train.txt"``."""
    if task not in TASK_NAMES:
        raise ValueError(f"task must be an integer in 1..20, got {task!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return f"qa{task}_{TASK_NAMES[task]}_{split}.txt"


def _task_directory(data_dir: str | Path, setting: str) -> Path:
    """The folder holding the ``qa*_`` files of ``setting`` inside ``data_dir``."""
    if setting not in SETTING_DIRECTORIES:
        raise ValueError(f"setting must be one of {sorted(SETTING_DIRECTORIES)}, got {setting!r}")
    data_dir = Path(data_dir)
    subdirectory = data_dir / SETTING_DIRECTORIES[setting]
    if subdirectory.is_dir():
        return subdirectory
    other_names = {name for key, name in SETTING_DIRECTORIES.items() if key != setting}
    if data_dir.name in other_names:
        raise ValueError(
            f"{data_dir} holds the {data_dir.name!r} files, but setting {setting!r} wants "
            f"{SETTING_DIRECTORIES[setting]!r}; pass the archive root that contains both"
        )
    if data_dir.is_dir() and any(data_dir.glob("qa*_*.txt")):
        return data_dir
    return subdirectory


def find_task_files(data_dir: str | Path, task: int, *, setting: str = "1k") -> tuple[Path, Path]:
    """Return ``(train_path, test_path)`` of ``task`` under ``data_dir``.

    ``data_dir`` is the ``tasks_1-20_v1-2`` archive root (setting ``"1k"`` reads
    ``data_dir/en``, ``"10k"`` reads ``data_dir/en-10k``) or a folder that holds
    the ``qa*_`` files itself. A missing file raises ``FileNotFoundError`` with
    the exact path expected and how to get the data.
    """
    directory = _task_directory(data_dir, setting)
    paths = tuple(directory / task_file_name(task, split) for split in ("train", "test"))
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"bAbI task {task} ({setting}): expected file {path} is missing. Get the data "
                "with tasks.babi.download.download_babi(DIR) (needs the network) or unpack "
                "tasks_1-20_v1-2.tar.gz by hand, then pass DIR/tasks_1-20_v1-2 as the data "
                "directory; layout: DIR/tasks_1-20_v1-2/en/qa1_single-supporting-fact_train.txt, "
                "..., DIR/tasks_1-20_v1-2/en-10k/..."
            )
    return paths  # type: ignore[return-value]


def available_tasks(data_dir: str | Path, *, setting: str = "1k") -> list[int]:
    """Tasks of ``setting`` whose train and test files both exist under ``data_dir``.

    Lets evaluation loops report a task as "no data" instead of crashing (the
    reference copy of ``en-10k`` lacks the task 3 training file).
    """
    directory = _task_directory(data_dir, setting)
    return [
        task
        for task in TASK_NAMES
        if all((directory / task_file_name(task, split)).is_file() for split in ("train", "test"))
    ]
