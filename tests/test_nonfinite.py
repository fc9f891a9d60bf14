"""A non-finite loss or gradient stops training with a message naming the step and the quantity,
and leaves the last good checkpoint as it was (real CLI, real Trainer, tiny NTM).

The NaN is injected at step 3 by a callback: into the batch's inputs (so the loss is NaN), or
into one parameter's gradient after the backward pass. ``last.ckpt`` is written after every
step, so the one written after step 3 is the last good one; it must keep its bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import lightning
import pytest
import torch
from tiny_runs import tiny_ntm

from memnets.training.cli import main

ROOT = Path(__file__).resolve().parents[1]
STEP = 3
PARAMETER = "model.cell.write_head.projection.weight"

TINY = [
    *tiny_ntm(batches_per_epoch=4, episodes=4),
    "--trainer.max_steps", "6",
    "--trainer.limit_val_batches", "0",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.callbacks", "[]",
    "--checkpoint.monitor", "null",
    "--checkpoint.every_n_train_steps", "1",
    "--pictures.every_n_steps", "1000",
]  # fmt: skip


def digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}


class InjectNonFinite(lightning.Callback):
    """Make the loss (``target="loss"``) or the gradient of ``parameter`` NaN at ``step``.

    Records the checkpoint folder's files and their digests just before, in ``before``.
    """

    before: dict[str, str] = {}

    def __init__(self, step: int = 1, target: str = "loss", parameter: str = "") -> None:
        self.step, self.target, self.parameter = step, target, parameter

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step != self.step:
            return
        InjectNonFinite.before = digests(Path(trainer.checkpoint_callback.dirpath))
        if self.target == "loss":
            batch.inputs[0, 0, 0] = float("nan")  # in place: the batch the step is about to use

    def on_after_backward(self, trainer, pl_module) -> None:
        if trainer.global_step == self.step and self.target == "gradient":
            parameter = dict(pl_module.named_parameters())[self.parameter]
            parameter.grad.view(-1)[0] = float("inf")


@pytest.mark.parametrize(
    ("target", "parameter", "message"),
    [
        ("loss", "", f"non-finite loss (nan) at training step {STEP}"),
        (
            "gradient",
            PARAMETER,
            f"non-finite gradient of {PARAMETER} at training step {STEP}",
        ),
    ],
    ids=["loss", "gradient"],
)
def test_non_finite_stops_naming_step_and_quantity_and_keeps_last_checkpoint(
    target, parameter, message, tmp_path, capsys
):
    inject = [
        "--trainer.callbacks+=test_nonfinite.InjectNonFinite",
        f"--trainer.callbacks.init_args.step={STEP}",
        f"--trainer.callbacks.init_args.target={target}",
        f"--trainer.callbacks.init_args.parameter={parameter}",
    ]
    InjectNonFinite.before = {}
    with pytest.raises(SystemExit) as stop:
        main(["fit", *TINY, "--trainer.logger.init_args.save_dir", str(tmp_path), *inject])
    assert stop.value.code == 1
    error = capsys.readouterr().err
    assert message in error, error
    assert "last checkpoint is intact" in error

    folder = tmp_path / "ntm_copy" / "version_0" / "checkpoints"
    assert "last.ckpt" in InjectNonFinite.before  # written after step 3, before the NaN
    assert digests(folder) == InjectNonFinite.before  # nothing written or changed since
    last = torch.load(folder / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["global_step"] == STEP
    assert all(torch.isfinite(tensor).all() for tensor in last["state_dict"].values())
