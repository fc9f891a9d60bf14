"""bAbI as word sequences, the Differentiable Neural Computer's input format (Graves et al.
2016, methods, "bAbI"): each story is one sequence of words, its questions where they occur,
every answer word replaced by the marker ``-``; the network reads one word per step and is
trained to emit the answer words at the ``-`` steps.

    mary moved to the bathroom . john went to the hallway . where is mary ? -
    daniel went back to the hallway . where is daniel ? -              (targets: bathroom, hallway)

As in the paper, words are lower-case, ``.`` and ``?`` are words of their own (the reader drops
them; they are put back here, after every sentence and question), and an answer of several
words (``n,w`` in task 19, ``apple,football`` in task 8) is one ``-`` per word. A question is
answered right only if every one of its answer words is.

Glossary: B batch, T time steps (words), V vocabulary size (input and output: the paper scores
answers over the whole dictionary). Torch and the reader only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from .reader import QASample
from .vocab import NIL_WORD, UNKNOWN_ANSWER_INDEX, UNKNOWN_INDEX, UNKNOWN_WORD, Vocabulary

__all__ = [
    "ANSWER_MARK",
    "SequenceBatch",
    "StorySequence",
    "collate_sequences",
    "encode_story",
    "sequence_vocabulary",
    "story_sequences",
]

PERIOD, QUESTION_MARK, ANSWER_MARK = ".", "?", "-"
NO_QUESTION = -1  # ``SequenceBatch.questions`` away from an answer step


@dataclass(frozen=True)
class StorySequence:
    """One story as a stream of words, with its answers."""

    words: tuple[str, ...]  # every word of the story, '.', '?' and one '-' per answer word
    answers: tuple[str, ...]  # the answer word due at each '-', in order
    questions: tuple[int, ...]  # which question of the story each '-' answers (0, 1, ...)
    sources: tuple[str, ...]  # "path:line" of each question


def story_sequences(samples: Iterable[QASample]) -> list[StorySequence]:
    """Group the questions of each story (``QASample.story_source``) into one sequence each,
    in the order of the file; the sentences between two questions go in between them."""
    stories: dict[str, list[QASample]] = {}
    for sample in samples:
        if not sample.story_source:
            raise ValueError(
                f"question {sample.source} has no story_source: read it with "
                "tasks.babi.read_babi_file or parse_babi_lines"
            )
        stories.setdefault(sample.story_source, []).append(sample)
    sequences = []
    for questions in stories.values():
        words: list[str] = []
        answers: list[str] = []
        numbers: list[int] = []
        told = 0  # sentences of the story already in the sequence
        for number, sample in enumerate(questions):
            for sentence in sample.story[told:]:
                words.extend((*sentence, PERIOD))
            told = len(sample.story)
            answer_words = sample.answer.split(",")
            words.extend((*sample.question, QUESTION_MARK, *[ANSWER_MARK] * len(answer_words)))
            answers.extend(answer_words)
            numbers.extend([number] * len(answer_words))
        sources = tuple(sample.source for sample in questions)
        sequences.append(StorySequence(tuple(words), tuple(answers), tuple(numbers), sources))
    return sequences


def sequence_vocabulary(stories: Iterable[StorySequence]) -> Vocabulary:
    """Every word of ``stories`` (pass training stories only) and every answer word, which the
    output scores as words: ``answers`` lists the answer words, ``words`` holds them too."""
    words: set[str] = set()
    answers: set[str] = set()
    for story in stories:
        words.update(story.words)
        answers.update(story.answers)
    words = (words | answers) - {NIL_WORD, UNKNOWN_WORD}
    known = (NIL_WORD, UNKNOWN_WORD, *sorted(words))
    return Vocabulary(words=known, answers=tuple(sorted(answers)))


def encode_story(story: StorySequence, vocabulary: Vocabulary) -> tuple[Tensor, Tensor, Tensor]:
    """(inputs, targets, questions), each (T,) int64: word ids; the answer word's id at each
    '-' step and ``UNKNOWN_ANSWER_INDEX`` (-100, ignored by the loss, never right) elsewhere
    and for an answer word the vocabulary lacks; the question number at each '-' step and -1
    elsewhere."""
    inputs = torch.tensor(vocabulary.encode(story.words), dtype=torch.long)  # (T,)
    targets = torch.full_like(inputs, UNKNOWN_ANSWER_INDEX)  # (T,)
    questions = torch.full_like(inputs, NO_QUESTION)  # (T,)
    steps = [step for step, word in enumerate(story.words) if word == ANSWER_MARK]
    answer_ids = [  # any word of the vocabulary can be an answer: the output scores them all
        index if (index := vocabulary.word_index(word)) != UNKNOWN_INDEX else UNKNOWN_ANSWER_INDEX
        for word in story.answers
    ]
    targets[steps] = torch.tensor(answer_ids, dtype=torch.long)
    questions[steps] = torch.tensor(story.questions, dtype=torch.long)
    return inputs, targets, questions


@dataclass(eq=False)
class SequenceBatch:
    """Stories padded with the nil word (id 0) after their end."""

    inputs: Tensor  # (B, T) int64 word ids
    targets: Tensor  # (B, T) int64 answer word ids at '-' steps, -100 elsewhere
    questions: Tensor  # (B, T) int64 question number at '-' steps, -1 elsewhere
    lengths: Tensor  # (B,) int64 words per story
    task: Tensor  # (B,) int64 bAbI task number

    def __len__(self) -> int:
        return self.lengths.size(0)

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> SequenceBatch:
        return dataclasses.replace(
            self,
            **{
                f.name: getattr(self, f.name).to(device, non_blocking=non_blocking)
                for f in dataclasses.fields(self)
            },
        )


def collate_sequences(items: Sequence[tuple[Tensor, Tensor, Tensor, int]]) -> SequenceBatch:
    """Pad ``(inputs, targets, questions, task)`` items to the longest story of the batch."""
    if not items:
        raise ValueError("cannot collate an empty list of stories")
    lengths = torch.tensor([len(inputs) for inputs, *_ in items], dtype=torch.long)  # (B,)

    def padded(position: int, fill: int) -> Tensor:
        sequences = [item[position] for item in items]
        return pad_sequence(sequences, batch_first=True, padding_value=fill)  # (B, T)

    return SequenceBatch(
        inputs=padded(0, 0),
        targets=padded(1, UNKNOWN_ANSWER_INDEX),
        questions=padded(2, NO_QUESTION),
        lengths=lengths,
        task=torch.tensor([task for *_, task in items], dtype=torch.long),
    )
