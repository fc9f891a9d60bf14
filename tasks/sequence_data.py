"""Lightning ``DataModule`` serving the algorithmic tasks of ``tasks.algorithmic``.

Training episodes are drawn afresh every epoch (the epoch enters each episode's seed);
validation and test sets are fixed by the seed, so every run and every epoch scores the same
episodes. The test loaders are the training range first, then one per generalisation length.
The training loader resumes mid-epoch from a checkpoint (``tasks.loading``), and no loader
draws from torch's global random generator, so a resumed run replays the uninterrupted one.
"""

from __future__ import annotations

from typing import Literal

import lightning
import torch
from torch.utils.data import DataLoader

from memnets._checks import check_positive

from .algorithmic import (
    AlgorithmicTask,
    BatchDataset,
    CopyTask,
    EpisodeDataset,
    EpochSampler,
    SequenceBatch,
    check_curriculum_from,
    collate_episodes,
    curriculum_ranges,
)
from .loading import ResumableDataLoader


class AlgorithmicDataModule(lightning.LightningDataModule):
    """Batches of ``SequenceBatch`` for one algorithmic task.

    Args:
        task: the task; ``None`` means ``CopyTask()``.
        batch_size: episodes per batch, for every split.
        seed: fixes every split; train, val, test and each generalisation set use separate streams.
        train_batches_per_epoch: an epoch is this many training batches.
        val_episodes: size of the fixed validation set (lengths from the training range).
        test_episodes: size of the fixed test set and of each generalisation set.
        generalisation_lengths: one extra test set per length, every episode of that length
            (for associative recall the number of items, for sorts the number of inputs).
        generalisation_repeats: for repeat copy, one extra test set per (length, repeats) pair
            of ``generalisation_lengths`` x ``generalisation_repeats`` instead (sets named
            ``test_length_L_repeats_R``); None draws the repeats from the training range.
        num_workers: ``DataLoader`` worker processes (kept alive between epochs when > 0).
        same_length_batches: every training batch has one length (and, for repeat copy, one
            repeat count), drawn per batch, as in the paper's and the reference implementations'
            training: no time is spent on padding. False: each episode draws its own length and
            a batch is padded to its longest (the layout of the validation and test sets,
            which are the same either way).
        curriculum_epochs: with same-length batches, widen the training ranges of length (the
            number of items for associative recall; and repeats, for repeat copy) from their
            lower end to the whole range over this many
            epochs, evenly (``BatchDataset``); None: the whole range from the start. Validation
            and test sets always span the whole range.
        curriculum_from: ``"low"`` (or None, the default) opens the ranges from their lower
            end up (short, few items first), ``"high"`` from their upper end down (long, many
            items first); without ``curriculum_epochs`` it has no effect.
    """

    def __init__(
        self,
        task: AlgorithmicTask | None = None,
        *,
        batch_size: int = 16,
        seed: int = 0,
        train_batches_per_epoch: int = 500,
        val_episodes: int = 256,
        test_episodes: int = 256,
        generalisation_lengths: list[int] | None = None,
        num_workers: int = 0,
        same_length_batches: bool = True,
        generalisation_repeats: list[int] | None = None,
        curriculum_epochs: int | None = None,
        curriculum_from: Literal["low", "high"] | None = None,
    ) -> None:
        super().__init__()
        check_curriculum_from(curriculum_from)
        check_positive("batch_size", batch_size)
        check_positive("train_batches_per_epoch", train_batches_per_epoch)
        check_positive("val_episodes", val_episodes)
        check_positive("test_episodes", test_episodes)
        for position, length in enumerate(generalisation_lengths or []):
            check_positive(f"generalisation_lengths[{position}]", length)
        for position, repeats in enumerate(generalisation_repeats or []):
            check_positive(f"generalisation_repeats[{position}]", repeats)
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.task = task if task is not None else CopyTask()
        if curriculum_epochs is not None:
            if not same_length_batches:
                raise ValueError("curriculum_epochs needs same_length_batches=True")
            check_positive("curriculum_epochs", curriculum_epochs)
            curriculum_ranges(self.task)  # a task without ranges to widen: ValueError
        if generalisation_repeats and not hasattr(self.task, "max_repeats"):
            raise ValueError(
                f"generalisation_repeats {generalisation_repeats} needs a task with repeats "
                f"(repeat copy), got {self.task.name}"
            )
        if generalisation_repeats and not generalisation_lengths:
            raise ValueError(
                f"generalisation_repeats {generalisation_repeats} needs generalisation_lengths "
                "(the sets are every (length, repeats) pair)"
            )
        self.batch_size = batch_size
        self.seed = seed
        self.train_batches_per_epoch = train_batches_per_epoch
        self.val_episodes = val_episodes
        self.test_episodes = test_episodes
        self.generalisation_lengths = list(generalisation_lengths or [])
        self.generalisation_repeats = list(generalisation_repeats or [])
        self.num_workers = num_workers
        self.same_length_batches = same_length_batches
        self.curriculum_epochs = curriculum_epochs
        self.curriculum_from = curriculum_from
        self.save_hyperparameters(ignore=["task"])
        # The task object is not a plain hyperparameter: record its name and arguments instead.
        self.save_hyperparameters(
            {**self.hparams, "task_name": self.task.name, "task_config": self.task.config()}
        )

    @property
    def input_size(self) -> int:
        return self.task.input_size

    @property
    def output_size(self) -> int:
        return self.task.output_size

    @property
    def generalisation_sets(self) -> list[tuple[str, dict[str, int]]]:
        """The generalisation test sets in loader order: (name, the shape each episode has),
        named ``test_length_L`` or, with ``generalisation_repeats``, ``test_length_L_repeats_R``."""
        if self.generalisation_repeats:
            return [
                (f"test_length_{length}_repeats_{repeats}", {"length": length, "repeats": repeats})
                for length in self.generalisation_lengths
                for repeats in self.generalisation_repeats
            ]
        return [
            (f"test_length_{length}", {"length": length}) for length in self.generalisation_lengths
        ]

    def _dataset(self, split: str, size: int, **shape: int) -> EpisodeDataset:
        return EpisodeDataset(self.task, size=size, seed=self.seed, split=split, **shape)

    def _loader(
        self,
        dataset: EpisodeDataset | BatchDataset,
        sampler: EpochSampler | None = None,
        *,
        loader_class: type[DataLoader] = DataLoader,
    ) -> DataLoader:
        batched = isinstance(dataset, BatchDataset)  # items are whole batches already
        return loader_class(
            dataset,
            batch_size=None if batched else self.batch_size,
            sampler=sampler,
            shuffle=False,
            collate_fn=_as_is if batched else collate_episodes,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            # the loader's own generator (worker seeds), so iterating leaves the global RNG alone
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> ResumableDataLoader:
        if self.same_length_batches:
            batches = self.train_batches_per_epoch
            dataset = BatchDataset(
                self.task,
                batches=batches,
                batch_size=self.batch_size,
                seed=self.seed,
                curriculum_epochs=self.curriculum_epochs,
                curriculum_from=self.curriculum_from,
            )
            sampler = EpochSampler(batches)
        else:
            size = self.train_batches_per_epoch * self.batch_size
            dataset, sampler = self._dataset("train", size), EpochSampler(size)
        return self._loader(dataset, sampler=sampler, loader_class=ResumableDataLoader)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self._dataset("val", self.val_episodes))

    def test_dataloader(self) -> list[DataLoader]:
        loaders = [self._loader(self._dataset("test", self.test_episodes))]
        for _, shape in self.generalisation_sets:  # split gen{L}, or gen{L}x{R} (own streams)
            split = "gen" + "x".join(str(value) for value in shape.values())
            loaders.append(self._loader(self._dataset(split, self.test_episodes, **shape)))
        return loaders

    def fixed_episode(self) -> SequenceBatch:
        """The first validation episode as a batch of one, the same in every epoch (for plots)."""
        return collate_episodes([self._dataset("val", self.val_episodes)[0]])


def _as_is(batch: SequenceBatch) -> SequenceBatch:
    """The loader's conversion of an item that is a batch already (picklable for workers)."""
    return batch
