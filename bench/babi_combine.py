"""Pick, per bAbI task, one run out of several evaluations (protocols) by validation error.

    python bench/babi_combine.py results/babi_1k.json results/babi_1k_authors.json \
        --data-dir /path/to/tasks_1-20_v1-2 --out results/babi_1k_combined

Reads the ``OUT.json`` files written by ``bench/babi_eval.py`` (each one protocol, several
seeds per task) and, for every task, pools all their runs and reports the test error of the
run with the lowest VALIDATION error (ties: lower training error, then the earlier file,
then the lower seed) and, for comparison, of the run with the lowest TRAINING error (the
paper's rule), beside each protocol's own train-selected error. Choosing among protocols
this way uses the training and validation questions only, never the test set, so the
selected column is an honest estimate of what a user who validates both protocols would
get. Writes ``OUT.md`` and ``OUT.json``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from babi_bench import errors_by_task, pick, read_paper_column, summarise, table
from protocols import no_data, replace_results, results_file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("evaluations", nargs="+", help="babi_eval OUT.json files")
    parser.add_argument("--data-dir", default=None, help="for paper_memn2n_table.csv")
    parser.add_argument("--out", type=Path, default=Path("results/babi_1k_combined"))
    args = parser.parse_args(argv)
    missing = [path for path in args.evaluations if not Path(path).is_file()]
    if missing:  # before anything is written
        no_data(f"no evaluation at {', '.join(missing)} (bench/babi_eval.py writes OUT.json)")
    if args.data_dir is not None and not (Path(args.data_dir) / "paper_memn2n_table.csv").is_file():
        no_data(f"--data-dir {args.data_dir} holds no paper_memn2n_table.csv (the paper's column)")

    evaluations = [json.loads(Path(path).read_text()) for path in args.evaluations]
    settings = {e["protocol"]["data"]["init_args"]["setting"] for e in evaluations}
    if len(settings) != 1:
        raise SystemExit(f"the evaluations mix settings {sorted(settings)}; combine one only")
    setting = settings.pop()
    paper = read_paper_column(args.data_dir, f"{setting}_PE_LS_RN")
    names = [Path(path).stem for path in args.evaluations]
    pooled: dict[int, list[dict[str, Any]]] = {}  # task -> every run of every evaluation
    for source, evaluation in enumerate(evaluations):
        for run in evaluation["runs"].values():
            for task, error in errors_by_task(run).items():
                pooled.setdefault(task, []).append({**run, "test_error": error, "source": source})
    rows = []
    for task, runs in sorted(pooled.items()):
        row: dict[str, Any] = {"task": task, "runs": len(runs)}
        for source, name in enumerate(names):  # each protocol alone, by the paper's rule
            own = [run for run in runs if run["source"] == source]
            row[name] = 100 * pick(own, "train_error", "val_error")["test_error"] if own else None
        for column, by, then in (("val_sel", "val_error", "train_error"),
                                 ("train_sel", "train_error", "val_error")):  # fmt: skip
            chosen = pick(runs, by, then)
            row[column] = 100 * chosen["test_error"]
            row[f"{column}_from"] = f"{names[chosen['source']]} seed {chosen['seed']}"
        row["paper"] = paper.get(task)
        rows.append(row)

    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "bench/babi_combine.py", *given])
    columns = {"task": "task", "runs": "runs", **{name: f"{name} train-sel." for name in names}}
    columns |= {"val_sel": "pooled val-sel.", "val_sel_from": "chosen"}
    columns |= {"train_sel": "pooled train-sel.", "paper": "paper"}
    errors = [*names, "val_sel", "train_sel", "paper"]
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
        *table(rows, columns, errors),
        "",
    ]
    summary = summarise(rows, errors)
    result = {"command": command, "rows": rows, "summary": summary}
    replace_results(  # never over results of more tasks or runs
        {results_file(args.out, ".json"): json.dumps(result, indent=1) + "\n",
         results_file(args.out, ".md"): "\n".join(lines)},
        count=pooled_runs, counted=results_file(args.out, ".json"),
    )  # fmt: skip
    print("\n".join(lines))


def pooled_runs(text: str) -> int:
    """The runs a combined result pooled (over its tasks)."""
    return sum(row.get("runs", 0) for row in json.loads(text).get("rows") or [])


if __name__ == "__main__":
    main()
