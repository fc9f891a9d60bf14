"""bench/recall_errors.py: its error breakdown on recallers written by hand, and on a real run."""

from __future__ import annotations

import math
import runpy
from pathlib import Path

import pytest
import torch
from tiny_runs import tiny_checkpoint

import memnets.ntm as ntm
from memnets import NTM
from tasks.algorithmic import AssociativeRecallTask

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "recall_errors.py"
TASK = AssociativeRecallTask(width=4, item_length=2, min_items=2, max_items=4)
SCRIPT_FUNCTIONS = runpy.run_path(str(SCRIPT))


def hand_answers(batch, answer):
    """Logits of +-10 whose answer steps are ``answer`` (B, K, W); -10 elsewhere."""
    count, steps = batch.inputs.shape[:2]
    logits = torch.full((count, steps, TASK.width), -10.0)  # (B, T, W)
    logits[:, steps - TASK.item_length :] = answer * 20.0 - 10.0
    return logits


def report(items: int, pick):
    """The report of answering each episode's item ``pick(query)`` (B,) -> (B,)."""
    batch, stored, query = SCRIPT_FUNCTIONS["episodes"](TASK, 256, items, 5)
    answer = stored[torch.arange(256), pick(query)]  # (B, K, W)
    got = SCRIPT_FUNCTIONS["error_report"](hand_answers(batch, answer), batch, stored, query, TASK)
    return batch, stored, query, got


def test_episodes_find_the_queried_item():
    count, items = 256, 5
    batch, stored, query = SCRIPT_FUNCTIONS["episodes"](TASK, count, items, 2)
    # the task's own draws, in make_batch's order: the items' bits, then the queried item
    generator = torch.Generator().manual_seed(2)
    drawn = torch.randint(0, 2, (count, items, TASK.item_length, TASK.width), generator=generator)
    asked = torch.randint(0, items - 1, (count,), generator=generator)  # (B,)
    assert torch.equal(stored, drawn.float())
    rows = torch.arange(count)
    # found: the drawn query, or an earlier item that asks the same question (8-bit items
    # repeat: the same item followed by the same one)
    same = query == asked
    assert same.float().mean() > 0.9 and bool((query <= asked).all())
    other = ~same
    assert torch.equal(stored[rows, query][other], stored[rows, asked][other])
    assert torch.equal(stored[rows, query + 1][other], stored[rows, asked + 1][other])


def test_a_perfect_recaller_is_right_everywhere():
    _, _, query, got = report(6, lambda query: query + 1)
    assert got["bit_errors_per_sequence"] == 0.0 and got["right"] == 1.0
    assert got["queried_item"] == got["other_item"] == got["blends"] == 0.0
    # every place 0-4 is queried among 256 episodes; each has no error
    assert got["bit_errors_by_query_place"] == [0.0] * 5


def test_answering_the_queried_item_itself():
    batch, stored, query, got = report(6, lambda query: query)
    rows = torch.arange(256)
    differ = (stored[rows, query] != stored[rows, query + 1]).flatten(1).sum(-1).float()  # (B,)
    assert got["bit_errors_per_sequence"] == pytest.approx(float(differ.mean()))
    equal = differ == 0  # the queried item equals its follower: right after all
    assert got["right"] == pytest.approx(float(equal.float().mean()))
    assert got["queried_item"] == pytest.approx(1 - float(equal.float().mean()))
    assert got["blends"] == 0.0
    at_first = float(differ[query == 0].mean())
    assert got["bit_errors_by_query_place"][0] == pytest.approx(at_first)


def test_a_blend_matches_no_item_and_a_missing_place_is_nan():
    batch, stored, query = SCRIPT_FUNCTIONS["episodes"](TASK, 4, 30, 1)
    logits = torch.zeros(4, batch.inputs.shape[1], TASK.width)  # (B, T, W): every bit 0
    logits -= 1.0
    got = SCRIPT_FUNCTIONS["error_report"](logits, batch, stored, query, TASK)
    # all-zero answers: an item of zeros is 1 in 2^8 per item; none in these 4 x 30 by hand
    assert not (stored.flatten(2).sum(-1) == 0).any()
    assert got["blends"] == 1.0 and got["right"] == 0.0
    ones = batch.targets[:, -TASK.item_length :].sum(dim=(1, 2))  # (B,): every 1 is an error
    assert got["bit_errors_per_sequence"] == pytest.approx(float(ones.mean()))
    queried = set(query.tolist())
    by_place = got["bit_errors_by_query_place"]
    assert len(by_place) == 29
    assert all(math.isnan(by_place[p]) for p in range(29) if p not in queried)


def test_read_and_write_focus_by_hand():
    items, slots = 3, 8
    step = TASK.item_length + 1
    steps = items * step + TASK.item_length + 2 + TASK.item_length
    reads = torch.zeros(2, steps, 2, slots)  # (B, T, R, N)
    reads[:, :, 0, 0] = 1.0  # head 0 on one slot
    reads[:, :, 1] = 1.0 / slots  # head 1 spread evenly
    reads[:, : steps - TASK.item_length, 1, 0] = 1.0  # before the answer: not counted
    assert SCRIPT_FUNCTIONS["read_focus"](reads, TASK) == pytest.approx([1.0, 1 / slots])
    writes = torch.zeros(2, steps, 1, slots)  # (B, T, H, N)
    for item in range(items):
        # item i's steps: largest weight 1, 0.5, 0.25 for items 0, 1, 2
        writes[:, item * step : (item + 1) * step, 0, item] = 0.5**item
    writes[:, items * step :, 0] = 1.0  # the query and answer steps: not counted
    assert SCRIPT_FUNCTIONS["write_focus"](writes, items, TASK) == [pytest.approx([1.0, 0.5, 0.25])]


def test_the_script_reads_a_real_checkpoint_and_refuses_another_task(tmp_path, capsys):
    last = tiny_checkpoint("ntm_associative_recall_ff", tmp_path)
    script = SCRIPT_FUNCTIONS["main"]
    out_file = tmp_path / "report" / "errors.txt"
    capsys.readouterr()  # the training run's summary
    script(["--ckpt", last, "--items", "3", "7", "--episodes", "8", "--out", str(out_file)])
    out = capsys.readouterr().out
    assert "8 episodes per number of items" in out
    lines = out.splitlines()
    assert lines[1].startswith("3 items: bit errors per sequence")
    # 3 items: places 0-1; one write head, one value per item
    assert len(lines[2].rpartition(": ")[2].split()) == 2
    assert len(lines[6].rpartition(": ")[2].split()) == 3 and lines[6].startswith("    head 0")
    assert any(line.startswith("7 items:") for line in lines)
    # the sharpest read head's addressing, a row per step from the query's delimiter on
    header = next(i for i, line in enumerate(lines) if line.startswith("  step (from the end):"))
    assert lines[header - 1].startswith("  read head ")
    rows = [line.split(":")[0].strip() for line in lines[header + 1 : header + 9]]
    assert rows == [str(step) for step in range(-8, 0)]  # 2 x item length 3 + 2 steps
    written = out_file.read_text().splitlines()
    assert written[0].startswith("$ python bench/recall_errors.py --ckpt") and written[1:] == lines
    copy = tiny_checkpoint("ntm_copy", tmp_path / "copy")
    with pytest.raises(SystemExit, match="--episodes must be at least 1, got 0"):
        script(["--ckpt", last, "--episodes", "0"])
    with pytest.raises(SystemExit, match="--items must be at least 2 each"):
        script(["--ckpt", last, "--items", "1"])
    with pytest.raises(SystemExit, match="is not an associative-recall run"):
        script(["--ckpt", copy])


def test_an_item_is_lost_when_every_sharp_write_of_it_is_overwritten_later():
    items, slots = 3, 16
    step = TASK.item_length + 1  # 3 steps per item
    steps = items * step + TASK.item_length + 2 + TASK.item_length  # 15
    writes = torch.zeros(1, steps, 2, slots)  # (B, T, H, N)
    for t in range(steps):
        writes[0, t, 0, t] = 1.0  # head 0 walks up from slot 0
        writes[0, t, 1, (9 - t) % slots] = 1.0  # head 1 walks down from slot 9
    # by hand: head 0's step t (slot t) is overwritten when head 1 reaches slot t, at step
    # 9 - t, which counts when it is 3 steps or more later: 9 - t >= t + 3, so t <= 3; head
    # 1's step t (slot 9 - t) likewise when head 0 reaches it at step 9 - t. Steps 0-3 lose
    # both writes, steps 4-8 neither. Items: steps 0-2, 3-5, 6-8 -> lost 3/3, 1/3, 0/3
    got = SCRIPT_FUNCTIONS["lost"](writes, items, TASK)  # (B, n)
    assert got.tolist() == [pytest.approx([1.0, 1 / 3, 0.0])]
    # a blurred head (largest weight 0.5 or less) neither keeps nor overwrites an item
    writes[0, :, 1] = 0.0
    writes[0, :, 1, 0] = 0.5
    assert SCRIPT_FUNCTIONS["lost"](writes, items, TASK).tolist() == [[0.0] * 3]
    # a step with no sharp write at all is not lost; nor is one written again within an
    # item's length (head 0 stays on slot 1 for steps 1-3: 3 - 1 < 3)
    writes[0, 0, 0] = 0.5  # step 0: no sharp write
    writes[0, 1:4, 0] = 0.0
    writes[0, 1:4, 0, 1] = 1.0
    assert SCRIPT_FUNCTIONS["lost"](writes, items, TASK).tolist() == [[0.0] * 3]
    # ... but written again an item's length later it is: step 7 back on slot 1 overwrites
    # steps 1-3 (7 - 3 >= 3), two of item 0's steps and one of item 1's
    writes[0, 7, 0] = 0.0
    writes[0, 7, 0, 1] = 1.0
    assert SCRIPT_FUNCTIONS["lost"](writes, items, TASK).tolist() == [
        pytest.approx([2 / 3, 1 / 3, 0.0])
    ]


def test_errors_split_by_whether_the_answer_item_is_lost():
    errors = torch.tensor([4.0, 0.0, 2.0, 6.0])  # (B,)
    lost_share = torch.tensor(
        [[0.0, 1.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    )  # (B, n)
    query = torch.tensor([0, 0, 0, 1])  # answers: items 1, 1, 1, 2
    got = SCRIPT_FUNCTIONS["errors_by_loss"](errors, lost_share, query)
    # by hand: episodes 0 and 1 have their answer item lost (1.0 and 0.5), 2 and 3 not
    assert got == {"lost": 0.5, "errors_lost": 2.0, "errors_kept": 4.0}
    none = SCRIPT_FUNCTIONS["errors_by_loss"](errors, torch.zeros(4, 3), query)
    assert none["lost"] == 0.0 and math.isnan(none["errors_lost"]) and none["errors_kept"] == 3.0


@pytest.mark.parametrize("order", ["read_then_write", "write_then_read"])
def test_the_recorded_addressing_is_the_models_own(order):
    """The figures recorded for the read heads give back the model's read weights (their
    largest value per step) in either access order, and the addressing function is restored."""
    torch.manual_seed(0)
    model = NTM(input_size=3, output_size=2, controller_size=6, memory_slots=8, memory_width=4,
                num_read_heads=2, num_write_heads=3, access_order=order)  # fmt: skip
    address = ntm._address
    with torch.no_grad(), SCRIPT_FUNCTIONS["recorded_addressing"]() as calls:
        _, _, internals = model(torch.randn(4, 5, 3), return_internals=True)
    assert ntm._address is address
    reads = SCRIPT_FUNCTIONS["read_addressing"](calls, 5, 3, order == "read_then_write")
    assert len(reads) == 5
    for step, figures in enumerate(reads):
        largest = internals.read_weights[:, step].max(-1).values  # (B, R)
        torch.testing.assert_close(figures["weight"], largest)
        assert bool((figures["strength"] >= 1).all()) and bool((figures["gamma"] >= 1).all())
        assert bool(((figures["gate"] >= 0) & (figures["gate"] <= 1)).all())
        assert bool((figures["cosine_best"] >= figures["cosine_second"]).all())
        assert bool((figures["content"] >= 1 / 8 - 1e-6).all())  # the largest of 8 weights
    with pytest.raises(ValueError, match="calls of the addressing function over 6 steps"):
        SCRIPT_FUNCTIONS["read_addressing"](calls, 6, 3, order == "read_then_write")
