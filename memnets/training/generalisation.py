"""Evaluate a trained NTM checkpoint on sequence lengths beyond its training range.

    python evaluate.py --ckpt runs/ntm_copy/version_0/checkpoints/last.ckpt \\
        --lengths 10 20 30 40 60 80 100 120 --out results/copy_generalisation

Writes ``OUT.md`` (a table), ``OUT.csv``, ``OUT.png`` (bit errors vs length) and
TensorBoard events under ``OUT_tensorboard/`` (scalars per length and the plot).
The task and its settings are read from the checkpoint's data-module
hyperparameters; the episodes are seeded (``--seed``) and differ from training's.
"""

from __future__ import annotations

import argparse
import csv
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from memnets.training.metrics import bit_errors_per_sequence, cost_bits_per_sequence
from memnets.training.pictures import plt
from memnets.training.sequence_module import SequenceTaskModule
from tasks.algorithmic import EpisodeDataset, collate_episodes, make_task


@dataclass
class LengthResult:
    length: int
    bit_errors: float  # mean wrong bits per sequence
    cost_bits: float  # mean cross-entropy in bits per sequence
    perfect: float  # fraction of sequences with no wrong bit


def load(checkpoint_path: str | Path):
    """The trained module (eager, eval mode) and the task it was trained on."""
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    data = checkpoint.get("datamodule_hyper_parameters") or {}
    if "task_name" not in data:
        raise ValueError(
            f"{checkpoint_path} holds no algorithmic task settings (datamodule_hyper_parameters"
            ".task_name); was it trained with tasks.sequence_data.AlgorithmicDataModule?"
        )
    task = make_task(data["task_name"], **data.get("task_config", {}))
    hparams = {k: v for k, v in checkpoint["hyper_parameters"].items() if not k.startswith("_")}
    hparams["compile"] = False
    module = SequenceTaskModule(**hparams)
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval(), task


@torch.no_grad()
def evaluate_lengths(
    module: SequenceTaskModule,
    task,
    lengths: list[int],
    *,
    episodes: int = 64,
    batch_size: int = 32,
    seed: int = 1234,
) -> list[LengthResult]:
    results = []
    for length in lengths:
        dataset = EpisodeDataset(
            task, size=episodes, seed=seed, split=f"eval{length}", length=length
        )
        errors, costs = [], []
        for start in range(0, episodes, batch_size):
            batch = collate_episodes(
                [dataset[i] for i in range(start, min(episodes, start + batch_size))]
            )
            logits, _ = module.model(batch.inputs)
            errors.append(bit_errors_per_sequence(logits, batch.targets, batch.mask))
            costs.append(cost_bits_per_sequence(logits, batch.targets, batch.mask))
        error, cost = torch.cat(errors), torch.cat(costs)
        results.append(
            LengthResult(
                length, error.mean().item(), cost.mean().item(), (error == 0).float().mean().item()
            )
        )
    return results


def write_outputs(results: list[LengthResult], out: Path, *, title: str, command: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["length", "bit_errors_per_sequence", "cost_bits_per_sequence", "perfect"])
        for r in results:
            writer.writerow(
                [r.length, f"{r.bit_errors:.4f}", f"{r.cost_bits:.4f}", f"{r.perfect:.4f}"]
            )
    lines = [
        f"# {title}",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, torch {torch.__version__}",
        "",
        "| length | bit errors / sequence | cost (bits / sequence) | perfect sequences |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.length} | {r.bit_errors:.3f} | {r.cost_bits:.2f} | {100 * r.perfect:.1f}% |"
        for r in results
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")

    figure, axis = plt.subplots(figsize=(6, 4), constrained_layout=True)
    axis.plot([r.length for r in results], [r.bit_errors for r in results], marker="o")
    axis.set(xlabel="sequence length", ylabel="bit errors per sequence", title=title)
    axis.grid(alpha=0.3)
    figure.savefig(out.with_suffix(".png"), dpi=100)

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out.parent / f"{out.name}_tensorboard"))
    for r in results:
        writer.add_scalar("generalisation/bit_errors", r.bit_errors, global_step=r.length)
        writer.add_scalar("generalisation/cost_bits", r.cost_bits, global_step=r.length)
    writer.add_figure("generalisation/bit_errors_vs_length", figure, close=True)
    writer.close()


def main(argv: list[str] | None = None) -> list[LengthResult]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt", required=True, help="checkpoint written by train.py")
    parser.add_argument(
        "--lengths", type=int, nargs="+", default=[10, 20, 30, 40, 60, 80, 100, 120]
    )
    parser.add_argument("--episodes", type=int, default=64, help="sequences per length")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="results/generalisation")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    module, task = load(args.ckpt)
    results = evaluate_lengths(
        module,
        task,
        args.lengths,
        episodes=args.episodes,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    command = "python evaluate.py " + " ".join(
        argv if argv is not None else __import__("sys").argv[1:]
    )
    write_outputs(
        results, Path(args.out), title=f"{task.name}: bit errors vs length", command=command
    )
    for r in results:
        errors, perfect = f"{r.bit_errors:8.3f}", f"{100 * r.perfect:5.1f}"
        print(f"length {r.length:>4}: {errors} bit errors/sequence, {perfect}% perfect")
    print(f"wrote {args.out}.md, .csv, .png and {args.out}_tensorboard/")
    return results


if __name__ == "__main__":
    main()
