"""Where a trained associative-recall NTM goes wrong at more items than it trained on: the
errors of one checkpoint, taken apart.

    python bench/recall_errors.py --ckpt runs/.../checkpoints/best-step=N.ckpt \
        [--items 6 12] [--episodes 512] [--out results/FILE.txt]

For each number of items in ``--items``, draws ``--episodes`` fresh episodes of the
checkpoint's task (its recorded settings; seed ``--seed``, not the validation or test sets'
streams), runs the model (``memnets.training.checkpoints.load_model``) and prints:

* bit errors per sequence, and by the queried item's place in the list (first to last but
  one);
* the share of answers (thresholded at 0.5) that are right (every bit), that are exactly
  another item of the episode (the queried item itself, or one further away), and blends
  that match no item: a wrong item means the lookup or the step to the next item went
  wrong, a blend that the read was not sharp;
* each read head's largest weight at the answer steps (how sharply it reads);
* each write head's largest weight at the steps of each item, first to last (a head whose
  focus fades with the item's place blurs what it writes beyond the lengths it trained on);
* by item, the share of its steps whose every sharp write (largest weight over 0.5) lands on a
  slot that a step at least an item's length later writes sharply again: write heads that
  walk the memory from different places collide once the list is longer than those trained
  on, and the later writes erase the earlier items; and the bit errors of the answers whose
  item is lost so (half its steps or more) against the others';
* for an NTM, the read head that reads most sharply at the answer steps, step by step from the
  query's delimiter to the last answer step: its key strength (beta), interpolation gate,
  sharpening (gamma), largest content weight, the cosines of the best and second-best rows,
  and largest final weight: whether a lookup is sharp in the content weights themselves, or
  made sharp by the gate and the sharpening alone (recorded from the arguments of the
  model's addressing function, ``memnets.ntm._address``, as the model runs).
"""

from __future__ import annotations

import contextlib

import torch
from checkpoint_report import load_run, report_parser, write_report
from memnets_tasks.algorithmic import AssociativeRecallTask

import memnets.ntm as ntm


def episodes(task: AssociativeRecallTask, count: int, items: int, seed: int):
    """``count`` fresh episodes of ``items`` items (one batch) and the queried item of each."""
    generator = torch.Generator().manual_seed(seed)
    batch = task.make_batch(generator, count, length=items)
    # the query's bits sit on the steps after the query delimiter: find which item they are
    step = task.item_length + 1  # rows per item block
    blocks = batch.inputs[:, : items * step].reshape(count, items, step, -1)  # (B, n, K+1, C)
    stored = blocks[:, :, 1:, : task.width]  # (B, n, K, W)
    start = items * step + 1
    asked = batch.inputs[:, start : start + task.item_length, : task.width]  # (B, K, W)
    answer = batch.targets[:, -task.item_length :]  # (B, K, W)
    same = (stored[:, :-1] == asked.unsqueeze(1)).flatten(2).all(-1)  # (B, n - 1)
    then = (stored[:, 1:] == answer.unsqueeze(1)).flatten(2).all(-1)  # (B, n - 1)
    # the first item equal to the query and followed by the target (a repeated item with
    # the same follower is the same question)
    query = (same & then).float().argmax(-1)  # (B,)
    return batch, stored, query


def error_report(logits, batch, stored, query, task: AssociativeRecallTask) -> dict:
    """The answer figures above as a dict, from a model's ``logits`` (B, T, W)."""
    count, items = stored.shape[:2]
    first = batch.inputs.shape[1] - task.item_length  # the first answer step
    predicted = (logits[:, first:] > 0).float()  # (B, K, W)
    wrong = predicted != (batch.targets[:, first:] > 0.5)  # (B, K, W)
    errors = wrong.sum(dim=(1, 2)).float()  # (B,)
    by_place = [
        float(errors[query == place].mean()) if (query == place).any() else float("nan")
        for place in range(items - 1)
    ]
    matches = (predicted.unsqueeze(1) == stored).flatten(2).all(-1)  # (B, n)
    right = ~wrong.flatten(1).any(-1)  # (B,)
    rows = torch.arange(count)
    itself = matches[rows, query] & ~right  # (B,): answered the queried item
    other = matches.any(-1) & ~right & ~itself  # (B,): exactly some other item
    return {
        "errors": errors,  # (B,)
        "bit_errors_per_sequence": float(errors.mean()),
        "bit_errors_by_query_place": by_place,
        "right": float(right.float().mean()),
        "queried_item": float(itself.float().mean()),
        "other_item": float(other.float().mean()),
        "blends": float((~matches.any(-1)).float().mean()),
    }


def read_focus(read_weights, task: AssociativeRecallTask) -> list[float]:
    """Per read head, its largest weight at the answer steps, averaged over steps and episodes
    (``read_weights`` (B, T, R, N)): 1 for a head on one slot, 1/N for one spread over all."""
    weights = read_weights[:, -task.item_length :]  # (B, K, R, N)
    return weights.max(-1).values.mean(dim=(0, 1)).tolist()  # (R,)


def write_focus(write_weights, items: int, task: AssociativeRecallTask) -> list[list[float]]:
    """Per write head, its largest weight at each item's steps (delimiter and bits), averaged
    over those steps and episodes, first item to last (``write_weights`` (B, T, H, N))."""
    step = task.item_length + 1
    weights = write_weights[:, : items * step]  # (B, n * (K + 1), H, N)
    largest = weights.max(-1).values  # (B, n * (K + 1), H)
    per_item = largest.reshape(largest.shape[0], items, step, -1).mean(dim=(0, 2))  # (n, H)
    return per_item.T.tolist()  # (H, n)


def lost(write_weights, items: int, task: AssociativeRecallTask):
    """Per episode and item (B, n): the share of the item's steps that wrote sharply (a head
    whose largest weight is over 0.5) and whose every sharp write lands on a slot that a step
    at least one item's length later (``item_length + 1`` steps) writes sharply again, by any
    head (``write_weights`` (B, T, H, N)). Steps nearer than that are left out: a head may
    write an item's slot again while it reads the item and the next delimiter. Heads that
    walk the memory from different starts run into each other's earlier writes once the list
    outgrows the training lengths."""
    step = task.item_length + 1
    largest, places = write_weights.max(-1)  # (B, T, H) each
    sharp = largest > 0.5  # (B, T, H)
    count, steps = places.shape[:2]
    mine = places[:, : items * step]  # (B, S, H): S the item steps
    same = mine[:, :, :, None, None] == places[:, None, None]  # (B, S, H, T, H)
    time = torch.arange(steps)
    later = time.view(1, 1, 1, steps, 1) >= time[: items * step].view(1, -1, 1, 1, 1) + step
    hit = (same & later & sharp[:, None, None]).flatten(3).any(-1)  # (B, S, H)
    mine_sharp = sharp[:, : items * step]  # (B, S, H)
    gone = mine_sharp.any(-1) & ~(mine_sharp & ~hit).any(-1)  # (B, S): written, none kept
    return gone.reshape(count, items, step).float().mean(-1)  # (B, n)


def errors_by_loss(errors, lost_share, query) -> dict:
    """Bit errors per sequence (``errors`` (B,)) split by whether the answer's item is lost,
    half its steps or more (``lost_share`` (B, n) from :func:`lost`): the share of such
    answers and the mean bit errors of each kind (nan where there is none)."""
    answer_lost = lost_share[torch.arange(len(query)), query + 1] >= 0.5  # (B,)

    def mean(chosen) -> float:
        return float(errors[chosen].mean()) if chosen.any() else float("nan")

    return {
        "lost": float(answer_lost.float().mean()),
        "errors_lost": mean(answer_lost),
        "errors_kept": mean(~answer_lost),
    }


@contextlib.contextmanager
def recorded_addressing():
    """Within it, every call of the NTM's addressing function (eager steps) appends its figures
    per head to the list it yields: a dict of (B, H) tensors (strength, gate, gamma, content:
    the largest content weight, cosine_best, cosine_second, weight: the largest final weight).
    One call a step with ``read_then_write`` (write heads first, then read heads), two with
    ``write_then_read`` (write heads, then read heads)."""
    calls, address = [], ntm._address

    def recording(memory, previous, key, strength, gate, shift_weights, gamma, eps=None):
        weights = address(memory, previous, key, strength, gate, shift_weights, gamma, eps)
        cosine = ntm._cosine(memory, key, eps)  # (B, H, N)
        content = torch.softmax(strength * cosine, dim=-1)  # (B, H, N)
        best = cosine.topk(2, dim=-1).values  # (B, H, 2)
        calls.append({
            "strength": strength[..., 0], "gate": gate[..., 0], "gamma": gamma[..., 0],
            "content": content.max(-1).values, "cosine_best": best[..., 0],
            "cosine_second": best[..., 1], "weight": weights.max(-1).values,
        })  # fmt: skip
        return weights

    ntm._address = recording
    try:
        yield calls
    finally:
        ntm._address = address


def read_addressing(calls: list[dict], steps: int, write_heads: int, read_first: bool) -> list:
    """The read heads' figures of each step (dicts of (B, R) tensors) from the calls that
    :func:`recorded_addressing` recorded over ``steps`` steps of a model that reads first
    (``read_first``: one call a step, write heads first) or writes first (two calls a step)."""
    expected = steps if read_first else 2 * steps
    if len(calls) != expected:
        raise ValueError(f"{len(calls)} calls of the addressing function over {steps} steps, "
                         f"expected {expected}")  # fmt: skip
    if not read_first:  # the read heads' call is each step's second
        return calls[1::2]
    return [{name: value[:, write_heads:] for name, value in call.items()} for call in calls]


def addressing_lines(reads: list[dict], head: int, task: AssociativeRecallTask) -> list[str]:
    """Read head ``head``'s figures, averaged over episodes, at each step from the query's
    delimiter (the last ``2 * item_length + 2`` steps: delimiter, query, delimiter, answer)."""
    span = 2 * task.item_length + 2
    names = ["strength", "gate", "gamma", "content", "cosine_best", "cosine_second", "weight"]
    lines = ["  step (from the end): " + " ".join(f"{name:>13}" for name in names)]
    for step in range(len(reads) - span, len(reads)):
        values = " ".join(f"{float(reads[step][name][:, head].mean()):13.3f}" for name in names)
        lines.append(f"  {step - len(reads):>20}: {values}")
    return lines


def report_lines(model, task: AssociativeRecallTask, items: int, count: int, seed: int) -> list:
    """The report's lines for ``count`` episodes of ``items`` items."""
    batch, stored, query = episodes(task, count, items, seed)
    with torch.no_grad(), recorded_addressing() as calls:
        logits, _, internals = model(batch.inputs, return_internals=True)  # (B, T, W), ...
    report = error_report(logits, batch, stored, query, task)
    places = " ".join(f"{value:.2f}" for value in report["bit_errors_by_query_place"])
    heads = write_focus(internals.write_weights, items, task)
    lost_share = lost(internals.write_weights, items, task)  # (B, n)
    split = errors_by_loss(report["errors"], lost_share, query)
    return [
        f"{items} items: bit errors per sequence {report['bit_errors_per_sequence']:.2f}",
        f"  by the queried item's place (first to last but one): {places}",
        f"  answers right {report['right']:.3f}; exactly the queried item "
        f"{report['queried_item']:.3f}; exactly another item {report['other_item']:.3f}; "
        f"blends matching no item {report['blends']:.3f}",
        "  read heads' largest weight at the answer steps: "
        + " ".join(f"{value:.2f}" for value in read_focus(internals.read_weights, task)),
        "  write heads' largest weight by item, first to last:",
        *(
            f"    head {h}: " + " ".join(f"{value:.2f}" for value in row)
            for h, row in enumerate(heads)
        ),
        "  item steps whose every sharp write a later item's step overwrites, by item: "
        + " ".join(f"{value:.2f}" for value in lost_share.mean(0).tolist()),
        f"  answers whose item is lost (half its steps or more) {split['lost']:.3f}, bit "
        f"errors per sequence {split['errors_lost']:.2f}; the others {split['errors_kept']:.2f}",
        *sharpest_head_lines(model, calls, internals, task),
    ]


def sharpest_head_lines(model, calls: list[dict], internals, task) -> list[str]:
    """The addressing of the read head sharpest at the answer steps (none for a model whose
    steps did not call the NTM's addressing function)."""
    steps = internals.read_weights.shape[1]
    if not calls:
        return []
    focus = read_focus(internals.read_weights, task)
    head = max(range(len(focus)), key=focus.__getitem__)
    read_first = model.cell.access_order == "read_then_write"
    reads = read_addressing(calls, steps, internals.write_weights.shape[2], read_first)
    return [
        f"  read head {head} (the sharpest at the answers), from the query's delimiter to the "
        "last answer step:",
        *addressing_lines(reads, head, task),
    ]


def main(argv: list[str] | None = None) -> None:
    run = "an associative-recall run"
    parser = report_parser(__doc__.split("\n")[0], run)
    parser.add_argument("--items", type=int, nargs="+", default=[6, 12])
    args = parser.parse_args(argv)
    if min(args.items) < 2:
        raise SystemExit(
            f"--items must be at least 2 each (a query needs a follower), got {args.items}"
        )
    task, model = load_run(args, AssociativeRecallTask, run)
    lines = [f"{args.ckpt}: {args.episodes} episodes per number of items (seed {args.seed})"]
    for items in args.items:
        lines += report_lines(model, task, items, args.episodes, args.seed)
    items = " ".join(map(str, args.items))
    write_report(args, "recall_errors.py", lines, f"--items {items}")


if __name__ == "__main__":
    main()
