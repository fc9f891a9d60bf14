"""Wall clock of the main job (``make train``: ``train.py fit --config configs/ntm_copy.yaml``)
to a solved copy task, per seed, with a cold ``torch.compile`` cache.

    python bench/ntm_train_clock.py [--seeds 0 1 2] [--warm] [--out results/ntm_train_clock.md]
        [-- EXTRA CLI OPTIONS]

Each seed runs the same command ``make train`` runs (``--seed_everything S`` added, logs under a
temporary folder), in a fresh process whose ``TORCHINDUCTOR_CACHE_DIR`` is an empty folder
(``--warm``: one folder shared by the seeds, so only the first compiles from scratch). Prints
and writes a table: wall clock of the whole process (start-up, compilation, training,
validation, the final test), the training time and sequences the run's summary reports,
whether copy was solved (validation bit errors below 0.1 per sequence) and when (wall clock
from the process's start to that validation, and the sequences trained by then: the config
trains on after it, ``AnnealWhenSolved``), and the test bit errors. Options after ``--`` go
to ``train.py`` (e.g. ``-- --data.init_args.same_length_batches false`` to compare).
``--out`` never replaces a table of more runs than this one (checked before any run and again
before writing); a failed run stops the command before anything is written.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ntm_results import read_run
from protocols import machine, replace_results, table_rows

ROOT = Path(__file__).resolve().parents[1]


SUMMARY = {  # summary line -> (column, parser)
    "wall-clock time": ("training s", lambda text: float(text.split()[0])),
    "training sequences": ("sequences", lambda text: int(text.replace(",", ""))),
    "test/bit_errors": ("test bit errors", float),
}


def solved_at(logs: Path, started: float) -> dict:
    """The lowest validation bit errors of the run logged under ``logs`` and its first
    validation under 0.1: seconds from ``started`` (the process's start, time.time()) and the
    sequences trained by then."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (log_dir,) = {path.parent for path in logs.rglob("events.out.tfevents.*")}
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    reached = next((e for e in events.Scalars("val/bit_errors") if e.value < 0.1), None)
    record = read_run(log_dir, 0.1)
    found = {"best val bit errors": record["best_val_bit_errors"]}
    if reached is not None:
        found["solved after s"] = reached.wall_time - started
        found["solved after sequences"] = record["solved_after_sequences"]
    return found


def run(seed: int, cache: str, extra: list[str]) -> dict:
    command = [
        sys.executable, "train.py", "fit", "--config", "configs/ntm_copy.yaml",
        "--seed_everything", str(seed), "--trainer.enable_progress_bar", "false",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="memnets-clock-") as logs:
        command += ["--trainer.logger.init_args.save_dir", logs, *extra]
        environment = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
        start, started = time.perf_counter(), time.time()
        done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
        wall = time.perf_counter() - start
        solved = solved_at(Path(logs), started) if done.returncode == 0 else {}
    if done.returncode != 0:
        raise SystemExit(
            f"seed {seed}: train.py failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    row = {"seed": seed, "wall s": wall, **solved}
    for line in done.stdout.splitlines():
        match = re.match(r"\s*(\S.*?)\s{2,}(\S.*)$", line)
        if match and match.group(1) in SUMMARY:
            column, parse = SUMMARY[match.group(1)]
            row[column] = parse(match.group(2))
    best = row.get("best val bit errors")
    row["solved"] = best is not None and best < 0.1
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--warm", action="store_true", help="share one compile cache")
    parser.add_argument("--out", default=None, help="also write the table to this .md file")
    args, extra = parser.parse_known_args()
    extra = [item for item in extra if item != "--"]
    if args.out and Path(args.out).is_file():  # refuse before the runs, not after them
        held = table_rows(Path(args.out).read_text())
        if held > len(args.seeds):
            raise SystemExit(
                f"error: {args.out} holds {held} runs and would be replaced by "
                f"{len(args.seeds)}; nothing run or written (another --out keeps both)"
            )
    shared = tempfile.mkdtemp(prefix="memnets-inductor-")
    rows = [
        run(seed, shared if args.warm else tempfile.mkdtemp(prefix="memnets-inductor-"), extra)
        for seed in args.seeds
    ]
    columns = ["seed", "solved", "solved after s", "solved after sequences", "wall s",
               "training s", "sequences", "best val bit errors", "test bit errors"]  # fmt: skip
    lines = [
        f"Command: `python bench/ntm_train_clock.py --seeds {' '.join(map(str, args.seeds))}"
        + (" --warm" if args.warm else "")
        + (f" -- {' '.join(extra)}" if extra else "")
        + "`",
        "",
        f"Machine: {machine()}; compile cache "
        + ("shared (warm after the first seed)" if args.warm else "cold for every seed"),
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---:|" * len(columns),
    ]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if isinstance(value, bool):
                value = "yes" if value else "no"
            elif isinstance(value, float):
                value = f"{value:.1f}" if column.endswith(" s") else f"{value:.3f}"
            elif isinstance(value, int) and column.endswith("sequences"):
                value = f"{value:,}"
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:  # never over a table of more runs (protocols.replace_results)
        replace_results({Path(args.out): text}, count=table_rows, counted=Path(args.out))


if __name__ == "__main__":
    main()
