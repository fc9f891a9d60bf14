"""What each rank trains on under DDP, and an exact resume, on 2 CPU processes.

Real ``python train.py fit ... --trainer.strategy ddp --trainer.devices 2`` runs with
:class:`RecordBatches` among their callbacks: every rank writes a fingerprint of each episode
or question of every training batch it receives to a file of its own, and the tests compare
the files (the data actually delivered, not a count computed from a formula):

* algorithmic tasks (whole same-length batches, and the per-episode path): in every epoch the
  two ranks together receive each of the epoch's episodes exactly once (checked against
  ``BatchDataset`` / ``EpisodeDataset`` built here), their shares are disjoint, and no episode
  comes back in the next epoch;
* bAbI (generated data): every epoch deals each training question exactly once over the
  ranks, disjointly, and each rank's share and order change from epoch to epoch;
* resume: a MemN2N run (random noise from torch's global generator, whose state differs per
  rank) stopped by SIGTERM sent to rank 1 only, mid-epoch, and resumed from ``last.ckpt``
  ends with the weights, optimiser state and logged scalars of the run never stopped, and
  each rank receives the same batches after the stop as in that run.

All ``slow``: each run is two interpreters importing torch and Lightning (about a minute on 2
busy cores).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import lightning
import pytest
import torch
from test_resume import assert_same_run, checkpoint
from tiny_runs import tiny_ntm, tiny_qa

from tasks.algorithmic import (
    BatchDataset,
    CopyTask,
    EpisodeDataset,
    SequenceBatch,
    collate_episodes,
)

ROOT = Path(__file__).resolve().parents[1]

DDP = [
    "--trainer.strategy", "ddp",
    "--trainer.accelerator", "cpu",
    "--trainer.devices", "2",
    "--trainer.num_sanity_val_steps", "0",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.log_every_n_steps", "1",
]  # fmt: skip

# NTM copy, 2 epochs of 4 batches of 4 episodes (2 batches a rank an epoch); 8-bit sequences
# of length 3, so that no two episodes of the run are equal by chance
WIDTH, LENGTH, BATCHES, BATCH_SIZE, SEED, EPOCHS = 8, 3, 4, 4, 3, 2
NTM = [
    *tiny_ntm(batches_per_epoch=BATCHES, episodes=8),
    "--data.task.init_args.width", str(WIDTH),
    "--data.task.init_args.min_length", str(LENGTH),
    "--data.task.init_args.max_length", str(LENGTH),
    "--data.seed", str(SEED),
    "--trainer.max_epochs", str(EPOCHS),
    "--trainer.max_steps", "-1",
    "--trainer.callbacks", "[]",
    "--pictures.every_n_steps", "1000",
]  # fmt: skip

# MemN2N on generated task 1: 90 training questions, 45 a rank in 2 batches, 3 epochs (the
# first with linear start). Random noise (time gaps) is drawn from torch's global generator,
# seeded per rank by SeedPerRank
MEMN2N_EPOCHS = 3


def memn2n(generated_dir: Path) -> list[str]:
    return [
        *tiny_qa(generated_dir),
        "--data.generated_train_questions", "100",
        "--data.batch_size", "24",
        "--model.init_args.model.init_args.random_noise", "0.3",
        "--model.init_args.lr_halve_every", "1",
        "--trainer.max_epochs", str(MEMN2N_EPOCHS),
        "--pictures.every_n_steps", "1000",
        "--trainer.callbacks+=test_ddp_data.SeedPerRank",
    ]  # fmt: skip


# helpers


def fingerprint(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(f"{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def fingerprints(batch) -> list[str]:
    """One fingerprint per episode (padding cut off) or per bAbI question of a batch."""
    if isinstance(batch, SequenceBatch):
        found = []
        for inputs, targets, mask in zip(batch.inputs, batch.targets, batch.mask):
            length = int(mask.nonzero().max()) + 1  # an episode ends with a scored step
            found.append(fingerprint(inputs[:length], targets[:length], mask[:length]))
        return found
    fields = [getattr(batch, field.name) for field in dataclasses.fields(batch)]  # BabiBatch
    return [fingerprint(*(field[row] for field in fields)) for row in range(len(fields[0]))]


class RecordBatches(lightning.Callback):
    """Append the fingerprints of every training batch this rank receives to
    ``directory/rank{global rank}.jsonl``, one line a batch (epoch, step, items)."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        record = {"epoch": trainer.current_epoch, "step": trainer.global_step,
                  "items": fingerprints(batch)}  # fmt: skip
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / f"rank{trainer.global_rank}.jsonl", "a") as file:
            file.write(json.dumps(record) + "\n")


class SeedPerRank(lightning.Callback):
    """Seed torch's global generator with ``seed + global rank`` when fitting is set up (before
    a checkpoint is restored), as one who wants every rank to draw its own random noise would:
    the ranks' generators differ from the first step. (With one seed for all, the ranks' draws
    agree as long as their batches have the same shapes, and a resume that gave every rank
    rank 0's generator would go unnoticed.)"""

    def __init__(self, seed: int = 100) -> None:
        self.seed = seed

    def setup(self, trainer, pl_module, stage: str) -> None:
        torch.manual_seed(self.seed + trainer.global_rank)


class SignalRankAt(lightning.Callback):
    """Send SIGTERM to the process of rank ``rank`` only, at the end of training step
    ``step``: the other rank learns of it from the stop decision the ranks take together."""

    def __init__(self, step: int = 1, rank: int = 1) -> None:
        self.step, self.rank = step, rank

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if trainer.global_rank == self.rank and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def fit_ddp(arguments: list[str], save_dir: Path, records: Path, *extra: str):
    """``python train.py fit`` on 2 CPU processes, recording what each rank receives."""
    command = [
        sys.executable, str(ROOT / "train.py"), "fit", *arguments, *DDP,
        "--trainer.logger.init_args.save_dir", str(save_dir),
        "--trainer.callbacks+=test_ddp_data.RecordBatches",
        f"--trainer.callbacks.init_args.directory={records}",
        *extra,
    ]  # fmt: skip
    path = os.pathsep.join([str(ROOT / "tests"), str(ROOT)])
    environment = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600
    )


def succeeded(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "All distributed processes registered. Starting with 2 processes" in run.stderr
    return run


def received(records: Path) -> dict[int, list[dict]]:
    """Each rank's records, by global rank."""
    found = {}
    for rank in (0, 1):
        lines = (records / f"rank{rank}.jsonl").read_text().splitlines()
        found[rank] = [json.loads(line) for line in lines]
    return found


def by_epoch(records: list[dict]) -> dict[int, list[str]]:
    """A rank's fingerprints of each epoch, in the order received."""
    epochs: dict[int, list[str]] = {}
    for record in records:
        epochs.setdefault(record["epoch"], []).extend(record["items"])
    return epochs


def assert_dealt_once(ranks: dict[int, list[dict]], expected: dict[int, list[str]]) -> None:
    """Every epoch, the ranks together receive each item of ``expected[epoch]`` exactly once,
    in equal shares, and no fingerprint reaches both ranks."""
    shares = {rank: by_epoch(records) for rank, records in ranks.items()}
    assert set(shares[0]) == set(shares[1]) == set(expected)
    for epoch, items in expected.items():
        first, second = shares[0][epoch], shares[1][epoch]
        assert len(first) == len(second) == len(items) // 2
        assert Counter(first) + Counter(second) == Counter(items), f"epoch {epoch}"
        assert not set(first) & set(second), f"epoch {epoch}: an item reached both ranks"


# algorithmic tasks


@pytest.mark.slow
@pytest.mark.parametrize("same_length_batches", [True, False], ids=["batches", "episodes"])
def test_ranks_train_on_disjoint_fresh_episodes(same_length_batches, tmp_path):
    records = tmp_path / "records"
    layout = ["--data.same_length_batches", str(same_length_batches).lower()]
    succeeded(fit_ddp([*NTM, *layout], tmp_path, records))

    task = CopyTask(width=WIDTH, min_length=LENGTH, max_length=LENGTH)
    if same_length_batches:
        batches = BatchDataset(task, batches=BATCHES, batch_size=BATCH_SIZE, seed=SEED)
        expected = {
            epoch: [
                item
                for index in range(BATCHES)
                for item in fingerprint_batch(batches[epoch, index])
            ]
            for epoch in range(EPOCHS)
        }
    else:
        episodes = EpisodeDataset(task, size=BATCHES * BATCH_SIZE, seed=SEED, split="train")
        expected = {
            epoch: [
                fingerprints(collate_episodes([episodes[epoch, index]]))[0]
                for index in range(BATCHES * BATCH_SIZE)
            ]
            for epoch in range(EPOCHS)
        }
    every_episode = [item for items in expected.values() for item in items]
    assert len(set(every_episode)) == len(every_episode)  # so "disjoint" and "fresh" can fail

    ranks = received(records)
    assert_dealt_once(ranks, expected)  # every epoch's episodes, once each, disjoint shares
    for records_of_rank in ranks.values():
        assert len(records_of_rank) == EPOCHS * BATCHES // 2  # whole batches of 4 a step
        assert all(len(record["items"]) == BATCH_SIZE for record in records_of_rank)
        epochs = by_epoch(records_of_rank)
        assert not set(epochs[0]) & set(epochs[1])  # fresh episodes every epoch
    if same_length_batches:  # each step trains on one whole batch of the dataset
        whole = {
            fingerprint_batch(batches[epoch, index])
            for epoch in range(EPOCHS)
            for index in range(BATCHES)
        }
        got = [tuple(record["items"]) for rank in ranks.values() for record in rank]
        assert set(got) == whole and len(got) == len(whole)


def fingerprint_batch(batch: SequenceBatch) -> tuple[str, ...]:
    return tuple(fingerprints(batch))


# bAbI and resume


@pytest.fixture(scope="module")
def babi_args(tmp_path_factory) -> list[str]:
    return memn2n(tmp_path_factory.mktemp("babi"))


@pytest.fixture(scope="module")
def babi_uninterrupted(babi_args, tmp_path_factory) -> Path:
    """The uninterrupted MemN2N run on 2 processes: its directory (``memn2n_babi/``, and
    ``records/`` of what each rank received)."""
    save_dir = tmp_path_factory.mktemp("babi_uninterrupted")
    succeeded(fit_ddp(babi_args, save_dir, save_dir / "records"))
    return save_dir


@pytest.mark.slow
def test_ranks_receive_each_babi_question_once_an_epoch_in_a_new_order(
    babi_args, babi_uninterrupted
):
    from tasks.babi.datamodule import BabiDataModule

    data = BabiDataModule(
        task=1,
        generated_dir=babi_args[babi_args.index("--data.generated_dir") + 1],
        generated_train_questions=100,
        generated_test_questions=20,
        memory_size="authors",
    )
    train = data.dataset("train").tensors
    questions = fingerprints(train)  # in dataset order
    assert len(questions) == 90
    ranks = received(babi_uninterrupted / "records")
    assert_dealt_once(ranks, {epoch: questions for epoch in range(MEMN2N_EPOCHS)})
    for records_of_rank in ranks.values():
        epochs = by_epoch(records_of_rank)
        for epoch in range(1, MEMN2N_EPOCHS):  # another share, in another order
            assert set(epochs[epoch]) != set(epochs[epoch - 1])
            assert epochs[epoch] != epochs[epoch - 1]


@pytest.mark.slow
def test_ddp_run_stopped_mid_epoch_on_one_rank_resumes_exactly(
    babi_args, babi_uninterrupted, tmp_path
):
    """SIGTERM to rank 1 after step 3 (the first step of the second epoch), resume from
    last.ckpt on 2 processes: the run never stopped, weight for weight and scalar for scalar."""
    records = tmp_path / "records"
    stop = ["--trainer.callbacks+=test_ddp_data.SignalRankAt",
            "--trainer.callbacks.init_args.step=3"]  # fmt: skip
    stopped = fit_ddp(babi_args, tmp_path, records, *stop)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-3000:]
    last = tmp_path / "memn2n_babi" / "version_0" / "checkpoints" / "last.ckpt"
    state = checkpoint(last)
    assert state["global_step"] == 3
    # each rank's generators travel in the checkpoint, and they differ: restoring one rank's
    # on both would show in the weights
    per_rank = state["random_states"]
    assert len(per_rank) == 2 and not torch.equal(per_rank[0]["torch"], per_rank[1]["torch"])

    succeeded(fit_ddp(babi_args, tmp_path, records, "--ckpt_path", str(last)))
    assert_same_run(
        babi_uninterrupted / "memn2n_babi",
        tmp_path / "memn2n_babi",
        final="version_1",
        tests="test/",
    )
    expected, replayed = received(babi_uninterrupted / "records"), received(records)
    for rank in (0, 1):  # steps 1-3, then the resumed run's 4-6: the uninterrupted run's
        assert replayed[rank] == expected[rank]
