"""Word and answer vocabularies for bAbI, and vectorisation of samples into tensors.

Glossary: Q questions (samples), S memory slots (``memory_size``), W words per
sentence (``sentence_length``), V vocabulary size.

Word ids. Index 0 is the nil word ``<nil>`` (padding; the model keeps its
embedding at zero), index 1 is ``<unk>``: a word never seen in the training
stories or questions maps to it, so an unknown test word is still visible to
the model as "some word" and is never silently dropped. Known words follow,
sorted, from index 2.

Answer ids. Every distinct training answer is one class, multi-word answers
included (``n,w``, ``apple,football`` and ``football,apple`` are three
classes, as in the End-To-End Memory Networks paper), sorted, from index 0; so
``num_answers`` is the number of distinct training answers and no output
logit is wasted. An answer never seen in training (real data has one: the
task 8 1k test answer ``football,apple,milk``) maps to
``UNKNOWN_ANSWER_INDEX = -100``, decoded as ``<unk>``. No prediction
(an argmax in ``[0, num_answers)``) can equal it, so accuracy counts such a
question wrong, as it must be; and -100 is the default ``ignore_index`` of
``torch.nn.functional.cross_entropy``, so the loss skips it instead of
crashing (a batch made only of such questions has a NaN mean loss).

Memory slot order. Stories are right-aligned: slot ``S - 1`` always holds
the most recent sentence before the question, slot ``S - 1 - k`` the sentence
``k`` steps before it, and the empty slots (``story_mask`` False, all nil
words) come first. A temporal encoding that counts from the most recent
sentence is therefore the same for every sample: slot ``s`` has age
``S - 1 - s``. Only the ``memory_size`` most recent sentences are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import Tensor

from .reader import QASample

__all__ = [
    "NIL_INDEX",
    "NIL_WORD",
    "QATensors",
    "UNKNOWN_ANSWER",
    "UNKNOWN_ANSWER_INDEX",
    "UNKNOWN_INDEX",
    "UNKNOWN_WORD",
    "Vocabulary",
    "longest_sentence",
    "vectorize",
]

NIL_WORD = "<nil>"
NIL_INDEX = 0
UNKNOWN_WORD = "<unk>"
UNKNOWN_INDEX = 1
UNKNOWN_ANSWER = "<unk>"
UNKNOWN_ANSWER_INDEX = -100  # == cross_entropy's default ignore_index; never an argmax

_Tensors = TypeVar("_Tensors", bound="QATensors")

# ---------------------------------------------------------------------------
# vocabulary
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Words (index -> word) and answer classes (index -> answer).

    Build it with :meth:`from_samples` from training samples only.
    """

    words: tuple[str, ...]  # words[0] == "<nil>", words[1] == "<unk>", then known words sorted
    answers: tuple[str, ...]  # one entry per answer class, sorted
    _word_index: dict[str, int] = field(init=False, repr=False, compare=False)
    _answer_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "answers", tuple(self.answers))
        if self.words[:2] != (NIL_WORD, UNKNOWN_WORD):
            raise ValueError(
                f"words must start with {NIL_WORD!r}, {UNKNOWN_WORD!r}, got {self.words[:2]}"
            )
        if len(set(self.words)) != len(self.words):
            raise ValueError("words must not repeat")
        if len(set(self.answers)) != len(self.answers):
            raise ValueError("answers must not repeat")
        if UNKNOWN_ANSWER in self.answers:
            raise ValueError(f"{UNKNOWN_ANSWER!r} is reserved and cannot be an answer class")
        object.__setattr__(self, "_word_index", {w: i for i, w in enumerate(self.words)})
        object.__setattr__(self, "_answer_index", {a: i for i, a in enumerate(self.answers)})

    @classmethod
    def from_samples(cls, samples: Iterable[QASample]) -> Vocabulary:
        """Vocabulary of the words in the stories and questions, and of the answers, of
        ``samples`` (pass training samples only)."""
        words: set[str] = set()
        answers: set[str] = set()
        for sample in samples:
            for sentence in sample.story:
                words.update(sentence)
            words.update(sample.question)
            answers.add(sample.answer)
        words -= {NIL_WORD, UNKNOWN_WORD}
        return cls(words=(NIL_WORD, UNKNOWN_WORD, *sorted(words)), answers=tuple(sorted(answers)))

    @property
    def size(self) -> int:
        """Number of word ids, nil and ``<unk>`` included (the embedding table size V)."""
        return len(self.words)

    @property
    def num_answers(self) -> int:
        """Number of answer classes (the output size)."""
        return len(self.answers)

    def __len__(self) -> int:
        return self.size

    def word_index(self, word: str) -> int:
        """Id of ``word``; ``UNKNOWN_INDEX`` for a word not in the vocabulary."""
        return self._word_index.get(word, UNKNOWN_INDEX)

    def answer_word_ids(self) -> list[int]:
        """The word id of each answer class, for models that score answers as words
        (MemN2N's W^T = C^K): an answer that is a word gets its id; any other answer (a
        multi-word answer such as ``n,w``, or ``nothing`` when it is never a story word) gets
        a row of its own after the vocabulary, ``size`` + its class, as the authors' code adds
        such answers to its dictionary.

        >>> vocabulary = Vocabulary(words=("<nil>", "<unk>", "garden"), answers=("garden", "n,w"))
        >>> vocabulary.answer_word_ids()
        [2, 4]
        """
        return [
            self._word_index.get(answer, self.size + label)
            for label, answer in enumerate(self.answers)
        ]

    def encode(self, words: Sequence[str]) -> list[int]:
        """Ids of ``words``, unknown words as ``UNKNOWN_INDEX``."""
        return [self._word_index.get(word, UNKNOWN_INDEX) for word in words]

    def answer_index(self, answer: str) -> int:
        """Class of ``answer``; ``UNKNOWN_ANSWER_INDEX`` (-100) for an unseen answer."""
        return self._answer_index.get(answer, UNKNOWN_ANSWER_INDEX)

    def decode(self, ids: Iterable[int] | Tensor) -> str:
        """The words of ``ids`` joined by spaces, nil padding dropped, ``<unk>`` kept."""
        if isinstance(ids, Tensor):
            ids = ids.flatten().tolist()
        return " ".join(self.words[index] for index in ids if index != NIL_INDEX)

    def decode_answer(self, index: int | Tensor) -> str:
        """The answer of class ``index``; ``"<unk>"`` for ``UNKNOWN_ANSWER_INDEX``."""
        index = int(index)
        if index == UNKNOWN_ANSWER_INDEX:
            return UNKNOWN_ANSWER
        if not 0 <= index < len(self.answers):
            raise IndexError(f"answer index {index} is outside [0, {len(self.answers)})")
        return self.answers[index]

    def to_dict(self) -> dict[str, list[str]]:
        """Plain lists, for checkpoints and JSON."""
        return {"words": list(self.words), "answers": list(self.answers)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`."""
        return cls(words=tuple(state["words"]), answers=tuple(state["answers"]))


# ---------------------------------------------------------------------------
# vectorisation
# ---------------------------------------------------------------------------


@dataclass(eq=False)  # tensors: compare fields with torch.equal
class QATensors:
    """Vectorised questions. Slot order: right-aligned, slot S-1 is the most recent sentence."""

    story: Tensor  # (Q, S, W) int64 word ids, empty slots first, then oldest -> newest
    story_mask: Tensor  # (Q, S) bool, True where a slot holds a sentence
    story_lengths: Tensor  # (Q,) int64, filled slots == min(story sentences, S)
    question: Tensor  # (Q, W) int64 word ids
    answer: Tensor  # (Q,) int64 answer class, UNKNOWN_ANSWER_INDEX (-100) if unseen in training
    support: Tensor  # (Q, S) bool, supporting sentences that survived truncation

    def __len__(self) -> int:
        return self.answer.size(0)

    def select(self: _Tensors, index: Tensor | slice | Sequence[int]) -> _Tensors:
        """The questions at ``index`` (a slice, index tensor or list), same type as ``self``."""
        if isinstance(index, Sequence):
            index = torch.as_tensor(index, dtype=torch.long)
        return dataclasses.replace(
            self, **{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)}
        )

    def to(self: _Tensors, device: torch.device | str, *, non_blocking: bool = False) -> _Tensors:
        return dataclasses.replace(
            self,
            **{
                f.name: getattr(self, f.name).to(device, non_blocking=non_blocking)
                for f in dataclasses.fields(self)
            },
        )

    def pin_memory(self: _Tensors) -> _Tensors:
        """Called by ``DataLoader(pin_memory=True)``."""
        return dataclasses.replace(
            self, **{f.name: getattr(self, f.name).pin_memory() for f in dataclasses.fields(self)}
        )


def longest_sentence(samples: Iterable[QASample], *, memory_size: int | None = None) -> int:
    """Words in the longest question or kept story sentence of ``samples`` (at least 1).

    With ``memory_size`` only the ``memory_size`` most recent sentences of each
    story count, as only those are vectorised.
    """
    longest = 1
    for sample in samples:
        story = sample.story if memory_size is None else sample.story[-memory_size:]
        longest = max(longest, len(sample.question), *(len(sentence) for sentence in story))
    return longest


def vectorize(
    samples: Sequence[QASample],
    vocabulary: Vocabulary,
    *,
    memory_size: int = 50,
    sentence_length: int | None = None,
) -> QATensors:
    """Turn ``samples`` into padded tensors (see the module docstring for the slot order).

    Keeps the ``memory_size`` most recent story sentences of each question,
    right-aligned. ``sentence_length`` (W) defaults to :func:`longest_sentence`;
    a sentence or question longer than an explicit W raises ``ValueError``
    rather than losing words (pass the same W for every split, because
    position encodings depend on it).
    """
    if not isinstance(memory_size, int) or memory_size < 1:
        raise ValueError(f"memory_size must be a positive integer, got {memory_size!r}")
    samples = list(samples)
    if sentence_length is None:
        sentence_length = longest_sentence(samples, memory_size=memory_size)
    if sentence_length < 1:
        raise ValueError(f"sentence_length must be a positive integer, got {sentence_length!r}")
    num_questions, num_slots = len(samples), memory_size

    def encode_padded(words: tuple[str, ...], sample: QASample) -> list[int]:
        if len(words) > sentence_length:
            raise ValueError(
                f"{sample.source}: {len(words)} words {' '.join(words)!r} exceed "
                f"sentence_length={sentence_length}"
            )
        return vocabulary.encode(words) + [NIL_INDEX] * (sentence_length - len(words))

    # Every distinct sentence is encoded once into a table; row 0 is the empty slot. Stories of
    # one bAbI story share their sentence tuples, so this is far cheaper than encoding per slot.
    table_rows: dict[tuple[str, ...], int] = {}
    table: list[list[int]] = [[NIL_INDEX] * sentence_length]
    slot_rows: list[int] = []  # (Q * S,) table row of every slot
    support_slots: list[int] = []  # flat q * S + s of supporting slots
    questions: list[list[int]] = []
    answers: list[int] = []
    lengths: list[int] = []
    for question_index, sample in enumerate(samples):
        kept = sample.story[-num_slots:]
        first_slot = num_slots - len(kept)  # right alignment: empty slots first
        slot_rows.extend([0] * first_slot)
        for sentence in kept:
            row = table_rows.get(sentence)
            if row is None:
                row = table_rows[sentence] = len(table)
                table.append(encode_padded(sentence, sample))
            slot_rows.append(row)
        dropped = len(sample.story) - len(kept)
        for position in sample.supporting_positions:
            if position >= dropped:
                support_slots.append(question_index * num_slots + first_slot + position - dropped)
        questions.append(encode_padded(sample.question, sample))
        answers.append(vocabulary.answer_index(sample.answer))
        lengths.append(len(kept))

    table_tensor = torch.tensor(table, dtype=torch.long)  # (rows, W)
    slot_tensor = torch.tensor(slot_rows, dtype=torch.long).view(num_questions, num_slots)
    story = table_tensor[slot_tensor]  # (Q, S, W)
    support = torch.zeros(num_questions * num_slots, dtype=torch.bool)
    support[torch.tensor(support_slots, dtype=torch.long)] = True
    story_lengths = torch.tensor(lengths, dtype=torch.long)  # (Q,)
    slot = torch.arange(num_slots)  # (S,)
    story_mask = slot.unsqueeze(0) >= num_slots - story_lengths.unsqueeze(1)  # (Q, S)
    return QATensors(
        story=story,
        story_mask=story_mask,
        story_lengths=story_lengths,
        question=torch.tensor(questions, dtype=torch.long).view(num_questions, sentence_length),
        answer=torch.tensor(answers, dtype=torch.long),
        support=support.view(num_questions, num_slots),
    )
