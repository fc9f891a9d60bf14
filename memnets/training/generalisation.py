"""Bit errors against sequence length: the table, CSV and plot of a test run.

The data module serves one test set per generalisation length (``test_length_L``, every
episode of length L) beside the test set of the training range, so evaluating a trained
model on longer sequences is an ordinary ``test`` run:

    python train.py test --config configs/ntm_copy.yaml \\
        --ckpt_path runs/ntm_copy/version_0/checkpoints/last.ckpt \\
        --data.init_args.generalisation_lengths [40,80,120] \\
        --generalisation.out results/copy_generalisation

:class:`GeneralisationReport` (the CLI's ``generalisation:`` group) then writes ``OUT.md`` (a
table), ``OUT.csv`` and ``OUT.png`` (bit errors vs length), and logs the scalars per length and
the plot to TensorBoard when the run has a TensorBoard logger. Without ``out`` the files go to
the logger's folder (``generalisation.*``), or nowhere when there is no logger. The same
happens at the end of ``fit``, where the best checkpoint is tested. A generalisation length
whose inputs cannot all fit in the model's memory (more vectors than ``memory_slots``) is
warned about when the run starts.
"""

from __future__ import annotations

import csv
import shlex
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning
import torch

from memnets.training.pictures import plt

__all__ = ["GeneralisationReport", "LengthResult", "memory_capacity_warning", "write_table"]

METRICS = ("bit_errors", "cost_bits", "perfect")


@dataclass
class LengthResult:
    length: int
    bit_errors: float  # mean wrong bits per sequence
    cost_bits: float  # mean cross-entropy in bits per sequence
    perfect: float  # fraction of sequences with no wrong bit
    repeats: int | None = None  # repeat copy's generalisation pairs (length, repeats)


def results_from_metrics(
    metrics: dict, lengths: list[int], repeats: list[int] | None = None
) -> list[LengthResult]:
    """One row per generalisation length L from the logged ``test_length_L/*`` metrics, or
    per pair (L, R) from ``test_length_L_repeats_R/*`` when ``repeats`` are given."""
    pairs = [(length, count) for length in lengths for count in repeats or [None]]
    rows = []
    for length, count in pairs:
        name = f"test_length_{length}" + ("" if count is None else f"_repeats_{count}")
        values = [metrics.get(f"{name}/{metric}") for metric in METRICS]
        if any(value is None for value in values):
            continue  # that set was not tested (e.g. limit_test_batches=0)
        rows.append(LengthResult(length, *(float(value) for value in values), repeats=count))
    return rows


def write_table(results: list[LengthResult], out: Path, *, title: str, command: str):
    """``out``.md, .csv and .png; returns the figure (the caller closes or logs it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    paired = any(r.repeats is not None for r in results)  # repeat copy: (length, repeats)
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["length", *(["repeats"] if paired else []), "bit_errors_per_sequence",
             "cost_bits_per_sequence", "perfect"]
        )  # fmt: skip
        for r in results:
            writer.writerow(
                [r.length, *([r.repeats] if paired else []), f"{r.bit_errors:.4f}",
                 f"{r.cost_bits:.4f}", f"{r.perfect:.4f}"]
            )  # fmt: skip
    lines = [
        f"# {title}",
        "",
        f"Command: `{command}`  ",
        f"torch {torch.__version__}",
        "",
        f"| length |{' repeats |' if paired else ''} bit errors / sequence "
        "| cost (bits / sequence) | perfect sequences |",
        f"|---:|{'---:|' if paired else ''}---:|---:|---:|",
    ]
    lines += [
        f"| {r.length} |{f' {r.repeats} |' if paired else ''} {r.bit_errors:.3f} "
        f"| {r.cost_bits:.2f} | {100 * r.perfect:.1f}% |"
        for r in results
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    figure, axis = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for count in dict.fromkeys(r.repeats for r in results):  # one line per repeat count
        line = [r for r in results if r.repeats == count]
        label = None if count is None else f"{count} repeats"
        axis.plot([r.length for r in line], [r.bit_errors for r in line], marker="o", label=label)
    if paired:
        axis.legend()
    axis.set(xlabel="sequence length", ylabel="bit errors per sequence", title=title)
    axis.grid(alpha=0.3)
    figure.savefig(out.with_suffix(".png"), dpi=100)
    return figure


def memory_capacity_warning(model, datamodule) -> str | None:
    """A warning when a generalisation length needs more memory slots than the model has
    (an NTM writing every input vector into a slot of its own: ``L`` vectors for copy, repeat
    copy and the sorts, ``L * item_length`` for associative recall); None otherwise. Errors
    at those lengths then measure the memory's size, not generalisation."""
    lengths = list(getattr(datamodule, "generalisation_lengths", None) or [])
    slots = getattr(model, "memory_slots", None)
    if slots is None:
        slots = getattr(getattr(model, "cell", None), "memory_slots", None)
    if not lengths or not isinstance(slots, int):
        return None
    task = getattr(datamodule, "task", None)
    per_item = int(getattr(task, "item_length", 1) or 1)
    too_long = [length for length in lengths if length * per_item > slots]
    if not too_long:
        return None
    name = getattr(task, "name", "the task")
    vectors = "" if per_item == 1 else f" x item_length {per_item}"
    return (
        f"generalisation_lengths {too_long} need more memory than the model has: {name} at "
        f"length L stores L{vectors} input vectors, but memory_slots is {slots}; bit errors "
        f"at those lengths measure the memory's size, not generalisation"
    )


class GeneralisationReport(lightning.Callback):
    """After a test run over generalisation lengths, write the bit-error-vs-length table.

    ``out``: the path of the files without suffix (``OUT.md``, ``OUT.csv``, ``OUT.png``);
    None writes ``generalisation.*`` into the logger's folder, or nothing without a logger.
    Data modules without ``generalisation_lengths`` (bAbI) are left alone.
    """

    def __init__(self, out: str | None = None) -> None:
        super().__init__()
        self.out = out

    def setup(self, trainer: lightning.Trainer, pl_module, stage: str) -> None:
        if stage in ("fit", "test") and trainer.is_global_zero:
            message = memory_capacity_warning(getattr(pl_module, "model", None), trainer.datamodule)
            if message:
                warnings.warn(message, stacklevel=1)

    def on_test_end(self, trainer: lightning.Trainer, pl_module) -> None:
        lengths = list(getattr(trainer.datamodule, "generalisation_lengths", None) or [])
        if not lengths or not trainer.is_global_zero:
            return
        repeats = list(getattr(trainer.datamodule, "generalisation_repeats", None) or [])
        results = results_from_metrics(trainer.callback_metrics, lengths, repeats)
        log_dir = getattr(trainer.logger, "log_dir", None) if trainer.logger else None
        if self.out is not None:
            out = Path(self.out)
        elif log_dir is not None:
            out = Path(log_dir) / "generalisation"
        else:
            return
        if not results:
            return
        task = getattr(getattr(trainer.datamodule, "task", None), "name", "task")
        command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
        figure = write_table(results, out, title=f"{task}: bit errors vs length", command=command)
        experiment = getattr(trainer.logger, "experiment", None) if trainer.logger else None
        if experiment is not None and hasattr(experiment, "add_figure"):
            for r in results:
                suffix = "" if r.repeats is None else f"_repeats_{r.repeats}"
                for name in METRICS:
                    experiment.add_scalar(
                        f"generalisation/{name}{suffix}", getattr(r, name), global_step=r.length
                    )
            experiment.add_figure("generalisation/bit_errors_vs_length", figure, close=True)
            experiment.flush()
        else:
            plt.close(figure)
        for r in results:
            errors, perfect = f"{r.bit_errors:8.3f}", f"{100 * r.perfect:5.1f}"
            shape = f"length {r.length:>4}" + ("" if r.repeats is None else f" x {r.repeats:>3}")
            print(f"{shape}: {errors} bit errors/sequence, {perfect}% perfect")
        print(f"wrote {out}.md, .csv and .png")
