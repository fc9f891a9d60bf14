"""Where a trained priority-sort NTM goes wrong: the errors of one checkpoint, taken apart.

    python bench/psort_errors.py --ckpt runs/.../checkpoints/best-step=N.ckpt [--episodes 512]
        [--out results/FILE.txt]

Draws ``--episodes`` fresh episodes of the checkpoint's task (its recorded priority-sort
settings; seed ``--seed``, not the validation or test sets' streams), runs the model
(``memnets.training.checkpoints.load_model``) and prints:

* bit errors per output position (the highest priority first);
* the share of outputs (thresholded at 0.5) that are right (every bit), that are exactly
  another of the episode's input vectors (the nearest such input one rank away from the
  output's, or further), and blends that match no input;
* the mean gap between an output's target priority and the nearest other priority (above or
  below), at outputs with a wrong bit and at outputs without: a model that blends neighbours
  fails where priorities are close;
* each read head's largest weight at the output steps (how sharply it reads);
* where each write head writes the inputs: its largest weight at the input steps, and the
  correlation between the slot of that largest weight and the input's priority. The paper's
  solution (its figure 17) writes each vector at a place set by its priority, then reads the
  places in order: a correlation near +-1 over many slots. A head that writes every input to
  the same slot has no correlation ("-").
"""

from __future__ import annotations

import torch
from checkpoint_report import load_run, report_parser, write_report
from memnets_tasks.algorithmic import PrioritySortTask


def episodes(task: PrioritySortTask, count: int, seed: int):
    """``count`` fresh episodes of the task's training length (one batch)."""
    return task.make_batch(torch.Generator().manual_seed(seed), count, length=task.num_inputs)


def error_report(logits, batch, task: PrioritySortTask) -> dict:
    """The figures above as a dict, from a model's ``logits`` (B, T, W) on ``batch``."""
    inputs_count = task.num_inputs
    start = inputs_count + 1  # the first output step
    outputs = batch.inputs.shape[1] - start  # K
    predicted = (logits[:, start:] > 0).float()  # (B, K, W)
    wrong = predicted != (batch.targets[:, start:] > 0.5)  # (B, K, W)
    vectors = batch.inputs[:, :inputs_count, : task.width]  # (B, N, W)
    priorities = batch.inputs[:, :inputs_count, task.width]  # (B, N)
    ranked, order = torch.sort(priorities, dim=1, descending=True)  # (B, N) each
    rank_of = torch.argsort(order, dim=1)  # (B, N): input -> its rank
    distance = (predicted.unsqueeze(2) != vectors.unsqueeze(1)).sum(-1)  # (B, K, N)
    matches = distance == 0  # (B, K, N): the inputs an output equals
    position = torch.arange(outputs).view(1, outputs, 1)
    ranks_away = (rank_of.unsqueeze(1) - position).abs()  # (B, K, N)
    nearest = torch.where(matches, ranks_away, inputs_count).min(-1).values  # (B, K)
    right = ~wrong.any(-1)  # (B, K)
    other_input = matches.any(-1) & ~right  # (B, K): exactly an input, not the target
    edge = torch.full_like(ranked[:, :1], float("inf"))  # (B, 1): no neighbour on that side
    steps = ranked[:, :-1] - ranked[:, 1:]  # (B, N - 1): between neighbours
    below = torch.cat([steps, edge], dim=1)[:, :outputs]  # (B, K): to the next lower
    above = torch.cat([edge, steps], dim=1)[:, :outputs]  # (B, K): to the next higher
    gaps = torch.minimum(below, above)  # (B, K): to the nearest other priority
    return {
        "bit_errors_per_position": wrong.sum(-1).float().mean(0).tolist(),
        "bit_errors_per_sequence": float(wrong.sum(dim=(1, 2)).float().mean()),
        "exact_right": float(right.float().mean()),
        "exact_one_rank_away": float((other_input & (nearest == 1)).float().mean()),
        "exact_further": float((other_input & (nearest > 1)).float().mean()),
        "blends": float((~matches.any(-1)).float().mean()),
        "gap_at_wrong": float(gaps[~right].mean()) if (~right).any() else float("nan"),
        "gap_at_right": float(gaps[right].mean()) if right.any() else float("nan"),
    }


def read_focus(read_weights, task: PrioritySortTask) -> list[float]:
    """Per read head, its largest weight over the slots at the output steps, averaged over
    steps and episodes (``read_weights`` (B, T, R, N)): 1 for a head on one slot, 1/N for one
    spread over all N."""
    weights = read_weights[:, task.num_inputs + 1 :]  # (B, K, R, N)
    return weights.max(-1).values.mean(dim=(0, 1)).tolist()  # (R,)


def write_placement(write_weights, priorities, task: PrioritySortTask) -> list[dict]:
    """Per write head, at the input steps (``write_weights`` (B, T, H, N), ``priorities``
    (B, N_in)): ``focus``, its largest weight averaged over steps and episodes; ``slots``, how
    many distinct slots carry that largest weight; ``correlation``, Pearson's between that
    slot and the input's priority (None where the slot never changes)."""
    weights = write_weights[:, : task.num_inputs]  # (B, N_in, H, N)
    focus = weights.max(-1).values.mean(dim=(0, 1))  # (H,)
    places = weights.argmax(-1).float()  # (B, N_in, H)
    values = priorities.reshape(-1)  # (B * N_in,)
    heads = []
    for head in range(weights.shape[2]):
        place = places[..., head].reshape(-1)  # (B * N_in,)
        varies = bool(place.std() > 0) and bool(values.std() > 0)
        correlation = float(torch.corrcoef(torch.stack([place, values]))[0, 1]) if varies else None
        heads.append(
            {"focus": float(focus[head]), "slots": int(place.unique().numel()),
             "correlation": correlation}
        )  # fmt: skip
    return heads


def main(argv: list[str] | None = None) -> None:
    run = "a priority-sort run"
    args = report_parser(__doc__.split("\n")[0], run).parse_args(argv)
    task, model = load_run(args, PrioritySortTask, run)
    batch = episodes(task, args.episodes, args.seed)
    with torch.no_grad():
        logits, _, internals = model(batch.inputs, return_internals=True)  # (B, T, W), ...
    report = error_report(logits, batch, task)
    focus = read_focus(internals.read_weights, task)
    priorities = batch.inputs[:, : task.num_inputs, task.width]  # (B, N_in)
    placement = write_placement(internals.write_weights, priorities, task)
    positions = " ".join(f"{value:.2f}" for value in report["bit_errors_per_position"])
    lines = [
        f"{args.ckpt}: {args.episodes} episodes of {task.num_inputs} inputs (seed {args.seed})",
        f"bit errors per sequence: {report['bit_errors_per_sequence']:.2f}",
        f"bit errors per output position: {positions}",
        f"outputs right {report['exact_right']:.3f}; exactly another input, one rank away "
        f"{report['exact_one_rank_away']:.3f}, further {report['exact_further']:.3f}; "
        f"blends matching no input {report['blends']:.3f}",
        f"mean gap to the nearest other priority: {report['gap_at_wrong']:.3f} at outputs with a "
        f"wrong bit, {report['gap_at_right']:.3f} at outputs without",
        "read heads' largest weight at the output steps (mean over steps and episodes): "
        + " ".join(f"{value:.2f}" for value in focus),
        "write heads at the input steps (largest weight, distinct slots it falls on, "
        "correlation of that slot with the priority): "
        + "; ".join(
            f"{head['focus']:.2f}, {head['slots']}, "
            + ("-" if head["correlation"] is None else f"{head['correlation']:+.2f}")
            for head in placement
        ),
    ]
    write_report(args, "psort_errors.py", lines)


if __name__ == "__main__":
    main()
