"""What the bAbI drivers (babi_eval.py, babi_joint.py, babi_combine.py) share: runs through the
CLI, cached by protocol, the paper's table, the selection rule and the table writer.

A run is ``memnets.training.cli.main(["fit", "--config", CONFIG, ...])``, the command a user
runs, on one task (joint training: one list of tasks) and one seed, tested with its final
weights (``FIXED`` keeps no checkpoint, so the CLI tests the weights it ends with). A protocol
is the config the CLI resolves for those arguments (what ``--print_config`` prints), less the
entries that change no number of a run (``NOT_RESULTS``): where logs, checkpoints and pictures
go, progress output, the data folder's spelling, loader processes and torch threads (the
drivers run every run on 1 thread; more threads may change the last float bits), and the
task and seed, which key the runs inside a protocol; null entries are left out too (null is
the default of optional arguments, so an optional argument added later keeps the keys). A
config that resolves to the same protocol reuses the runs cached under its hash; any other
value, or another option added later (a new flag of a model, a new Trainer argument), gives
another hash: its runs are trained afresh and written to ``OUT-HASH.json`` beside the
results of the protocol already in ``OUT.json``. The protocol also holds
``memnets.memn2n.REVISION``, which a change of the model's mathematics bumps (such as the nil
fix), so that runs of earlier code are kept as they are but not reused.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import io
import json
import logging
import os
import shlex
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import active_children, get_context
from pathlib import Path
from typing import Any

import protocols
from protocols import cli, machine, protocol_hash, resolve

FAILED_ABOVE = 5.0  # % test error: the paper's "failed task"
ERRORS = ["by_train", "by_val", "median", "paper"]  # the columns of test errors in a table
REDUCED = {"sum": "summed", "mean": "averaged"}
MODULE, NETWORK = "model.init_args.", "model.init_args.model.init_args."
FLAGS = {  # the drivers' own flags (the commands in README.md and results/) -> CLI options
    "setting": "data.init_args.setting",
    "memory_size": "data.init_args.memory_size",
    "batch_size": "data.init_args.batch_size",
    "threads": "num_threads",
    **{name: MODULE + name for name in ("lr", "linear_start_lr", "lr_halve_every")},
    "linear_start_epochs": MODULE + "linear_start_epochs",
    **{
        name: NETWORK + name
        for name in ("embedding_size", "hops", "random_noise", "encoding", "random_noise_mode")
    },
}
SWITCHES = {name: NETWORK + name for name in ("attend_to_empty_slots", "gated")}
FIXED = [  # after the user's options: one CPU, no checkpoint (final weights tested), quiet
    *("--trainer.accelerator", "cpu", "--trainer.devices", "1"),
    *("--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"),
    *("--trainer.num_sanity_val_steps", "0"),
    *("--checkpoint.save_top_k", "0", "--checkpoint.save_last", "false"),
    *("--pictures.every_n_steps", str(10**9)),  # the one picture at the end of fitting
]
NOT_RESULTS = protocols.KEYED_BY_TASK  # config entries left out of a protocol

# protocols and runs


def parse_tasks(text: str) -> list[int]:
    """``"1-3,7"`` -> ``[1, 2, 3, 7]``."""
    tasks: list[int] = []
    for part in filter(None, (part.strip() for part in text.split(","))):
        first, _, last = part.partition("-")
        tasks.extend(range(int(first), int(last or first) + 1))
    if not tasks or any(not 1 <= task <= 20 for task in tasks):
        raise argparse.ArgumentTypeError(f"tasks must lie in 1..20, got {text!r}")
    return sorted(set(tasks))


def task_label(tasks: list[int]) -> str:
    """``[3]`` -> ``"3"``, ``[1, ..., 20]`` -> ``"1-20"``, ``[1, 3]`` -> ``"1,3"``."""
    span = len(tasks) > 2 and tasks == list(range(tasks[0], tasks[-1] + 1))
    return f"{tasks[0]}-{tasks[-1]}" if span else ",".join(map(str, tasks))


def run_key(tasks: list[int], seed: int) -> str:
    """``task3/seed0``; a joint run ``task1-20/seed0``."""
    return f"task{task_label(tasks)}/seed{seed}"


def protocol(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as a protocol (bench/protocols.py) under MemN2N's revision."""
    from memnets.memn2n import REVISION

    return protocols.protocol(config, revision=REVISION, not_results=NOT_RESULTS)


def train_runs(job: tuple) -> list[dict[str, Any]]:
    """Fit and test the runs of ``seeds`` together in one CLI run (``run_seeds``: each run its
    own initialisation, batch order and noise, the same numbers as alone); one record per run,
    errors as fractions, times in seconds (the process's time shared out equally)."""
    args, tasks, seeds, log_dir = job
    for logger in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    run = ["--data.init_args.task", json.dumps(tasks[0] if len(tasks) == 1 else tasks)]
    run += ["--data.init_args.run_seeds", json.dumps(seeds), "--seed_everything", str(seeds[0])]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(io.StringIO()):
        logger = "--trainer.logger.init_args."
        name, version = f"task{task_label(tasks)}", f"seeds{task_label(seeds)}"
        run += [logger + "save_dir", log_dir or scratch, logger + "name", name]
        run += [logger + "version", version]
        if log_dir:  # kept logs: last.ckpt too, and a run stopped part-way resumes from it
            last = Path(log_dir) / name / version / "checkpoints" / "last.ckpt"
            run += ["--checkpoint.save_last", "true"]
            run += ["--ckpt_path", str(last)] if last.is_file() else []
        done = cli(["fit", *args, *run])
    fit, test = done.fit_metrics, done.trainer.callback_metrics
    seconds = (time.perf_counter() - started) / len(seeds)
    finished = datetime.datetime.now().isoformat(timespec="seconds")
    return [
        {
            "task": tasks[0] if len(tasks) == 1 else tasks,
            "seed": seed,
            "train_error": float(fit[f"train/error_epoch_run{r}"]),  # the last epoch's, running
            "val_error": float(fit[f"val/error_run{r}"]),
            "test_error": float(test[f"test/error_run{r}"]),
            "val_error_task": {str(t): float(fit[f"val/error_task{t}_run{r}"]) for t in tasks},
            "test_error_task": {str(t): float(test[f"test/error_task{t}_run{r}"]) for t in tasks},
            "epochs": done.trainer.current_epoch,
            "steps": done.trainer.global_step,
            "memory_size": done.datamodule.memory_size,
            "trained_with": len(seeds),
            "seconds": seconds,
            "finished": finished,
        }
        for r, seed in enumerate(seeds)
    ]


def errors_by_task(run: dict[str, Any]) -> dict[int, float]:
    """Task -> test error of ``run`` (runs of one task may have no per-task record)."""
    errors = run.get("test_error_task") or {run["task"]: run["test_error"]}
    return {int(task): error for task, error in errors.items()}


def check_data(data_dir: str, setting: str, tasks: list[int], *, joint: bool) -> set[int]:
    """The tasks without files; exits naming the missing path, before anything is written,
    when ``data_dir`` holds none of ``tasks`` of ``setting``, or lacks one of a joint run's
    tasks. (:func:`evaluate` trains the others, then exits non-zero naming the missing ones.)"""
    from memnets_tasks.babi.reader import available_tasks, find_task_files

    try:
        available = available_tasks(data_dir, setting=setting)
        for task in tasks if joint else [] if set(tasks) & set(available) else tasks[:1]:
            find_task_files(data_dir, task, setting=setting)
    except (OSError, ValueError) as error:
        protocols.no_data(str(error))
    return set(tasks) - set(available)


# the paper, selection, tables


def read_paper_column(data_dir: str | None, column: str) -> dict[int, float]:
    """A column of ``DATA_DIR/paper_memn2n_table.csv`` (Sukhbaatar et al. 2015, Table 1) by
    task; {} when the file or the column is not there."""
    path = Path(data_dir or ".") / "paper_memn2n_table.csv"
    if data_dir is None or not path.is_file():
        return {}
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    return {int(row["task"]): float(row[column]) for row in rows if row.get(column)}


def pick(runs: list[dict[str, Any]], by: str, then: str) -> dict[str, Any]:
    """The run with the lowest ``by`` error; ties: lowest ``then``, earlier source, lower seed."""
    return min(runs, key=lambda run: (run[by], run[then], run.get("source", 0), run["seed"]))


def select(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Test error (%) of the run with the lowest training error (the paper's rule), of the run
    with the lowest validation error, and the median over runs."""
    by_train = pick(runs, "train_error", "val_error")
    by_val = pick(runs, "val_error", "train_error")
    return {
        "by_train": 100 * by_train["test_error"],
        "by_val": 100 * by_val["test_error"],
        "median": 100 * statistics.median(run["test_error"] for run in runs),
        "train_seed": by_train["seed"],
        "val_seed": by_val["seed"],
    }


def summarise(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, dict[str, Any]]:
    """Per error column: the mean (%), the failed tasks (> 5%) and how many tasks have a value."""
    summary = {}
    for column in columns:
        values = [row[column] for row in rows if row.get(column) is not None]
        summary[column] = {
            "mean": statistics.mean(values) if values else None,
            # rounded: a task's error is a count of wrong answers over 1000 questions, kept as
            # a float32 fraction, so exactly 50 wrong reads 5.0000000745% (not failed)
            "failed": sum(round(value, 6) > FAILED_ABOVE for value in values),
            "tasks": len(values),
        }
    return summary


def table(rows: list[dict[str, Any]], columns: dict[str, str], errors: list[str]) -> list[str]:
    """A markdown table: ``columns`` maps row keys to headings (the first is the task); the
    ``errors`` columns (%) end with their mean and failed tasks, with the number of tasks when
    some rows have none."""

    def line(cells) -> str:
        return "|" + "".join(f" {text} |" if text else " |" for text in cells)

    def cell(key: str, value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.0f}" if key == "seconds" else f"{value:.1f}"
        return "" if value is None else str(value)

    lines = [
        line(columns.values()),
        "|" + "".join(":---|" if key.endswith("_from") else "---:|" for key in columns),
    ]
    lines += [line(cell(key, row.get(key)) for key in columns) for row in rows]
    summary = summarise(rows, errors)
    for label, name in (("mean", "mean"), ("failed (> 5%)", "failed")):
        cells = [f"**{label}**"]
        for key in list(columns)[1:]:
            info = summary.get(key, {"mean": None})
            text = "" if info["mean"] is None else cell(key, info[name])
            few = text and info["tasks"] < len(rows)
            cells.append(text + (f" ({info['tasks']} tasks)" if few else ""))
        lines.append(line(cells))
    return lines


def describe(settings: dict[str, Any], seeds: int) -> tuple[str, str]:
    """The protocol in words, and how it departs from the paper and the authors' MATLAB code."""
    module, data = settings["model"]["init_args"], settings["data"]["init_args"]
    model, trainer = module["model"]["init_args"], settings["trainer"]
    linear = module["linear_start_epochs"]
    after = trainer["max_epochs"] - linear
    memory = data["memory_size"]
    memory = "min(50, longest training story)" if memory == "authors" else memory
    protocol = (
        f"Protocol (the resolved config is in the JSON file): {model['hops']} hops, d = "
        f"{model['embedding_size']}, {model['encoding']} encoding, {model['weight_tying']} "
        f"tying{', answers as words (W^T = C^K)' if model['answers_as_words'] else ''}"
        f"{', temporal encoding' if model['temporal_encoding'] else ''}, random noise "
        f"{model['random_noise']:g}, memory {memory} slots; batch {data['batch_size']}, "
        f"{module['optimizer']} with the cost {REDUCED[module['loss_reduction']]} over the batch, "
        f"gradient norm clipped at {trainer['gradient_clip_val']:g} "
        f"{'per weight' if module['clip_per_parameter'] else 'overall'}; linear start {linear} "
        f"epochs at lr {module['linear_start_lr']:g}, then {after} epochs at lr {module['lr']:g} "
        f"halved every {module['lr_halve_every']} ({trainer['max_epochs']} epochs in all); "
        f"{100 * data['validation_fraction']:g}% of the training questions held out for "
        "validation (the same split for every seed); every run tested with its final weights."
    )
    differences = [
        *([f"{seeds} runs per task instead of 10"] if seeds != 10 else []),
        "random noise leaves random gaps in the time indices, as their code does"
        if model["random_noise_mode"] == "time_gaps"
        else "random noise inserts empty memories that are attended to (their code leaves "
        "random gaps in the time indices instead)",
        {
            "position": "position encoding by the paper's section 4.1 formula (their code uses "
            "1 + 4(k - (d+1)/2)(j - (J+1)/2)/(dJ), about twice as large)",
            "position_authors": "position encoding by their code's formula 1 + 4(k - (d+1)/2)"
            "(j - (J+1)/2)/(dJ) (about twice the paper's section 4.1 values), the time index "
            "as word J",
        }.get(model["encoding"], "bag-of-words sentences"),
        f"memory of {memory} slots whose empty ones stay in the softmax with score 0, as in "
        "their code"
        if model["attend_to_empty_slots"]
        else "empty memory slots are masked out of the softmax (their code keeps its "
        "min(50, longest story) slots in it, empty ones with score 0)",
        *(["gated hops (Liu & Perez 2017), not in the paper"] if model["gated"] else []),
        "an epoch is one shuffled pass over the training questions (theirs: floor(N/32) batches "
        "drawn with replacement); the validation 10% is a seeded random draw (theirs: the last "
        "10% of the file)",
        f"the softmax phase restarts at lr {module['lr']:g}, as their code does"
        if module["lr"] == module["linear_start_lr"]
        else f"the softmax phase starts at lr {module['lr']:g} as the paper says (their code "
        f"restarts it at {module['linear_start_lr']:g})",
    ]
    return protocol, (
        "Differences from the paper's protocol and the authors' MATLAB code: "
        + "; ".join(differences)
        + "."
    )


def units(state: dict[str, Any]) -> list[list[int]]:
    """The task list of each run per seed: every task with data on its own, or one joint run."""
    if state["joint"]:
        return [state["tasks"]]
    return [[task] for task in state["tasks"] if task not in state["missing_tasks"]]


def task_rows(state: dict[str, Any], paper: dict[int, float]) -> list[dict[str, Any]]:
    """Per task: the runs of the requested seeds, their selections and the paper's error."""
    runs, candidates = state["runs"], {}
    for unit in units(state):
        for run in (runs[key] for seed in state["seeds"] if (key := run_key(unit, seed)) in runs):
            for task, error in errors_by_task(run).items():
                candidates.setdefault(task, []).append({**run, "test_error": error})
    rows = []
    for task in state["tasks"]:
        found = candidates.get(task, [])
        row = {"task": task, "runs": len(found), "paper": paper.get(task)}
        if task in state["missing_tasks"]:
            row["runs"] = "no data"
        elif found:
            row |= select(found) | {"seconds": statistics.mean(run["seconds"] for run in found)}
        rows.append(row)
    return rows


def markdown(state: dict[str, Any], rows: list[dict[str, Any]], paper_column: str) -> str:
    meta, settings, seeds, runs = state["meta"], state["protocol"], state["seeds"], state["runs"]
    wanted = [run_key(unit, seed) for unit in units(state) for seed in seeds]
    setting = settings["data"]["init_args"]["setting"]
    title = f"on bAbI {setting}"
    if state["joint"]:
        title = f"trained jointly on bAbI {setting} tasks {task_label(state['tasks'])}"
    finished = max((run["finished"] for run in runs.values()), default="-")
    protocol, differences = describe(settings, len(seeds))
    columns = {"task": "task", "runs": "runs", "by_train": "train-sel.", "by_val": "val-sel."}
    columns |= {"median": "median", "paper": "paper", "seconds": "s/run"}
    lines = [
        f"# MemN2N {title}: test error (%) per task",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Machine: {meta['machine']}; {meta.get('workers', 1)} worker process(es), 1 thread each.",
        (f"Started {meta['started']}, last" if "started" in meta else "Last")
        + f" run finished {finished}; "
        f"{sum(key in runs for key in wanted)} of {len(wanted)} runs done ({len(seeds)} seeds: "
        f"{', '.join(map(str, seeds))}); training time summed over runs "
        f"{sum(runs[key]['seconds'] for key in wanted if key in runs) / 60:.1f} min.",
        "",
        *([meta["note"], ""] if meta.get("note") else []),
        protocol,
        "",
        "Columns: **train-sel.** test error of the seed with the lowest final training error "
        "(the paper's selection rule); **val-sel.** of the seed with the lowest final "
        "validation error"
        + (" (one model for all tasks: one choice)" if state["joint"] else "")
        + f"; **median** over the seeds; **paper** Sukhbaatar et al. 2015, Table 1, "
        f"{paper_column} (10 runs per task, train-selected). Failed: error > 5%.",
        "",
        differences,
        "",
        *table(rows, columns, ERRORS),
        "",
        *(whole_runs([runs[key] for key in wanted if key in runs]) if state["joint"] else []),
        *(runs_by_task([runs[key] for key in wanted if key in runs]) if state["joint"] else []),
    ]
    return "\n".join(lines)


def whole_runs(runs: list[dict[str, Any]]) -> list[str]:
    """A joint evaluation's runs, each over all its tasks: final training, validation and test
    error (%), and their means over the runs (what compares two protocols by validation)."""
    if not runs:
        return []
    lines = ["Each run over all tasks (error %, final weights):", ""]
    lines += ["| seed | train | val | test |", "|---:|---:|---:|---:|"]
    names = ["train_error", "val_error", "test_error"]
    for run in sorted(runs, key=lambda run: run["seed"]):
        errors = " | ".join(f"{100 * run[name]:.2f}" for name in names)
        lines.append(f"| {run['seed']} | {errors} |")
    means = [100 * statistics.mean(run[name] for run in runs) for name in names]
    lines += ["| **mean** | " + " | ".join(f"**{mean:.2f}**" for mean in means) + " |", ""]
    return lines


def runs_by_task(runs: list[dict[str, Any]]) -> list[str]:
    """A joint evaluation's test error (%) of every run on every task: a row per task, a
    column per seed."""
    if not runs:
        return []
    runs = sorted(runs, key=lambda run: run["seed"])
    lines = ["Each run's test error per task (%, final weights):", ""]
    lines += ["| task | " + " | ".join(f"seed {run['seed']}" for run in runs) + " |"]
    lines += ["|---:|" + "---:|" * len(runs)]
    for task in sorted(runs[0]["test_error_task"], key=int):
        errors = " | ".join(f"{100 * run['test_error_task'][task]:.1f}" for run in runs)
        lines.append(f"| {task} | {errors} |")
    return [*lines, ""]


def write(out: Path, state: dict[str, Any], paper: dict[int, float], paper_column: str) -> None:
    """OUT.json (every run, the protocol, the command) and OUT.md, each replaced atomically;
    never with fewer runs than OUT.json held (``protocols.replace_results``)."""
    rows = task_rows(state, paper)
    state["summary"] = {"rows": rows, "columns": summarise(rows, ERRORS)}
    json_file = protocols.results_file(out, ".json")
    files = {
        json_file: json.dumps(state, indent=1, sort_keys=True) + "\n",
        protocols.results_file(out, ".md"): markdown(state, rows, paper_column),
    }
    protocols.replace_results(files, count=protocols.json_runs, counted=json_file)


def read(out: Path) -> dict[str, Any] | None:
    path = protocols.results_file(out, ".json")
    return json.loads(path.read_text()) if path.is_file() else None


def _stop_workers(signum: int, frame: Any) -> None:
    """``kill PID`` of the main process ends its workers too (finished runs are saved)."""
    for child in active_children():
        child.kill()
    os._exit(128 + signum)


# the drivers' command line


def parse(argv: list[str], *, script: str, config: str, seeds: int, out: str):
    """The drivers' arguments, the CLI arguments of their runs (less the task and seed) and
    the config these resolve to."""
    parser = argparse.ArgumentParser(
        prog=script,
        allow_abbrev=False,
        epilog="Other options go to the CLI as they are, e.g. --trainer.max_epochs 3.",
    )
    parser.add_argument("--data-dir", required=True, help="the unpacked tasks_1-20_v1-2 folder")
    parser.add_argument("--config", default=config, help="train.py's config (%(default)s)")
    parser.add_argument("--tasks", type=parse_tasks, default=parse_tasks("1-20"), help="1-20, 1,3")
    parser.add_argument("--seeds", type=int, default=seeds, help="seeds 0..N-1 (%(default)s)")
    parser.add_argument("--epochs", type=int, help="epochs after linear start (else the config's)")
    for name, option in FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), help=f"sets --{option}")
    for name, option in SWITCHES.items():
        parser.add_argument("--" + name.replace("_", "-"), action="store_true", help=f"--{option}")
    parser.add_argument("--out", type=Path, default=Path(out), help="OUT.json and OUT.md")
    parser.add_argument("--workers", type=int, default=1, help="processes at once, 1 thread each")
    parser.add_argument(
        "--together", type=int, default=10, help="runs of a task trained together (%(default)s)"
    )
    parser.add_argument(
        "--log-dir",
        help="keep each run's TensorBoard logs and last.ckpt here; a run stopped part-way "
        "(a killed evaluation) resumes from its last.ckpt",
    )
    parser.add_argument("--note", help="a sentence for the table's header (kept until changed)")
    parser.add_argument("--table-only", action="store_true", help="rewrite OUT.md, train nothing")
    args, overrides = parser.parse_known_args(argv)

    cli_args = ["--config", args.config, "--data.init_args.source", "directory"]
    cli_args += ["--data.init_args.data_dir", args.data_dir]
    cli_args += [item for name, option in FLAGS.items() if (value := getattr(args, name))
                 for item in (f"--{option}", value)]  # fmt: skip
    cli_args += [item for name, option in SWITCHES.items() if getattr(args, name)
                 for item in (f"--{option}", "true")]  # fmt: skip
    cli_args += [*overrides, *FIXED]
    config = resolve(cli_args)
    if args.epochs is not None:  # counted after linear start, as the authors' code does
        epochs = config["model"]["init_args"]["linear_start_epochs"] + args.epochs
        cli_args += ["--trainer.max_epochs", str(epochs)]
        config = resolve(cli_args)
    return args, cli_args, config


def evaluate(argv: list[str] | None, *, script: str, joint: bool = False, **defaults) -> Path:
    """babi_eval.py (one run per task and seed) and babi_joint.py (``joint``: one run on all
    ``--tasks`` per seed): runs to do through the CLI, cached runs reused, table rewritten
    after every run. ``defaults``: the ``config``, ``seeds`` and ``out`` of :func:`parse`.
    Returns the path (less suffix) of the results: ``OUT``, or ``OUT-HASH`` for another
    protocol."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args, cli_args, config = parse(argv, script=script, **defaults)
    setting = config["data"]["init_args"]["setting"]
    missing = check_data(args.data_dir, setting, args.tasks, joint=joint)
    settings = protocol(config)
    digest = protocol_hash(settings)
    out: Path = args.out
    previous = read(out)
    if previous and previous.get("protocol_hash") != digest:
        print(f"{out}.json holds another protocol: this one goes to {out}-{digest}.json/.md")
        out = out.with_name(f"{out.name}-{digest}")
        previous = read(out)
    state = {
        **(previous or {"runs": {}, "meta": {}}),
        **{"protocol": settings, "protocol_hash": digest, "joint": joint},
        **{"tasks": args.tasks, "seeds": list(range(args.seeds)), "missing_tasks": sorted(missing)},
    }
    jobs = []
    for unit in units(state):  # each task's missing seeds, args.together at a time
        missing_seeds = [
            seed for seed in state["seeds"] if run_key(unit, seed) not in state["runs"]
        ]
        for start in range(0, len(missing_seeds), args.together):
            jobs.append(
                (cli_args, unit, missing_seeds[start : start + args.together], args.log_dir)
            )
    meta = state["meta"] = dict(state["meta"])  # where and when the runs were trained:
    if (jobs and not args.table_only) or not previous:  # kept when nothing is trained
        meta.setdefault("started", datetime.datetime.now().isoformat(timespec="seconds"))
        meta |= {"machine": machine(), "workers": args.workers}
    if not (args.table_only and previous):  # the command, as given
        meta["command"] = shlex.join(["python", script, *argv])
        meta |= {"note": args.note} if args.note is not None else {}
    paper_column = f"{setting}_PE_LS_RN" + ("_joint" if joint else "")
    paper = read_paper_column(args.data_dir, paper_column)
    print(
        f"{sum(len(job[2]) for job in jobs)} runs to do in {len(jobs)} processes "
        f"({len(state['runs'])} cached), {args.workers} worker(s); "
        f"no data for tasks {sorted(missing) or 'none'}",
        flush=True,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    write(out, state, paper, paper_column)
    if args.table_only:
        jobs = []  # (the missing tasks are still reported, below)

    def record(run: dict[str, Any]) -> None:
        key = run_key(sorted(errors_by_task(run)), run["seed"])
        state["runs"][key] = run
        write(out, state, paper, paper_column)
        print(
            f"{key}: train "
            f"{100 * run['train_error']:5.1f}% val {100 * run['val_error']:5.1f}% test "
            f"{100 * run['test_error']:5.1f}% ({run['seconds']:.0f} s)",
            flush=True,
        )

    if args.workers <= 1:
        for job in jobs:
            for run in train_runs(job):
                record(run)
    else:
        signal.signal(signal.SIGTERM, _stop_workers)
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            for future in as_completed([pool.submit(train_runs, job) for job in jobs]):
                for run in future.result():
                    record(run)
    table, runs = (protocols.results_file(out, suffix) for suffix in (".md", ".json"))
    print(f"wrote {table} and {runs}", flush=True)
    if missing:  # the table lists them; the command still fails
        protocols.no_data(
            f"no {setting} data for tasks {sorted(missing)} in {args.data_dir} (listed as "
            f"'no data' in {protocols.results_file(out, '.md')})"
        )
    return out
