"""bench/psort_errors.py: its error breakdown on sorters written by hand, and on a real run."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch
from tiny_runs import tiny_ntm_model

from memnets.training.cli import main
from tasks.algorithmic import PrioritySortTask

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "psort_errors.py"
TASK = PrioritySortTask(width=6, num_inputs=8, num_outputs=5)


class HandSorter(torch.nn.Module):
    """Emits the inputs by descending priority, as logits of +-10 (``swap``: the first two
    outputs exchanged)."""

    def __init__(self, *, swap: bool = False) -> None:
        super().__init__()
        self.swap = swap

    def forward(self, inputs):  # (B, T, W + 2)
        count, width = TASK.num_inputs, TASK.width
        order = torch.sort(inputs[:, :count, width], dim=1, descending=True).indices
        order = order[:, : TASK.num_outputs]
        if self.swap:
            order = order[:, [1, 0, *range(2, TASK.num_outputs)]]
        rows = torch.arange(inputs.shape[0]).unsqueeze(1)
        logits = torch.full((*inputs.shape[:2], width), -10.0)
        logits[:, count + 1 :] = inputs[rows, order, :width] * 20.0 - 10.0
        return logits, None


def report(model):
    error_report = runpy.run_path(str(SCRIPT))["error_report"]
    return error_report(model, TASK, TASK.num_inputs, episodes=64, seed=3)


def test_a_perfect_sorter_has_every_output_right():
    got = report(HandSorter())
    assert got["bit_errors_per_sequence"] == 0.0
    assert got["bit_errors_per_position"] == [0.0] * TASK.num_outputs
    assert got["exact_right"] == 1.0 and got["blends"] == 0.0


def test_two_swapped_outputs_are_exact_inputs_one_rank_away():
    got = report(HandSorter(swap=True))
    # by hand: outputs 0 and 1 of 5 are the other's vector (wrong unless the two are equal)
    batch = TASK.make_batch(torch.Generator().manual_seed(3), 64, length=TASK.num_inputs)
    first, second = batch.targets[:, TASK.num_inputs + 1], batch.targets[:, TASK.num_inputs + 2]
    differ = (first != second).sum(-1).float()  # (B,)
    assert got["bit_errors_per_position"][:2] == pytest.approx([float(differ.mean())] * 2)
    assert got["bit_errors_per_position"][2:] == [0.0] * 3
    unequal = float((differ > 0).float().mean())
    assert got["exact_one_rank_away"] == pytest.approx(2 / 5 * unequal)
    assert got["exact_right"] == pytest.approx(1 - 2 / 5 * unequal)


def test_the_script_reads_a_real_checkpoint_and_refuses_another_task(tmp_path, capsys):
    tiny = [
        *tiny_ntm_model(heads=1),
        "--data.batch_size", "4", "--data.train_batches_per_epoch", "2",
        "--data.val_episodes", "4", "--data.test_episodes", "4",
        "--data.generalisation_lengths", "[]", "--trainer.max_steps", "2",
        "--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]",
        "--trainer.logger.init_args.save_dir", str(tmp_path),
    ]  # fmt: skip
    fitted = main(["fit", "--config", str(ROOT / "configs" / "ntm_priority_sort_ff.yaml"), *tiny])
    last = fitted.trainer.checkpoint_callback.last_model_path
    script = runpy.run_path(str(SCRIPT))["main"]
    report = tmp_path / "report" / "errors.txt"
    capsys.readouterr()  # the training run's summary
    script(["--ckpt", last, "--episodes", "8", "--out", str(report)])
    out = capsys.readouterr().out
    assert "8 episodes of 20 inputs" in out and "blends matching no input" in out
    focus = out.splitlines()[-1].rpartition(": ")[2].split()  # the one read head's
    assert out.splitlines()[-1].startswith("read heads' largest weight") and len(focus) == 1
    assert 1 / 6 <= float(focus[0]) <= 1  # between spread over the 6 slots and on one
    written = report.read_text().splitlines()
    assert written[0].startswith("$ python bench/psort_errors.py --ckpt") and written[1:] == [
        line for line in out.splitlines() if line
    ]
    copy = main(["fit", "--config", str(ROOT / "configs" / "ntm_copy.yaml"), *tiny[:-2],
                 "--trainer.logger.init_args.save_dir", str(tmp_path / "copy")])  # fmt: skip
    with pytest.raises(SystemExit, match="is not a priority-sort run"):
        script(["--ckpt", copy.trainer.checkpoint_callback.last_model_path])
