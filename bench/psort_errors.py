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
* each read head's largest weight at the output steps (how sharply it reads).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from memnets_tasks.algorithmic import PrioritySortTask, make_task

from memnets.training.checkpoints import load_model


def error_report(model, task: PrioritySortTask, inputs_count: int, episodes: int, seed: int):
    """The figures above as a dict, from ``episodes`` episodes of ``inputs_count`` inputs."""
    batch = task.make_batch(torch.Generator().manual_seed(seed), episodes, length=inputs_count)
    outputs = min(task.num_outputs, inputs_count)
    start = inputs_count + 1  # the first output step
    with torch.no_grad():
        logits, _ = model(batch.inputs)  # (B, T, W)
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
    below = ranked[:, :outputs] - ranked[:, 1 : outputs + 1]  # (B, K): to the next lower
    above = torch.cat([torch.full_like(below[:, :1], float("inf")), below[:, :-1]], dim=1)
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


def read_focus(model, task: PrioritySortTask, episodes: int, seed: int) -> list[float]:
    """Per read head, its largest weight over the slots at the output steps, averaged: 1 for a
    head on one slot, 1/N for one spread over all N (the episodes of ``error_report``)."""
    count = task.num_inputs
    batch = task.make_batch(torch.Generator().manual_seed(seed), episodes, length=count)
    with torch.no_grad():
        _, _, internals = model(batch.inputs, return_internals=True)
    weights = internals.read_weights[:, count + 1 :]  # (B, K, R, N)
    return weights.max(-1).values.mean(dim=(0, 1)).tolist()  # (R,)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt", required=True, help="a priority-sort checkpoint of train.py")
    parser.add_argument("--episodes", type=int, default=512)
    parser.add_argument("--seed", type=int, default=12345, help="the episodes' generator seed")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    saved = torch.load(args.ckpt, map_location="cpu", weights_only=True)
    data = saved.get("datamodule_hyper_parameters") or {}
    if data.get("task_name") not in ("priority_sort", "sort"):
        raise SystemExit(f"{args.ckpt} is not a priority-sort run (task {data.get('task_name')!r})")
    task = make_task(data["task_name"], **(data.get("task_config") or {}))
    model = load_model(args.ckpt, compile=False)
    report = error_report(model, task, task.num_inputs, args.episodes, args.seed)
    focus = read_focus(model, task, args.episodes, args.seed)
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
    ]
    print("\n".join(lines))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            f"$ python bench/psort_errors.py --ckpt {args.ckpt} --episodes "
            f"{args.episodes} --seed {args.seed}\n" + "\n".join(lines) + "\n"
        )


if __name__ == "__main__":
    main()
