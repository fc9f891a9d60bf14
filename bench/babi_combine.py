"""Pick, per bAbI task, one run out of several evaluations (protocols) by validation error.

    python bench/babi_combine.py results/babi_1k.json results/babi_1k_authors.json \
        --data-dir /path/to/tasks_1-20_v1-2 --out results/babi_1k_combined

Reads the ``OUT.json`` files written by ``bench/babi_eval.py`` (each one protocol, several
seeds per task) and, for every task, pools all their runs and reports the test error of the
run with the lowest VALIDATION error (ties: lower training error, then the earlier file,
then the lower seed) and, for comparison, of the run with the lowest TRAINING error (the
paper's rule). Choosing among protocols this way uses the training and validation questions
only, never the test set, so the selected column is an honest estimate of what a user who
validates both protocols would get. Writes ``OUT.md`` and ``OUT.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any

FAILED_ABOVE = 5.0


def pooled_runs(evaluations: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Task -> every run of every evaluation, each tagged with its file's index."""
    runs: dict[int, list[dict[str, Any]]] = {}
    for index, evaluation in enumerate(evaluations):
        for run in evaluation["runs"].values():
            runs.setdefault(int(run["task"]), []).append({**run, "source": index})
    return runs


def choose(runs: list[dict[str, Any]], first: str, second: str) -> dict[str, Any]:
    return min(runs, key=lambda r: (r[first], r[second], r["source"], r["seed"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("evaluations", nargs="+", type=Path, help="babi_eval OUT.json files")
    parser.add_argument("--data-dir", default=None, help="for paper_memn2n_table.csv")
    parser.add_argument("--out", type=Path, default=Path("results/babi_1k_combined"))
    args = parser.parse_args(argv)

    evaluations = [json.loads(path.read_text()) for path in args.evaluations]
    settings = {e["protocol"]["setting"] for e in evaluations}
    if len(settings) != 1:
        raise SystemExit(f"the evaluations mix settings {sorted(settings)}; combine one only")
    setting = settings.pop()
    paper: dict[int, float] = {}
    table = Path(args.data_dir or ".") / "paper_memn2n_table.csv"
    if args.data_dir and table.is_file():
        with table.open(newline="") as file:
            paper = {int(r["task"]): float(r[f"{setting}_PE_LS_RN"]) for r in csv.DictReader(file)}

    rows = []
    for task, runs in sorted(pooled_runs(evaluations).items()):
        by_val = choose(runs, "val_error", "train_error")
        by_train = choose(runs, "train_error", "val_error")
        rows.append(
            {
                "task": task,
                "runs": len(runs),
                "val_sel": 100 * by_val["test_error"],
                "val_sel_from": f"{args.evaluations[by_val['source']].stem} seed {by_val['seed']}",
                "train_sel": 100 * by_train["test_error"],
                "train_sel_from": (
                    f"{args.evaluations[by_train['source']].stem} seed {by_train['seed']}"
                ),
                "paper": paper.get(task),
            }
        )
    command = shlex.join(
        ["python", *(sys.argv if argv is None else ["bench/babi_combine.py", *argv])]
    )
    lines = [
        f"# MemN2N on bAbI {setting}: one run per task chosen among several protocols",
        "",
        f"Command: `{command}`",
        "",
        "Pooled evaluations: "
        + "; ".join(
            f"`{path}` ({len(e['runs'])} runs, `{e['meta']['command']}`)"
            for path, e in zip(args.evaluations, evaluations, strict=True)
        ),
        "",
        "Columns: **val-sel.** test error of the pooled run with the lowest validation error "
        "(the choice uses no test question); **train-sel.** of the pooled run with the lowest "
        "training error (the paper's rule); **paper** Sukhbaatar et al. 2015, PE LS RN. "
        "Failed: error > 5%.",
        "",
        "| task | runs | val-sel. | chosen (val) | train-sel. | chosen (train) | paper |",
        "|---:|---:|---:|:---|---:|:---|---:|",
    ]
    for row in rows:
        paper_cell = "" if row["paper"] is None else f"{row['paper']:.1f}"
        lines.append(
            f"| {row['task']} | {row['runs']} | {row['val_sel']:.1f} | {row['val_sel_from']} | "
            f"{row['train_sel']:.1f} | {row['train_sel_from']} | {paper_cell} |"
        )
    summary = {}
    for name in ("val_sel", "train_sel", "paper"):
        values = [row[name] for row in rows if row[name] is not None]
        summary[name] = {
            "mean": statistics.mean(values) if values else None,
            "failed": sum(value > FAILED_ABOVE for value in values),
            "tasks": len(values),
        }
    mean = {k: "" if v["mean"] is None else f"{v['mean']:.1f}" for k, v in summary.items()}
    failed = {k: str(v["failed"]) for k, v in summary.items()}
    lines += [
        f"| **mean** | | {mean['val_sel']} | | {mean['train_sel']} | | {mean['paper']} |",
        f"| **failed (> 5%)** | | {failed['val_sel']} | | {failed['train_sel']} | | "
        f"{failed['paper']} |",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text("\n".join(lines))
    args.out.with_suffix(".json").write_text(
        json.dumps({"command": command, "rows": rows, "summary": summary}, indent=1) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
