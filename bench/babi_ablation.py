"""The ablation of issue 10: from the authors' protocol, each of its choices switched back to
the paper's text one at a time, on the tasks the paper's protocol failed here.

    python bench/babi_ablation.py --data-dir ../shared/babi [--seeds 3] [--workers 2]

Protocols (each one ``bench/babi_eval.py`` evaluation, cached in ``OUT/NAME.json``):
``authors`` -- the authors' MATLAB code: their position encoding with the time word, memory of
min(50, longest story) slots whose empty ones stay in the softmax, random noise as gaps in the
time indices, the softmax phase restarting at lr 0.005; then ``paper_encoding``,
``masked_empty_slots`` (memory 50, empty slots out of the softmax), ``inserted_noise`` and
``lr_0_01``, each the authors' protocol with that one choice as the paper's text has it.
Writes ``OUT.md``: per task and protocol the mean validation error over the seeds (the
selection criterion: defaults follow it) and the mean test error, with the mean over tasks.
Other options go to every evaluation (``--epochs``, ``--together``, CLI options).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from babi_bench import evaluate, read
from protocols import replace_results, results_file, table_rows

TASKS = "2,3,6,7,9,10,13,16,17,18"  # failed under the paper's protocol (results/babi_1k.md)
NETWORK = "--model.init_args.model.init_args."
AUTHORS = [
    "--encoding", "position_authors", "--attend-to-empty-slots", "--memory-size", "authors",
    "--random-noise-mode", "time_gaps", "--lr", "0.005",
]  # fmt: skip
BACK = {  # one choice back to the paper's text: the options that replace the authors'
    "authors": [],
    "paper_encoding": ["--encoding", "position"],
    "masked_empty_slots": [NETWORK + "attend_to_empty_slots", "false", "--memory-size", "50"],
    "inserted_noise": ["--random-noise-mode", "empty_slots"],
    "lr_0_01": ["--lr", "0.01"],
}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--out", type=Path, default=Path("results/babi_1k_ablation"))
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--seeds", default="3")
    args, rest = parser.parse_known_args(argv)
    states = {}
    for name, back in BACK.items():
        print(f"== {name}", flush=True)
        written = evaluate(  # OUT/NAME, or OUT/NAME-HASH when that holds another protocol
            [*rest, "--tasks", args.tasks, "--seeds", args.seeds, *AUTHORS, *back,
             "--out", str(args.out / name)],
            script="bench/babi_ablation.py", config="memn2n_babi", seeds=3, out=str(args.out),
        )  # fmt: skip
        states[name] = read(written)
    tasks = next(iter(states.values()))["tasks"]
    shown = " ".join(item for item in argv if item != "--table-only")  # what trained them
    lines = [
        "# MemN2N on bAbI 1k: ablation of the authors' protocol (validation / test error, %)",
        "",
        f"Command: `python bench/babi_ablation.py {shown}`. Each column is the authors' "
        "protocol with one choice switched back to the paper's text (see the docstring of "
        "bench/babi_ablation.py); each cell is the mean over the seeds of the validation "
        "error / the test error, both of the final weights. Defaults follow the validation "
        "error. Per-run results: the JSON and table of each protocol in "
        f"`{args.out}/`.",
        "",
        "| task | " + " | ".join(BACK) + " |",
        "|---:|" + "---:|" * len(BACK),
    ]
    means: dict[str, list[tuple[float, float]]] = {name: [] for name in BACK}
    for task in tasks:
        cells = []
        for name, state in states.items():
            runs = [  # the requested seeds' runs of this task
                run
                for run in state["runs"].values()
                if run["task"] == task and run["seed"] in state["seeds"]
            ]
            if not runs:
                cells.append("")
                continue
            val = 100 * statistics.mean(run["val_error"] for run in runs)
            test = 100 * statistics.mean(run["test_error"] for run in runs)
            means[name].append((val, test))
            cells.append(f"{val:.1f} / {test:.1f}")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    summary = [
        f"{statistics.mean(v for v, _ in m):.2f} / {statistics.mean(t for _, t in m):.2f}"
        if m
        else ""
        for m in means.values()
    ]
    lines.append("| **mean** | " + " | ".join(summary) + " |")
    table = results_file(args.out, ".md")  # never over a table of more tasks
    replace_results({table: "\n".join(lines) + "\n"}, count=table_rows, counted=table)
    print(f"wrote {table}")


if __name__ == "__main__":
    main()
