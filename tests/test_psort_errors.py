"""bench/psort_errors.py: its error breakdown on sorters written by hand, and on a real run."""

from __future__ import annotations

import math
import runpy
from pathlib import Path

import pytest
import torch
from tiny_runs import tiny_checkpoint

from tasks.algorithmic import PrioritySortTask, SortTask

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "psort_errors.py"
TASK = PrioritySortTask(width=6, num_inputs=8, num_outputs=5)
SCRIPT_FUNCTIONS = runpy.run_path(str(SCRIPT))


def hand_sorted(task, batch, *, swap: bool = False):
    """Logits of +-10 that emit the inputs by descending priority (``swap``: the first two
    outputs exchanged), (B, T, W)."""
    count, width = task.num_inputs, task.width
    inputs = batch.inputs
    order = torch.sort(inputs[:, :count, width], dim=1, descending=True).indices
    order = order[:, : inputs.shape[1] - count - 1]  # (B, K)
    if swap:
        order = order[:, [1, 0, *range(2, order.shape[1])]]
    rows = torch.arange(inputs.shape[0]).unsqueeze(1)
    logits = torch.full((*inputs.shape[:2], width), -10.0)
    logits[:, count + 1 :] = inputs[rows, order, :width] * 20.0 - 10.0
    return logits


def report(task, *, swap: bool = False):
    batch = SCRIPT_FUNCTIONS["episodes"](task, 64, 3)
    return batch, SCRIPT_FUNCTIONS["error_report"](hand_sorted(task, batch, swap=swap), batch, task)


@pytest.mark.parametrize("task", [TASK, SortTask(width=6, num_inputs=8)], ids=["psort", "sort"])
def test_a_perfect_sorter_has_every_output_right(task):
    _, got = report(task)
    outputs = task.num_outputs
    assert got["bit_errors_per_sequence"] == 0.0
    assert got["bit_errors_per_position"] == [0.0] * outputs
    assert got["exact_right"] == 1.0 and got["blends"] == 0.0 and got["exact_further"] == 0.0
    assert math.isnan(got["gap_at_wrong"]) and got["gap_at_right"] > 0


def test_two_swapped_outputs_are_exact_inputs_one_rank_away():
    batch, got = report(TASK, swap=True)
    # by hand: outputs 0 and 1 of 5 are the other's vector (wrong unless the two are equal)
    start = TASK.num_inputs + 1
    first, second = batch.targets[:, start], batch.targets[:, start + 1]  # (B, W) each
    differ = (first != second).sum(-1).float()  # (B,)
    assert got["bit_errors_per_position"][:2] == pytest.approx([float(differ.mean())] * 2)
    assert got["bit_errors_per_position"][2:] == [0.0] * 3
    unequal = differ > 0  # (B,)
    share = float(unequal.float().mean())
    assert got["exact_one_rank_away"] == pytest.approx(2 / 5 * share)
    assert got["exact_right"] == pytest.approx(1 - 2 / 5 * share)
    assert got["exact_further"] == 0.0 and got["blends"] == 0.0
    # the gaps by hand: output 0's nearest priority is the second's, output 1's the nearer of
    # the first's and the third's; the wrong outputs are these two where the vectors differ
    ranked = torch.sort(batch.inputs[:, : TASK.num_inputs, TASK.width], 1, True).values
    top = ranked[:, 0] - ranked[:, 1]  # (B,)
    second_gap = torch.minimum(top, ranked[:, 1] - ranked[:, 2])  # (B,)
    wrong_gaps = torch.cat([top[unequal], second_gap[unequal]])
    assert got["gap_at_wrong"] == pytest.approx(float(wrong_gaps.mean()), rel=1e-5)


def test_read_focus_is_the_mean_largest_read_weight_at_the_output_steps():
    slots, steps = 4, TASK.num_inputs + 1 + TASK.num_outputs
    weights = torch.zeros(2, steps, 2, slots)  # (B, T, R, N)
    weights[:, :, 0, 0] = 1.0  # head 0 on one slot
    weights[:, :, 1] = 1.0 / slots  # head 1 spread evenly
    weights[0, : TASK.num_inputs + 1, 1, 0] = 1.0  # before the outputs: not counted
    assert SCRIPT_FUNCTIONS["read_focus"](weights, TASK) == pytest.approx([1.0, 0.25])


def test_the_script_reads_a_real_checkpoint_and_refuses_another_task(tmp_path, capsys):
    last = tiny_checkpoint("ntm_priority_sort_ff", tmp_path)
    script = SCRIPT_FUNCTIONS["main"]
    report = tmp_path / "report" / "errors.txt"
    capsys.readouterr()  # the training run's summary
    script(["--ckpt", last, "--episodes", "8", "--out", str(report)])
    out = capsys.readouterr().out
    assert "8 episodes of 20 inputs" in out and "blends matching no input" in out
    reads, writes = out.splitlines()[-2:]
    focus = reads.rpartition(": ")[2].split()  # the one read head's
    assert reads.startswith("read heads' largest weight") and len(focus) == 1
    # the one write head's largest weight, its distinct slots and correlation (or "-")
    written_focus, slots, correlation = writes.rpartition("priority): ")[2].split(", ")
    assert writes.startswith("write heads at the input steps") and ";" not in writes
    assert 0 < float(written_focus) <= 1 and int(slots) >= 1
    assert correlation == "-" or -1 <= float(correlation) <= 1
    written = report.read_text().splitlines()
    assert written[0].startswith("$ python bench/psort_errors.py --ckpt") and written[1:] == [
        line for line in out.splitlines() if line
    ]
    copy = tiny_checkpoint("ntm_copy", tmp_path / "copy")
    with pytest.raises(SystemExit, match="--episodes must be at least 1, got 0"):
        script(["--ckpt", last, "--episodes", "0"])
    with pytest.raises(SystemExit, match="is not a priority-sort run"):
        script(["--ckpt", copy])


def test_write_placement_by_hand():
    inputs, slots = TASK.num_inputs, 12
    steps = inputs + 1 + TASK.num_outputs
    weights = torch.zeros(2, steps, 3, slots)  # (B, T, H, N)
    for step in range(inputs):
        weights[:, step, 0, step] = 1.0  # head 0: input i at slot i
        weights[:, step, 2, inputs - 1 - step] = 1.0  # head 2: input i at slot N_in - 1 - i
    weights[:, :, 1, 2:4] = 0.5  # head 1: half on slots 2 and 3 (the largest is slot 2's)
    weights[:, inputs:, 0] = 1.0 / slots  # after the inputs: not counted
    # episode 0's priorities rise with the input's step, episode 1's the same shifted by 0.5
    priorities = torch.linspace(-1, 0.5, inputs).repeat(2, 1)  # (B, N_in)
    priorities[1] += 0.5
    heads = SCRIPT_FUNCTIONS["write_placement"](weights, priorities, TASK)
    assert [head["focus"] for head in heads] == pytest.approx([1.0, 0.5, 1.0])
    assert [head["slots"] for head in heads] == [inputs, 1, inputs]
    # slot i against -1 + 1.5 i / 7 (+0.5 in episode 1): Pearson's r by hand
    place = torch.arange(inputs, dtype=torch.float64).repeat(2)
    value = priorities.double().reshape(-1)
    centred_place, centred_value = place - place.mean(), value - value.mean()
    expected = float(
        (centred_place * centred_value).sum()
        / (centred_place.square().sum() * centred_value.square().sum()).sqrt()
    )
    assert 0.8 < expected < 0.95  # the shift in episode 1 keeps it below 1
    assert heads[0]["correlation"] == pytest.approx(expected, rel=1e-5)
    assert heads[2]["correlation"] == pytest.approx(-expected, rel=1e-5)
    assert heads[1]["correlation"] is None
