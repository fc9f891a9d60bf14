"""Lightning ``DataModule`` for bAbI in the DNC's word-sequence format (``tasks.babi.sequences``).

The files are found or generated exactly as by ``BabiDataModule`` (``source``, ``data_dir``,
``setting``, the generator's sizes), one or several tasks. A batch is a
:class:`~tasks.babi.sequences.SequenceBatch` of whole stories. Validation holds out
``validation_fraction`` of each task's training *stories* (a seeded split; a story's questions
stay together), and the vocabulary is built from the remaining training stories. The
vocabulary is part of ``state_dict()``, so a checkpoint carries it. ``input_size`` and
``output_size`` (both the vocabulary size: words in, words out) are what the CLI links into the
model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import lightning
import torch
from torch.utils.data import DataLoader, Dataset

from ..loading import EpochShuffleSampler, ResumableDataLoader
from .datamodule import BabiDataModule
from .reader import read_babi_file
from .sequences import (
    SequenceBatch,
    StorySequence,
    collate_sequences,
    encode_story,
    sequence_vocabulary,
    story_sequences,
)
from .vocab import Vocabulary

__all__ = ["BabiSequenceDataModule", "StoryExample"]

SPLITS = ("train", "val", "test")


class _Stories(Dataset):
    def __init__(self, items: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]]):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        return self.items[index]


@dataclass(frozen=True, eq=False)
class StoryExample:
    """One story as a batch of one, with its words, for pictures."""

    batch: SequenceBatch  # B == 1
    words: tuple[str, ...]
    answers: tuple[str, ...]
    task: int


class BabiSequenceDataModule(lightning.LightningDataModule):
    """bAbI stories as word sequences, for recurrent models (the DNC, the NTM).

    Args:
        task, setting, source, data_dir, generated_dir, generated_train_questions,
        generated_test_questions: as for ``BabiDataModule`` (which finds or writes the files).
        batch_size: stories per batch, every split.
        validation_fraction: share of each task's training stories held out for validation.
        seed: fixes the validation split, the training order and the generated data.
        max_story_words: training stories longer than this many words are left out of
            training (None: none); validation and test keep every story.
        num_workers: ``DataLoader`` worker processes.
    """

    def __init__(
        self,
        *,
        task: int | list[int] = 1,
        setting: str = "1k",
        source: str = "generated",
        data_dir: str | None = None,
        batch_size: int = 16,
        validation_fraction: float = 0.1,
        seed: int = 0,
        max_story_words: int | None = None,
        num_workers: int = 0,
        generated_dir: str = "data/babi-generated",
        generated_train_questions: int = 1000,
        generated_test_questions: int = 1000,
    ) -> None:
        super().__init__()
        # the file finder checks task, setting, source, data_dir and the generator's sizes
        self._files = BabiDataModule(
            task=task,
            setting=setting,
            source=source,
            data_dir=data_dir,
            seed=seed,
            generated_dir=generated_dir,
            generated_train_questions=generated_train_questions,
            generated_test_questions=generated_test_questions,
        )
        for name, value in (("batch_size", batch_size), ("max_story_words", max_story_words)):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(validation_fraction, (int, float)) or not 0 < validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in (0, 1) (the validation set picks the "
                f"checkpoint), got {validation_fraction!r}"
            )
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        self.save_hyperparameters()
        self.tasks = self._files.tasks
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.max_story_words = max_story_words
        self.num_workers = num_workers
        self._stories: dict[str, list[tuple[int, StorySequence]]] | None = None
        self._vocabulary: Vocabulary | None = None
        self._datasets: dict[str, _Stories] = {}

    # sizes the model needs (available before the trainer exists)

    @property
    def vocabulary(self) -> Vocabulary:
        self._ensure_setup()
        assert self._vocabulary is not None
        return self._vocabulary

    @property
    def input_size(self) -> int:
        """One-hot words: the vocabulary size V."""
        return self.vocabulary.size

    @property
    def output_size(self) -> int:
        """Scores over every word, as the paper's output: V."""
        return self.vocabulary.size

    # setup

    def prepare_data(self) -> None:
        self._files.task_files()

    def _read_stories(self) -> dict[str, list[tuple[int, StorySequence]]]:
        stories: dict[str, list[tuple[int, StorySequence]]] = {split: [] for split in SPLITS}
        for task, (train_path, test_path) in self._files.task_files().items():
            train = story_sequences(read_babi_file(train_path))
            order = list(range(len(train)))
            random.Random(self.seed * 100 + task).shuffle(order)
            held_out = set(order[: int(len(train) * self.validation_fraction + 0.5)])
            for index, story in enumerate(train):  # file order kept inside each split
                stories["val" if index in held_out else "train"].append((task, story))
            test = story_sequences(read_babi_file(test_path))
            stories["test"].extend((task, story) for story in test)
        return stories

    def setup(self, stage: str | None = None) -> None:
        """Read every split once (any ``stage``); a vocabulary loaded earlier is kept."""
        if self._stories is not None:
            return
        self._stories = self._read_stories()
        if self._vocabulary is None:  # from every training story, long ones included
            self._vocabulary = sequence_vocabulary(s for _, s in self._stories["train"])
        if self.max_story_words is not None:
            limit = self.max_story_words
            kept = [(t, s) for t, s in self._stories["train"] if len(s.words) <= limit]
            self._stories["train"] = kept
        if not self._stories["train"]:
            raise ValueError(
                f"no training stories of at most max_story_words={self.max_story_words} words"
            )
        self._build_datasets()

    def _build_datasets(self) -> None:
        assert self._stories is not None and self._vocabulary is not None
        for split, pairs in self._stories.items():
            items = [(*encode_story(story, self._vocabulary), task) for task, story in pairs]
            self._datasets[split] = _Stories(items)

    def _ensure_setup(self) -> None:
        if self._stories is None:
            self.setup("fit")

    def dataset(self, split: str) -> _Stories:
        """The ``"train"``, ``"val"`` or ``"test"`` stories: (inputs, targets, questions,
        task) each."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self._ensure_setup()
        return self._datasets[split]

    # loaders

    def train_dataloader(self) -> DataLoader:
        # the order of epoch e is a function of (seed, e), resumable mid-epoch (tasks.loading)
        dataset = self.dataset("train")
        return ResumableDataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochShuffleSampler(len(dataset), seed=self.seed),
            generator=torch.Generator().manual_seed(self.seed),
            collate_fn=collate_sequences,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def _evaluation_loader(self, split: str) -> DataLoader:
        return DataLoader(
            self.dataset(split),
            batch_size=self.batch_size,
            shuffle=False,
            collate_fn=collate_sequences,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader:
        return self._evaluation_loader("val")

    def test_dataloader(self) -> DataLoader:
        """Every test story of every task; ``batch.task`` tells them apart."""
        return self._evaluation_loader("test")

    # pictures

    def fixed_story(self, index: int = 0) -> StoryExample:
        """Validation story ``index`` (a test story if there is no validation set), as a
        batch of one with its words: the same story at every picture."""
        split = "val" if len(self.dataset("val")) > 0 else "test"
        assert self._stories is not None
        task, story = self._stories[split][index]
        batch = collate_sequences([self.dataset(split)[index]])
        return StoryExample(batch=batch, words=story.words, answers=story.answers, task=task)

    # checkpoints

    def state_dict(self) -> dict[str, Any]:
        """The vocabulary and tasks, so that a checkpoint can rebuild the inputs."""
        return {"vocabulary": self.vocabulary.to_dict(), "tasks": list(self.tasks)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Use the saved vocabulary (re-encoding the stories if already read)."""
        self._vocabulary = Vocabulary.from_dict(state_dict["vocabulary"])
        if self._stories is not None:
            self._build_datasets()
