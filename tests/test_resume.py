"""Exact resumption and determinism, through the real CLI on tiny configs (CPU, fixed seed).

A run stopped by SIGTERM or Ctrl-C (a real signal sent to this process from a callback) and
resumed from its ``last.ckpt`` must end with the same weights and optimiser state, and log the
same scalars at the same steps (training, validation and test metrics), as the run that was
never stopped. Stops are placed mid-epoch, during a validation mid-epoch and during the
validation at an epoch's end. The loader's own resumption is tested without Lightning first.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import lightning
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny_runs import tiny_ntm

from memnets.training.cli import main
from tasks.algorithmic import CopyTask, EpisodeDataset, EpochSampler, collate_episodes
from tasks.loading import EpochShuffleSampler, ResumableDataLoader

ROOT = Path(__file__).resolve().parents[1]

# NTM copy: 4 batches an epoch, validation every 2 steps, 8 steps (two epochs)
NTM = [
    *tiny_ntm(batches_per_epoch=4, episodes=8),
    "--trainer.max_steps", "8",
    "--trainer.val_check_interval", "2",
    "--trainer.num_sanity_val_steps", "0",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.log_every_n_steps", "1",
    "--trainer.callbacks", "[]",
    "--pictures.every_n_steps", "1000",
]  # fmt: skip
NTM_NAME = "ntm_copy"

# MemN2N on generated task 1: 90 training questions = 3 batches an epoch, 3 epochs; linear
# start for the first, the learning rate halved every epoch after it, random noise on
MEMN2N = [
    "--config", str(ROOT / "configs" / "memn2n_babi.yaml"),
    "--data.generated_train_questions", "100",
    "--data.generated_test_questions", "20",
    "--model.init_args.model.init_args.embedding_size", "8",
    "--model.init_args.model.init_args.random_noise", "0.3",
    "--model.init_args.linear_start_epochs", "1",
    "--model.init_args.lr_halve_every", "1",
    "--trainer.max_epochs", "3",
    "--trainer.num_sanity_val_steps", "0",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.log_every_n_steps", "1",
    "--pictures.every_n_steps", "1000",
]  # fmt: skip
MEMN2N_NAME = "memn2n_babi"

# helpers


class SignalAt(lightning.Callback):
    """Send this process ``signum`` at the end of training step ``step``, or during the
    validation that follows it (``during_validation``), as a user or a scheduler would."""

    def __init__(self, step: int = 1, signum: int = 15, during_validation: bool = False) -> None:
        self.step = step
        self.signum = signum
        self.during_validation = during_validation

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not self.during_validation and trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *_) -> None:
        if self.during_validation and trainer.global_step == self.step and batch_idx == 0:
            os.kill(os.getpid(), self.signum)


def fit(base: list[str], save_dir: Path, *extra: str) -> int:
    """Run ``train.py fit`` in this process; the exit status (0 when it returns)."""
    try:
        main(["fit", *base, "--trainer.logger.init_args.save_dir", str(save_dir), *extra])
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def scalars(run_dir: Path, versions: str = "version_*") -> dict[tuple[str, int], float]:
    """Every scalar of every version of a run, by (tag, step)."""
    found: dict[tuple[str, int], float] = {}
    for version in sorted(run_dir.glob(versions)):
        events = EventAccumulator(str(version), size_guidance={"scalars": 0})
        events.Reload()
        for tag in events.Tags()["scalars"]:
            for event in events.Scalars(tag):
                found[(tag, event.step)] = event.value
    return found


def checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def assert_same_run(expected_dir: Path, actual_dir: Path, *, final: str, tests: str) -> None:
    """Same final weights and optimiser state, same scalars at the same steps."""
    expected = checkpoint(expected_dir / "version_0" / "checkpoints" / "last.ckpt")
    actual = checkpoint(actual_dir / final / "checkpoints" / "last.ckpt")
    assert actual["global_step"] == expected["global_step"]
    assert expected["state_dict"].keys() == actual["state_dict"].keys()
    for name, tensor in expected["state_dict"].items():
        assert torch.equal(tensor, actual["state_dict"][name]), name
    assert_equal_nested(expected["optimizer_states"], actual["optimizer_states"])
    assert expected["lr_schedulers"] == actual["lr_schedulers"]
    logged, replayed = scalars(expected_dir), scalars(actual_dir)
    assert any(tag.startswith("val/") for tag, _ in logged)
    assert any(tag.startswith(tests) for tag, _ in logged)  # tested after fit
    assert replayed == logged


def assert_equal_nested(expected, actual) -> None:
    """Equal containers of tensors and plain values (optimiser states)."""
    if isinstance(expected, torch.Tensor):
        assert torch.equal(expected, actual)
    elif isinstance(expected, dict):
        assert expected.keys() == actual.keys()
        for key in expected:
            assert_equal_nested(expected[key], actual[key])
    elif isinstance(expected, (list, tuple)):
        assert len(expected) == len(actual)
        for a, b in zip(expected, actual):
            assert_equal_nested(a, b)
    else:
        assert expected == actual


@pytest.fixture(scope="module")
def ntm_uninterrupted(tmp_path_factory) -> Path:
    save_dir = tmp_path_factory.mktemp("uninterrupted")
    assert fit(NTM, save_dir) == 0
    return save_dir / NTM_NAME


# the loader, without Lightning


def episode_loader(num_workers: int = 0) -> ResumableDataLoader:
    dataset = EpisodeDataset(CopyTask(width=4, max_length=3), size=10, seed=0)
    return ResumableDataLoader(
        dataset,
        batch_size=2,
        sampler=EpochSampler(10),
        collate_fn=collate_episodes,
        num_workers=num_workers,
    )


def inputs(batches) -> list[torch.Tensor]:
    return [batch.inputs for batch in batches]


@pytest.mark.parametrize("num_workers", [0, 1])
def test_loader_resumes_mid_epoch_with_the_remaining_batches(num_workers):
    loader = episode_loader()
    loader.sampler.set_epoch(3)
    whole_epoch = inputs(loader)
    iterator = iter(loader)
    for _ in range(3):
        next(iterator)
    state = loader.state_dict()
    assert state == {"epoch": 3, "batches": 3}

    resumed = episode_loader(num_workers)  # a new process would build a new loader
    resumed.load_state_dict(state)
    assert resumed.sampler.epoch == 3  # set before any worker draws indices
    rest = inputs(resumed)
    assert len(rest) == 2 and all(map(torch.equal, rest, whole_epoch[3:]))
    assert resumed.state_dict() == {"epoch": 3, "batches": 5}
    assert len(inputs(resumed)) == 5  # the next iteration is a whole epoch again


def test_loader_resumed_after_a_finished_epoch_starts_the_next():
    loader = episode_loader()
    loader.load_state_dict({"epoch": 3, "batches": 5})
    assert loader.sampler.epoch == 4
    next_epoch = episode_loader()
    next_epoch.sampler.set_epoch(4)
    assert all(map(torch.equal, inputs(loader), inputs(next_epoch)))


def test_loader_skips_nothing_when_another_epoch_runs():
    loader = episode_loader()
    loader.load_state_dict({"epoch": 3, "batches": 2})
    loader.sampler.set_epoch(5)  # e.g. Lightning ended epoch 3 early (limit_train_batches)
    assert len(inputs(loader)) == 5


def test_epoch_shuffle_is_a_function_of_seed_and_epoch():
    sampler = EpochShuffleSampler(20, seed=1)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(first) == sorted(second) == list(range(20)) and first != second
    again = EpochShuffleSampler(20, seed=1)
    again.set_epoch(1)
    assert list(again) == second
    assert list(EpochShuffleSampler(20, seed=2)) != first


# NTM


def test_two_ntm_runs_with_the_same_seed_log_identical_metrics(ntm_uninterrupted, tmp_path):
    assert fit(NTM, tmp_path) == 0
    assert_same_run(ntm_uninterrupted, tmp_path / NTM_NAME, final="version_0", tests="test/")


def test_ntm_stopped_by_sigterm_mid_epoch_resumes_exactly(ntm_uninterrupted, tmp_path):
    stop = ["--trainer.callbacks+=test_resume.SignalAt", "--trainer.callbacks.init_args.step=3"]
    assert fit(NTM, tmp_path, *stop) == 128 + signal.SIGTERM
    last = tmp_path / NTM_NAME / "version_0" / "checkpoints" / "last.ckpt"
    assert checkpoint(last)["global_step"] == 3  # stopped after step 3, mid-epoch
    assert fit(NTM, tmp_path, "--ckpt_path", str(last)) == 0
    assert_same_run(ntm_uninterrupted, tmp_path / NTM_NAME, final="version_1", tests="test/")


@pytest.mark.slow
def test_ntm_ctrl_c_during_validation_resumes_exactly(ntm_uninterrupted, tmp_path):
    stop = [
        "--trainer.callbacks+=test_resume.SignalAt",
        "--trainer.callbacks.init_args.step=6",  # validation after step 6, mid second epoch
        f"--trainer.callbacks.init_args.signum={int(signal.SIGINT)}",
        "--trainer.callbacks.init_args.during_validation=true",
    ]
    assert fit(NTM, tmp_path, *stop) == 128 + signal.SIGINT
    last = tmp_path / NTM_NAME / "version_0" / "checkpoints" / "last.ckpt"
    assert checkpoint(last)["global_step"] == 6
    assert fit(NTM, tmp_path, "--ckpt_path", str(last)) == 0
    assert_same_run(ntm_uninterrupted, tmp_path / NTM_NAME, final="version_1", tests="test/")


@pytest.mark.slow
def test_ntm_run_ended_by_max_steps_extends_exactly(ntm_uninterrupted, tmp_path):
    assert fit(NTM, tmp_path, "--trainer.max_steps", "5") == 0
    last = tmp_path / NTM_NAME / "version_0" / "checkpoints" / "last.ckpt"
    assert checkpoint(last)["global_step"] == 5
    assert fit(NTM, tmp_path, "--ckpt_path", str(last)) == 0
    logged = scalars(tmp_path / NTM_NAME)
    first_run = scalars(tmp_path / NTM_NAME, "version_0")
    first_tests = {key for key in first_run if key[0].startswith("test/")}
    assert first_tests  # the 5-step run was tested after fit too
    # apart from that extra test, the same run
    expected = checkpoint(ntm_uninterrupted / "version_0" / "checkpoints" / "last.ckpt")
    actual = checkpoint(tmp_path / NTM_NAME / "version_1" / "checkpoints" / "last.ckpt")
    for name, tensor in expected["state_dict"].items():
        assert torch.equal(tensor, actual["state_dict"][name]), name
    assert {k: v for k, v in logged.items() if k not in first_tests} == scalars(ntm_uninterrupted)


# MemN2N


@pytest.fixture(scope="module")
def babi_args(tmp_path_factory) -> list[str]:
    """The tiny MemN2N arguments, with generated data written once for the module."""
    return [*MEMN2N, "--data.generated_dir", str(tmp_path_factory.mktemp("babi"))]


@pytest.fixture(scope="module")
def memn2n_uninterrupted(babi_args, tmp_path_factory) -> Path:
    save_dir = tmp_path_factory.mktemp("memn2n_uninterrupted")
    assert fit(babi_args, save_dir) == 0
    return save_dir / MEMN2N_NAME


@pytest.mark.parametrize(
    ("step", "signum", "during_validation"),
    [
        # Ctrl-C after the middle step of the second epoch (softmax back on, lr halved)
        (5, signal.SIGINT, False),
        # SIGTERM during the validation that ends the first (linear-start) epoch
        pytest.param(3, signal.SIGTERM, True, marks=pytest.mark.slow),
    ],
    ids=["ctrl_c_mid_epoch", "sigterm_in_epoch_end_validation"],
)
def test_memn2n_stopped_and_resumed_replays_the_uninterrupted_run(
    step, signum, during_validation, babi_args, memn2n_uninterrupted, tmp_path
):
    stop = [
        "--trainer.callbacks+=test_resume.SignalAt",
        f"--trainer.callbacks.init_args.step={step}",
        f"--trainer.callbacks.init_args.signum={int(signum)}",
        f"--trainer.callbacks.init_args.during_validation={str(during_validation).lower()}",
    ]
    assert fit(babi_args, tmp_path, *stop) == 128 + signum
    last = tmp_path / MEMN2N_NAME / "version_0" / "checkpoints" / "last.ckpt"
    assert checkpoint(last)["global_step"] == step
    assert fit(babi_args, tmp_path, "--ckpt_path", str(last)) == 0
    assert_same_run(memn2n_uninterrupted, tmp_path / MEMN2N_NAME, final="version_1", tests="test/")


def test_runs_trained_together_stopped_and_resumed_replay_the_uninterrupted_runs(
    babi_args, tmp_path
):
    """Three runs together, each with its own batch order and noise generator (time gaps):
    Ctrl-C mid-epoch and resume replays every run's metrics exactly."""
    together = [*babi_args, "--data.init_args.run_seeds", "[0,1,2]",
                "--model.init_args.model.init_args.random_noise_mode", "time_gaps"]  # fmt: skip
    uninterrupted = tmp_path / "uninterrupted"
    assert fit(together, uninterrupted) == 0
    stop = ["--trainer.callbacks+=test_resume.SignalAt", "--trainer.callbacks.init_args.step=5",
            f"--trainer.callbacks.init_args.signum={int(signal.SIGINT)}"]  # fmt: skip
    assert fit(together, tmp_path, *stop) == 128 + signal.SIGINT
    last = tmp_path / MEMN2N_NAME / "version_0" / "checkpoints" / "last.ckpt"
    assert fit(together, tmp_path, "--ckpt_path", str(last)) == 0
    expected = uninterrupted / MEMN2N_NAME
    assert any(tag.endswith("_run2") for tag, _ in scalars(expected))
    assert_same_run(expected, tmp_path / MEMN2N_NAME, final="version_1", tests="test/")


@pytest.mark.slow
def test_two_memn2n_runs_with_the_same_seed_log_identical_metrics(
    babi_args, memn2n_uninterrupted, tmp_path
):
    assert fit(babi_args, tmp_path) == 0
    assert_same_run(memn2n_uninterrupted, tmp_path / MEMN2N_NAME, final="version_0", tests="test/")


def test_compiled_ntm_repeats_itself_and_resumes_exactly(tmp_path):
    """As the shipped configs train: NTM(compile=True). Two runs log the same numbers, and a
    run stopped by SIGTERM mid-epoch resumes to the uninterrupted one's weights and metrics."""
    compiled = [*NTM, "--model.init_args.model.init_args.compile", "true"]
    compiled += ["--trainer.accelerator", "cpu"]  # compiled GPU kernels do not repeat bitwise
    first, second, stopped = tmp_path / "first", tmp_path / "second", tmp_path / "stopped"
    assert fit(compiled, first) == 0
    assert fit(compiled, second) == 0
    assert_same_run(first / NTM_NAME, second / NTM_NAME, final="version_0", tests="test/")
    stop = ["--trainer.callbacks+=test_resume.SignalAt", "--trainer.callbacks.init_args.step=3"]
    assert fit(compiled, stopped, *stop) == 128 + signal.SIGTERM
    last = stopped / NTM_NAME / "version_0" / "checkpoints" / "last.ckpt"
    assert checkpoint(last)["global_step"] == 3
    assert fit(compiled, stopped, "--ckpt_path", str(last)) == 0
    assert_same_run(first / NTM_NAME, stopped / NTM_NAME, final="version_1", tests="test/")
