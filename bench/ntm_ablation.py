"""The copy-task ablation behind the NTM's defaults (issue 12), tabulated from its runs.

    python bench/ntm_ablation.py            # the table, from the arms' cached runs
    python bench/ntm_ablation.py --train    # first train what an arm is missing

Each arm is one ``bench/ntm_results.py`` evaluation of ``configs/ntm_copy.yaml`` with the
overrides in ``ARMS``, seeds 0-2, cached in ``results/ablation/copy_ARM.json`` (its own table
beside it). ``--train`` runs that command for every arm (cached runs are reused when their
protocol still matches; see ntm_results.py). Without it nothing trains: the table is made
from the records the arms hold, and an arm without records stops the command. Writes
``results/ablation/copy.md``: per arm, the sequences to solve of each seed (validation bit
errors below 0.1), the test bit errors, and the bit errors at lengths 40 and 100.

The arms were trained while the defaults were ``memory_init: constant`` and ``initial_focus:
first``; the overrides name both, so each arm means what it meant then (with one read and
one write head ``first`` and ``spread`` start at the same slot).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from protocols import no_data, replace_results, table_rows

ROOT = Path(__file__).resolve().parents[1]
MODEL = "--model.init_args.model.init_args."
DATA = "--data.init_args."
CONSTANT = [f"{MODEL}memory_init", "constant", f"{MODEL}initial_focus", "first"]
RANDOM = [f"{MODEL}memory_init", "learned_random", f"{MODEL}initial_focus", "first"]
ARMS = {  # name -> (train.py overrides, what it tests)
    "base": (CONSTANT, "the defaults before: fixed 1e-6 memory, batch 32"),
    "learned_random": (RANDOM, "a trainable random memory (the default now)"),
    "batch16": ([*CONSTANT, f"{DATA}batch_size", "16", f"{DATA}train_batches_per_epoch", "50",
                 "--trainer.max_steps", "6250"], "batch 16 (validation every 800 sequences)"),
    "batch8": ([*CONSTANT, f"{DATA}batch_size", "8", f"{DATA}train_batches_per_epoch", "100",
                "--trainer.max_steps", "12500"], "batch 8"),
    "lr_long": ([*RANDOM, "--config", str(ROOT / "bench" / "ntm_patience.yaml")],
                "learned random memory, training on after solving (early stopping with "
                "patience 10 validations instead of stopping at 0.1)"),
}  # fmt: skip


def fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", action="store_true", help="train what an arm is missing")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "ablation")
    args = parser.parse_args(argv)
    rows = []
    for name, (overrides, meaning) in ARMS.items():
        cache = args.out / f"copy_{name}.json"
        if args.train:
            command = [
                sys.executable, str(ROOT / "bench" / "ntm_results.py"), "--tasks", "copy",
                "--seeds", *map(str, args.seeds), "--jobs", "2",
                "--out", str(cache.with_suffix("")), "--save-dir", f"runs/ablation/copy_{name}",
                "--", *overrides,
            ]  # fmt: skip
            subprocess.run(command, cwd=ROOT, check=True)
        if not cache.is_file():
            no_data(f"arm {name} has no runs: {cache} does not exist (--train makes them)")
        runs = json.loads(cache.read_text())["runs"]
        runs = [runs[f"copy/{seed}"] for seed in args.seeds if f"copy/{seed}" in runs]
        if not runs:
            no_data(f"arm {name} has no runs of seeds {args.seeds} in {cache}")
        solved = [r.get("solved_after_sequences") for r in runs]
        known = sorted(s for s in solved if s is not None)
        median = statistics.median(known) if len(known) == len(solved) else None
        rows.append(
            f"| {name} | {meaning} | "
            + ", ".join("-" if s is None else f"{s / 1000:.1f}k" for s in solved)
            + f" | {'-' if median is None else f'{median / 1000:.1f}k'} | "
            + ", ".join(fmt(r.get("test/bit_errors")) for r in runs)
            + " | "
            + ", ".join(fmt(r.get("test_length_40/bit_errors")) for r in runs)
            + " | "
            + ", ".join(fmt(r.get("test_length_100/bit_errors")) for r in runs)
            + " |"
        )
    lines = [
        "# NTM copy: the ablation behind the defaults",
        "",
        f"Command: `python bench/ntm_ablation.py` (tabulates the arms' runs; `--train` makes "
        f"them). Seeds {', '.join(map(str, args.seeds))} per arm; each arm's runs and table: "
        "`results/ablation/copy_ARM.json` and `.md`. Sequences to solve: training sequences "
        "until the validation bit errors first fell below 0.1 per sequence (validation every "
        "800); test and longer lengths: the best checkpoint, 128 episodes each.",
        "",
        "| arm | what it tests | sequences to solve (seeds) | median | test bit errors/seq "
        "| length 40 | length 100 |",
        "|---|---|---|---:|---|---|---|",
        *rows,
    ]
    table = args.out / "copy.md"
    replace_results({table: "\n".join(lines) + "\n"}, count=table_rows, counted=table)
    print(table.read_text())


if __name__ == "__main__":
    main()
