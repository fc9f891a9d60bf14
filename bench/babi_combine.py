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

    names = [path.stem for path in args.evaluations]
    rows = []
    for task, runs in sorted(pooled_runs(evaluations).items()):
        by_val = choose(runs, "val_error", "train_error")
        by_train = choose(runs, "train_error", "val_error")
        row: dict[str, Any] = {"task": task, "runs": len(runs)}
        for index, name in enumerate(names):  # each protocol alone, by the paper's rule
            own = [run for run in runs if run["source"] == index]
            row[name] = 100 * choose(own, "train_error", "val_error")["test_error"] if own else None
        row.update(
            {
                "val_sel": 100 * by_val["test_error"],
                "val_sel_from": f"{names[by_val['source']]} seed {by_val['seed']}",
                "train_sel": 100 * by_train["test_error"],
                "train_sel_from": f"{names[by_train['source']]} seed {by_train['seed']}",
                "paper": paper.get(task),
            }
        )
        rows.append(row)
    command = shlex.join(
        ["python", *(sys.argv if argv is None else ["bench/babi_combine.py", *argv])]
    )
    columns = [*names, "val_sel", "train_sel", "paper"]
    headers = [f"{name} train-sel." for name in names] + [
        "pooled val-sel.", "pooled train-sel.", "paper"
    ]  # fmt: skip
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
        "Columns: **NAME train-sel.** test error of that evaluation's run with the lowest "
        "training error (the paper's rule, within one protocol); **pooled val-sel.** of the "
        "run with the lowest validation error among all the pooled runs (the choice uses no "
        "test question; **chosen** names it); **pooled train-sel.** of the pooled run with the "
        "lowest training error; **paper** Sukhbaatar et al. 2015, PE LS RN. "
        "Failed: error > 5%.",
        "",
        "| task | runs | " + " | ".join(headers[:-3]) + " | pooled val-sel. | chosen | "
        "pooled train-sel. | paper |",
        "|---:|---:|" + "---:|" * len(names) + "---:|:---|---:|---:|",
    ]

    def cell(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    for row in rows:
        cells = [cell(row[name]) for name in names]
        lines.append(
            f"| {row['task']} | {row['runs']} | " + " | ".join(cells) + f" | {cell(row['val_sel'])}"
            f" | {row['val_sel_from']} | {cell(row['train_sel'])} | {cell(row['paper'])} |"
        )
    summary = {}
    for name in columns:
        values = [row[name] for row in rows if row[name] is not None]
        summary[name] = {
            "mean": statistics.mean(values) if values else None,
            "failed": sum(value > FAILED_ABOVE for value in values),
            "tasks": len(values),
        }

    def footer(label: str, key: str) -> str:
        values = []
        for name in columns:
            info = summary[name]
            text = (
                ""
                if info["mean"] is None
                else (f"{info['mean']:.1f}" if key == "mean" else str(info["failed"]))
            )
            if text and info["tasks"] != len(rows):
                text += f" ({info['tasks']} tasks)"
            values.append(text)
        return (
            f"| **{label}** | | "
            + " | ".join(values[: len(names) + 1])
            + " | | "
            + " | ".join(values[len(names) + 1 :])
            + " |"
        )

    lines += [footer("mean", "mean"), footer("failed (> 5%)", "failed"), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text("\n".join(lines))
    args.out.with_suffix(".json").write_text(
        json.dumps({"command": command, "rows": rows, "summary": summary}, indent=1) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
