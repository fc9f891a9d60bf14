"""``--trainer.precision bf16-mixed`` on the CPU trains both architectures with finite losses.

CPU autocast runs the matrix products in bfloat16; the losses, metrics and optimiser stay in
float32. (float16 mixed precision is a GPU feature; Lightning itself refuses or replaces it on
a CPU.)
"""

from __future__ import annotations

import math
from pathlib import Path

import lightning
import pytest
import torch
from tiny_runs import tiny_ntm

from memnets.training.cli import main

ROOT = Path(__file__).resolve().parents[1]

COMMON = [
    "--trainer.accelerator", "cpu",  # also where a GPU is visible: CPU autocast is the claim
    "--trainer.precision", "bf16-mixed",
    "--trainer.max_steps", "3",
    "--trainer.num_sanity_val_steps", "0",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.log_every_n_steps", "1",
    "--trainer.callbacks+=test_precision.RecordLosses",
    "--pictures.every_n_steps", "1000",
]  # fmt: skip

NTM = tiny_ntm(batches_per_epoch=3, episodes=4)

MEMN2N = [
    "--config", str(ROOT / "configs" / "memn2n_babi.yaml"),
    "--data.generated_train_questions", "40",
    "--data.generated_test_questions", "10",
    "--data.batch_size", "12",
    "--model.init_args.model.init_args.embedding_size", "8",
    "--model.init_args.linear_start_epochs", "0",
]  # fmt: skip


class RecordLosses(lightning.Callback):
    """The training loss of every step and whether it was computed under bfloat16 autocast."""

    losses: list[float] = []
    autocast: list[bool] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        with trainer.precision_plugin.train_step_context():  # what the step runs in
            RecordLosses.autocast.append(
                torch.is_autocast_enabled("cpu")
                and torch.get_autocast_dtype("cpu") == torch.bfloat16
            )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        RecordLosses.losses.append(float(outputs["loss"]))


@pytest.mark.parametrize("arguments", [NTM, MEMN2N], ids=["ntm", "memn2n"])
def test_bf16_mixed_on_cpu_trains_with_finite_losses(arguments, tmp_path):
    RecordLosses.losses, RecordLosses.autocast = [], []
    data = ["--data.generated_dir", str(tmp_path / "generated")] if arguments is MEMN2N else []
    logs = ["--trainer.logger.init_args.save_dir", str(tmp_path)]
    cli = main(["fit", *arguments, *COMMON, *data, *logs])
    assert cli.trainer.precision == "bf16-mixed"
    assert RecordLosses.autocast == [True] * 3
    assert len(RecordLosses.losses) == 3 and all(map(math.isfinite, RecordLosses.losses))
    assert all(math.isfinite(float(value)) for value in cli.trainer.callback_metrics.values())
    assert any(name.startswith("test/") for name in cli.trainer.callback_metrics)
