"""Tests for the NTM algorithmic tasks and their DataModule; expected layouts worked out by hand."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from tasks.algorithmic import (
    AssociativeRecallTask,
    BatchDataset,
    CopyTask,
    Episode,
    EpisodeDataset,
    EpochSampler,
    PrioritySortTask,
    RepeatCopyTask,
    SequenceBatch,
    SortTask,
    collate_episodes,
    episode_seed,
    make_task,
)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def assert_binary(tensor: torch.Tensor) -> None:
    assert ((tensor == 0) | (tensor == 1)).all()


# copy


def test_copy_layout_for_length_3() -> None:
    episode = CopyTask(width=4).sample(generator(), length=3)
    # T = 2 * 3 + 1 = 7 steps; 4 bits + 1 delimiter in, 4 bits out
    assert episode.inputs.shape == (7, 5)
    assert episode.targets.shape == (7, 4)
    assert episode.inputs.dtype == episode.targets.dtype == torch.float32
    assert episode.mask.dtype == torch.bool
    assert episode.mask.tolist() == [False, False, False, False, True, True, True]
    sequence = episode.inputs[:3, :4]
    assert_binary(sequence)
    assert episode.inputs[:3, 4].tolist() == [0.0, 0.0, 0.0]
    assert episode.inputs[3].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert (episode.inputs[4:] == 0).all()
    assert (episode.targets[:4] == 0).all()
    assert torch.equal(episode.targets[4:], sequence)


def test_copy_draws_lengths_from_the_training_range() -> None:
    task = CopyTask(width=2, min_length=2, max_length=4)
    rng = generator(1)
    lengths = set()
    for _ in range(60):
        episode = task.sample(rng)
        length = int(episode.mask.sum())
        assert episode.inputs.size(0) == 2 * length + 1
        assert episode.inputs[length, 2] == 1.0
        lengths.add(length)
    assert lengths == {2, 3, 4}


def test_copy_bits_are_fair_coins() -> None:
    bits = CopyTask(width=8).sample(generator(2), length=1000).inputs[:1000, :8]  # 8000 bits
    assert_binary(bits)
    assert 0.47 < bits.mean().item() < 0.53


# repeat copy


def test_repeat_copy_layout_for_length_2_and_3_repeats() -> None:
    task = RepeatCopyTask(width=3, max_repeats=10)
    episode = task.sample(generator(), length=2, repeats=3)
    # T = 2 inputs + delimiter + repeat step + 2 * 3 outputs + end marker = 11
    assert episode.inputs.shape == (11, 5)
    assert episode.targets.shape == (11, 4)
    assert task.input_size == 5 and task.output_size == 4
    sequence = episode.inputs[:2, :3]
    assert_binary(sequence)
    assert (episode.inputs[:2, 3:] == 0).all()
    assert episode.inputs[2].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert episode.inputs[3].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.0, 0.3])
    assert (episode.inputs[4:] == 0).all()
    assert episode.mask.tolist() == [False] * 4 + [True] * 7
    assert (episode.targets[:4] == 0).all()
    assert torch.equal(episode.targets[4:10, :3], torch.cat([sequence, sequence, sequence]))
    assert (episode.targets[4:10, 3] == 0).all()
    assert episode.targets[10].tolist() == [0.0, 0.0, 0.0, 1.0]


def test_repeat_copy_drawn_episodes_are_consistent() -> None:
    task = RepeatCopyTask(width=2, min_length=1, max_length=3, min_repeats=2, max_repeats=4)
    rng = generator(3)
    for _ in range(20):
        episode = task.sample(rng)
        length = int(episode.inputs[:, 2].argmax())  # the delimiter step
        repeats = round(episode.inputs[length + 1, 3].item() * 4)
        assert 1 <= length <= 3 and 2 <= repeats <= 4
        assert episode.inputs.size(0) == length + 2 + length * repeats + 1
        assert int(episode.mask.sum()) == length * repeats + 1
        expected = episode.inputs[:length, :2].repeat(repeats, 1)
        assert torch.equal(episode.targets[length + 2 : -1, :2], expected)


# associative recall


def test_associative_recall_target_is_the_item_after_the_query() -> None:
    task = AssociativeRecallTask(width=6, item_length=3)
    queried = set()
    for seed in range(30):
        episode = task.sample(generator(seed), length=4)
        # T = 4 items * (1 delimiter + 3) + (query delimiter + 3 + query delimiter) + 3 = 24
        assert episode.inputs.shape == (24, 8)
        assert episode.targets.shape == (24, 6)
        assert torch.nonzero(episode.inputs[:, 6]).flatten().tolist() == [0, 4, 8, 12]
        assert torch.nonzero(episode.inputs[:, 7]).flatten().tolist() == [16, 20]
        assert episode.mask.tolist() == [False] * 21 + [True] * 3
        items = [episode.inputs[4 * j + 1 : 4 * j + 4, :6] for j in range(4)]
        query = episode.inputs[17:20, :6]
        matches = [j for j in range(4) if torch.equal(items[j], query)]
        assert matches and matches[0] <= 2  # the last item is never queried
        assert torch.equal(episode.targets[21:], items[matches[0] + 1])
        assert (episode.targets[:21] == 0).all()
        assert (episode.inputs[21:] == 0).all()
        queried.add(matches[0])
    assert queried == {0, 1, 2}


def test_associative_recall_draws_item_counts_from_the_training_range() -> None:
    task = AssociativeRecallTask(width=6, item_length=3, min_items=2, max_items=3)
    rng = generator(4)
    counts = set()
    for _ in range(30):
        episode = task.sample(rng)
        count = int(episode.inputs[:, 6].sum())
        assert episode.inputs.size(0) == count * 4 + 5 + 3
        counts.add(count)
    assert counts == {2, 3}


# priority sort and sort


def test_priority_sort_emits_the_top_rows_in_descending_priority() -> None:
    task = PrioritySortTask(width=8, num_inputs=20, num_outputs=16)
    episode = task.sample(generator(5))
    # T = 20 inputs + delimiter + 16 outputs = 37
    assert episode.inputs.shape == (37, 10)
    assert episode.targets.shape == (37, 8)
    assert episode.mask.tolist() == [False] * 21 + [True] * 16
    bits = episode.inputs[:20, :8]
    priorities = episode.inputs[:20, 8].tolist()
    assert all(-1.0 <= priority <= 1.0 for priority in priorities)
    assert episode.inputs[:20, 9].sum() == 0
    assert episode.inputs[20].tolist() == [0.0] * 9 + [1.0]
    ranked = sorted(range(20), key=lambda row: priorities[row], reverse=True)
    assert torch.equal(episode.targets[21:], bits[ranked[:16]])
    assert (episode.targets[:21] == 0).all()


def test_sort_emits_every_row_in_descending_priority() -> None:
    episode = SortTask(width=8, num_inputs=20).sample(generator(6))
    assert episode.inputs.shape == (41, 10)
    assert int(episode.mask.sum()) == 20
    priorities = episode.inputs[:20, 8].tolist()
    ranked = sorted(range(20), key=lambda row: priorities[row], reverse=True)
    assert torch.equal(episode.targets[21:], episode.inputs[ranked, :8])


@pytest.mark.parametrize(
    ("task", "length", "outputs"),
    [
        (PrioritySortTask(num_inputs=20, num_outputs=16), 10, 10),
        (PrioritySortTask(num_inputs=20, num_outputs=16), 30, 16),
        (SortTask(num_inputs=20), 5, 5),
        (SortTask(num_inputs=20), 30, 30),
    ],
)
def test_sort_lengths_set_the_number_of_inputs(task, length: int, outputs: int) -> None:
    episode = task.sample(generator(7), length=length)
    assert episode.inputs.size(0) == length + 1 + outputs
    assert int(episode.mask.sum()) == outputs
    assert episode.inputs[length, 9] == 1.0


# tasks in general


@pytest.mark.parametrize(
    ("name", "input_size", "output_size"),
    [
        ("copy", 9, 8),
        ("repeat_copy", 10, 9),
        ("associative_recall", 8, 6),
        ("priority_sort", 10, 8),
        ("sort", 10, 8),
    ],
)
def test_every_task_matches_its_declared_sizes(name: str, input_size: int, output_size: int):
    task = make_task(name)
    assert task.name == name
    assert (task.input_size, task.output_size) == (input_size, output_size)
    episode = task.sample(generator(8))
    steps = episode.inputs.size(0)
    assert episode.inputs.shape == (steps, input_size)
    assert episode.targets.shape == (steps, output_size)
    assert episode.mask.shape == (steps,)
    assert (episode.targets[~episode.mask] == 0).all()
    assert (episode.inputs[episode.mask] == 0).all()  # the model answers on zero input


def test_make_task_passes_arguments_and_rejects_unknown_names() -> None:
    task = make_task("copy", width=3, max_length=7)
    assert isinstance(task, CopyTask)
    assert task.config() == {"width": 3, "min_length": 1, "max_length": 7}
    assert repr(task) == "CopyTask(width=3, min_length=1, max_length=7)"
    assert SortTask().config() == {"width": 8, "num_inputs": 20}
    with pytest.raises(ValueError, match="'cpy'"):
        make_task("cpy")


def test_invalid_arguments_are_named() -> None:
    with pytest.raises(ValueError, match=r"min_length \(5\) must not exceed max_length \(2\)"):
        CopyTask(min_length=5, max_length=2)
    with pytest.raises(ValueError, match="width"):
        CopyTask(width=0)
    with pytest.raises(ValueError, match=r"num_outputs \(21\) must not exceed num_inputs \(20\)"):
        PrioritySortTask(num_inputs=20, num_outputs=21)
    with pytest.raises(ValueError, match="min_items"):
        AssociativeRecallTask(min_items=1)
    with pytest.raises(ValueError, match="length"):
        CopyTask().sample(generator(), length=0)
    with pytest.raises(ValueError, match="length"):
        AssociativeRecallTask().sample(generator(), length=1)


# collation


def hand_episode(steps: int, value: float) -> Episode:
    return Episode(
        inputs=torch.full((steps, 3), value),
        targets=torch.full((steps, 2), value + 0.5),
        mask=torch.arange(steps) >= steps // 2,
    )


def test_collate_pads_with_zeros_and_masks_the_padding() -> None:
    batch = collate_episodes([hand_episode(2, 1.0), hand_episode(4, 2.0)])
    assert batch.inputs.shape == (2, 4, 3)
    assert batch.targets.shape == (2, 4, 2)
    assert batch.lengths.dtype == torch.int64
    assert batch.lengths.tolist() == [2, 4]
    assert batch.inputs[0, :, 0].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert batch.inputs[1, :, 0].tolist() == [2.0, 2.0, 2.0, 2.0]
    assert batch.targets[0, :, 1].tolist() == [1.5, 1.5, 0.0, 0.0]
    assert batch.mask.tolist() == [[False, True, False, False], [False, False, True, True]]


def test_collate_of_real_episodes_keeps_each_episode_intact() -> None:
    task = CopyTask(width=4)
    episodes = [task.sample(generator(seed), length=length) for seed, length in [(0, 2), (1, 5)]]
    batch = collate_episodes(episodes)
    assert batch.inputs.shape == (2, 11, 5)
    assert batch.lengths.tolist() == [5, 11]
    assert batch.mask.sum(dim=1).tolist() == [2, 5]
    assert torch.equal(batch.inputs[0, :5], episodes[0].inputs)
    assert (batch.inputs[0, 5:] == 0).all()
    assert torch.equal(batch.targets[1], episodes[1].targets)


def test_collate_rejects_mismatched_channels() -> None:
    wrong = Episode(torch.zeros(2, 4), torch.zeros(2, 2), torch.zeros(2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"episodes\[1\]\.inputs"):
        collate_episodes([hand_episode(2, 1.0), wrong])
    with pytest.raises(ValueError, match="empty"):
        collate_episodes([])


def test_sequence_batch_to_moves_every_field() -> None:
    batch = collate_episodes([hand_episode(3, 1.0)]).to("meta")
    assert isinstance(batch, SequenceBatch)
    assert all(
        tensor.device.type == "meta"
        for tensor in (batch.inputs, batch.targets, batch.mask, batch.lengths)
    )


# reproducibility


def assert_same(first: Episode, second: Episode) -> None:
    assert torch.equal(first.inputs, second.inputs)
    assert torch.equal(first.targets, second.targets)
    assert torch.equal(first.mask, second.mask)


def differs(first: Episode, second: Episode) -> bool:
    return not torch.equal(first.inputs, second.inputs)  # False for different shapes too


def test_episode_seed_is_a_fixed_function_of_its_arguments() -> None:
    # pinned: must not change between processes, platforms or releases
    assert episode_seed(0, "train", 0, 0) == episode_seed(0, "train", 0, 0)
    assert episode_seed(0, "train", 0, 0) == 6710687275471308762
    seeds = {
        episode_seed(seed, split, epoch, index)
        for seed in (0, 1)
        for split in ("train", "val")
        for epoch in (0, 1)
        for index in (0, 1)
    }
    assert len(seeds) == 16
    assert all(0 <= seed < 2**63 for seed in seeds)


def test_same_generator_seed_gives_the_same_episode_for_every_task() -> None:
    for name in ("copy", "repeat_copy", "associative_recall", "priority_sort", "sort"):
        task = make_task(name)
        assert_same(task.sample(generator(9)), task.sample(generator(9)))
        assert differs(task.sample(generator(9)), task.sample(generator(10)))


def test_episode_dataset_is_reproducible_and_fresh_per_index_epoch_seed_and_split() -> None:
    task = CopyTask(width=8)
    dataset = EpisodeDataset(task, size=4, seed=3)
    assert len(dataset) == 4
    assert_same(dataset[2], EpisodeDataset(task, size=4, seed=3)[2])
    assert differs(dataset[2], dataset[3])
    assert differs(dataset[2], EpisodeDataset(task, size=4, seed=4)[2])
    assert differs(dataset[2], EpisodeDataset(task, size=4, seed=3, split="val")[2])
    first_epoch = dataset[2]
    dataset.set_epoch(1)
    assert differs(first_epoch, dataset[2])
    assert_same(dataset[2], dataset[(1, 2)])
    assert_same(first_epoch, dataset[(0, 2)])
    with pytest.raises(IndexError):
        dataset[4]


def test_episode_dataset_fixed_length() -> None:
    dataset = EpisodeDataset(CopyTask(max_length=20), size=3, seed=0, length=50)
    assert [dataset[index].inputs.size(0) for index in range(3)] == [101, 101, 101]


def test_epoch_sampler_yields_epoch_index_pairs() -> None:
    sampler = EpochSampler(3)
    assert len(sampler) == 3
    assert list(sampler) == [(0, 0), (0, 1), (0, 2)]
    sampler.set_epoch(5)
    assert list(sampler) == [(5, 0), (5, 1), (5, 2)]


def test_worker_processes_see_the_epoch() -> None:
    dataset = EpisodeDataset(CopyTask(width=4, max_length=3), size=4, seed=0)
    sampler = EpochSampler(4)
    loader = DataLoader(
        dataset,
        batch_size=4,
        sampler=sampler,
        collate_fn=collate_episodes,
        num_workers=1,
        persistent_workers=True,
    )
    epochs = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        epochs.append(next(iter(loader)))
    expected = collate_episodes([dataset[(1, index)] for index in range(4)])
    assert torch.equal(epochs[1].inputs, expected.inputs)
    assert not torch.equal(epochs[0].inputs, epochs[1].inputs)


# datamodule


def test_datamodule_sizes_and_training_batch() -> None:
    from tasks.sequence_data import AlgorithmicDataModule

    data = AlgorithmicDataModule(
        batch_size=4, train_batches_per_epoch=3, val_episodes=8, test_episodes=4
    )
    assert isinstance(data.task, CopyTask)
    assert (data.input_size, data.output_size) == (9, 8)
    assert data.hparams["task_name"] == "copy"
    assert data.hparams["task_config"] == {"width": 8, "min_length": 1, "max_length": 20}
    assert data.hparams["batch_size"] == 4 and "task" not in data.hparams
    loader = data.train_dataloader()
    assert len(loader) == 3
    batch = next(iter(loader))
    assert isinstance(batch, SequenceBatch)
    steps = int(batch.lengths.max())
    assert batch.inputs.shape == (4, steps, 9)
    assert batch.targets.shape == (4, steps, 8)
    assert batch.mask.shape == (4, steps)
    assert batch.mask.sum(dim=1).tolist() == ((batch.lengths - 1) // 2).tolist()


def test_datamodule_training_stream_changes_with_the_epoch() -> None:
    from tasks.sequence_data import AlgorithmicDataModule

    data = AlgorithmicDataModule(batch_size=4, train_batches_per_epoch=2)
    loader = data.train_dataloader()
    first = next(iter(loader))
    assert torch.equal(first.inputs, next(iter(data.train_dataloader())).inputs)
    loader.sampler.set_epoch(1)
    second = next(iter(loader))
    assert not torch.equal(first.inputs, second.inputs)


def test_datamodule_validation_set_is_fixed() -> None:
    from tasks.sequence_data import AlgorithmicDataModule

    data = AlgorithmicDataModule(
        RepeatCopyTask(), batch_size=4, val_episodes=8, seed=11, train_batches_per_epoch=1
    )
    first = list(data.val_dataloader())
    second = list(
        AlgorithmicDataModule(
            RepeatCopyTask(), batch_size=4, val_episodes=8, seed=11
        ).val_dataloader()
    )
    assert len(first) == len(second) == 2
    for one, other in zip(first, second):
        assert torch.equal(one.inputs, other.inputs)
        assert torch.equal(one.mask, other.mask)
    data.train_dataloader().sampler.set_epoch(3)  # training epochs do not touch validation
    assert torch.equal(next(iter(data.val_dataloader())).inputs, first[0].inputs)
    fixed = data.fixed_episode()
    assert fixed.inputs.shape[0] == 1
    assert torch.equal(fixed.inputs[0, : fixed.lengths[0]], first[0].inputs[0, : fixed.lengths[0]])


def test_datamodule_generalisation_loaders_use_the_requested_lengths() -> None:
    from tasks.sequence_data import AlgorithmicDataModule

    data = AlgorithmicDataModule(
        CopyTask(max_length=20), batch_size=4, test_episodes=4, generalisation_lengths=[30, 40]
    )
    loaders = data.test_dataloader()
    assert len(loaders) == 3
    in_range = next(iter(loaders[0]))
    assert int(in_range.lengths.max()) <= 2 * 20 + 1
    for loader, length in zip(loaders[1:], (30, 40)):
        batch = next(iter(loader))
        assert batch.lengths.tolist() == [2 * length + 1] * 4
        assert batch.mask.sum(dim=1).tolist() == [length] * 4
    assert not torch.equal(next(iter(loaders[1])).inputs[:, :20], in_range.inputs[:, :20])


def test_datamodule_generalisation_for_associative_recall_counts_items() -> None:
    from tasks.sequence_data import AlgorithmicDataModule

    data = AlgorithmicDataModule(
        AssociativeRecallTask(), batch_size=2, test_episodes=2, generalisation_lengths=[12]
    )
    batch = next(iter(data.test_dataloader()[1]))
    assert batch.inputs[:, :, 6].sum(dim=1).tolist() == [12.0, 12.0]  # item delimiters
    assert batch.lengths.tolist() == [12 * 4 + 5 + 3] * 2


def test_datamodule_generalisation_pairs_for_repeat_copy() -> None:
    from tasks.sequence_data import AlgorithmicDataModule

    data = AlgorithmicDataModule(
        RepeatCopyTask(max_length=10, max_repeats=10), batch_size=3, test_episodes=3,
        generalisation_lengths=[10, 15], generalisation_repeats=[10, 15],
    )  # fmt: skip
    names = [name for name, _ in data.generalisation_sets]
    assert names == [f"test_length_{length}_repeats_{repeats}"
                     for length in (10, 15) for repeats in (10, 15)]  # fmt: skip
    loaders = data.test_dataloader()
    assert len(loaders) == 5
    for loader, (length, repeats) in zip(loaders[1:], [(10, 10), (10, 15), (15, 10), (15, 15)]):
        batch = next(iter(loader))
        # T = L + 2 + L * R + 1; the targets are the L vectors R times, then the end marker
        assert batch.lengths.tolist() == [length + 2 + length * repeats + 1] * 3
        assert batch.mask.sum(dim=1).tolist() == [length * repeats + 1] * 3
        assert batch.inputs[:, :length, :8].equal(batch.targets[:, length + 2 : 2 * length + 2, :8])


def test_datamodule_generalisation_repeats_need_a_task_with_repeats() -> None:
    from tasks.sequence_data import AlgorithmicDataModule

    with pytest.raises(ValueError, match=r"generalisation_repeats \[10\] needs a task with "
                       r"repeats \(repeat copy\), got copy"):  # fmt: skip
        AlgorithmicDataModule(CopyTask(), generalisation_lengths=[30], generalisation_repeats=[10])
    with pytest.raises(ValueError, match=r"generalisation_repeats\[0\] must be a positive"):
        AlgorithmicDataModule(
            RepeatCopyTask(), generalisation_lengths=[3], generalisation_repeats=[0]
        )
    with pytest.raises(ValueError, match="needs generalisation_lengths"):
        AlgorithmicDataModule(RepeatCopyTask(), generalisation_repeats=[12])


@pytest.mark.filterwarnings("ignore:.*no `validation_step`", "ignore:.*LeafSpec")
@pytest.mark.parametrize("same_length_batches", [True, False])
def test_trainer_draws_fresh_training_episodes_every_epoch(same_length_batches: bool) -> None:
    import lightning

    from tasks.sequence_data import AlgorithmicDataModule

    class Recorder(lightning.LightningModule):
        def __init__(self, input_size: int, output_size: int) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(input_size, output_size)
            self.first_batches: dict[int, SequenceBatch] = {}

        def training_step(self, batch: SequenceBatch, batch_index: int) -> torch.Tensor:
            self.first_batches.setdefault(self.current_epoch, batch)
            logits = self.layer(batch.inputs)  # (B, T, O)
            return torch.nn.functional.binary_cross_entropy_with_logits(
                logits[batch.mask], batch.targets[batch.mask]
            )

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = AlgorithmicDataModule(
        CopyTask(width=4, max_length=9),
        batch_size=2,
        seed=1,
        train_batches_per_epoch=2,
        same_length_batches=same_length_batches,
    )
    model = Recorder(data.input_size, data.output_size)
    trainer = lightning.Trainer(
        max_epochs=2,
        limit_val_batches=0,
        accelerator="cpu",  # the batches are compared with the CPU tensors drawn here
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, data)
    episodes = EpisodeDataset(data.task, size=4, seed=1)
    batches = BatchDataset(data.task, batches=2, batch_size=2, seed=1)
    for epoch in (0, 1):
        if same_length_batches:  # batch 0 of the epoch, one length for both episodes
            expected = batches[(epoch, 0)]
            assert expected.lengths.unique().numel() == 1
        else:
            expected = collate_episodes([episodes[(epoch, 0)], episodes[(epoch, 1)]])
        assert torch.equal(model.first_batches[epoch].inputs, expected.inputs)
    assert not torch.equal(model.first_batches[0].inputs, model.first_batches[1].inputs)


# same-length training batches


ALL_TASKS = [
    CopyTask(width=3, max_length=6),
    RepeatCopyTask(width=3, max_length=4, max_repeats=3),
    AssociativeRecallTask(width=3, item_length=2, max_items=4),
    PrioritySortTask(width=3, num_inputs=5, num_outputs=3),
    SortTask(width=3, num_inputs=4),
]


@pytest.mark.parametrize("task", ALL_TASKS, ids=lambda task: task.name)
def test_a_batch_is_episodes_of_one_shape_each_laid_out_as_sample_lays_one_out(task) -> None:
    batch = task.sample_batch(generator(3), 5)
    assert batch.lengths.unique().numel() == 1 and batch.mask.all(dim=0).any()
    assert torch.equal(batch.mask, batch.mask[:1].expand_as(batch.mask))
    for row in range(5):  # each row a well-formed episode: its own bits in its own targets
        inputs, targets, mask = batch.inputs[row], batch.targets[row], batch.mask[row]
        assert torch.equal(targets[~mask], torch.zeros_like(targets[~mask]))
        answer_bits = targets[mask][:, : task.width]
        if task.name in ("copy", "repeat_copy", "priority_sort", "sort"):
            presented = {tuple(bits.tolist()) for bits in inputs[:, : task.width]}
            assert all(tuple(bits.tolist()) in presented for bits in answer_bits)
    assert not torch.equal(batch.inputs[0], batch.inputs[1])  # episodes differ
    # one episode of the batch API is the episode API: same draws, same episode
    episode = task.sample(generator(4))
    single = task.sample_batch(generator(4), 1)
    assert torch.equal(episode.inputs, single.inputs[0])
    assert torch.equal(episode.targets, single.targets[0])


def test_repeat_copy_batches_share_one_repeat_count_and_length() -> None:
    task = RepeatCopyTask(width=3, max_length=5, max_repeats=6)
    shapes = set()
    for seed in range(12):
        batch = task.sample_batch(generator(seed), 4)
        repeat_inputs = batch.inputs[:, :, task.width + 1].sum(dim=1)  # (B,) R / max_repeats
        assert torch.allclose(repeat_inputs, repeat_inputs[:1].expand(4))
        shapes.add((int(batch.lengths[0]), float(repeat_inputs[0])))
    assert len(shapes) > 3  # the shape is drawn per batch


def test_batch_dataset_is_reproducible_and_resumes_mid_epoch() -> None:
    from tasks.loading import ResumableDataLoader

    def loader() -> ResumableDataLoader:
        dataset = BatchDataset(CopyTask(width=3, max_length=8), batches=6, batch_size=4, seed=2)
        sampler = EpochSampler(6)
        sampler.set_epoch(1)
        return ResumableDataLoader(dataset, batch_size=None, sampler=sampler)

    uninterrupted = [batch.inputs for batch in loader()]
    first = loader()
    iterator = iter(first)
    seen = [next(iterator).inputs for _ in range(2)]
    state = first.state_dict()
    resumed = loader()
    resumed.load_state_dict(state)
    rest = [batch.inputs for batch in resumed]
    assert len(seen) + len(rest) == 6
    for expected, got in zip(uninterrupted, seen + rest):
        assert torch.equal(expected, got)
    lengths = {batch.shape[1] for batch in uninterrupted}
    assert len(lengths) > 1  # lengths vary from batch to batch


def test_standardised_repeat_count_has_mean_0_and_variance_1_over_the_training_range() -> None:
    task = RepeatCopyTask(width=3, min_repeats=1, max_repeats=10, repeat_encoding="standardised")
    values = torch.tensor([task.encode_repeats(r) for r in range(1, 11)], dtype=torch.float64)
    torch.testing.assert_close(values.mean(), torch.tensor(0.0, dtype=torch.float64))
    torch.testing.assert_close(values.var(unbiased=False), torch.tensor(1.0, dtype=torch.float64))
    episode = task.sample(generator(1), length=2, repeats=10)
    assert episode.inputs[3, 4] == pytest.approx(values[-1].item())
    assert RepeatCopyTask(width=3).sample(generator(1), length=2, repeats=5).inputs[3, 4] == 0.5
    with pytest.raises(ValueError, match="repeat_encoding"):
        RepeatCopyTask(repeat_encoding="raw")


def test_a_curriculum_opens_the_training_ranges_evenly_then_keeps_them_whole() -> None:
    task = RepeatCopyTask(width=3, min_length=1, max_length=10, min_repeats=2, max_repeats=6)
    dataset = BatchDataset(task, batches=50, batch_size=2, seed=0, curriculum_epochs=4)
    # epoch e: upper ends 1 + ceil(9 (e + 1) / 4) and 2 + ceil(4 (e + 1) / 4), whole from e = 3
    expected_tops = {0: (4, 3), 1: (6, 4), 2: (8, 5), 3: (10, 6), 7: (10, 6)}
    for epoch, (top_length, top_repeats) in expected_tops.items():
        shapes = [dataset.curriculum_shape(epoch, generator(i)) for i in range(200)]
        assert max(s["length"] for s in shapes) == top_length
        assert min(s["length"] for s in shapes) == 1
        assert max(s["repeats"] for s in shapes) == top_repeats
        assert min(s["repeats"] for s in shapes) == 2
    batch = dataset[(0, 3)]  # a batch of that shape, the same one every time
    again = BatchDataset(task, batches=50, batch_size=2, seed=0, curriculum_epochs=4)[(0, 3)]
    assert torch.equal(batch.inputs, again.inputs)
    shape = dataset.curriculum_shape(0, generator(episode_seed(0, "train_batches", 0, 3)))
    assert batch.inputs.shape[1] == shape["length"] + 2 + shape["length"] * shape["repeats"] + 1


def test_a_curriculum_on_associative_recall_opens_the_number_of_items() -> None:
    task = AssociativeRecallTask(width=2, item_length=3, min_items=2, max_items=6)
    dataset = BatchDataset(task, batches=10, batch_size=2, seed=0, curriculum_epochs=3)
    # epoch e: at most 2 + ceil(4 (e + 1) / 3) items: 4, 5, 6, then 6 for good
    for epoch, top in {0: 4, 1: 5, 2: 6, 5: 6}.items():
        items = [dataset.curriculum_shape(epoch, generator(i))["length"] for i in range(200)]
        assert (min(items), max(items)) == (2, top)
    shape = dataset.curriculum_shape(0, generator(episode_seed(0, "train_batches", 0, 1)))
    # K + 1 steps per item (a delimiter, its K rows), K + 2 for the query, K to answer
    assert dataset[(0, 1)].inputs.shape[1] == shape["length"] * 4 + 5 + 3


def test_a_curriculum_from_the_top_opens_the_ranges_downwards() -> None:
    task = AssociativeRecallTask(width=2, item_length=3, min_items=2, max_items=6)
    dataset = BatchDataset(
        task, batches=10, batch_size=2, seed=0, curriculum_epochs=3, curriculum_from="high"
    )
    # epoch e: at least 6 - ceil(4 (e + 1) / 3) items: 4, 3, 2, then 2 for good
    for epoch, bottom in {0: 4, 1: 3, 2: 2, 5: 2}.items():
        items = [dataset.curriculum_shape(epoch, generator(i))["length"] for i in range(200)]
        assert (min(items), max(items)) == (bottom, 6)
    repeat = RepeatCopyTask(width=3, min_length=1, max_length=10, min_repeats=2, max_repeats=6)
    dataset = BatchDataset(
        repeat, batches=5, batch_size=2, seed=0, curriculum_epochs=4, curriculum_from="high"
    )
    # epoch 0: lengths from 10 - ceil(9 / 4) = 7, repeats from 6 - ceil(4 / 4) = 5
    shapes = [dataset.curriculum_shape(0, generator(i)) for i in range(200)]
    assert (min(s["length"] for s in shapes), max(s["length"] for s in shapes)) == (7, 10)
    assert (min(s["repeats"] for s in shapes), max(s["repeats"] for s in shapes)) == (5, 6)


def test_a_curriculum_needs_ranges_to_widen_and_same_length_batches() -> None:
    from tasks.sequence_data import AlgorithmicDataModule

    with pytest.raises(ValueError, match="priority_sort does not have"):
        BatchDataset(PrioritySortTask(), batches=2, batch_size=2, seed=0, curriculum_epochs=3)
    with pytest.raises(ValueError, match="curriculum_epochs needs same_length_batches"):
        AlgorithmicDataModule(CopyTask(), same_length_batches=False, curriculum_epochs=3)
    with pytest.raises(ValueError, match="curriculum_epochs must be a positive integer"):
        AlgorithmicDataModule(CopyTask(), curriculum_epochs=0)
    with pytest.raises(ValueError, match="curriculum_from must be 'low' or 'high', got 'top'"):
        AlgorithmicDataModule(CopyTask(), curriculum_epochs=3, curriculum_from="top")
