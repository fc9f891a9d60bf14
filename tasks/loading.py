"""Data loading that can stop and resume in the middle of an epoch, exactly.

A run stopped part-way through an epoch and resumed from its checkpoint should see the same
batches, in the same order, as the run that was never stopped. Two pieces make that hold:

* the order of the training batches is a function of (seed, epoch) alone: ``EpochSampler``
  (``tasks.algorithmic``) yields the epoch's episodes in index order, ``EpochShuffleSampler``
  a permutation drawn from a generator seeded with (seed, epoch), and Lightning's
  ``DistributedSampler`` wrapper (DDP) deals either one out to the ranks the same way every time;
* ``ResumableDataLoader`` remembers how many batches of the current epoch it has handed out.
  Lightning saves its ``state_dict()`` with every checkpoint and calls ``load_state_dict()``
  on resume before iterating; the loader then skips that many batches of the epoch's index
  stream without loading them (no episode is generated, no file read).

The count is exact at batch boundaries, which is where every memnets checkpoint is written
(validation end, ``every_n_train_steps``, end of fit and the save on Ctrl-C/SIGTERM of
``memnets.training.resume.StopAndSave``). Lightning's data fetcher does not read ahead from a
loader whose length is known, so batches handed out are batches trained on.

Nothing here imports Lightning.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler

from memnets._checks import check_positive

from .algorithmic import episode_seed

__all__ = ["EpochShuffleSampler", "ResumableDataLoader", "RunsBatchSampler"]

# helpers


def _samplers(loader: DataLoader) -> list[Any]:
    """The loader's sampler and its batch sampler's sampler (the same object, usually)."""
    found = {}
    batch_sampler = loader.batch_sampler
    for sampler in (loader.sampler, batch_sampler, getattr(batch_sampler, "sampler", None)):
        if sampler is not None:
            found[id(sampler)] = sampler
    return list(found.values())


def _sampler_epoch(loader: DataLoader) -> int | None:
    """The epoch the loader's sampler was last set to, or None for an epoch-free sampler."""
    for sampler in _samplers(loader):
        epoch = getattr(sampler, "epoch", None)
        if isinstance(epoch, int):
            return epoch
    return None


def _set_sampler_epoch(loader: DataLoader, epoch: int) -> None:
    for sampler in _samplers(loader):
        if callable(getattr(sampler, "set_epoch", None)):
            sampler.set_epoch(epoch)


# samplers


class EpochShuffleSampler(Sampler[int]):
    """A fresh permutation of ``range(size)`` every epoch, a pure function of (seed, epoch).

    ``RandomSampler`` draws each epoch's order from a generator that carries over from the
    epochs before, so a run resumed in epoch ``e`` cannot replay epoch ``e``'s order without
    replaying every earlier one. Here epoch ``e``'s order is ``randperm(size)`` of a generator
    seeded with ``episode_seed(seed, "shuffle", e, 0)``; call ``set_epoch`` (Lightning does)
    before iterating.
    """

    def __init__(self, size: int, *, seed: int = 0) -> None:
        check_positive("size", size)
        self.size = size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(episode_seed(self.seed, "shuffle", self.epoch, 0))
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


class RunsBatchSampler(Sampler[list[int]]):
    """Batches for several runs trained together: each run its own order of the data.

    Run r's epoch-e order is :class:`EpochShuffleSampler`'s for ``seeds[r]``; batch i of the
    epoch is the concatenation of every run's i-th batch of ``batch_size`` indices (R x B
    indices, the last batch of an epoch smaller), so a collate function can shape it as
    (R, B, ...). With one seed this yields exactly ``EpochShuffleSampler(size, seed=seed)``'s
    batches: a run trained with others sees the batches it would see alone.
    """

    def __init__(self, size: int, *, batch_size: int, seeds: list[int]) -> None:
        check_positive("size", size)
        check_positive("batch_size", batch_size)
        if not seeds:
            raise ValueError("seeds must name at least one run")
        self.orders = [EpochShuffleSampler(size, seed=seed) for seed in seeds]
        self.size, self.batch_size, self.epoch = size, batch_size, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        for order in self.orders:
            order.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        orders = [list(order) for order in self.orders]
        for start in range(0, self.size, self.batch_size):
            yield [index for order in orders for index in order[start : start + self.batch_size]]

    def __len__(self) -> int:
        return -(-self.size // self.batch_size)


# loader


class _SkippingIndexSampler:
    """The loader's index (batch) sampler, less the batches a resumed epoch has already had."""

    def __init__(self, index_sampler: Iterable, loader: ResumableDataLoader) -> None:
        self.index_sampler = index_sampler
        self.loader = loader

    def __iter__(self) -> Iterator:
        # called when the DataLoader iterator is made (twice with workers); the generator
        # decides at the first index, by when Lightning has set the sampler's epoch
        return self.loader._remaining_indices(self.index_sampler)

    def __len__(self) -> int:
        return len(self.index_sampler)  # type: ignore[arg-type]


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` that can start an epoch where a checkpoint left it.

    Takes ``DataLoader``'s arguments unchanged (Lightning rebuilds the loader from them to
    insert a ``DistributedSampler`` under DDP). ``state_dict()`` is ``{"epoch": e, "batches":
    k}``: ``k`` batches of epoch ``e`` handed out. After ``load_state_dict`` the next iteration
    skips the first ``k`` batches if it runs epoch ``e``; a finished epoch (``k == len(self)``)
    or a different epoch starts from its first batch. The skip is exact when the order of
    batches depends on the epoch only (see the module docstring); with a sampler that has no
    ``epoch`` the skip applies to the next iteration, whatever it is.

    Under DDP the checkpoint holds rank 0's state and every rank loads it: that is every
    rank's own, as ``DistributedSampler`` deals every rank a share of one length (padded), so
    the ranks hand out batch for batch together (``tests/test_ddp_data.py`` resumes a DDP run
    and compares what each rank receives).
    """

    # instance state, as class defaults: DataLoader.__init__ is not overridden
    _handed_out: int = 0  # batches of the current epoch handed out (skipped ones included)
    _epoch: int | None = None  # the sampler's epoch for those batches
    _resume: tuple[int | None, int] | None = None  # (epoch, batches) from load_state_dict
    _iteration_resume: tuple[int | None, int] | None = None  # the same, for this iteration
    _skipped: int = 0

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self._epoch, "batches": self._handed_out}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        epoch, batches = state_dict["epoch"], int(state_dict["batches"])
        finished = batches >= len(self)
        if epoch is not None:
            epoch = epoch + 1 if finished else epoch
            # worker processes take their first indices as soon as the iterator exists,
            # before Lightning sets the epoch: set it here already
            _set_sampler_epoch(self, epoch)
        self._resume = (epoch, 0 if finished else batches)
        self._epoch, self._handed_out = epoch, self._resume[1]

    @property
    def _index_sampler(self):  # DataLoader's hook: what its iterator draws indices from
        return _SkippingIndexSampler(super()._index_sampler, self)

    def __iter__(self):
        self._iteration_resume, self._resume = self._resume, None
        if self._iteration_resume is None:
            self._epoch, self._handed_out = _sampler_epoch(self), 0
        return self._count(super().__iter__())

    def _remaining_indices(self, index_sampler: Iterable) -> Iterator:
        epoch = _sampler_epoch(self)
        resume = self._iteration_resume
        skip = resume[1] if resume is not None and resume[0] in (None, epoch) else 0
        self._epoch, self._skipped = epoch, skip
        yield from itertools.islice(iter(index_sampler), skip, None)

    def _count(self, iterator: Iterator) -> Iterator:
        first = True
        for batch in iterator:
            if first:  # the indices have been drawn: the skip is known now
                self._handed_out, first = self._skipped, False
                self._iteration_resume = None
            self._handed_out += 1
            yield batch
