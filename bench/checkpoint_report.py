"""What the reports on one trained checkpoint share (``psort_errors.py``, ``recall_errors.py``):
their common arguments, loading the run's task and model, and writing the report to a file
under the command that produced it."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from memnets.training.checkpoints import load_data_module, load_model


def report_parser(description: str, run: str) -> argparse.ArgumentParser:
    """``--ckpt`` (``run``: what it must be, "a priority-sort run"), ``--episodes``,
    ``--seed`` and ``--out``; the caller adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--ckpt", required=True, help=f"a checkpoint of train.py: {run}")
    parser.add_argument("--episodes", type=int, default=512)
    parser.add_argument("--seed", type=int, default=12345, help="the episodes' generator seed")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    return parser


def load_run(args: argparse.Namespace, task_class: type, run: str):
    """The checkpoint's task and model (one torch thread, not compiled); exits with a message
    on a bad ``--episodes`` or a checkpoint of another task than ``task_class``."""
    if args.episodes < 1:
        raise SystemExit(f"--episodes must be at least 1, got {args.episodes}")
    torch.set_num_threads(1)
    task = getattr(load_data_module(args.ckpt), "task", None)
    if not isinstance(task, task_class):
        name = getattr(task, "name", None)
        raise SystemExit(f"{args.ckpt} is not {run} (task {name!r})")
    return task, load_model(args.ckpt, compile=False)


def write_report(
    args: argparse.Namespace, script: str, lines: list[str], options: str = ""
) -> None:
    """The report printed, and written to ``args.out`` (if given) under the command that
    makes it again: ``python bench/SCRIPT --ckpt ... [options] --episodes ... --seed ...``."""
    print("\n".join(lines))
    if args.out is not None:
        extra = f" {options}" if options else ""
        command = (
            f"python bench/{script} --ckpt {args.ckpt}{extra} --episodes {args.episodes} "
            f"--seed {args.seed}"
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"$ {command}\n" + "\n".join(lines) + "\n")
