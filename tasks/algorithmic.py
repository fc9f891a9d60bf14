"""Algorithmic tasks of "Neural Turing Machines" (Graves, Wayne & Danihelka 2014, arXiv:1410.5401).

Each task turns the state of a ``torch.Generator`` into one episode: an input sequence, a target
sequence of the same length and a mask marking the steps whose targets count for the loss and
the metrics. The model reads the whole input first and answers afterwards, while its input is
zero; targets are zero and masked out while the input is being presented.

Layouts, with W the bit width of a vector and one row per time step:

Copy (section 4.1), ``T = 2L + 1`` for a sequence of ``L`` vectors::

    step       0 .. L-1      L            L+1 .. 2L
    input      bits | 0      0 | 1        0
    target     0             0            bits (the same L vectors)     mask True here
    channels   input: W bits + 1 delimiter; target: W bits

Repeat copy (section 4.2), ``T = L + 2 + L * R + 1`` for ``L`` vectors repeated ``R`` times::

    step       0 .. L-1      L            L+1                    L+2 .. end
    input      bits | 0 0    0 | 1 0      0 | 0 R/max_repeats    0
    target     0             0            0                      bits tiled R times, then 0 | 1
    channels   input: W bits + delimiter + repeat count; target: W bits + end marker

Associative recall (section 4.3), ``K`` steps per item and ``n`` items,
``T = n (K + 1) + (K + 2) + K``::

    per item   one step with the item delimiter (channel W), then the item's K vectors
    query      one step with the query delimiter (channel W+1), the queried item's K vectors,
               one more step with the query delimiter
    answer     K steps of zero input; the target is the item that followed the queried one
    channels   input: W bits + item delimiter + query delimiter; target: W bits

Priority sort (section 4.5), ``T = N + 1 + M`` for ``N`` inputs and ``M`` outputs::

    step       0 .. N-1            N              N+1 .. N+M
    input      bits | p | 0        0 | 0 | 1      0
    target     0                   0              the M highest-priority bit rows, descending
    channels   input: W bits + priority p ~ U[-1, 1] + delimiter; target: W bits

Sort is priority sort with every input emitted (``M = N``).

Episodes are reproducible: every random draw takes the generator explicitly, so the same
generator state gives the same episode. ``EpisodeDataset`` derives the generator of each episode
from (seed, split, epoch, index) with a fixed integer hash.

Glossary: B batch, T time, I input channels, O output channels, W bit width, L sequence length,
R repeats, K vectors per item, N inputs to sort, M outputs of a sort.
"""

from __future__ import annotations

import inspect
import math
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from memnets._checks import check_positive, check_shape

__all__ = [
    "AlgorithmicTask",
    "AssociativeRecallTask",
    "BatchDataset",
    "CopyTask",
    "Episode",
    "EpisodeDataset",
    "EpochSampler",
    "PrioritySortTask",
    "RepeatCopyTask",
    "SequenceBatch",
    "SortTask",
    "TASKS",
    "collate_episodes",
    "episode_seed",
    "make_task",
]

# helpers


def _draw_int(low: int, high: int, generator: torch.Generator) -> int:
    """One integer uniform in ``[low, high]`` (both ends included)."""
    return int(torch.randint(low, high + 1, (1,), generator=generator))


def _random_bits(*shape: int, generator: torch.Generator) -> Tensor:
    """Independent Bernoulli(0.5) bits as float32."""
    return torch.randint(0, 2, shape, generator=generator).float()


def _check_range(low_name: str, low: int, high_name: str, high: int) -> None:
    check_positive(low_name, low)
    check_positive(high_name, high)
    if low > high:
        raise ValueError(f"{low_name} ({low}) must not exceed {high_name} ({high})")


def _output_mask(total_steps: int, first_output_step: int) -> Tensor:
    mask = torch.zeros(total_steps, dtype=torch.bool)  # (T,)
    mask[first_output_step:] = True
    return mask


_MASK_64 = (1 << 64) - 1


def _splitmix64(value: int) -> int:
    """The SplitMix64 finaliser: a fixed bijective scrambling of a 64-bit integer."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK_64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK_64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK_64
    return value ^ (value >> 31)


def episode_seed(seed: int, split: str, epoch: int, index: int) -> int:
    """A generator seed for one episode, stable across processes, platforms and Python versions.

    The split name enters through CRC-32 (Python's ``hash`` of a string changes from process to
    process); the parts are chained through SplitMix64. The result is a non-negative 63-bit int.
    """
    state = 0
    for part in (seed, zlib.crc32(split.encode("utf-8")), epoch, index):
        state = _splitmix64(state ^ (part & _MASK_64))
    return state >> 1


# episodes and batches


@dataclass
class Episode:
    """One unbatched episode."""

    inputs: Tensor  # (T, I) float32
    targets: Tensor  # (T, O) float32, zero where mask is False
    mask: Tensor  # (T,) bool, True where the target counts for loss and metrics


@dataclass
class SequenceBatch:
    """Episodes of different lengths, zero padded to the longest one."""

    inputs: Tensor  # (B, T, I)
    targets: Tensor  # (B, T, O)
    mask: Tensor  # (B, T) bool, False on padding
    lengths: Tensor  # (B,) int64, true length of each episode

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> SequenceBatch:
        return SequenceBatch(
            inputs=self.inputs.to(device, non_blocking=non_blocking),
            targets=self.targets.to(device, non_blocking=non_blocking),
            mask=self.mask.to(device, non_blocking=non_blocking),
            lengths=self.lengths.to(device, non_blocking=non_blocking),
        )

    def pin_memory(self) -> SequenceBatch:
        """Called by ``DataLoader(pin_memory=True)``."""
        return SequenceBatch(
            inputs=self.inputs.pin_memory(),
            targets=self.targets.pin_memory(),
            mask=self.mask.pin_memory(),
            lengths=self.lengths.pin_memory(),
        )


def collate_episodes(episodes: list[Episode]) -> SequenceBatch:
    """Stack episodes into a batch, zero padding inputs and targets and masking the padding."""
    if len(episodes) == 0:
        raise ValueError("episodes must hold at least one episode, got an empty list")
    input_size = episodes[0].inputs.size(-1)
    output_size = episodes[0].targets.size(-1)
    for position, episode in enumerate(episodes):
        sizes = check_shape(f"episodes[{position}].inputs", episode.inputs, ("T", input_size))
        check_shape(f"episodes[{position}].targets", episode.targets, (sizes["T"], output_size))
        check_shape(f"episodes[{position}].mask", episode.mask, (sizes["T"],))
    lengths = torch.tensor([episode.inputs.size(0) for episode in episodes], dtype=torch.int64)
    batch_size, max_length = len(episodes), int(lengths.max())
    first = episodes[0]
    inputs = first.inputs.new_zeros(batch_size, max_length, input_size)  # (B, T, I)
    targets = first.targets.new_zeros(batch_size, max_length, output_size)  # (B, T, O)
    mask = first.mask.new_zeros(batch_size, max_length)  # (B, T)
    for row, episode in enumerate(episodes):
        length = episode.inputs.size(0)
        inputs[row, :length] = episode.inputs
        targets[row, :length] = episode.targets
        mask[row, :length] = episode.mask
    return SequenceBatch(inputs=inputs, targets=targets, mask=mask, lengths=lengths)


# tasks


class AlgorithmicTask(ABC):
    """A distribution over episodes.

    ``sample(generator)`` draws the episode length from the training range; ``sample(generator,
    length=L)`` fixes it, for the longer-than-training generalisation sets. What "length" counts
    depends on the task: vectors for (repeat) copy, items for associative recall, input vectors
    for (priority) sort.

    ``sample_batch(generator, B)`` draws B episodes of one shape (one length; for repeat copy
    one repeat count too) in a few vectorised draws: the training batches of the data module.
    ``sample`` is ``sample_batch`` of one episode, so both make the same episode from the same
    generator state.
    """

    name: ClassVar[str]

    @property
    @abstractmethod
    def input_size(self) -> int:
        """Channels I of every input step."""

    @property
    @abstractmethod
    def output_size(self) -> int:
        """Channels O of every target step."""

    @abstractmethod
    def draw_shape(self, generator: torch.Generator, *, length: int | None = None) -> dict:
        """The arguments of :meth:`make_batch` that shape an episode, drawn where not given."""

    @abstractmethod
    def make_batch(self, generator: torch.Generator, batch_size: int, **shape) -> SequenceBatch:
        """``batch_size`` episodes of the given shape, every draw from ``generator``."""

    def sample_batch(
        self, generator: torch.Generator, batch_size: int, **fixed: int | None
    ) -> SequenceBatch:
        """``batch_size`` episodes sharing one shape, drawn (where not in ``fixed``) first."""
        check_positive("batch_size", batch_size)
        return self.make_batch(generator, batch_size, **self.draw_shape(generator, **fixed))

    def sample(self, generator: torch.Generator, **fixed: int | None) -> Episode:
        """One episode drawn with ``generator`` only."""
        batch = self.sample_batch(generator, 1, **fixed)
        return Episode(inputs=batch.inputs[0], targets=batch.targets[0], mask=batch.mask[0])

    def config(self) -> dict[str, int | float]:
        """The constructor arguments, e.g. for logging as hyperparameters."""
        parameters = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in parameters if name != "self"}

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.config().items())
        return f"{type(self).__name__}({arguments})"


def _batch(inputs: Tensor, targets: Tensor, first_output_step: int) -> SequenceBatch:
    """A batch of episodes of one length T whose targets count from ``first_output_step``."""
    batch_size, total_steps = inputs.shape[:2]
    mask = _output_mask(total_steps, first_output_step).expand(batch_size, total_steps)
    lengths = torch.full((batch_size,), total_steps, dtype=torch.int64)
    return SequenceBatch(inputs=inputs, targets=targets, mask=mask.contiguous(), lengths=lengths)


class CopyTask(AlgorithmicTask):
    """Copy a sequence of random bit vectors after a delimiter (Graves et al. 2014, 4.1).

    Input channels: ``width`` bits, then the delimiter. Output channels: ``width`` bits.
    """

    name = "copy"

    def __init__(self, *, width: int = 8, min_length: int = 1, max_length: int = 20) -> None:
        check_positive("width", width)
        _check_range("min_length", min_length, "max_length", max_length)
        self.width = width
        self.min_length = min_length
        self.max_length = max_length

    @property
    def input_size(self) -> int:
        return self.width + 1

    @property
    def output_size(self) -> int:
        return self.width

    def draw_shape(self, generator: torch.Generator, *, length: int | None = None) -> dict:
        if length is None:
            length = _draw_int(self.min_length, self.max_length, generator)
        check_positive("length", length)
        return {"length": length}

    def make_batch(self, generator: torch.Generator, batch_size: int, *, length: int):
        width = self.width
        bits = _random_bits(batch_size, length, width, generator=generator)  # (B, L, W)
        total_steps = 2 * length + 1
        inputs = torch.zeros(batch_size, total_steps, width + 1)  # (B, T, W + 1)
        inputs[:, :length, :width] = bits
        inputs[:, length, width] = 1.0
        targets = torch.zeros(batch_size, total_steps, width)  # (B, T, W)
        targets[:, length + 1 :] = bits
        return _batch(inputs, targets, length + 1)


class RepeatCopyTask(AlgorithmicTask):
    """Copy a sequence a given number of times, then emit an end marker (Graves et al. 2014, 4.2).

    Input channels: ``width`` bits, the delimiter, the repeat count. The repeat count is
    presented on the step after the delimiter, as ``repeats / max_repeats``
    (``repeat_encoding="fraction"``: the training range maps into ``(0, 1]``, more repeats
    than in training read as values above 1) or, as in the paper, standardised to mean 0 and
    variance 1 over the training range (``"standardised"``: ``(R - mean) / std`` of R uniform
    on ``min_repeats..max_repeats``).

    Output channels: ``width`` bits, then the end marker, set alone on the last step.
    """

    name = "repeat_copy"

    def __init__(
        self,
        *,
        width: int = 8,
        min_length: int = 1,
        max_length: int = 10,
        min_repeats: int = 1,
        max_repeats: int = 10,
        repeat_encoding: Literal["fraction", "standardised"] = "fraction",
    ) -> None:
        check_positive("width", width)
        _check_range("min_length", min_length, "max_length", max_length)
        _check_range("min_repeats", min_repeats, "max_repeats", max_repeats)
        if repeat_encoding not in ("fraction", "standardised"):
            raise ValueError(
                f"repeat_encoding must be 'fraction' or 'standardised', got {repeat_encoding!r}"
            )
        self.repeat_encoding = repeat_encoding
        self.width = width
        self.min_length = min_length
        self.max_length = max_length
        self.min_repeats = min_repeats
        self.max_repeats = max_repeats

    @property
    def input_size(self) -> int:
        return self.width + 2

    @property
    def output_size(self) -> int:
        return self.width + 1

    def encode_repeats(self, repeats: int) -> float:
        """The value of the repeat-count channel for ``repeats`` copies."""
        if self.repeat_encoding == "fraction":
            return repeats / self.max_repeats
        low, high = self.min_repeats, self.max_repeats
        mean, variance = (low + high) / 2, ((high - low + 1) ** 2 - 1) / 12  # uniform integers
        return (repeats - mean) / (variance**0.5 if variance > 0 else 1.0)

    def draw_shape(
        self, generator: torch.Generator, *, length: int | None = None, repeats: int | None = None
    ) -> dict:
        """``length`` fixes the sequence length and ``repeats`` the number of copies."""
        if length is None:
            length = _draw_int(self.min_length, self.max_length, generator)
        if repeats is None:
            repeats = _draw_int(self.min_repeats, self.max_repeats, generator)
        check_positive("length", length)
        check_positive("repeats", repeats)
        return {"length": length, "repeats": repeats}

    def make_batch(self, generator: torch.Generator, batch_size: int, *, length: int, repeats: int):
        width = self.width
        bits = _random_bits(batch_size, length, width, generator=generator)  # (B, L, W)
        first_output_step = length + 2
        total_steps = first_output_step + length * repeats + 1
        inputs = torch.zeros(batch_size, total_steps, width + 2)  # (B, T, W + 2)
        inputs[:, :length, :width] = bits
        inputs[:, length, width] = 1.0
        inputs[:, length + 1, width + 1] = self.encode_repeats(repeats)
        targets = torch.zeros(batch_size, total_steps, width + 1)  # (B, T, W + 1)
        targets[:, first_output_step:-1, :width] = bits.repeat(1, repeats, 1)  # (B, L * R, W)
        targets[:, -1, width] = 1.0
        return _batch(inputs, targets, first_output_step)


class AssociativeRecallTask(AlgorithmicTask):
    """Given one item of a list, recall the item after it (Graves et al. 2014, 4.3).

    An item is ``item_length`` random bit vectors. Input channels: ``width`` bits, then the item
    delimiter (set on the step before each item), then the query delimiter (set on the steps just
    before and just after the query item). The query is one of the items except the last; the
    target, emitted during the ``item_length`` steps after the query, is the item that followed it.
    Output channels: ``width`` bits. Items are not forced to differ; with the default 18 bits per
    item a repeated item is rare.
    """

    name = "associative_recall"

    def __init__(
        self, *, width: int = 6, item_length: int = 3, min_items: int = 2, max_items: int = 6
    ) -> None:
        check_positive("width", width)
        check_positive("item_length", item_length)
        _check_range("min_items", min_items, "max_items", max_items)
        if min_items < 2:
            raise ValueError(
                f"min_items must be at least 2 (a query needs a follower), got {min_items}"
            )
        self.width = width
        self.item_length = item_length
        self.min_items = min_items
        self.max_items = max_items

    @property
    def input_size(self) -> int:
        return self.width + 2

    @property
    def output_size(self) -> int:
        return self.width

    def draw_shape(self, generator: torch.Generator, *, length: int | None = None) -> dict:
        """``length`` fixes the number of items."""
        if length is None:
            length = _draw_int(self.min_items, self.max_items, generator)
        check_positive("length", length)
        if length < 2:
            raise ValueError(f"length (the number of items) must be at least 2, got {length}")
        return {"length": length}

    def make_batch(self, generator: torch.Generator, batch_size: int, *, length: int):
        num_items, width, item_length = length, self.width, self.item_length
        items = _random_bits(batch_size, num_items, item_length, width, generator=generator)
        # (B, n, K, W); the queried item of each episode, one of all but the last
        query = torch.randint(0, num_items - 1, (batch_size,), generator=generator)  # (B,)
        rows = torch.arange(batch_size)

        item_blocks = torch.zeros(batch_size, num_items, item_length + 1, width + 2)
        item_blocks[:, :, 0, width] = 1.0
        item_blocks[:, :, 1:, :width] = items
        query_block = torch.zeros(batch_size, item_length + 2, width + 2)  # (B, K + 2, W + 2)
        query_block[:, 0, width + 1] = 1.0
        query_block[:, 1:-1, :width] = items[rows, query]
        query_block[:, -1, width + 1] = 1.0
        answer_block = torch.zeros(batch_size, item_length, width + 2)  # (B, K, W + 2)
        inputs = torch.cat([item_blocks.flatten(1, 2), query_block, answer_block], dim=1)

        total_steps = inputs.shape[1]
        first_output_step = total_steps - item_length
        targets = torch.zeros(batch_size, total_steps, width)  # (B, T, W)
        targets[:, first_output_step:] = items[rows, query + 1]
        return _batch(inputs, targets, first_output_step)


class PrioritySortTask(AlgorithmicTask):
    """Emit the highest-priority input vectors in descending priority (Graves et al. 2014, 4.5).

    Input channels: ``width`` bits, the priority (uniform in [-1, 1], on the same step as its
    vector), the delimiter (one step after the last input). Output channels: ``width`` bits; the
    targets are whole input bit rows, highest priority first. An explicit ``length`` sets the
    number of inputs; the number of outputs is then ``min(num_outputs, length)``.
    """

    name = "priority_sort"

    def __init__(self, *, width: int = 8, num_inputs: int = 20, num_outputs: int = 16) -> None:
        check_positive("width", width)
        _check_range("num_outputs", num_outputs, "num_inputs", num_inputs)
        self.width = width
        self.num_inputs = num_inputs
        self.num_outputs = num_outputs

    @property
    def input_size(self) -> int:
        return self.width + 2

    @property
    def output_size(self) -> int:
        return self.width

    def _outputs_for(self, num_inputs: int) -> int:
        return min(self.num_outputs, num_inputs)

    def draw_shape(self, generator: torch.Generator, *, length: int | None = None) -> dict:
        """``length`` fixes the number of input vectors."""
        length = self.num_inputs if length is None else length
        check_positive("length", length)
        return {"length": length}

    def make_batch(self, generator: torch.Generator, batch_size: int, *, length: int):
        num_inputs, num_outputs, width = length, self._outputs_for(length), self.width
        bits = _random_bits(batch_size, num_inputs, width, generator=generator)  # (B, N, W)
        priorities = torch.rand(batch_size, num_inputs, generator=generator) * 2.0 - 1.0
        order = torch.sort(priorities, dim=1, descending=True, stable=True).indices
        order = order[:, :num_outputs]  # (B, M) the highest priorities first

        total_steps = num_inputs + 1 + num_outputs
        inputs = torch.zeros(batch_size, total_steps, width + 2)  # (B, T, W + 2)
        inputs[:, :num_inputs, :width] = bits
        inputs[:, :num_inputs, width] = priorities
        inputs[:, num_inputs, width + 1] = 1.0
        targets = torch.zeros(batch_size, total_steps, width)  # (B, T, W)
        targets[:, num_inputs + 1 :] = bits[torch.arange(batch_size).unsqueeze(1), order]
        return _batch(inputs, targets, num_inputs + 1)


class SortTask(PrioritySortTask):
    """Priority sort that emits every input vector (``num_outputs = num_inputs``, any length)."""

    name = "sort"

    def __init__(self, *, width: int = 8, num_inputs: int = 20) -> None:
        super().__init__(width=width, num_inputs=num_inputs, num_outputs=num_inputs)

    def _outputs_for(self, num_inputs: int) -> int:
        return num_inputs


TASKS: dict[str, type[AlgorithmicTask]] = {
    task.name: task
    for task in (CopyTask, RepeatCopyTask, AssociativeRecallTask, PrioritySortTask, SortTask)
}


def make_task(name: str, **kwargs: int | float) -> AlgorithmicTask:
    """Build a task by name: ``make_task("copy", max_length=10)``."""
    if name not in TASKS:
        raise ValueError(f"name must be one of {sorted(TASKS)}, got {name!r}")
    return TASKS[name](**kwargs)


# datasets


class EpisodeDataset(Dataset):
    """A fixed number of episodes, each drawn from its own generator.

    Episode ``index`` of ``epoch`` is ``task.sample(Generator().manual_seed(episode_seed(seed,
    split, epoch, index)), length=length)`` (and ``repeats=repeats`` when given, for repeat
    copy): the same arguments always give the same episode, a different split, epoch or index
    gives an independent one.

    The dataset accepts two kinds of index: an ``int`` (the episode of ``self.epoch``) or an
    ``(epoch, index)`` pair, as yielded by ``EpochSampler``. The pair carries the epoch into
    ``DataLoader`` worker processes, whose copies of the dataset never see ``set_epoch``.
    """

    def __init__(
        self,
        task: AlgorithmicTask,
        *,
        size: int,
        seed: int,
        split: str = "train",
        length: int | None = None,
        repeats: int | None = None,
    ) -> None:
        check_positive("size", size)
        if length is not None:
            check_positive("length", length)
        if repeats is not None:
            check_positive("repeats", repeats)
        self.task = task
        self.size = size
        self.seed = seed
        self.split = split
        self.length = length
        self.repeats = repeats
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int | tuple[int, int]) -> Episode:
        epoch, index = index if isinstance(index, tuple) else (self.epoch, index)
        if not 0 <= index < self.size:
            raise IndexError(f"index must be in [0, {self.size}), got {index}")
        generator = torch.Generator().manual_seed(episode_seed(self.seed, self.split, epoch, index))
        fixed = {} if self.repeats is None else {"repeats": self.repeats}  # repeat copy only
        return self.task.sample(generator, length=self.length, **fixed)


def curriculum_ranges(task: AlgorithmicTask) -> dict[str, tuple[int, int]]:
    """The training ranges a curriculum widens, as ``(low, high)``: ``length`` (copy's and
    repeat copy's min_length..max_length, associative recall's min_items..max_items, its
    shape's ``length`` being the number of items) and ``repeats`` for repeat copy. A task
    without such a range (the sorts' fixed number of inputs) has none: ValueError."""
    if hasattr(task, "min_length"):
        ranges = {"length": (task.min_length, task.max_length)}
    elif hasattr(task, "min_items"):
        ranges = {"length": (task.min_items, task.max_items)}
    else:
        raise ValueError(
            f"a curriculum widens min_length..max_length (or min_items..max_items), which "
            f"{task.name} does not have (copy, repeat copy and associative recall do)"
        )
    if hasattr(task, "min_repeats"):
        ranges["repeats"] = (task.min_repeats, task.max_repeats)
    return ranges


def check_curriculum_from(curriculum_from: str | None) -> None:
    """None is "low" (a null default keeps the protocol hashes of runs recorded before the
    option, bench/protocols.py)."""
    if curriculum_from not in (None, "low", "high"):
        raise ValueError(f"curriculum_from must be 'low' or 'high', got {curriculum_from!r}")


class BatchDataset(Dataset):
    """Training batches, each of one shape (one length): ``batches`` per epoch.

    Batch ``index`` of ``epoch`` is ``task.sample_batch(Generator().manual_seed(episode_seed(
    seed, split, epoch, index)), batch_size)``: the shape is drawn first, then every episode
    of the batch in a few vectorised draws. The same arguments always give the same batch (so
    a resumed run and each of its episodes replay exactly); a different epoch or index gives an
    independent one. Indices are ``int`` (of ``self.epoch``) or ``(epoch, index)`` pairs, as
    for :class:`EpisodeDataset`; load with ``DataLoader(batch_size=None)``.

    ``curriculum_epochs``: in epoch e (from 0) the upper end of each of the task's training
    ranges (:func:`curriculum_ranges`) is ``low + ceil((high - low) * min(1, (e + 1) /
    curriculum_epochs))``, so the ranges open up evenly and are whole from epoch
    ``curriculum_epochs - 1`` on at the latest (the ceiling may open them sooner); the shape
    is drawn uniformly inside them.
    ``curriculum_from="high"`` opens them the other way, from the top down: the lower end is
    ``high - ceil((high - low) * min(1, (e + 1) / curriculum_epochs))`` (the hardest shapes
    first, e.g. associative recall's longest lists, where answering with the last item stored
    is least often right).
    """

    def __init__(
        self,
        task: AlgorithmicTask,
        *,
        batches: int,
        batch_size: int,
        seed: int,
        split: str = "train_batches",
        curriculum_epochs: int | None = None,
        curriculum_from: Literal["low", "high"] | None = None,
    ) -> None:
        check_positive("batches", batches)
        check_positive("batch_size", batch_size)
        check_curriculum_from(curriculum_from)
        if curriculum_epochs is not None:
            check_positive("curriculum_epochs", curriculum_epochs)
            curriculum_ranges(task)  # a task without ranges to widen: ValueError here
        self.task, self.batches, self.batch_size = task, batches, batch_size
        self.seed, self.split, self.epoch = seed, split, 0
        self.curriculum_epochs, self.curriculum_from = curriculum_epochs, curriculum_from

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, index: int | tuple[int, int]) -> SequenceBatch:
        epoch, index = index if isinstance(index, tuple) else (self.epoch, index)
        if not 0 <= index < self.batches:
            raise IndexError(f"index must be in [0, {self.batches}), got {index}")
        generator = torch.Generator().manual_seed(episode_seed(self.seed, self.split, epoch, index))
        shape = {} if self.curriculum_epochs is None else self.curriculum_shape(epoch, generator)
        return self.task.sample_batch(generator, self.batch_size, **shape)

    def curriculum_shape(self, epoch: int, generator: torch.Generator) -> dict[str, int]:
        """The shape of a batch of ``epoch`` under the curriculum, drawn with ``generator``."""
        assert self.curriculum_epochs is not None
        progress = min(1.0, (epoch + 1) / self.curriculum_epochs)
        shape = {}
        for name, (low, high) in curriculum_ranges(self.task).items():
            opened = math.ceil((high - low) * progress)
            if self.curriculum_from in (None, "low"):
                shape[name] = _draw_int(low, low + opened, generator)
            else:
                shape[name] = _draw_int(high - opened, high, generator)
        return shape


class EpochSampler(Sampler):
    """Yields ``(epoch, 0) .. (epoch, size - 1)``; Lightning calls ``set_epoch`` every epoch.

    Paired with ``EpisodeDataset`` this makes the training stream fresh every epoch while every
    episode stays reproducible from (seed, epoch, index), with or without worker processes.
    """

    def __init__(self, size: int) -> None:
        check_positive("size", size)
        self.size = size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        return ((epoch, index) for index in range(self.size))

    def __len__(self) -> int:
        return self.size
