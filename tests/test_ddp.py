"""Lightning DDP on 2 CPU processes through the real command line (``python train.py fit``).

    python train.py fit --config ... --trainer.strategy ddp --trainer.accelerator cpu \\
            --trainer.devices 2

Both tests are ``slow``: most of their time is two interpreters importing torch and Lightning.
Checked: the run finishes on both ranks, the summary is printed once (rank 0), the memory
pictures are logged once per interval (not once per rank), the checkpoint is written, and each
rank trained on its own share of every batch of episodes (``train/sequences`` counts both).
The data each rank actually receives, and an exact resume under DDP, are checked in
``tests/test_ddp_data.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny_runs import tiny_ntm

ROOT = Path(__file__).resolve().parents[1]

DDP = [
    "--trainer.strategy", "ddp",
    "--trainer.accelerator", "cpu",
    "--trainer.devices", "2",
    "--trainer.max_steps", "2",
    "--trainer.num_sanity_val_steps", "0",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.log_every_n_steps", "1",
    "--pictures.every_n_steps", "2",
]  # fmt: skip

NTM = [
    *tiny_ntm(batches_per_epoch=2, episodes=8),
    "--trainer.callbacks", "[]",
]  # fmt: skip

MEMN2N = [
    "--config", "configs/memn2n_babi.yaml",
    "--data.generated_train_questions", "100",
    "--data.generated_test_questions", "20",
    "--data.batch_size", "24",  # 45 questions a rank: 2 steps an epoch
    "--model.init_args.model.init_args.embedding_size", "8",
    "--model.init_args.linear_start_epochs", "1",
]  # fmt: skip


def run_ddp(arguments: list[str], save_dir: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "train.py", "fit", *arguments, *DDP]
    command += ["--trainer.logger.init_args.save_dir", str(save_dir)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=environment
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def check_run(result, version: Path, picture: str, sequences_per_step: int) -> None:
    assert result.stdout.count("Summary") == 1, result.stdout  # printed by rank 0 only
    assert "All distributed processes registered. Starting with 2 processes" in result.stderr
    events = EventAccumulator(str(version), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    # after step 2 and at the end of fitting, by rank 0 only
    assert [image.step for image in events.Images(picture)] == [2, 2]
    sequences = events.Scalars("train/sequences")[-1].value
    assert sequences == 2 * sequences_per_step  # both ranks' episodes counted
    last = torch.load(version / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["global_step"] == 2
    assert all(torch.isfinite(tensor).all() for tensor in last["state_dict"].values())


@pytest.mark.slow  # about 40 s on 2 busy cores: two interpreters import torch and Lightning
def test_ntm_trains_with_ddp_on_two_cpu_processes(tmp_path):
    result = run_ddp(NTM, tmp_path)
    check_run(result, tmp_path / "ntm_copy" / "version_0", "memory/write_weights", 4 * 2)


@pytest.mark.slow
def test_memn2n_trains_with_ddp_on_two_cpu_processes(tmp_path):
    data = ["--data.generated_dir", str(tmp_path / "generated")]
    result = run_ddp([*MEMN2N, *data], tmp_path)
    version = tmp_path / "memn2n_babi" / "version_0"
    events = EventAccumulator(str(version), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    assert result.stdout.count("Summary") == 1, result.stdout
    assert [image.step for image in events.Images("memory/hop_attention")] == [2, 2]
    assert "val/error" in events.Tags()["scalars"] and "test/error" in events.Tags()["scalars"]
    last = torch.load(version / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["global_step"] == 2
