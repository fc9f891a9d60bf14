"""Resume after a hard crash: real ``train.py fit`` processes killed with SIGKILL.

An out-of-memory kill, a preempted machine or a power cut leaves no chance to save: the run
must resume from whatever checkpoint it last wrote. Here a tiny ``configs/ntm_copy.yaml`` run
with the config's own callbacks (AnnealWhenSolved, here solved at the first validation;
ntm_base.yaml's early stopping, made strict; the time limit) and its default validation
schedule (one at each epoch's end) is killed at several points, each resumed to the end with
the README's command (the same command plus ``--ckpt_path``), and compared with the run that
was never killed: same final weights, optimiser and callbacks' state (the lowered learning
rate, the count of validations since solving), the same scalars at the same steps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_resume import assert_equal_nested, checkpoint, scalars
from tiny_runs import tiny_ntm

ROOT = Path(__file__).resolve().parents[1]

# 3 batches an epoch, a validation at each epoch's end (steps 3, 6 and 9), 3 epochs
NTM = [
    *tiny_ntm(batches_per_epoch=3, episodes=8),
    "--trainer.accelerator", "cpu",  # bitwise replay is a CPU claim (see README, on a GPU)
    "--trainer.max_steps", "9",
    "--trainer.num_sanity_val_steps", "0",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.log_every_n_steps", "1",
    "--pictures.every_n_steps", "1000",
    # the config's AnnealWhenSolved, solved at the first validation (every error is under
    # 1e9) and training on to max_steps, so that its count crosses the kills
    "--trainer.callbacks.init_args.threshold", "1e9",
    "--trainer.callbacks.init_args.validations_after", "10",
    # and ntm_base.yaml's early stopping, made strict: a check the resumed run cannot make
    # fails it
    "--trainer.callbacks+=lightning.pytorch.callbacks.EarlyStopping",
    "--trainer.callbacks.init_args.monitor", "val/bit_errors",
    "--trainer.callbacks.init_args.stopping_threshold", "0.1",
    "--trainer.callbacks.init_args.patience", "1000",
    "--trainer.callbacks.init_args.strict", "true",
]  # fmt: skip
NAME = "ntm_copy"

# helpers


def fit(save_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    """``python train.py fit`` on the tiny config, in a process of its own."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    command = [sys.executable, str(ROOT / "train.py"), "fit", *NTM,
               "--trainer.logger.init_args.save_dir", str(save_dir), *extra]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def callback_state(state: dict, kind: str) -> dict:
    (key,) = [key for key in state["callbacks"] if key.startswith(kind)]
    return state["callbacks"][key]


def assert_replays(expected_dir: Path, resumed_version: Path, resumed_from: int) -> None:
    """The resumed run ends where the uninterrupted one did, and logs what it logged."""
    expected = checkpoint(expected_dir / "version_0" / "checkpoints" / "last.ckpt")
    actual = checkpoint(resumed_version / "checkpoints" / "last.ckpt")
    assert actual["global_step"] == expected["global_step"] == 9
    assert expected["state_dict"].keys() == actual["state_dict"].keys()
    for name, tensor in expected["state_dict"].items():
        assert torch.equal(tensor, actual["state_dict"][name]), name
    assert_equal_nested(expected["optimizer_states"], actual["optimizer_states"])
    early_stopping = callback_state(expected, "EarlyStopping")
    assert early_stopping["best_score"] != torch.inf  # it did check val/bit_errors
    assert_equal_nested(early_stopping, callback_state(actual, "EarlyStopping"))
    anneal = callback_state(expected, "AnnealWhenSolved")
    assert anneal == {"solved_at_step": 3, "validations_since": 2}  # validations 6 and 9
    assert anneal == callback_state(actual, "AnnealWhenSolved")
    best = callback_state(expected, "ResumableCheckpoint")["best_model_score"]
    assert torch.equal(best, callback_state(actual, "ResumableCheckpoint")["best_model_score"])
    logged, replayed = scalars(expected_dir), scalars(resumed_version.parent, resumed_version.name)
    after = {key: value for key, value in logged.items() if key[1] > resumed_from}
    assert any(tag.startswith("val/") for tag, _ in after)
    assert any(tag.startswith("test/") for tag, _ in after)
    assert {key: replayed.get(key) for key in after} == after
    assert all(logged[key] == value for key, value in replayed.items())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    save_dir = tmp_path_factory.mktemp("uninterrupted")
    run = fit(save_dir)
    assert run.returncode == 0, run.stderr[-3000:]
    return save_dir / NAME


@pytest.mark.parametrize(
    ("kill_after", "resumed_from", "resume_with"),
    [
        (3, 3, "last.ckpt"),  # right after the first validation (the end of epoch 0)
        (7, 6, "last.ckpt"),  # mid-epoch: last.ckpt is the second validation's
        (7, None, "best"),  # the best checkpoint the same run left
    ],
    ids=["after_first_validation", "mid_epoch", "from_best_checkpoint"],
)
def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_end(
    kill_after, resumed_from, resume_with, uninterrupted, tmp_path
):
    kill = ["--trainer.callbacks+=crash_points.KillAt",
            f"--trainer.callbacks.init_args.step={kill_after}"]  # fmt: skip
    killed = fit(tmp_path, *kill)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    checkpoints = tmp_path / NAME / "version_0" / "checkpoints"
    if resume_with == "best":
        (path,) = checkpoints.glob("best-*.ckpt")
    else:
        path = checkpoints / resume_with
    if resumed_from is None:
        resumed_from = checkpoint(path)["global_step"]  # the step of the best validation
    assert checkpoint(path)["global_step"] == resumed_from
    resumed = fit(tmp_path, "--ckpt_path", str(path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_replays(uninterrupted, tmp_path / NAME / "version_1", resumed_from)
